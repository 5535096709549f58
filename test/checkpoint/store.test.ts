// The checkpoint store on its own: shard state round trips (hostile keys, 1M keys), retention, torn and
// damaged checkpoints, intents, the lock, and the refusals of another job or format version.

import { mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, OptionError } from '../../src/errors.js';
import {
  CheckpointStore, batchDirName, inspectCheckpoints, type Checkpoint, type StoredCheckpoint,
} from '../../src/state/checkpoint-store.js';
import type { Fingerprint } from '../../src/state/fingerprint.js';
import { sealJson, unsealJson } from '../../src/state/sealed-json.js';
import { decodeShardFile, encodeShardFile } from '../../src/state/shard-file.js';
import { restoreShard, snapshotShard, SnapshotError, type ShardSnapshot } from '../../src/state/shard-snapshot.js';
import { ShardSet, type ByteShardTable } from '../../src/state/shard-table.js';
import { AGG_COUNT, AGG_MAX, AGG_MIN, AGG_SUM } from '../../src/wasm/abi.js';
import { putByteKeys } from '../helpers/key-columns.js';
import { tempDir } from '../helpers/cli.js';
import { loadTestKernels } from '../helpers/wasm.js';

const ALL = AGG_COUNT | AGG_SUM | AGG_MIN | AGG_MAX;
const enc = new TextEncoder();
const t = loadTestKernels('debug');

let root: string;
let remove: () => void;
beforeAll(() => ({ dir: root, remove } = tempDir('sluice-store-')));
afterAll(() => remove());
let dirs = 0;
const freshDir = (): string => path.join(root, `c${++dirs}`);

/** S shards holding `keys` with `values` folded in batch `stamp` (one call per stamp). */
function shardSet(shards: number, batches: Array<{ keys: Uint8Array[]; values: number[] }>): ShardSet<ByteShardTable> {
  const set = ShardSet.bytes(t.arena, t.k, shards, { groups: 4, keyBytes: 8 });
  batches.forEach((b, i) => {
    const cols = putByteKeys(t, b.keys, b.values);
    set.aggregate({ ...cols, perm: 0 }, cols.hashes, cols.n, i + 1, ALL);
    for (const r of cols.regions) t.arena.release(r);
  });
  return set;
}

/** Every group of a set as key(hex) -> [count, sum, min, max, stamp], values compared bit for bit through Object.is. */
function contents(tables: readonly ByteShardTable[]): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  tables.forEach((table, s) => {
    const cols = (['count', 'sum', 'min', 'max'] as const).map((c) => table.column(c));
    const stamps = table.stamps();
    for (let g = 0; g < table.count; g++) {
      out.set(Buffer.from(table.key(g)).toString('hex'), [s, ...cols.map((c) => c[g]), stamps[g], table.keyHash(g)]);
    }
  });
  return out;
}

function checkpointOf(set: ShardSet<ByteShardTable>, batch: number, extra = {}): Checkpoint {
  return {
    batch,
    time: 1_700_000_000_000 + batch,
    shards: set.size,
    offsets: { input: { kind: 'file', path: '/data/in.csv', byte: batch * 100, line: batch * 10 + 1 } },
    states: [{ kind: 'shards', id: 'aggregate', mask: ALL, shards: set.tables.map((x) => snapshotShard(x, ALL)) }],
    extra,
  };
}

const FP: Fingerprint = { job: 'test', '--key': 'page', shards: 4 };

async function openStore(dir: string, warnings: string[] = [], keep?: number, fingerprint: Fingerprint = FP): Promise<CheckpointStore> {
  return CheckpointStore.open(dir, { fingerprint, keep, warn: (m) => warnings.push(m) });
}

/** Restores the newest usable checkpoint into fresh tables. */
async function restoreTables(store: CheckpointStore): Promise<{ c: StoredCheckpoint; tables: ByteShardTable[] } | undefined> {
  const r = await store.restore((c) => {
    const state = c.states[0]!;
    if (state.kind !== 'shards') throw new Error('expected shards');
    return state.shards.map((snap, s) => restoreShard(t.arena, t.k, snap, { index: s, count: c.shards }));
  });
  return r && { c: r.checkpoint, tables: r.value };
}

