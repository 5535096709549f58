// agg_bytes / agg_u32 (and the routed and partitioned folds over shard sets, and a fold continued by agg_groups) fold count/sum/min/max bit-identically to a left-to-right Map group-by; agg_groups, acc_merge and acc_changed match their references.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTestKernels, type TestKernels } from '../helpers/wasm.js';
import { foldValue } from '../helpers/arbitraries.js';
import { putByteKeys, putF64, putU32 } from '../helpers/key-columns.js';
import { bytesKey, foldGroups, groupBy, type GroupStats } from '../reference/group-by.js';
import { fastHash } from '../reference/fast-hash.js';
import { murmur2 } from '../reference/murmur2.js';
import { stablePartition } from '../reference/partition.js';
import { ByteShardTable, ShardSet, U32ShardTable, type ByteTableHash, type RangePartition, type ShardTableOptions } from '../../src/state/shard-table.js';
import { AGG_COUNT, AGG_MAX, AGG_MIN, AGG_SUM } from '../../src/wasm/abi.js';

const enc = new TextEncoder();
const ALL = AGG_COUNT | AGG_SUM | AGG_MIN | AGG_MAX;

const value = foldValue;
const byteKey = fc.oneof(
  fc.uint8Array({ maxLength: 2, min: 48, max: 51 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => enc.encode(s)),
  fc.integer({ min: 0, max: 40 }).map((i) => enc.encode(`key-with-a-longer-common-prefix-${i}`)),
);
/** Zipf-like: a few hot keys and a long tail. */
const skewed = fc.integer({ min: 1, max: 2 ** 20 }).map((x) => Math.floor(2 ** 20 / x) % 5000);
const mask = fc.integer({ min: 1, max: 15 });
/** u32 rows whose keys include the two ends of the range. */
const edgeU32Rows = fc.array(fc.tuple(fc.oneof(skewed, fc.constantFrom(0, 0xffffffff)), value), { maxLength: 300 });
const sizes = fc.constantFrom<ShardTableOptions>({ groups: 1, slots: 2, keyBytes: 1 }, {});

/** Checks every group's columns against the reference: bit-identical, columns outside mask at their initial values. */
function expectGroups(
  table: ByteShardTable | U32ShardTable, ref: Map<string | number, GroupStats>, keyOf: (g: number) => string | number, m: number, stamp: number,
): void {
  expect(table.count).toBe(ref.size);
  const cols = { count: table.column('count'), sum: table.column('sum'), min: table.column('min'), max: table.column('max') };
  const stamps = table.stamps();
  for (let g = 0; g < table.count; g++) {
    const r = ref.get(keyOf(g))!;
    expect(r.id).toBe(g);
    expect(cols.count[g]).toBe(m & AGG_COUNT ? r.count : 0);
    expect(Object.is(cols.sum[g], m & AGG_SUM ? r.sum : 0)).toBe(true);
    expect(Object.is(cols.min[g], m & AGG_MIN ? r.min : Infinity)).toBe(true);
    expect(Object.is(cols.max[g], m & AGG_MAX ? r.max : -Infinity)).toBe(true);
    expect(stamps[g]).toBe(stamp);
  }
}

function aggregateBytes(t: TestKernels, keys: Uint8Array[], values: number[], m: number, size: ShardTableOptions): void {
  const cols = putByteKeys(t, keys, values);
  const table = new ByteShardTable(t.arena, t.k, size);
  table.aggregate({ keyOffs: cols.keyOffs, keyBytes: cols.keyBytes, hashes: cols.hashes, values: cols.values, perm: 0 }, 0, keys.length, 3, m);
  const ref = groupBy(keys.length, (i) => bytesKey(keys[i]!), values);
  expectGroups(table, ref, (g) => bytesKey(table.key(g)), m, 3);
  table.free();
  for (const r of cols.regions) t.arena.release(r);
}

/** Phase 1 of the partitioned fold: n rows in blocks of `block`, shared out to `tasks` tasks run last first (order must not matter). */
function partitionBlocks(
  t: TestKernels, set: ShardSet<ByteShardTable> | ShardSet<U32ShardTable>, hashes: number, n: number, block: number, tasks: number,
): RangePartition {
  const part = set.rangePartition(n, block);
  for (const slice of set.partitionSlices(part, n, tasks).reverse()) {
    t.k.partition_blocks(hashes, slice.lo, slice.hi, block, set.size, slice.starts, part.perm);
  }
  return part;
}

/** u32 rows in the arena: keys, values, and hash_u32 of each key as the shard hash column. */
function u32Rows(t: TestKernels, rows: Array<[number, number]>) {
  const keys = rows.map((r) => r[0]);
  const values = rows.map((r) => r[1]);
  const hashes = keys.map((x) => t.k.hash_u32(x) >>> 0);
  return { keys, values, n: keys.length, hashes, kp: putU32(t, keys), vp: putF64(t, values), hp: putU32(t, hashes) };
}

/** Each shard of a u32 set (stamp 4) holds its keys' rows folded in input order, as the reference folds them. */
function expectShardsInOrder(
  set: ShardSet<U32ShardTable>, rows: { keys: number[]; values: number[]; hashes: number[] }, withValues: boolean, m: number,
): void {
  const S = set.size;
  const { perm, starts } = stablePartition(rows.hashes, S);
  for (let s = 0; s < S; s++) {
    const order = perm.slice(starts[s], starts[s + 1]);
    expectGroups(set.tables[s]!, groupBy(0, (i) => rows.keys[i]!, withValues ? rows.values : undefined, order), (g) => set.tables[s]!.key(g), withValues ? m : m & AGG_COUNT, 4);
  }
}

/** [lo, hi) of R shard ranges over S shards, last first. */
function shardRanges(S: number, R: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let r = R - 1; r >= 0; r--) out.push([Math.floor((r * S) / R), Math.floor(((r + 1) * S) / R)]);
  return out;
}

