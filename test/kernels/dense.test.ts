// agg_u32_dense + dense_flush (through U32ShardTable.aggregateDense) leave the table the dense-fold
// reference leaves, bit for bit, batch after batch; on a fresh table that is the in-order Map group-by.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldValue } from '../helpers/arbitraries.js';
import { putF64, putU32 } from '../helpers/key-columns.js';
import { loadTestKernels } from '../helpers/wasm.js';
import { denseFold, type DenseBatch } from '../reference/dense.js';
import { groupBy } from '../reference/group-by.js';
import { DenseSlots, U32ShardTable } from '../../src/state/shard-table.js';
import { AGG_COUNT, AGG_MAX, AGG_MIN, AGG_SUM } from '../../src/wasm/abi.js';

const ALL = AGG_COUNT | AGG_SUM | AGG_MIN | AGG_MAX;

/** A dense range anywhere in u32, wrapping past 2^32 - 1 included. */
const denseRange = fc.record({
  base: fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0xfffffff0), fc.integer({ min: 0, max: 0xffffffff })),
  range: fc.integer({ min: 1, max: 40 }),
});

/** Keys of a batch around [base, base + range): inside, at both edges and past them, and anywhere. */
function batchRows(base: number, range: number) {
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: range - 1 }).map((d) => (base + d) >>> 0) },
    { weight: 2, arbitrary: fc.constantFrom((base - 1) >>> 0, (base + range) >>> 0, (base + range - 1) >>> 0, base) },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom(0, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })) },
  );
  return fc.array(fc.tuple(key, foldValue), { maxLength: 120 });
}

type Table = U32ShardTable;

/** Every group of `table` as the reference has it; columns outside `m` at their initial values. */
function expectTable(table: Table, ref: ReturnType<typeof denseFold>, m: number): void {
  expect(table.count).toBe(ref.size);
  const cols = table.accumulators();
  const stamps = table.stamps();
  for (let g = 0; g < table.count; g++) {
    const r = ref.get(table.key(g));
    expect(r, `group ${g} (key ${table.key(g)})`).toBeDefined();
    expect(r!.id).toBe(g);
    expect(cols.count[g]).toBe(m & AGG_COUNT ? r!.count : 0);
    expect(Object.is(cols.sum[g], m & AGG_SUM ? r!.sum : 0)).toBe(true);
    expect(Object.is(cols.min[g], m & AGG_MIN ? r!.min : Infinity)).toBe(true);
    expect(Object.is(cols.max[g], m & AGG_MAX ? r!.max : -Infinity)).toBe(true);
    expect(stamps[g]).toBe(r!.stamp);
  }
}

describe.each(['debug', 'release'] as const)('dense fold (%s build)', (build) => {
  const t = loadTestKernels(build);

  it('batch after batch into one table (growing from one group) equals the dense-fold reference, for every mask', () => {
    fc.assert(
      fc.property(
        denseRange.chain(({ base, range }) => fc.tuple(fc.constant(base), fc.constant(range), fc.array(batchRows(base, range), { minLength: 1, maxLength: 3 }))),
        fc.integer({ min: 1, max: 15 }), fc.boolean(),
        ([base, range, batches], m, withValues) => {
          const table = new U32ShardTable(t.arena, t.k, { groups: 1, slots: 2 });
          const dense = new DenseSlots(t.arena, base, range, true);
          const ref: DenseBatch[] = [];
          batches.forEach((rows, b) => {
            const keys = rows.map((r) => r[0]);
            const values = rows.map((r) => r[1]);
            const kp = putU32(t, keys);
            const vp = withValues ? putF64(t, values) : 0;
            // two calls over one batch: the second resumes where the first ended
            const half = rows.length >> 1;
            table.foldDense({ keys: kp, values: vp, perm: 0 }, dense, 0, half, b + 1, m);
            table.aggregateDense({ keys: kp, values: vp, perm: 0 }, dense, half, rows.length, b + 1, m);
            ref.push({ keys, values: withValues ? values : undefined });
            for (const p of [kp, vp]) if (p !== 0) t.arena.release(p);
          });
          expectTable(table, denseFold(ref, base, range), withValues ? m : m & AGG_COUNT);
          table.free();
          dense.free();
        },
      ),
      { numRuns: build === 'debug' ? 150 : 50 },
    );
  });

  it('on a fresh table, every sum is the left-to-right fold of its key\'s values (the Map group-by\'s, bit for bit)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 70 }), foldValue), { maxLength: 300 }), (rows) => {
        const keys = rows.map((r) => r[0]);
        const values = rows.map((r) => r[1]);
        const kp = putU32(t, keys);
        const vp = putF64(t, values);
        const table = new U32ShardTable(t.arena, t.k);
        const dense = new DenseSlots(t.arena, 0, 64, true); // keys 64..70 fold into the table
        table.aggregateDense({ keys: kp, values: vp, perm: 0 }, dense, 0, rows.length, 1, ALL);
        const ref = groupBy(rows.length, (i) => keys[i]!, values);
        const cols = table.accumulators();
        expect(table.count).toBe(ref.size);
        for (let g = 0; g < table.count; g++) {
          const r = ref.get(table.key(g))!;
          expect([cols.count[g], cols.sum[g], cols.min[g], cols.max[g]]).toEqual([r.count, r.sum, r.min, r.max]);
        }
        table.free();
        dense.free();
        for (const p of [kp, vp]) t.arena.release(p);
      }),
      { numRuns: build === 'debug' ? 100 : 40 },
    );
  });

  it('1e16 + 1 + 1 - 1e16 stays 0 (left to right) in a dense slot', () => {
    const kp = putU32(t, [5, 5, 5, 5]);
    const vp = putF64(t, [1e16, 1, 1, -1e16]);
    const table = new U32ShardTable(t.arena, t.k);
    const dense = new DenseSlots(t.arena, 4, 4, false);
    table.aggregateDense({ keys: kp, values: vp, perm: 0 }, dense, 0, 4, 1, AGG_COUNT | AGG_SUM);
    expect([table.key(0), table.column('count')[0], table.column('sum')[0]]).toEqual([5, 4, 0]);
    table.free();
    dense.free();
    for (const p of [kp, vp]) t.arena.release(p);
  });

  it('rejects min/max on slots made without extremes, and ranges outside 1..2^24', () => {
    const table = new U32ShardTable(t.arena, t.k);
    const dense = new DenseSlots(t.arena, 0, 8, false);
    expect(() => table.aggregateDense({ keys: 0, values: 0, perm: 0 }, dense, 0, 0, 1, AGG_MIN)).toThrow('min/max need dense slots made with extremes');
    expect(() => new DenseSlots(t.arena, 0, 0, false)).toThrow('dense range 0 must be an integer from 1 to 2^24');
    expect(() => new DenseSlots(t.arena, -1, 8, false)).toThrow('dense base -1 must be a u32');
    table.free();
    dense.free();
  });
});