const hostileKeys = (): Uint8Array[] => [
  new Uint8Array(0), // the empty key
  enc.encode('x'.repeat(10_000)), // 10 KB
  enc.encode('café'), // 2-byte UTF-8
  enc.encode('€uro'), // 3-byte
  enc.encode('😀 smile'), // 4-byte
  Uint8Array.of(0xff, 0xfe, 0x00, 0x80), // not UTF-8, with a NUL: keys are bytes
  enc.encode('a,"b"\r\nc'), // CSV specials
  enc.encode('\ufeffbom'),
];

describe('checkpoint store: state round trip', () => {
  it('restores hostile keys and every accumulator bit for bit, with stamps and hashes', async () => {
    const keys = hostileKeys();
    const set = shardSet(4, [
      { keys, values: [1, -0, NaN, Infinity, -Infinity, 2 ** -1074, 1e308, 0.1] },
      { keys: keys.slice(0, 3), values: [0.2, 5, -1] },
    ]);
    const before = contents(set.tables);
    expect(before.size).toBe(keys.length);
    const dir = freshDir();
    const store = await openStore(dir);
    await store.save(checkpointOf(set, 1));
    await store.close();

    const again = await openStore(dir);
    const r = await restoreTables(again);
    await again.close();
    expect(r!.c.batch).toBe(1);
    expect(r!.c.offsets).toEqual({ input: { kind: 'file', path: '/data/in.csv', byte: 100, line: 11 } });
    expect(r!.c.fingerprint).toEqual(FP);
    const after = contents(r!.tables);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [k, v] of before) {
      const w = after.get(k)!;
      v.forEach((x, i) => expect(Object.is(x, w[i]), `key ${k} field ${i}: ${String(x)} vs ${String(w[i])}`).toBe(true));
    }
    // the restored tables keep aggregating like the originals
    const more = putByteKeys(t, [keys[0]!, enc.encode('new')], [3, 4]);
    set.aggregate({ ...more, perm: 0 }, more.hashes, 2, 3, ALL);
    const restoredSet = ShardSet.bytes(t.arena, t.k, 4);
    r!.tables.forEach((table, s) => restoredSet.replaceTable(s, table));
    restoredSet.aggregate({ ...more, perm: 0 }, more.hashes, 2, 3, ALL);
    expect(contents(restoredSet.tables)).toEqual(contents(set.tables));
    for (const x of more.regions) t.arena.release(x);
    set.free();
    restoredSet.free();
  });

  it('round-trips 1,000,000 keys over 16 shards', async () => {
    const n = 1_000_000;
    const keys = Array.from({ length: n }, (_, i) => enc.encode(`user-${i}`));
    const values = Array.from({ length: n }, (_, i) => i * 0.5);
    const set = shardSet(16, [{ keys, values }]);
    expect(set.count).toBe(n);
    const dir = freshDir();
    const store = await openStore(dir);
    await store.save(checkpointOf(set, 7));
    const r = await restoreTables(store);
    await store.close();
    let count = 0;
    let sum = 0;
    r!.tables.forEach((table, s) => {
      expect(table.count).toBe(set.tables[s]!.count);
      const a = table.column('sum');
      const b = set.tables[s]!.column('sum');
      for (let g = 0; g < table.count; g++) sum += a[g]!;
      count += table.count;
      expect(Buffer.from(table.keyColumns().bytes).equals(Buffer.from(set.tables[s]!.keyColumns().bytes))).toBe(true);
      expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
      table.free();
    });
    expect(count).toBe(n);
    expect(sum).toBe(values.reduce((x, y) => x + y, 0));
    set.free();
  }, 120_000);

  it('snapshots only the groups updated at or after a stamp (the TTL compaction), keeping their order', () => {
    const set = shardSet(1, [
      { keys: ['a', 'b', 'c'].map((k) => enc.encode(k)), values: [1, 2, 3] },
      { keys: ['c', 'd'].map((k) => enc.encode(k)), values: [4, 5] },
    ]);
    const snap = snapshotShard(set.tables[0]!, AGG_SUM, 2);
    expect(snap.count).toBe(2);
    expect(Buffer.from(snap.keyBytes).toString()).toBe('cd');
    expect(Array.from(snap.columns.sum!)).toEqual([7, 5]);
    expect(Array.from(snap.stamps)).toEqual([2, 2]);
    expect(snap.columns.count).toBeUndefined();
    const table = restoreShard(t.arena, t.k, snap);
    expect([table.keyString(0), table.keyString(1)]).toEqual(['c', 'd']);
    expect(Array.from(table.column('sum'))).toEqual([7, 5]);
    expect(Array.from(table.column('count'))).toEqual([0, 0]); // columns not kept start fresh
    table.free();
    set.free();
  });

  it('refuses to rebuild a table from a snapshot whose keys do not match their hashes, repeat, or sit in the wrong shard', () => {
    const set = shardSet(2, [{ keys: ['a', 'b', 'c', 'd', 'e'].map((k) => enc.encode(k)), values: [1, 2, 3, 4, 5] }]);
    const snap = snapshotShard(set.tables[0]!, ALL);
    const badHash: ShardSnapshot = { ...snap, hashes: snap.hashes.map((h) => h ^ 1) };
    expect(() => restoreShard(t.arena, t.k, badHash)).toThrow(SnapshotError);
    expect(() => restoreShard(t.arena, t.k, badHash)).toThrow('group 0: the stored murmur2 of its key does not match the key');
    expect(() => restoreShard(t.arena, t.k, snap, { index: 1, count: 2 })).toThrow(/belongs to shard 0, not 1/);
    const twice = snapshotShard(set.tables[0]!, ALL);
    const dup: ShardSnapshot = {
      ...twice,
      count: 2,
      keyOffsets: Uint32Array.of(0, 1, 2),
      keyBytes: Buffer.concat([twice.keyBytes.subarray(0, 1), twice.keyBytes.subarray(0, 1)]),
      hashes: Uint32Array.of(twice.hashes[0]!, twice.hashes[0]!),
      stamps: Uint32Array.of(1, 1),
      columns: { count: Float64Array.of(1, 1), sum: Float64Array.of(1, 1), min: Float64Array.of(1, 1), max: Float64Array.of(1, 1) },
    };
    const used = t.arena.usedBytes;
    expect(() => restoreShard(t.arena, t.k, dup)).toThrow('1 keys are stored twice');
    expect(t.arena.usedBytes).toBe(used); // a refused rebuild frees what it made
    set.free();
  });
});

