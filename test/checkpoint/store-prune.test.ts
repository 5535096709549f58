// Retention cleanup killed half-way: the checkpoint being removed must not be left behind looking damaged.
// fs.rm is made to "die" after removing one file of the directory it was given, as a SIGKILL would leave it.

import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const crash = vi.hoisted(() => ({ on: false }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    rm: async (target: string, options?: Parameters<typeof fs.rm>[1]) => {
      if (crash.on && /^(\.old-)?batch-\d{12}/.test(path.basename(target))) {
        unlinkSync(path.join(target, 'manifest.json'));
        throw new Error('killed during the removal');
      }
      return fs.rm(target, options);
    },
  };
});

const { CheckpointStore, inspectCheckpoints, batchDirName } = await import('../../src/state/checkpoint-store.js');

const root = mkdtempSync(path.join(tmpdir(), 'sluice-prune-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const checkpoint = (batch: number) => ({
  batch, time: batch, shards: 1, offsets: { input: { kind: 'generator' as const, produced: batch } }, states: [], extra: {},
});

describe('retention cleanup killed half-way', () => {
  it('leaves no half-removed checkpoint: the next open removes what is left, and every checkpoint listed is valid', async () => {
    const dir = path.join(root, 'ckpt');
    const store = await CheckpointStore.open(dir, { fingerprint: { job: 'test' }, keep: 1 });
    await store.save(checkpoint(1));
    crash.on = true;
    await store.save(checkpoint(2)).catch(() => undefined); // checkpoint 2 is in place; removing 1 "dies"
    crash.on = false;
    await store.close();
    const again = await CheckpointStore.open(dir, { fingerprint: { job: 'test' }, keep: 1 });
    await again.close();
    expect(readdirSync(dir)).toEqual([batchDirName(2)]);
    const report = await inspectCheckpoints(dir);
    expect(report.checkpoints.map((c) => [c.batch, c.valid])).toEqual([[2, true]]);
  });
});
