// partition (and partition_range over one row range) is a stable counting sort by Kafka's shard of each hash, equal to the reference on random and hostile hashes;
// scatter_range sorts the rows' keys and values the same way.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTestKernels } from '../helpers/wasm.js';
import { putF64, putU32, readU32 } from '../helpers/key-columns.js';
import { stablePartition, stableRangePartition, stableRangeScatter } from '../reference/partition.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Hashes with the corners a shard computation can get wrong: the sign bit, all ones, all equal. */
const hostileHash = fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff);
const hashes = fc.oneof(
  fc.array(u32, { maxLength: 500 }),
  fc.array(hostileHash, { maxLength: 200 }),
  fc.integer({ min: 0, max: 300 }).chain((n) => u32.map((h) => new Array<number>(n).fill(h))),
);
const shards = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 64 }) },
  { weight: 2, arbitrary: fc.constantFrom(1, 2, 3, 7, 16, 100, 128, 1000, 1024) },
  { weight: 1, arbitrary: fc.constantFrom(65535, 65536) },
);

describe.each(['debug', 'release'] as const)('partition (%s build)', (build) => {
  const t = loadTestKernels(build);

  const run = (hs: number[], s: number): { starts: number[]; perm: number[] } => {
    const hp = putU32(t, hs);
    const starts = t.arena.alloc((s + 1) * 4);
    const perm = t.arena.alloc(Math.max(hs.length, 1) * 4);
    t.k.partition(hp, hs.length, s, starts, perm);
    const out = { starts: readU32(t, starts, s + 1), perm: readU32(t, perm, hs.length) };
    for (const r of [hp, starts, perm]) t.arena.release(r);
    return out;
  };

  it('equals the stable reference partition', () => {
    fc.assert(
      fc.property(hashes, shards, (hs, s) => {
        expect(run(hs, s)).toEqual(stablePartition(hs, s));
      }),
      { numRuns: 200 },
    );
  });

  it('computes x % d exactly for every divisor form (fastmod against %)', () => {
    const hs: number[] = [];
    for (let i = 0; i < 2000; i++) hs.push((Math.imul(i, 0x9e3779b1) ^ (i << 7)) >>> 0);
    hs.push(0x7fffffff, 0xffffffff, 0x80000000, 0);
    for (const s of [3, 5, 6, 7, 10, 11, 12, 13, 255, 257, 641, 999, 4093, 65521, 65537, 1_000_003]) {
      const starts = t.arena.alloc((s + 1) * 4);
      const perm = t.arena.alloc(hs.length * 4);
      const hp = putU32(t, hs);
      t.k.partition(hp, hs.length, s, starts, perm);
      const p = readU32(t, perm, hs.length);
      const st = t.arena.u32;
      // each record sits inside the range of its shard
      for (let j = 0; j < p.length; j++) {
        const shard = (hs[p[j]!]! & 0x7fffffff) % s;
        expect(st[(starts >>> 2) + shard]! <= j && j < st[(starts >>> 2) + shard + 1]!).toBe(true);
      }
      for (const r of [hp, starts, perm]) t.arena.release(r);
    }
  });

  it('handles an empty batch', () => {
    expect(run([], 4)).toEqual({ starts: [0, 0, 0, 0, 0], perm: [] });
  });

  /** partition_range of rows [lo, hi): perm over all rows (a sentinel outside the range) and the starts. */
  const runRange = (hs: number[], lo: number, hi: number, s: number): { starts: number[]; perm: number[] } => {
    const hp = putU32(t, hs);
    const starts = t.arena.alloc((s + 1) * 4);
    const perm = putU32(t, new Array<number>(hs.length).fill(0xdeadbeef));
    t.k.partition_range(hp, lo, hi, s, starts, perm);
    const out = { starts: readU32(t, starts, s + 1), perm: readU32(t, perm, hs.length) };
    for (const r of [hp, starts, perm]) t.arena.release(r);
    return out;
  };

  it('partition_range sorts one row range into its slice of perm, positions and rows absolute, nothing else written', () => {
    fc.assert(
      fc.property(
        hashes.chain((hs) => fc.tuple(fc.constant(hs), fc.integer({ min: 0, max: hs.length }), fc.integer({ min: 0, max: hs.length }))),
        fc.oneof(shards, fc.constant(2)), // 2 has loops of its own (sortInto2)
        ([hs, a, b], s) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const ref = stableRangePartition(hs, lo, hi, s);
          const got = runRange(hs, lo, hi, s);
          expect(got.starts).toEqual(ref.starts);
          expect(got.perm.slice(lo, hi)).toEqual(ref.perm);
          expect(got.perm.slice(0, lo).every((x) => x === 0xdeadbeef)).toBe(true);
          expect(got.perm.slice(hi).every((x) => x === 0xdeadbeef)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('partition_range over W adjacent ranges, lists taken range by range, gives each shard its rows in input order', () => {
    fc.assert(
      fc.property(hashes, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 20 }), (hs, W, s) => {
        const n = hs.length;
        const hp = putU32(t, hs);
        const starts = t.arena.alloc(W * (s + 1) * 4);
        const perm = t.arena.alloc(Math.max(n, 1) * 4);
        for (let w = W - 1; w >= 0; w--) {
          t.k.partition_range(hp, Math.floor((w * n) / W), Math.floor(((w + 1) * n) / W), s, starts + w * (s + 1) * 4, perm);
        }
        const st = readU32(t, starts, W * (s + 1));
        const p = readU32(t, perm, n);
        const ref = stablePartition(hs, s);
        for (let shard = 0; shard < s; shard++) {
          const rows: number[] = [];
          for (let w = 0; w < W; w++) rows.push(...p.slice(st[w * (s + 1) + shard], st[w * (s + 1) + shard + 1]));
          expect(rows).toEqual(ref.perm.slice(ref.starts[shard], ref.starts[shard + 1]));
        }
        for (const r of [hp, starts, perm]) t.arena.release(r);
      }),
      { numRuns: 100 },
    );
  });

  it('partition_blocks sorts each block of a row range as partition_range would, block k at starts + k*(S+1)', () => {
    fc.assert(
      fc.property(
        hashes.chain((hs) => fc.tuple(fc.constant(hs), fc.integer({ min: 0, max: hs.length }), fc.integer({ min: 0, max: hs.length }))),
        fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 64 }),
        ([hs, a, b], s, block) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const blocks = Math.ceil((hi - lo) / block);
          const hp = putU32(t, hs);
          const starts = putU32(t, new Array<number>((blocks + 1) * (s + 1)).fill(0xdeadbeef));
          const perm = putU32(t, new Array<number>(hs.length).fill(0xdeadbeef));
          t.k.partition_blocks(hp, lo, hi, block, s, starts, perm);
          const st = readU32(t, starts, (blocks + 1) * (s + 1));
          const p = readU32(t, perm, hs.length);
          for (let k = 0; k < blocks; k++) {
            const b0 = lo + k * block;
            const ref = stableRangePartition(hs, b0, Math.min(hi, b0 + block), s);
            expect(st.slice(k * (s + 1), (k + 1) * (s + 1))).toEqual(ref.starts);
            expect(p.slice(b0, Math.min(hi, b0 + block))).toEqual(ref.perm);
          }
          expect(st.slice(blocks * (s + 1)).every((x) => x === 0xdeadbeef)).toBe(true);
          expect(p.slice(0, lo).concat(p.slice(hi)).every((x) => x === 0xdeadbeef)).toBe(true);
          for (const r of [hp, starts, perm]) t.arena.release(r);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('partition_range of an empty range writes starts of lo alone', () => {
    expect(runRange([5, 6, 7], 2, 2, 3)).toEqual({ starts: [2, 2, 2, 2], perm: [0xdeadbeef, 0xdeadbeef, 0xdeadbeef] });
  });

  const SENTINEL_F64 = -1.2345e300;
  /** scatter_range of rows [lo, hi) (values = 0 when `withValues` is false) into sentinel-filled output columns. */
  const runScatter = (hs: number[], keys: number[], values: number[], lo: number, hi: number, s: number, withValues = true) => {
    const n = hs.length;
    const hp = putU32(t, hs);
    const kp = putU32(t, keys);
    const vp = putF64(t, values);
    const starts = t.arena.alloc((s + 1) * 4);
    const outKeys = putU32(t, new Array<number>(n).fill(0xdeadbeef));
    const outValues = putF64(t, new Array<number>(n).fill(SENTINEL_F64));
    t.k.scatter_range(hp, kp, withValues ? vp : 0, lo, hi, s, starts, outKeys, outValues);
    const out = {
      starts: readU32(t, starts, s + 1),
      keys: readU32(t, outKeys, n),
      values: Array.from(t.arena.f64.subarray(outValues >>> 3, (outValues >>> 3) + n)),
    };
    for (const r of [hp, kp, vp, starts, outKeys, outValues]) t.arena.release(r);
    return out;
  };
  /** Rows: a hash, an unrelated u32 key and any f64 value (-0, NaN, infinities included). */
  const rows = fc.array(fc.tuple(fc.oneof(u32, hostileHash), u32, fc.double()), { maxLength: 400 });
  const rangeOf = <T>(xs: T[]) => fc.tuple(fc.integer({ min: 0, max: xs.length }), fc.integer({ min: 0, max: xs.length })).map(([a, b]) => (a <= b ? [a, b] : [b, a]));

  it('scatter_range moves the keys and values of one row range into the reference order, nothing else written', () => {
    fc.assert(
      fc.property(
        rows.chain((rs) => fc.tuple(fc.constant(rs), rangeOf(rs))),
        fc.oneof(shards, fc.constant(2)),
        ([rs, [lo, hi]], s) => {
          const [hs, keys, values] = [rs.map((r) => r[0]), rs.map((r) => r[1]), rs.map((r) => r[2])];
          const ref = stableRangeScatter(hs, keys, values, lo!, hi!, s);
          const got = runScatter(hs, keys, values, lo!, hi!, s);
          expect(got.starts).toEqual(ref.starts);
          expect(got.keys.slice(lo, hi)).toEqual(ref.keys);
          for (let j = 0; j < ref.values.length; j++) expect(Object.is(got.values[lo! + j], ref.values[j])).toBe(true);
          expect(got.keys.slice(0, lo).concat(got.keys.slice(hi)).every((x) => x === 0xdeadbeef)).toBe(true);
          expect(got.values.slice(0, lo).concat(got.values.slice(hi)).every((x) => x === SENTINEL_F64)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('scatter_range without values moves the keys alone', () => {
    fc.assert(
      fc.property(rows, fc.integer({ min: 1, max: 20 }), (rs, s) => {
        const [hs, keys, values] = [rs.map((r) => r[0]), rs.map((r) => r[1]), rs.map((r) => r[2])];
        const got = runScatter(hs, keys, values, 0, rs.length, s, false);
        const ref = stableRangeScatter(hs, keys, values, 0, rs.length, s);
        expect(got.starts).toEqual(ref.starts);
        expect(got.keys).toEqual(ref.keys);
        expect(got.values.every((x) => x === SENTINEL_F64)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('scatter_range over W adjacent ranges, segments taken range by range, gives each shard its rows in input order', () => {
    fc.assert(
      fc.property(rows, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 20 }), (rs, W, s) => {
        const n = rs.length;
        const [hs, keys, values] = [rs.map((r) => r[0]), rs.map((r) => r[1]), rs.map((r) => r[2])];
        const hp = putU32(t, hs);
        const kp = putU32(t, keys);
        const vp = putF64(t, values);
        const starts = t.arena.alloc(W * (s + 1) * 4);
        const outKeys = t.arena.alloc(Math.max(n, 1) * 4);
        const outValues = t.arena.alloc(Math.max(n, 1) * 8);
        for (let w = W - 1; w >= 0; w--) {
          t.k.scatter_range(hp, kp, vp, Math.floor((w * n) / W), Math.floor(((w + 1) * n) / W), s, starts + w * (s + 1) * 4, outKeys, outValues);
        }
        const st = readU32(t, starts, W * (s + 1));
        const ok = readU32(t, outKeys, n);
        const ov = Array.from(t.arena.f64.subarray(outValues >>> 3, (outValues >>> 3) + n));
        const ref = stableRangeScatter(hs, keys, values, 0, n, s);
        for (let shard = 0; shard < s; shard++) {
          const gotKeys: number[] = [];
          const gotValues: number[] = [];
          for (let w = 0; w < W; w++) {
            gotKeys.push(...ok.slice(st[w * (s + 1) + shard], st[w * (s + 1) + shard + 1]));
            gotValues.push(...ov.slice(st[w * (s + 1) + shard], st[w * (s + 1) + shard + 1]));
          }
          const [a, b] = [ref.starts[shard]!, ref.starts[shard + 1]!];
          expect(gotKeys).toEqual(ref.keys.slice(a, b));
          expect(gotValues.every((v, j) => Object.is(v, ref.values[a + j]))).toBe(true);
        }
        for (const r of [hp, kp, vp, starts, outKeys, outValues]) t.arena.release(r);
      }),
      { numRuns: 100 },
    );
  });

  it('scatter_range of an empty range writes starts of lo alone', () => {
    expect(runScatter([5, 6, 7], [1, 2, 3], [0.5, 1.5, 2.5], 1, 1, 2)).toEqual({
      starts: [1, 1, 1], keys: [0xdeadbeef, 0xdeadbeef, 0xdeadbeef], values: [SENTINEL_F64, SENTINEL_F64, SENTINEL_F64],
    });
  });
});
