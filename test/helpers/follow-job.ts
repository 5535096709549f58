// Test helper: a long-running `sluice aggregate --follow` child process that a test can watch, signal and kill,
// and the per-batch output directories it writes (`<prefix>-<N>.csv/part-00000`).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CLI } from './cli.js';
import { parseCsvOutput } from '../reference/aggregate.js';

export class FollowJob {
  readonly child: ChildProcess;
  stderr = '';
  stdout = '';
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private watchers: Array<{ pattern: RegExp; from: number; resolve: () => void }> = [];

  constructor(args: string[], env: Record<string, string> = {}, cwd?: string) {
    this.child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      this.watchers = this.watchers.filter((w) => {
        if (!w.pattern.test(this.stderr.slice(w.from))) return true;
        w.resolve();
        return false;
      });
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves when stderr (from now on) matches `pattern`; false if the process exits or `ms` pass first. */
  async waitFor(pattern: RegExp, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<boolean>((resolve) => this.watchers.push({ pattern, from: this.stderr.length, resolve: () => resolve(true) }));
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([seen, timeout, this.exited.then(() => false)]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL, and wait for the exit. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Sends `signal` and waits for the exit; resolves the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    this.child.kill(signal);
    return (await this.exited).code;
  }
}

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