describe.each(['debug', 'release'] as const)('accumulate (%s build)', (build) => {
  const t = loadTestKernels(build);
  const runs = build === 'debug' ? 150 : 50;

  it('agg_bytes equals the Map group-by for every mask, growing from tiny capacities', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(byteKey, value), { maxLength: 200 }), mask, sizes, (rows, m, size) => {
        aggregateBytes(t, rows.map((r) => r[0]), rows.map((r) => r[1]), m, size);
      }),
      { numRuns: runs },
    );
  });

  it('agg_u32 equals the Map group-by on skewed keys, with perm and split ranges', () => {
    fc.assert(
      fc.property(edgeU32Rows, mask, sizes, (rows, m, size) => {
        const keys = rows.map((r) => r[0]);
        const values = rows.map((r) => r[1]);
        const order = keys.map((_, i) => i).reverse();
        const kp = putU32(t, keys);
        const vp = putF64(t, values);
        const perm = putU32(t, order);
        const table = new U32ShardTable(t.arena, t.k, size);
        const half = keys.length >> 1;
        table.aggregate({ keys: kp, values: vp, perm }, 0, half, 9, m);
        table.aggregate({ keys: kp, values: vp, perm }, half, keys.length, 9, m);
        expectGroups(table, groupBy(keys.length, (i) => keys[i]!, values, order), (g) => table.key(g), m, 9);
        table.free();
        for (const r of [kp, vp, perm]) t.arena.release(r);
      }),
      { numRuns: runs },
    );
  });

  it('agg_u32 without perm (the inlined first probe) equals the Map group-by, keys 0 and 0xffffffff included', () => {
    const key = fc.oneof(skewed, fc.constantFrom(0, 1, 0xffffffff, 0xfffffffe, 0x80000000));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 300 }), mask, sizes, fc.nat(), (rows, m, size, cut) => {
        const keys = rows.map((r) => r[0]);
        const values = rows.map((r) => r[1]);
        const kp = putU32(t, keys);
        const vp = putF64(t, values);
        const table = new U32ShardTable(t.arena, t.k, size);
        const mid = keys.length === 0 ? 0 : cut % (keys.length + 1);
        table.aggregate({ keys: kp, values: vp, perm: 0 }, 0, mid, 5, m);
        table.aggregate({ keys: kp, values: vp, perm: 0 }, mid, keys.length, 5, m);
        expectGroups(table, groupBy(keys.length, (i) => keys[i]!, values), (g) => table.key(g), m, 5);
        table.free();
        for (const r of [kp, vp]) t.arena.release(r);
      }),
      { numRuns: runs },
    );
  });

  it('sums in record order, bit-identical to a left-to-right fold where order matters', () => {
    // 1e16 + 1 + 1 - 1e16 is 0 left to right, 2 in another order
    const keys = ['a', 'a', 'a', 'a', 'b', 'b', 'b'].map((s) => enc.encode(s));
    const values = [1e16, 1, 1, -1e16, 0.1, 0.2, 0.3];
    aggregateBytes(t, keys, values, ALL, {});
    const cols = putByteKeys(t, keys, values);
    const table = new ByteShardTable(t.arena, t.k);
    table.aggregate({ ...cols, perm: 0 }, 0, keys.length, 1, AGG_SUM);
    expect(Array.from(table.column('sum'))).toEqual([0, 0.1 + 0.2 + 0.3]);
    table.free();
    for (const r of cols.regions) t.arena.release(r);
  });

  it('counts without a values column (values = 0) whatever the mask asks', () => {
    const keys = ['x', 'y', 'x'].map((s) => enc.encode(s));
    const cols = putByteKeys(t, keys);
    const table = new ByteShardTable(t.arena, t.k);
    table.aggregate({ ...cols, values: 0, perm: 0 }, 0, 3, 1, ALL);
    expect(Array.from(table.column('count'))).toEqual([2, 1]);
    expect(Array.from(table.column('sum'))).toEqual([0, 0]);
    expect(Array.from(table.column('min'))).toEqual([Infinity, Infinity]);
    table.free();
    for (const r of cols.regions) t.arena.release(r);
  });

  it('acc_changed lists exactly the groups the last batch touched; acc_merge folds partials like the reference', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), value), { maxLength: 150 }),
        fc.array(fc.tuple(fc.integer({ min: 30, max: 90 }), value), { maxLength: 150 }),
        mask,
        (batch1, batch2, m) => {
          const put = (rows: Array<[number, number]>) => ({ keys: putU32(t, rows.map((r) => r[0])), values: putF64(t, rows.map((r) => r[1])), perm: 0 });
          const in1 = put(batch1);
          const in2 = put(batch2);
          const state = new U32ShardTable(t.arena, t.k, { groups: 1, slots: 2 });
          state.aggregate(in1, 0, batch1.length, 1, m);
          state.aggregate(in2, 0, batch2.length, 2, m);
          const touched = new Set(batch2.map((r) => r[0]));
          const expected = Array.from({ length: state.count }, (_, g) => g).filter((g) => touched.has(state.key(g)));
          expect(Array.from(state.changed(2))).toEqual(expected);
          expect(Array.from(state.changed(1)).length).toBe(state.count - expected.length);

          // partial -> final: two partial tables merged into an empty one
          const p1 = new U32ShardTable(t.arena, t.k, { groups: 1, slots: 2 });
          const p2 = new U32ShardTable(t.arena, t.k);
          p1.aggregate(in1, 0, batch1.length, 1, m);
          p2.aggregate(in2, 0, batch2.length, 1, m);
          const merged = new U32ShardTable(t.arena, t.k, { groups: 1, slots: 2 });
          merged.mergeFrom(p1, 5, m);
          merged.mergeFrom(p2, 6, m);
          const r1 = groupBy(batch1.length, (i) => batch1[i]![0], batch1.map((r) => r[1]));
          const r2 = groupBy(batch2.length, (i) => batch2[i]![0], batch2.map((r) => r[1]));
          const ref = new Map<number, GroupStats>(r1);
          for (const [k, s] of r2) {
            const a = ref.get(k);
            ref.set(k, a
              ? { id: a.id, count: a.count + s.count, sum: a.sum + s.sum, min: Math.min(a.min, s.min), max: Math.max(a.max, s.max) }
              : { ...s, id: ref.size });
          }
          expect(merged.count).toBe(ref.size);
          for (let g = 0; g < merged.count; g++) {
            const r = ref.get(merged.key(g))!;
            expect(r.id).toBe(g);
            expect(merged.column('count')[g]).toBe(m & AGG_COUNT ? r.count : 0);
            expect(Object.is(merged.column('sum')[g], m & AGG_SUM ? r.sum : 0)).toBe(true);
            expect(Object.is(merged.column('min')[g], m & AGG_MIN ? r.min : Infinity)).toBe(true);
            expect(Object.is(merged.column('max')[g], m & AGG_MAX ? r.max : -Infinity)).toBe(true);
            expect(merged.stamps()[g]).toBe(r2.has(merged.key(g)) ? 6 : 5);
          }
          for (const x of [state, p1, p2, merged]) x.free();
          for (const r of [in1, in2]) { t.arena.release(r.keys); t.arena.release(r.values); }
        },
      ),
      { numRuns: runs },
    );
  });

  it('agg_bytes_shards over disjoint shard ranges (two workers) fills each shard like the partitioned agg_bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(byteKey, value), { maxLength: 300 }), fc.integer({ min: 1, max: 12 }), mask, (rows, S, m) => {
        const keys = rows.map((r) => r[0]);
        const values = rows.map((r) => r[1]);
        const cols = putByteKeys(t, keys, values);
        const n = keys.length;
        const input = { ...cols, perm: 0 };
        // routed: shards [0, mid) and [mid, S) as two tasks would run them, growing on each stop
        const routed = ShardSet.bytes(t.arena, t.k, S, { groups: 1, slots: 2, keyBytes: 1 });
        const mid = S >> 1;
        for (const [lo, hi] of [[mid, S], [0, mid]] as const) {
          let j = 0;
          while ((j = t.k.agg_bytes_shards(routed.tablePtrs, routed.accPtrs, S, lo, hi, cols.keyOffs, cols.keyBytes, cols.hashes, cols.values, j, n, 7, m) >>> 0) < n) {
            const s = routed.growShardFor(input, cols.hashes, j);
            expect(s >= lo && s < hi).toBe(true);
          }
        }
        // partitioned: the partition kernel, then agg_bytes over each shard's slice of perm
        const parted = ShardSet.bytes(t.arena, t.k, S);
        const { starts, perm } = parted.partition(cols.hashes, n);
        for (let s = 0; s < S; s++) {
          const u32 = t.arena.u32;
          parted.tables[s]!.aggregate({ ...cols, perm }, u32[(starts >>> 2) + s]!, u32[(starts >>> 2) + s + 1]!, 7, m);
        }
        for (let s = 0; s < S; s++) {
          const a = routed.tables[s]!;
          const b = parted.tables[s]!;
          expect(a.count).toBe(b.count);
          for (let g = 0; g < a.count; g++) expect(bytesKey(a.key(g))).toBe(bytesKey(b.key(g)));
          for (const c of ['count', 'sum', 'min', 'max'] as const) expect(Array.from(a.column(c))).toEqual(Array.from(b.column(c)));
          expect(Array.from(a.stamps())).toEqual(Array.from(b.stamps()));
        }
        routed.free();
        parted.free();
        for (const r of cols.regions) t.arena.release(r);
      }),
      { numRuns: build === 'debug' ? 100 : 30 },
    );
  });

  it('agg_bytes and agg_bytes_shards stay exact when hashes collide in a bucket (0, 0xffffffff, few values), keys of 0..100 bytes', () => {
    // hash 0 matches the hash field of empty lanes; one or a few hash values fill buckets and overflow
    // into the next ones; S >= 1 shards of one table set, each grown from a single bucket mid-batch
    const key = fc.oneof(byteKey, fc.integer({ min: 0, max: 100 }).chain((len) => fc.uint8Array({ minLength: len, maxLength: len, min: 0, max: 2 })));
    const hashOf = fc.constantFrom<'murmur2' | 'zero' | 'ones' | 'few'>('murmur2', 'zero', 'ones', 'few');
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 200 }), hashOf, fc.integer({ min: 1, max: 3 }), mask, fc.nat(), (rows, mode, S, m, cut) => {
        const keys = rows.map((r) => r[0]);
        const values = rows.map((r) => r[1]);
        const hashes = keys.map((k) =>
          mode === 'zero' ? 0 : mode === 'ones' ? 0xffffffff : mode === 'few' ? [0, 0xffffffff, 0x80000000, 7][murmur2(k) & 3]! : murmur2(k) >>> 0);
        const cols = putByteKeys(t, keys, values, hashes);
        const n = keys.length;
        const table = new ByteShardTable(t.arena, t.k, { groups: 1, slots: 2, keyBytes: 1 });
        const mid = n === 0 ? 0 : cut % (n + 1);
        const input = { keyOffs: cols.keyOffs, keyBytes: cols.keyBytes, hashes: cols.hashes, values: cols.values, perm: 0 };
        table.aggregate(input, 0, mid, 4, m);
        table.aggregate(input, mid, n, 4, m);
        expectGroups(table, groupBy(n, (i) => bytesKey(keys[i]!), values), (g) => bytesKey(table.key(g)), m, 4);
        table.free();
        const set = ShardSet.bytes(t.arena, t.k, S, { groups: 1, slots: 2, keyBytes: 1 });
        set.aggregate(input, cols.hashes, n, 4, m);
        for (let s = 0; s < S; s++) {
          const order = keys.map((_, i) => i).filter((i) => (hashes[i]! & 0x7fffffff) % S === s);
          const tab = set.tables[s]!;
          expectGroups(tab, groupBy(n, (i) => bytesKey(keys[i]!), values, order), (g) => bytesKey(tab.key(g)), m, 4);
        }
        set.free();
        for (const r of cols.regions) t.arena.release(r);
      }),
      { numRuns: build === 'debug' ? 150 : 50 },
    );
  });

  it('ShardSet.u32 routes u32 keys by a caller-given hash column', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(skewed, value), { maxLength: 300 }), fc.integer({ min: 1, max: 7 }), mask, (rows, S, m) => {
        const keys = rows.map((r) => r[0]);
        const values = rows.map((r) => r[1]);
        const kp = putU32(t, keys);
        const vp = putF64(t, values);
        const hashes = keys.map((x) => t.k.hash_u32(x) >>> 0);
        const hp = putU32(t, hashes);
        const set = ShardSet.u32(t.arena, t.k, S, { groups: 1, slots: 2 });
        set.aggregate({ keys: kp, values: vp, perm: 0 }, hp, keys.length, 2, m);
        const { perm, starts } = stablePartition(hashes, S);
        for (let s = 0; s < S; s++) {
          const order = perm.slice(starts[s], starts[s + 1]);
          expectGroups(set.tables[s]!, groupBy(0, (i) => keys[i]!, values, order), (g) => set.tables[s]!.key(g), m, 2);
        }
        set.free();
        for (const r of [kp, vp, hp]) t.arena.release(r);
      }),
      { numRuns: build === 'debug' ? 100 : 30 },
    );
  });

  it('agg_u32_shards with one shard per task fills each shard like the reference', () => {
    fc.assert(
      fc.property(edgeU32Rows, fc.integer({ min: 1, max: 7 }), mask, (rows, S, m) => {
        const { keys, values, n, kp, vp, hashes, hp } = u32Rows(t, rows);
        const set = ShardSet.u32(t.arena, t.k, S, { groups: 1, slots: 2 });
        const input = { keys: kp, values: vp, perm: 0 };
        // one task per shard, in reverse order, each growing its table whenever the kernel stops
        for (let s = S - 1; s >= 0; s--) {
          let j = 0;
          while ((j = t.k.agg_u32_shards(set.tablePtrs, set.accPtrs, S, s, s + 1, kp, hp, vp, j, n, 4, m) >>> 0) < n) {
            expect(set.growShardFor(input, hp, j)).toBe(s);
          }
        }
        expectShardsInOrder(set, { keys, values, hashes }, true, m);
        set.free();
        for (const r of [kp, vp, hp]) t.arena.release(r);
      }),
      { numRuns: build === 'debug' ? 100 : 30 },
    );
  });

  it('agg_u32_parts over blocks from T tasks and R shard ranges, growing mid-list, fills each shard as the in-order reference', () => {
    fc.assert(
      fc.property(
        edgeU32Rows, fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), mask, fc.boolean(),
        (rows, S, block, T, R, m, withValues) => {
          const { keys, values, n, kp, vp, hashes, hp } = u32Rows(t, rows);
          const set = ShardSet.u32(t.arena, t.k, S, { groups: 1, slots: 2 });
          const input = { keys: kp, values: vp, perm: 0 };
          const part = partitionBlocks(t, set, hp, n, block, T);
          for (const [lo, hi] of shardRanges(S, Math.min(R, S))) {
            const total = set.partsTotal(part, lo, hi);
            let j = 0;
            while ((j = t.k.agg_u32_parts(set.tablePtrs, set.accPtrs, S, lo, hi, kp, withValues ? vp : 0, part.starts, part.parts, part.perm, j, 4, m) >>> 0) < total) {
              const s = set.growPartFor(input, part, lo, hi, j);
              expect(s >= lo && s < hi).toBe(true);
            }
            expect(j).toBe(total);
          }
          expectShardsInOrder(set, { keys, values, hashes }, withValues, m);
          set.free();
          for (const r of [kp, vp, hp]) t.arena.release(r);
        },
      ),
      { numRuns: build === 'debug' ? 100 : 40 },
    );
  });

  it('the scattered fold (scatter_range from T tasks, then each shard\'s segments as a one-shard set), growing mid-segment, fills each shard as the in-order reference', () => {
    fc.assert(
      fc.property(
        edgeU32Rows, fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 4 }), mask, fc.boolean(),
        (rows, S, T, m, withValues) => {
          const { keys, values, n, kp, vp, hashes, hp } = u32Rows(t, rows);
          const set = ShardSet.u32(t.arena, t.k, S, { groups: 1, slots: 2 });
          const part = set.scatterBuffers(n, T, withValues);
          expect(part.ranges.length).toBe(Math.max(1, Math.min(T, n)));
          // the ranges scatter in any order: each writes its own slice
          for (const r of [...part.ranges].reverse()) t.k.scatter_range(hp, kp, withValues ? vp : 0, r.lo, r.hi, S, r.starts, part.keys, part.values);
          const input = { keys: part.keys, values: part.values, perm: 0 };
          for (let sh = 0; sh < S; sh++) {
            for (const [a, b] of set.scatteredSegments(part, sh)) {
              let j = a;
              while ((j = t.k.agg_u32_shards(set.tablePtrs + 4 * sh, set.accPtrs + 4 * sh, 1, 0, 1, part.keys, part.keys, part.values, j, b, 4, m) >>> 0) < b) {
                set.growShard(sh, input, j);
              }
            }
          }
          expectShardsInOrder(set, { keys, values, hashes }, withValues, m);
          set.free();
          for (const r of [kp, vp, hp]) t.arena.release(r);
        },
      ),
      { numRuns: build === 'debug' ? 100 : 40 },
    );
  });

  it('agg_u32_parts on tables larger than L2 (the prefetching loop) equals the routed fold bit for bit', () => {
    const n = 300_000;
    const keys: number[] = [];
    const values: number[] = [];
    let x = 12345;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      keys.push(i % 7 === 0 ? 0xffffffff : x % 150_000);
      values.push(((x >>> 8) % 10_000) / 100);
    }
    const kp = putU32(t, keys);
    const vp = putF64(t, values);
    const S = 2;
    const routed = ShardSet.u32(t.arena, t.k, S);
    routed.aggregate({ keys: kp, values: vp, perm: 0 }, kp, n, 3, ALL);
    const set = ShardSet.u32(t.arena, t.k, S);
    const part = partitionBlocks(t, set, kp, n, 16_384, 3);
    for (let s = 0; s < S; s++) {
      const total = set.partsTotal(part, s, s + 1);
      let j = 0;
      while ((j = t.k.agg_u32_parts(set.tablePtrs, set.accPtrs, S, s, s + 1, kp, vp, part.starts, part.parts, part.perm, j, 3, ALL) >>> 0) < total) {
        set.growPartFor({ keys: kp, values: vp, perm: 0 }, part, s, s + 1, j);
      }
    }
    for (let s = 0; s < S; s++) {
      const a = routed.tables[s]!;
      const b = set.tables[s]!;
      expect(b.slotCapacity).toBeGreaterThan(65536);
      expect(b.count).toBe(a.count);
      const bits = (f: Float64Array): Buffer => Buffer.from(f.buffer, f.byteOffset, f.byteLength);
      for (let g = 0; g < a.count; g += 997) expect(b.key(g)).toBe(a.key(g));
      for (const c of ['count', 'sum', 'min', 'max'] as const) expect(bits(b.column(c)).equals(bits(a.column(c)))).toBe(true);
    }
    routed.free();
    set.free();
    t.arena.release(kp);
    t.arena.release(vp);
  });

  it('ShardSet aggregates a batch across S shards like the Map group-by, per shard in input order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(byteKey, value), { maxLength: 300 }), fc.integer({ min: 1, max: 9 }), mask, (rows, S, m) => {
        const keys = rows.map((r) => r[0]);
        const values = rows.map((r) => r[1]);
        const cols = putByteKeys(t, keys, values);
        const used = t.arena.usedBytes;
        const set = ShardSet.bytes(t.arena, t.k, S, { groups: 1, slots: 2, keyBytes: 1 });
        set.aggregate({ ...cols, perm: 0 }, cols.hashes, keys.length, 4, m);
        set.aggregate({ ...cols, perm: 0 }, cols.hashes, keys.length, 5, m); // the same batch again
        const ref = groupBy(keys.length * 2, (i) => bytesKey(keys[i % keys.length]!), [...values, ...values]);
        expect(set.count).toBe(ref.size);
        const { perm, starts } = stablePartition(keys.map((k) => murmur2(k)), S);
        for (let s = 0; s < S; s++) {
          const order = perm.slice(starts[s], starts[s + 1]);
          const shardRef = groupBy(0, (i) => bytesKey(keys[i % keys.length]!), [...values, ...values], [...order, ...order.map((i) => i + keys.length)]);
          expectGroups(set.tables[s]!, shardRef, (g) => bytesKey(set.tables[s]!.key(g)), m, 5);
          const u32 = t.arena.u32;
          expect(u32[(set.tablePtrs >>> 2) + s]).toBe(set.tables[s]!.header);
          expect(u32[(set.accPtrs >>> 2) + s]).toBe(set.tables[s]!.acc);
        }
        set.free();
        expect(t.arena.usedBytes).toBe(used);
        for (const r of cols.regions) t.arena.release(r);
      }),
      { numRuns: build === 'debug' ? 100 : 30 },
    );
  });

  it('agg_groups folds rows into map[gids[j]] in row order like the reference, and stops at a row whose gid is past the map or whose group is not the table\'s', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((groups) => fc.tuple(
          fc.constant(groups),
          // gids past the map (groups + 3, groups + 4) and map entries past the table (groups .. groups + 2)
          fc.array(fc.tuple(fc.integer({ min: 0, max: groups + 4 }), value), { maxLength: 200 }),
          fc.shuffledSubarray([...Array(groups + 3).keys()], { minLength: groups + 3, maxLength: groups + 3 }),
          fc.boolean(), fc.boolean(), fc.nat(), fc.nat(),
        )),
        mask,
        ([groups, rows, perm, withMap, withValues, a, b], m) => {
          const n = rows.length;
          const from = n === 0 ? 0 : a % (n + 1);
          const to = from + (n === 0 ? 0 : b % (n - from + 1));
          // a table of `groups` groups, each folded once with 1, stamped 1
          const table = new U32ShardTable(t.arena, t.k, { groups: 1, slots: 2 });
          const seed = putU32(t, [...Array(groups).keys()].map((g) => g * 7));
          const ones = putF64(t, Array(groups).fill(1));
          table.aggregate({ keys: seed, values: ones, perm: 0 }, 0, groups, 1, m);
          const gids = rows.map((r) => r[0]);
          const values = rows.map((r) => r[1]);
          const gp = putU32(t, gids);
          const vp = withValues ? putF64(t, values) : 0;
          const mp = withMap ? putU32(t, perm) : 0;
          const stats: GroupStats[] = [...Array(groups).keys()].map((id) => ({ id, count: 1, sum: 1, min: 1, max: 1 }));
          const stop = foldGroups(stats, gids, withMap ? perm : undefined, withValues ? values : undefined, from, to, groups);
          const eff = withValues ? m : m & AGG_COUNT;
          const touched = new Set<number>();
          for (let j = from; j < stop; j++) touched.add(withMap ? perm[gids[j]!]! : gids[j]!);
          if (stop < to) {
            const pastMap = withMap && gids[stop]! >= perm.length;
            expect(() => table.foldGroups({ gids: gp, map: mp, groups: perm.length, values: vp }, from, to, 2, m)).toThrow(
              pastMap
                ? `row ${stop} is in group ${gids[stop]}, past the ${perm.length} entries of the map`
                : `row ${stop} belongs to no group of this table (it has ${groups})`,
            );
          } else table.foldGroups({ gids: gp, map: mp, groups: perm.length, values: vp }, from, to, 2, m);
          expect(table.count).toBe(groups);
          const cols = table.accumulators();
          for (let g = 0; g < groups; g++) {
            const r = stats[g]!;
            expect(cols.count[g]).toBe(m & AGG_COUNT ? r.count : 0);
            // the seed fold's value 1 went in with the full mask; the rows' with `eff`
            if (m & AGG_SUM) expect(Object.is(cols.sum[g], eff & AGG_SUM ? r.sum : 1)).toBe(true);
            if (m & AGG_MIN) expect(Object.is(cols.min[g], eff & AGG_MIN ? r.min : 1)).toBe(true);
            if (m & AGG_MAX) expect(Object.is(cols.max[g], eff & AGG_MAX ? r.max : 1)).toBe(true);
            expect(table.stamps()[g]).toBe(touched.has(g) ? 2 : 1);
          }
          table.free();
          for (const p of [seed, ones, gp, vp, mp]) if (p !== 0) t.arena.release(p);
        },
      ),
      { numRuns: runs },
    );
  });

  it('a fold continued over rows other tables interned meanwhile (groupMap + foldGroups) is the left-to-right fold', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(byteKey, value), { maxLength: 300 }), fc.array(fc.nat(), { maxLength: 3 }), sizes, mask, fc.boolean(),
        fc.constantFrom<ByteTableHash>('murmur2', 'fast'), fc.constantFrom<ByteTableHash>('murmur2', 'fast'),
        (rows, cutsAt, size, m, withValues, hash, othersHash) => {
          const n = rows.length;
          const keys = rows.map((r) => r[0]);
          const values = rows.map((r) => r[1]);
          const cols = putByteKeys(t, keys, values);
          // a fast table hashes for itself (hashes 0); the murmur2 ones take the column
          const inputFor = (h: ByteTableHash) => ({ ...cols, hashes: h === 'fast' ? 0 : cols.hashes, values: withValues ? cols.values : 0, perm: 0 });
          const input = inputFor(hash);
          const cuts = [0, ...cutsAt.map((c) => (n === 0 ? 0 : c % (n + 1))).sort((x, y) => x - y), n];
          const used = t.arena.usedBytes;
          const table = new ByteShardTable(t.arena, t.k, { ...size, hash });
          const gids = t.arena.alloc(Math.max(1, n) * 4);
          // range 0 folds here; each later range is interned into a table of its own (the other workers), then continued here in order
          table.aggregate(input, cuts[0]!, cuts[1]!, 7, m);
          const others = cuts.slice(1, -1).map((lo, p) => {
            const other = new ByteShardTable(t.arena, t.k, { ...size, hash: othersHash });
            other.intern(inputFor(othersHash), lo, cuts[p + 2]!, gids);
            return other;
          });
          others.forEach((other, p) => {
            const map = table.groupMap(other);
            table.foldGroups({ gids, map, groups: other.count, values: input.values }, cuts[p + 1]!, cuts[p + 2]!, 7, m);
            t.arena.release(map);
            other.free();
          });
          const ref = groupBy(n, (i) => bytesKey(keys[i]!), withValues ? values : undefined);
          expectGroups(table, ref, (g) => bytesKey(table.key(g)), withValues ? m : m & AGG_COUNT, 7);
          table.free();
          t.arena.release(gids);
          expect(t.arena.usedBytes).toBe(used);
          for (const r of cols.regions) t.arena.release(r);
        },
      ),
      { numRuns: runs },
    );
  });

  it("a 'fast' table folds and interns like the Map group-by, keeps fastHash per group, and merges into murmur2 state as murmur2", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(byteKey, value), { maxLength: 300 }), sizes, mask, (rows, size, m) => {
        const keys = rows.map((r) => r[0]);
        const values = rows.map((r) => r[1]);
        const cols = putByteKeys(t, keys, values);
        const used = t.arena.usedBytes;
        const fast = new ByteShardTable(t.arena, t.k, { ...size, hash: 'fast' });
        fast.aggregate({ ...cols, hashes: 0, perm: 0 }, 0, keys.length, 3, m);
        const ref = groupBy(keys.length, (i) => bytesKey(keys[i]!), values);
        expectGroups(fast, ref, (g) => bytesKey(fast.key(g)), m, 3);
        for (let g = 0; g < fast.count; g++) expect(fast.keyHash(g)).toBe(fastHash(fast.key(g)));

        const interned = new ByteShardTable(t.arena, t.k, { ...size, hash: 'fast' });
        const gids = t.arena.alloc(Math.max(1, keys.length) * 4);
        interned.intern({ ...cols, hashes: 0, perm: 0 }, 0, keys.length, gids);
        expect(interned.count).toBe(ref.size);
        keys.forEach((k, i) => expect(t.arena.u32[(gids >>> 2) + i]).toBe(ref.get(bytesKey(k))!.id));

        // into murmur2 state: hashed again (murmur2 is what shards and checkpoints go by); and back into a fast table
        const state = new ByteShardTable(t.arena, t.k, size);
        state.mergeFrom(fast, 4, m);
        expectGroups(state, ref, (g) => bytesKey(state.key(g)), m, 4);
        for (let g = 0; g < state.count; g++) expect(state.keyHash(g)).toBe(murmur2(state.key(g)) >>> 0);
        const again = new ByteShardTable(t.arena, t.k, { ...size, hash: 'fast' });
        again.mergeFrom(state, 5, m);
        expectGroups(again, ref, (g) => bytesKey(again.key(g)), m, 5);
        for (let g = 0; g < again.count; g++) expect(again.keyHash(g)).toBe(fastHash(again.key(g)));
        for (const x of [fast, interned, state, again]) x.free();
        t.arena.release(gids);
        expect(t.arena.usedBytes).toBe(used);
        for (const r of cols.regions) t.arena.release(r);
      }),
      { numRuns: runs },
    );
    expect(() => new ByteShardTable(t.arena, t.k, { hash: 'xx' as ByteTableHash })).toThrow("hash must be 'murmur2' or 'fast', not xx");
  });
});
