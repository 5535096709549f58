// Test helper: the per-batch output directories a `sluice aggregate --follow` job writes (`<prefix>-<N>.csv/part-00000`).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsvOutput } from '../reference/aggregate.js';

/** The complete batch directories `<prefix>-<N>.csv` in `dir` (those with _SUCCESS): N -> part-00000 bytes. */
export function readBatchDirs(dir: string, prefix: string): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  if (!existsSync(dir)) return out;
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)\\.csv$`);
  for (const name of readdirSync(dir)) {
    const m = pattern.exec(name);
    if (!m) continue;
    const d = path.join(dir, name);
    if (!existsSync(path.join(d, '_SUCCESS'))) continue;
    out.set(Number(m[1]), readFileSync(path.join(d, 'part-00000')));
  }
  return out;
}

/** Per key, its rows across batches in batch order: [batch, values...]. */
export function runningRows(batches: Map<number, Buffer>): Map<string, Array<[number, string[]]>> {
  const out = new Map<string, Array<[number, string[]]>>();
  for (const n of [...batches.keys()].sort((a, b) => a - b)) {
    for (const [key, values] of parseCsvOutput(batches.get(n)!.toString('utf8')).rows) {
      let list = out.get(key);
      if (!list) out.set(key, (list = []));
      list.push([n, values]);
    }
  }
  return out;
}

/** Each key's newest row across the batches. */
export function latestRows(batches: Map<number, Buffer>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [key, rows] of runningRows(batches)) out.set(key, rows.at(-1)![1]);
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
