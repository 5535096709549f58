// StreamingContext with checkpointDir under kill -9: a child process runs a job, is SIGKILLed at random moments
// (half inside a checkpoint write, after the batch's outputs), and restarted. A batch cut before a kill is
// replayed with the same input and batch time, so saveAsTextFiles rewrites its directory with the same bytes:
// the per-batch outputs add up to each record once, and no directory ever changes.

import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseDirs, REPO_ROOT, startNode } from '../helpers/cli.js';
import { readBatchDirs, sleep } from '../helpers/batch-outputs.js';
import { parseCsvOutput } from '../reference/aggregate.js';

const JOB = path.join(REPO_ROOT, 'test', 'helpers', 'api-checkpoint-job.mjs');
const dirs = caseDirs('sluice-api-kill-');

/** Every complete `<prefix>-<time>.<suffix>` directory in `dir`: time -> part-00000 bytes. */
function batchDirs(dir: string, prefix: string, suffix: string): Map<number, Buffer> {
  if (suffix === 'csv') return readBatchDirs(dir, prefix);
  const out = new Map<number, Buffer>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const m = new RegExp(`^${prefix}-(\\d+)\\.${suffix}$`).exec(name);
    if (m && existsSync(path.join(dir, name, '_SUCCESS'))) out.set(Number(m[1]), readFileSync(path.join(dir, name, 'part-00000')));
  }
  return out;
}

/** Remembers every version of every batch directory seen. */
function observer(dir: string, prefix: string, suffix: string): { observe: () => void; versions: Map<number, Buffer[]> } {
  const versions = new Map<number, Buffer[]>();
  return {
    versions,
    observe: () => {
      for (const [t, bytes] of batchDirs(dir, prefix, suffix)) {
        const seen = versions.get(t) ?? [];
        if (!seen.some((v) => v.equals(bytes))) seen.push(bytes);
        versions.set(t, seen);
      }
    },
  };
}

let state = 777;
const random = (): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);

describe('StreamingContext checkpointDir under kill -9', () => {
  it('fileStream -> saveAsTextFiles: replayed batches keep their batch time and bytes; per-batch sums add up to each record once', async () => {
    const dir = dirs.next();
    const input = path.join(dir, 'in.csv');
    const ckpt = path.join(dir, 'ckpt');
    const out = path.join(dir, 'out');
    // the first kill lands in checkpoint 1's write: its replay reads the header again from byte 0
    writeFileSync(input, 'key,v\n');
    const expected = new Map<string, { count: number; sum: number }>();
    const append = (n: number): void => {
      let text = '';
      for (let i = 0; i < n; i++) {
        const key = `k${Math.floor(random() * 7)}`;
        const v = 1 + Math.floor(random() * 9);
        const e = expected.get(key) ?? { count: 0, sum: 0 };
        expected.set(key, { count: e.count + 1, sum: e.sum + v });
        text += `${key},${v}\n`;
      }
      appendFileSync(input, text);
    };
    const sums = observer(out, 'sums', 'csv');
    const counts = observer(out, 'counts', 'csv');
    let killsInCheckpoint = 0;
    for (let k = 0; k < 8; k++) {
      append(20 + Math.floor(random() * 40));
      const inCheckpoint = k % 2 === 0;
      const job = startNode(JOB, ['file', input, ckpt, out], { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: inCheckpoint ? '400' : '0' } });
      expect(await job.waitFor(/job: started/, 30_000), job.stderr()).toBe(true);
      if (inCheckpoint) {
        // the first checkpoint after some records: their batch's outputs are written, the checkpoint is not
        if (await job.waitFor(/sluice-test: checkpoint \d+ paused/, 15_000)) killsInCheckpoint++;
      } else {
        await sleep(50 + random() * 400);
      }
      expect(await job.stop('SIGKILL'), job.stderr()).toBeNull();
      sums.observe();
      counts.observe();
    }
    // let it catch up, then stop gracefully
    const last = startNode(JOB, ['file', input, ckpt, out]);
    // its SIGTERM handler is set once it runs (an earlier run may already have caught up)
    expect(await last.waitFor(/job: started/, 30_000), last.stderr()).toBe(true);
    const latestCounts = (): Map<string, string[]> => {
      const all = batchDirs(out, 'counts', 'csv');
      const newest = Math.max(...all.keys());
      return parseCsvOutput(`key,count\n${all.get(newest)?.toString() ?? ''}`).rows;
    };
    const caughtUp = (): boolean => [...expected].every(([key, e]) => latestCounts().get(key)?.[0] === String(e.count));
    const deadline = Date.now() + 60_000;
    while (!caughtUp() && Date.now() < deadline) await sleep(50);
    expect(await last.stop('SIGTERM'), last.stderr()).toBe(0);
    sums.observe();
    counts.observe();

    expect(killsInCheckpoint).toBeGreaterThanOrEqual(3);
    for (const [t, v] of [...sums.versions, ...counts.versions]) expect(v.length, `batch ${t} was written with different contents`).toBe(1);
    // the per-batch sums, added up over every batch directory, count each record once
    const total = new Map<string, number>();
    for (const [, [bytes]] of sums.versions) {
      for (const [key, [sum]] of parseCsvOutput(`key,sum\n${bytes!.toString()}`).rows) total.set(key, (total.get(key) ?? 0) + Number(sum));
    }
    expect(total).toEqual(new Map([...expected].map(([k, e]) => [k, e.sum])));
    expect(new Map([...latestCounts()].map(([k, [c]]) => [k, Number(c)]))).toEqual(new Map([...expected].map(([k, e]) => [k, e.count])));
    // a batch directory for every batch time, sums and counts alike
    expect([...sums.versions.keys()].sort()).toEqual([...counts.versions.keys()].sort());
  }, 300_000);

  it('generator -> saveAsTextFiles: replayed visits are the same visits, timestamps included; each visit is written once', async () => {
    const dir = dirs.next();
    const ckpt = path.join(dir, 'ckpt');
    const out = path.join(dir, 'out');
    const visits = observer(out, 'visits', 'jsonl');
    const limit = 6000;
    for (let k = 0; k < 4; k++) {
      const job = startNode(JOB, ['generator', String(limit), ckpt, out], { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: '300' } });
      expect(await job.waitFor(/sluice-test: checkpoint \d+ paused/, 30_000), job.stderr()).toBe(true);
      expect(await job.stop('SIGKILL')).toBeNull();
      visits.observe();
    }
    const last = startNode(JOB, ['generator', String(limit), ckpt, out]);
    expect(await last.exited, last.stderr()).toBe(0); // a generator with a limit ends by itself
    visits.observe();
    for (const [t, v] of visits.versions) expect(v.length, `batch ${t} was written with different contents`).toBe(1);
    const lines = [...visits.versions.values()].flatMap(([b]) => b!.toString().split('\n').filter((l) => l !== ''));
    expect(lines).toHaveLength(limit);
    // the same visits as a run never killed (their timestamps follow the run's start)
    const once = path.join(dir, 'once');
    const single = startNode(JOB, ['generator', String(limit), path.join(dir, 'ckpt-once'), once]);
    expect(await single.exited).toBe(0);
    const strip = (l: string): string => JSON.stringify({ ...JSON.parse(l), timestamp: 0 });
    const onceLines = [...batchDirs(once, 'visits', 'jsonl').values()].flatMap((b) => b.toString().split('\n').filter((l) => l !== ''));
    expect(lines.map(strip).sort()).toEqual(onceLines.map(strip).sort());
  }, 300_000);
});
