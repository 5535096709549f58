// Damaged checkpoints under a real job: truncate, flip bytes in, and delete files of the newest checkpoint (or
// the two newest); the job warns naming it, recovers from the previous one, replays the batches after it with
// the same bytes, and the totals stay exact.

import { readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, tempDir } from '../helpers/cli.js';
import { latestRows, readBatchDirs, sleep } from '../helpers/batch-outputs.js';
import { batchDirName } from '../../src/state/checkpoint-store.js';

let root: string;
let remove: () => void;
beforeAll(() => ({ dir: root, remove } = tempDir('sluice-recover-')));
afterAll(() => remove());
let cases = 0;

/** n records over 7 keys, value i % 10 + 1, starting at record `from`. */
function records(from: number, n: number): { text: string; add: (e: Map<string, [number, number]>) => void } {
  let text = '';
  const rows: Array<[string, number]> = [];
  for (let i = from; i < from + n; i++) {
    const key = `k${i % 7}`;
    rows.push([key, (i % 10) + 1]);
    text += `${key},${(i % 10) + 1}\n`;
  }
  return {
    text,
    add: (e) => {
      for (const [k, v] of rows) {
        const [c, s] = e.get(k) ?? [0, 0];
        e.set(k, [c + 1, s + v]);
      }
    },
  };
}

/** Runs the job until its batch outputs show `expected`, then stops it with SIGINT; returns its stderr. */
async function runUntil(args: string[], outDir: string, expected: Map<string, [number, number]>): Promise<string> {
  const job = startCli(args);
  const done = (): boolean => {
    const latest = latestRows(readBatchDirs(outDir, 'totals'));
    return [...expected].every(([k, [c, s]]) => latest.get(k)?.join(',') === `${c},${s}`);
  };
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) await sleep(50);
  expect(await job.stop('SIGINT'), job.stderr()).toBe(0);
  expect(done()).toBe(true);
  return job.stderr();
}

type Damage = (checkpointDir: string) => string;
const firstShardWithKeys = (d: string): string =>
  readdirSync(d).filter((n) => n.endsWith('.bin')).sort().find((n) => readFileSync(path.join(d, n)).length > 40)!;
const flipAt = (file: string, at: number): void => {
  const b = readFileSync(file);
  b[at]! ^= 0x01;
  writeFileSync(file, b);
};

const DAMAGE: Array<[string, Damage, (file: string) => RegExp]> = [
  ['truncated shard file', (d) => { const f = firstShardWithKeys(d); truncateSync(path.join(d, f), 33); return f; }, (f) => new RegExp(`${f}: 33 bytes, the manifest says \\d+ \\(truncated or torn\\)`)],
  ['flipped byte in a shard file', (d) => { const f = firstShardWithKeys(d); flipAt(path.join(d, f), readFileSync(path.join(d, f)).length - 1); return f; }, (f) => new RegExp(`${f}: SHA-256 mismatch`)],
  ['deleted shard file', (d) => { const f = 'aggregate.shard-00009.bin'; unlinkSync(path.join(d, f)); return f; }, (f) => new RegExp(`${f}: missing`)],
  ['flipped byte in the manifest', (d) => { flipAt(path.join(d, 'manifest.json'), 300); return 'manifest.json'; }, () => /manifest\.json: SHA-256 mismatch/],
  ['deleted manifest', (d) => { unlinkSync(path.join(d, 'manifest.json')); return 'manifest.json'; }, () => /manifest\.json: missing/],
];

describe('sluice aggregate --checkpoint with a damaged newest checkpoint', () => {
  for (const [what, damage, reason] of DAMAGE) {
    for (const depth of what === 'truncated shard file' ? [1, 2] : [1]) {
      it(`${what}${depth === 2 ? ' in the two newest checkpoints' : ''}: warns, restores the one before, totals exact`, async () => {
        const dir = path.join(root, `case-${++cases}`);
        const input = path.join(dir, '..', `case-${cases}.csv`);
        const ckpt = path.join(dir, 'ckpt');
        const outDir = path.join(dir, 'out');
        const args = [
          'aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'count,sum', '--follow', '--checkpoint', ckpt,
          '--out', path.join(outDir, 'totals'), '--batch-interval', '20', '--batch-size', '40', '--workers', '0',
        ];
        const expected = new Map<string, [number, number]>();
        const first = records(0, 200);
        writeFileSync(input, first.text);
        first.add(expected);
        await runUntil(args, outDir, expected);

        const ids = readdirSync(ckpt).filter((n) => n.startsWith('batch-')).sort();
        expect(ids.length).toBe(3); // --checkpoint-keep defaults to 3
        const newest = Number(ids.at(-1)!.slice('batch-'.length));
        const before = readBatchDirs(outDir, 'totals');
        const hurt: string[] = [];
        for (let d = 0; d < depth; d++) hurt.push(damage(path.join(ckpt, batchDirName(newest - d))));

        const more = records(200, 90);
        appendFileSync(input, more.text);
        more.add(expected);
        const stderr = await runUntil(args, outDir, expected);

        const restored = newest - depth;
        for (let d = 0; d < depth; d++) {
          const damaged = path.join(ckpt, batchDirName(newest - d));
          expect(stderr).toContain(`sluice: warning: skipped damaged checkpoint ${damaged}: `);
          expect(stderr).toMatch(reason(hurt[d]!));
        }
        expect(stderr).toContain(`restored batch ${restored} from ${path.join(ckpt, batchDirName(restored))}`);
        for (let b = restored + 1; b <= newest; b++) expect(stderr).toContain(`replaying batch ${b} `);
        // the replayed batches rewrote their directories with the same bytes; later batches are new
        const after = readBatchDirs(outDir, 'totals');
        for (const [n, bytes] of before) expect(after.get(n)!.equals(bytes), `batch ${n}`).toBe(true);
        expect(after.size).toBeGreaterThan(before.size);
        const latest = latestRows(after);
        expect(new Map([...latest].map(([k, v]) => [k, v.join(',')]))).toEqual(new Map([...expected].map(([k, [c, s]]) => [k, `${c},${s}`])));
      }, 180_000);
    }
  }
});