describe('shard files', () => {
  const snapshot = fc
    .array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.double(), fc.nat({ max: 0xffffffff })), { maxLength: 60 })
    .map((rows) => {
      const seen = new Set<string>();
      const uniq = rows.filter(([k]) => !seen.has(Buffer.from(k).toString('hex')) && seen.add(Buffer.from(k).toString('hex')));
      const n = uniq.length;
      const keyOffsets = new Uint32Array(n + 1);
      uniq.forEach(([k], j) => (keyOffsets[j + 1] = keyOffsets[j]! + k.length));
      const snap: ShardSnapshot = {
        count: n,
        keyOffsets,
        keyBytes: Buffer.concat(uniq.map(([k]) => k)),
        hashes: Uint32Array.from(uniq.map(([, , h]) => h)),
        stamps: Uint32Array.from(uniq.map((_, j) => j + 1)),
        mask: AGG_SUM | AGG_MAX,
        columns: { sum: Float64Array.from(uniq.map(([, v]) => v)), max: Float64Array.from(uniq.map(([, v]) => -v)) },
      };
      return snap;
    });

  it('decode(encode(snapshot)) is the snapshot, byte for byte', () => {
    fc.assert(
      fc.property(snapshot, fc.integer({ min: 1, max: 64 }), (snap, shards) => {
        const shard = shards - 1;
        const file = Buffer.concat(encodeShardFile(snap, shard, shards));
        const back = decodeShardFile(file);
        expect(back.shard).toBe(shard);
        expect(back.shards).toBe(shards);
        expect(Buffer.from(Buffer.concat(encodeShardFile(back, shard, shards))).equals(file)).toBe(true);
        expect(Array.from(back.columns.sum!)).toEqual(Array.from(snap.columns.sum!));
      }),
    );
  });

  it('a damaged file is refused with a SnapshotError, never read out of bounds', () => {
    fc.assert(
      fc.property(snapshot, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (snap, at, byte, cut) => {
        const file = Buffer.concat(encodeShardFile(snap, 0, 1));
        const bad = cut ? file.subarray(0, at % file.length) : Buffer.from(file);
        if (!cut) bad[at % bad.length] = byte;
        try {
          decodeShardFile(bad);
        } catch (err) {
          expect(err).toBeInstanceOf(SnapshotError);
        }
      }),
    );
  });
});

