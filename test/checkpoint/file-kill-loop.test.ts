// The kill loop for files: `sluice aggregate --follow --checkpoint` SIGKILLed at random moments (some inside a
// checkpoint write) while records are appended, restarted each time, then left to catch up. Nothing may be
// lost or counted twice, no key's running total may repeat or go back, and a replayed batch rewrites its
// directory with the same bytes. SLUICE_SOAK_KILLS=200 runs a longer soak by hand.

import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir } from '../helpers/cli.js';
import { latestRows, readBatchDirs, runningRows, sleep } from '../helpers/batch-outputs.js';

const KILLS = Number(process.env.SLUICE_SOAK_KILLS ?? 22);

let dir: string;
let remove: () => void;
beforeAll(() => ({ dir, remove } = tempDir('sluice-kill-')));
afterAll(() => remove());

/** Keys with CSV quoting, a line feed, UTF-8 of every width, and the empty key. */
const KEYS = ['/', '/home', 'a,b', 'say "hi"', 'two\nlines', 'café', '€', '😀', '', ' padded '];
const csvKey = (k: string): string => (/[",\r\n]/.test(k) ? `"${k.replaceAll('"', '""')}"` : k);

describe('sluice aggregate --follow --checkpoint under kill -9', () => {
  it(`loses and doubles nothing over ${KILLS} kills, and replays batches byte for byte`, async () => {
    let state = Number(process.env.SLUICE_SOAK_SEED ?? 4242); // a small LCG: the same appends and kill times every run
    const random = (): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);

    const input = path.join(dir, 'visits.csv');
    const ckpt = path.join(dir, 'ckpt');
    const outDir = path.join(dir, 'out');
    writeFileSync(input, 'page,ms\n');
    const expected = new Map<string, { count: number; sum: number }>();

    // The appender: records of known keys in bursts, a record sometimes split across two writes.
    let appending = true;
    let appended = 0;
    const appender = (async () => {
      while (appending) {
        const n = 1 + Math.floor(random() * 30);
        let text = '';
        for (let i = 0; i < n; i++) {
          const key = KEYS[Math.floor(random() * KEYS.length)]!;
          const ms = 1 + Math.floor(random() * 9);
          const e = expected.get(key) ?? { count: 0, sum: 0 };
          expected.set(key, { count: e.count + 1, sum: e.sum + ms });
          text += `${csvKey(key)},${ms}\n`;
        }
        appended += n;
        if (random() < 0.3) {
          // a torn append, maybe inside a UTF-8 sequence: the reader must wait for the rest of the record
          const bytes = Buffer.from(text);
          const cut = 1 + Math.floor(random() * (bytes.length - 1));
          appendFileSync(input, bytes.subarray(0, cut));
          await sleep(5 + random() * 30);
          appendFileSync(input, bytes.subarray(cut));
        } else {
          appendFileSync(input, text);
        }
        await sleep(5 + random() * 25);
      }
    })();

    // The batch size changes between runs: a replayed batch keeps the size its intent recorded.
    const args = (workers: number, batchSize: number): string[] => [
      'aggregate', '--input', input, '--header', '--key', 'page', '--value', 'ms', '--agg', 'count,sum',
      '--follow', '--checkpoint', ckpt, '--checkpoint-keep', '3', '--out', path.join(outDir, 'totals.csv'),
      '--batch-interval', '20', '--batch-size', String(batchSize), '--workers', String(workers),
    ];
    const seen = new Map<number, Buffer[]>(); // every version of each batch directory observed
    const observe = (): void => {
      for (const [n, bytes] of readBatchDirs(outDir, 'totals')) {
        const versions = seen.get(n) ?? [];
        if (!versions.some((v) => v.equals(bytes))) versions.push(bytes);
        seen.set(n, versions);
      }
    };
    let replays = 0;
    let killsInCheckpoint = 0;
    const stderrs: string[] = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        const inCheckpoint = k % 2 === 1;
        const job = startCli(args(k % 4 === 3 ? 1 : 0, random() < 0.5 ? 25 : 100_000), { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: inCheckpoint ? '150' : String(Math.floor(random() * 20)) } });
        if (inCheckpoint) {
          // kill while the checkpoint of a batch whose output is already written is being written
          if (await job.waitFor(/sluice-test: checkpoint \d+ paused/, 15_000)) killsInCheckpoint++;
        } else {
          await sleep(150 + random() * 700);
        }
        const code = await job.stop('SIGKILL');
        stderrs.push(job.stderr());
        expect(code, `run ${k} ended by itself:\n${job.stderr()}`).toBeNull();
        replays += (job.stderr().match(/replaying batch \d+/g) ?? []).length;
        observe();
      }
    } finally {
      appending = false;
      await appender;
    }

    // Catch up with no more appends, then stop with SIGINT: exit 0 after the batch at hand.
    const last = startCli(args(1, 1000));
    const caughtUp = (): boolean => {
      const latest = latestRows(readBatchDirs(outDir, 'totals'));
      return [...expected].every(([key, e]) => latest.get(key)?.join(',') === `${e.count},${e.sum}`);
    };
    const deadline = Date.now() + 60_000;
    while (!caughtUp() && Date.now() < deadline) await sleep(100);
    expect(await last.stop('SIGINT'), last.stderr()).toBe(0);
    replays += (last.stderr().match(/replaying batch \d+/g) ?? []).length;
    observe();

    // Final totals exactly as appended.
    const batches = readBatchDirs(outDir, 'totals');
    const latest = latestRows(batches);
    expect(new Map([...latest].map(([k, v]) => [k, v.join(',')]))).toEqual(new Map([...expected].map(([k, e]) => [k, `${e.count},${e.sum}`])));
    // Batch ids run 1..N with no gap, and each key's running total only ever grows.
    const ids = [...batches.keys()].sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    for (const [key, rows] of runningRows(batches)) {
      for (let i = 1; i < rows.length; i++) {
        const [prevBatch, [c0, s0]] = rows[i - 1]!;
        const [batch, [c1, s1]] = rows[i]!;
        expect(Number(c1), `${JSON.stringify(key)}: count at batch ${batch} after ${prevBatch}`).toBeGreaterThan(Number(c0));
        expect(Number(s1), `${JSON.stringify(key)}: sum at batch ${batch} after ${prevBatch}`).toBeGreaterThan(Number(s0));
      }
    }
    // A batch written before a kill and replayed after it has the same bytes: one version per batch ever seen.
    for (const [n, versions] of seen) expect(versions.length, `batch ${n} was written with different contents`).toBe(1);
    expect(killsInCheckpoint).toBeGreaterThanOrEqual(Math.floor(KILLS / 2) - 1);
    expect(replays, stderrs.join('\n---\n')).toBeGreaterThanOrEqual(Math.floor(KILLS / 4));
    expect(appended).toBeGreaterThan(100);

    const inspect = await runCli(['checkpoint', 'inspect', ckpt]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout.toString()).toMatch(new RegExp(`batch ${ids.at(-1)}  valid`));
  }, 600_000);
});