describe('checkpoint store: directories', () => {
  const small = (): ShardSet<ByteShardTable> => shardSet(4, [{ keys: ['a', 'b', 'c'].map((k) => enc.encode(k)), values: [1, 2, 3] }]);

  it('keeps the newest K checkpoints and the intents they may replay', async () => {
    const dir = freshDir();
    const store = await openStore(dir, [], 2);
    const set = small();
    for (let b = 1; b <= 5; b++) {
      await store.writeIntent({ batch: b, time: b, ranges: { input: { kind: 'file', from: { byte: 0, line: 1 }, to: b, maxRecords: 10, final: false } } });
      await store.save(checkpointOf(set, b));
    }
    await store.writeIntent({ batch: 6, time: 6, ranges: { input: { kind: 'file', from: { byte: 500, line: 51 }, to: 600, maxRecords: 10, final: false } } });
    expect(readdirSync(dir).sort()).toEqual(['LOCK', batchDirName(4), batchDirName(5), 'intent-000000000005.json', 'intent-000000000006.json']);
    expect((await store.intents(4)).map((i) => i.batch)).toEqual([5, 6]);
    expect(await store.intents(5)).toEqual([
      { batch: 6, time: 6, ranges: { input: { kind: 'file', from: { byte: 500, line: 51 }, to: 600, maxRecords: 10, final: false } } },
    ]);
    await store.close();
    expect(readdirSync(dir)).not.toContain('LOCK');
    set.free();
  });

  it('checks the keep option where it enters', async () => {
    const dir = freshDir();
    await expect(CheckpointStore.open(dir, { fingerprint: FP, keep: 0 })).rejects.toThrow(
      new OptionError('options.checkpointKeep', 'options.checkpointKeep must be an integer from 1 to 1000 (checkpoints kept)'),
    );
    await expect(CheckpointStore.open(dir, { fingerprint: FP, keep: 2.5, keepOption: '--checkpoint-keep' })).rejects.toThrow(
      '--checkpoint-keep must be an integer from 1 to 1000 (checkpoints kept)',
    );
  });

  it('an interrupted save leaves no checkpoint: its temp directory is removed on the next open', async () => {
    const dir = freshDir();
    const store = await openStore(dir);
    const set = small();
    await store.save(checkpointOf(set, 1));
    await store.close();
    // what a kill half-way through save(2) leaves
    mkdirSync(path.join(dir, '.tmp-batch-000000000002-99999'));
    writeFileSync(path.join(dir, '.tmp-batch-000000000002-99999', 'aggregate.shard-00000.bin'), 'half');
    const again = await openStore(dir);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
    expect((await restoreTables(again))!.c.batch).toBe(1);
    await again.close();
    set.free();
  });

  it('what a kill leaves inside an intent write or a retention cleanup is removed on the next open', async () => {
    const dir = freshDir();
    const store = await openStore(dir);
    const set = small();
    await store.save(checkpointOf(set, 1));
    await store.close();
    // replaceFileDurable's temp file of intent 2, and a checkpoint being removed by prune()
    writeFileSync(path.join(dir, 'intent-000000000002.json.tmp-99999'), '{"sha256":"');
    mkdirSync(path.join(dir, '.old-batch-000000000000-99999'));
    writeFileSync(path.join(dir, '.old-batch-000000000000-99999', 'aggregate.shard-00000.bin'), 'half');
    const again = await openStore(dir);
    expect(readdirSync(dir).sort()).toEqual(['LOCK', batchDirName(1)]);
    await again.close();
    set.free();
  });

  it('refuses a checkpoint path that is a file, saying so, and leaves no LOCK behind', async () => {
    const dir = freshDir();
    writeFileSync(dir, 'not a directory');
    const err = await openStore(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(`cannot use checkpoint directory ${dir}: it is a file, not a directory (give a directory path, or remove the file)`);
    expect(readFileSync(dir, 'utf8')).toBe('not a directory');
  });

  it('a LOCK that a kill left empty or that holds no pid is taken over', async () => {
    for (const content of ['', 'garbage\n', '-5\n']) {
      const dir = freshDir();
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'LOCK'), content);
      const store = await openStore(dir);
      expect(readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
      await store.close();
    }
  });

  const damage: Array<[string, (dir: string) => void, RegExp]> = [
    ['a truncated shard file', (d) => truncateSync(path.join(d, 'aggregate.shard-00002.bin'), 20), /aggregate\.shard-00002\.bin: 20 bytes, the manifest says \d+ \(truncated or torn\)/],
    ['a flipped byte in a shard file', (d) => flip(path.join(d, 'aggregate.shard-00001.bin'), 45), /aggregate\.shard-00001\.bin: SHA-256 mismatch \(changed or corrupt\)/],
    ['a deleted shard file', (d) => unlinkSync(path.join(d, 'aggregate.shard-00003.bin')), /aggregate\.shard-00003\.bin: missing/],
    ['a flipped byte in the manifest', (d) => flip(path.join(d, 'manifest.json'), 120), /manifest\.json: SHA-256 mismatch/],
    ['a truncated manifest', (d) => truncateSync(path.join(d, 'manifest.json'), 100), /manifest\.json: truncated/],
    ['a deleted manifest', (d) => unlinkSync(path.join(d, 'manifest.json')), /manifest\.json: missing/],
    ['a manifest overwritten with other JSON', (d) => writeFileSync(path.join(d, 'manifest.json'), '{"batch":2}\n'), /manifest\.json: not a sealed JSON file/],
  ];
  for (const [what, hurt, reason] of damage) {
    it(`skips a checkpoint with ${what}, names it in a warning, and restores the previous one`, async () => {
      const dir = freshDir();
      const store = await openStore(dir);
      const set1 = small();
      await store.save(checkpointOf(set1, 1, { records: 3 }));
      const set2 = shardSet(4, [{ keys: ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => enc.encode(k)), values: [1, 2, 3, 4, 5, 6] }]);
      await store.save(checkpointOf(set2, 2, { records: 6 }));
      await store.close();
      hurt(path.join(dir, batchDirName(2)));
      const warnings: string[] = [];
      const again = await openStore(dir, warnings);
      const r = await restoreTables(again);
      await again.close();
      expect(r!.c.batch).toBe(1);
      expect(r!.c.extra).toEqual({ records: 3 });
      expect(contents(r!.tables)).toEqual(contents(set1.tables));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`skipped damaged checkpoint ${path.join(dir, batchDirName(2))}: `);
      expect(warnings[0]).toMatch(reason);
      expect(warnings[0]).toContain(`restored batch 1 from ${path.join(dir, batchDirName(1))}`);
      const report = await inspectCheckpoints(dir);
      expect(report.checkpoints.map((c) => [c.batch, c.valid])).toEqual([[2, false], [1, true]]);
      expect(report.checkpoints[0]!.problem).toMatch(reason);
      for (const x of r!.tables) x.free();
      set1.free();
      set2.free();
    });
  }

  /** A fresh directory holding checkpoints `batches` of a small state. */
  async function saved(...batches: number[]): Promise<string> {
    const dir = freshDir();
    const store = await openStore(dir);
    const set = small();
    for (const b of batches) await store.save(checkpointOf(set, b));
    await store.close();
    set.free();
    return dir;
  }

  it('a checkpoint whose state the job cannot rebuild (SnapshotError) is skipped like a damaged one', async () => {
    const dir = await saved(1, 2);
    const warnings: string[] = [];
    const again = await openStore(dir, warnings);
    const r = await again.restore((c) => {
      if (c.batch === 2) throw new SnapshotError('group 0: the stored murmur2 of its key does not match the key');
      return c.batch;
    });
    await again.close();
    expect(r!.value).toBe(1);
    expect(warnings[0]).toMatch(/batch-000000000002: group 0: the stored murmur2 of its key does not match the key; restored batch 1/);
  });

  it('lists and reads single checkpoints for a recovery that picks one itself', async () => {
    const dir = await saved(1, 2, 3);
    flip(path.join(dir, batchDirName(3), 'aggregate.shard-00000.bin'), 7);
    const store = await openStore(dir);
    expect(await store.batches()).toEqual([3, 2, 1]);
    expect(await store.read(3)).toEqual({ ok: false, problem: 'aggregate.shard-00000.bin: SHA-256 mismatch (changed or corrupt)' });
    const two = await store.read(2);
    expect(two.ok && two.checkpoint.offsets).toEqual({ input: { kind: 'file', path: '/data/in.csv', byte: 200, line: 21 } });
    expect(await store.read(9)).toEqual({ ok: false, problem: 'manifest.json: missing' });
    await store.close();
  });

  it('refuses when every checkpoint is damaged, listing each and why', async () => {
    const dir = await saved(1, 2);
    unlinkSync(path.join(dir, batchDirName(1), 'manifest.json'));
    flip(path.join(dir, batchDirName(2), 'aggregate.shard-00000.bin'), 0);
    const again = await openStore(dir);
    const err = await again.restore((c) => c).catch((e: unknown) => e);
    await again.close();
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(
      `no usable checkpoint in ${dir}: ${path.join(dir, batchDirName(2))}: aggregate.shard-00000.bin: SHA-256 mismatch (changed or corrupt); ` +
        `${path.join(dir, batchDirName(1))}: manifest.json: missing. Remove ${dir} to start over from the beginning of the input`,
    );
  });

  it('refuses a checkpoint of a different job, saying what changed', async () => {
    const dir = await saved(1);
    const other = await openStore(dir, [], undefined, { job: 'test', '--key': 'user', shards: 4, '--header': true });
    const err = await other.restore((c) => c).catch((e: unknown) => e);
    await other.close();
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).code).toBe('ERR_CHECKPOINT');
    expect((err as Error).message).toBe(
      `checkpoint in ${dir} was written by a different job: --key was "page", now "user"; --header was absent, now true ` +
        '(use another --checkpoint directory for a different job, or remove this one to start over)',
    );
  });

  it('refuses a checkpoint of another format version with a clear error', async () => {
    const dir = await saved(1);
    const file = path.join(dir, batchDirName(1), 'manifest.json');
    const sealed = unsealJson(readFileSync(file, 'utf8'));
    writeFileSync(file, sealJson({ ...(sealed as { body: object }).body, version: 2 }));
    const again = await openStore(dir);
    await expect(again.restore((c) => c)).rejects.toThrow(
      `checkpoint ${path.join(dir, batchDirName(1))} has format version 2, and this sluice reads version 1: run the sluice that wrote it, or remove ${dir} to start over`,
    );
    await again.close();
  });

  it('a damaged intent stops the replay with an error naming it', async () => {
    const dir = freshDir();
    const store = await openStore(dir);
    await store.writeIntent({ batch: 1, time: 5, ranges: {} });
    flip(path.join(dir, 'intent-000000000001.json'), 90);
    await expect(store.intents(0)).rejects.toThrow(
      `batch intent ${path.join(dir, 'intent-000000000001.json')} is damaged (SHA-256 mismatch (changed or corrupt)), so batch 1 cannot be replayed exactly`,
    );
    await store.close();
  });

  it('one job per directory: a live process holds it, a killed one does not', async () => {
    const dir = freshDir();
    const store = await openStore(dir);
    await expect(openStore(dir)).rejects.toThrow(`checkpoint directory ${dir} is in use by another job of this process`);
    await store.close();
    writeFileSync(path.join(dir, 'LOCK'), '1\n'); // pid 1 is alive
    await expect(openStore(dir)).rejects.toThrow(
      `checkpoint directory ${dir} is in use by process 1: run one job per checkpoint directory (if no sluice job uses it, remove ${path.join(dir, 'LOCK')})`,
    );
    writeFileSync(path.join(dir, 'LOCK'), '2147483646\n'); // no such process: taken over
    const again = await openStore(dir);
    expect(readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

function flip(file: string, at: number): void {
  const b = readFileSync(file);
  b[at % b.length]! ^= 0x20;
  writeFileSync(file, b);
}
