// Built-in aggregations (wasm) and their JS-function forms give identical results on random input.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairColumnsBuilder, type PairColumns } from '../../src/plan/columns.js';
import { MapKeyedAccumulators, type BuiltinAggregation, type KeyedAccumulators } from '../../src/plan/keyed-state.js';
import { WasmKeyedAccumulators } from '../../src/plan/wasm-keyed-state.js';
import { KernelRuntime } from '../../src/runtime/pool.js';
import { utf8Text } from '../../src/plan/columns.js';
import { byKey, manualContext } from './helpers.js';

type Pair = [string, number];

// Keys from a small alphabet (so keys repeat), with the empty key, multi-byte UTF-8 and long keys.
const key = fc.oneof(
  fc.constantFrom('', 'a', 'b', 'é', '日本', '🙂', 'a,b', 'line\nbreak'),
  fc.string({ maxLength: 3 }),
  fc.string({ minLength: 200, maxLength: 300 }),
);
// -0 is left out: a built-in sum starts from 0, so it never gives -0 where `(a, b) => a + b` may.
const value = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }).map((x) => (Object.is(x, -0) ? 0 : x)),
);
const batches = fc.array(fc.array(fc.tuple(key, value), { maxLength: 60 }), { minLength: 1, maxLength: 5 });

const REDUCE: Record<BuiltinAggregation, (a: number, b: number) => number> = {
  sum: (a, b) => a + b,
  count: (a, b) => a + b, // over values mapped to 1
  min: (a, b) => Math.min(a, b),
  max: (a, b) => Math.max(a, b),
};
const UPDATE: Record<BuiltinAggregation, (vs: number[], s: number | undefined) => number> = {
  sum: (vs, s) => vs.reduce((a, b) => a + b, s ?? 0),
  count: (vs, s) => (s ?? 0) + vs.length,
  min: (vs, s) => vs.reduce((a, b) => Math.min(a, b), s ?? Infinity),
  max: (vs, s) => vs.reduce((a, b) => Math.max(a, b), s ?? -Infinity),
};

async function runBoth(input: Pair[][], agg: BuiltinAggregation): Promise<{ builtin: Pair[][][]; fn: Pair[][][] }> {
  const { ssc, clock } = manualContext();
  const builtin: Pair[][][] = [[], []];
  const fn: Pair[][][] = [[], []];
  const pairs = ssc.queueStream(input.map((b) => b.slice())).mapToPair(([k, v]) => [k, v]);
  pairs.reduceByKey(agg).foreachBatch((r) => void builtin[0]!.push(byKey(r)));
  pairs.updateStateByKey(agg).foreachBatch((r) => void builtin[1]!.push(byKey(r)));
  const asValues = agg === 'count' ? pairs.mapValues(() => 1) : pairs;
  asValues.reduceByKey(REDUCE[agg]).foreachBatch((r) => void fn[0]!.push(byKey(r)));
  pairs.updateStateByKey(UPDATE[agg]).foreachBatch((r) => void fn[1]!.push(byKey(r)));
  await ssc.start();
  while (ssc.state !== 'stopped') await clock.advance(1000);
  await ssc.awaitTermination();
  return { builtin, fn };
}

describe('built-in vs function aggregations', () => {
  for (const agg of ['sum', 'count', 'min', 'max'] as const) {
    it(`reduceByKey('${agg}') and updateStateByKey('${agg}') equal their function forms`, async () => {
      await fc.assert(
        fc.asyncProperty(batches, async (input) => {
          const { builtin, fn } = await runBoth(input, agg);
          expect(builtin).toEqual(fn);
          expect(builtin[0]).toHaveLength(input.length);
        }),
        { numRuns: 40 },
      );
    });
  }
});

function columns(pairs: Pair[]): PairColumns {
  const b = new PairColumnsBuilder();
  for (const [k, v] of pairs) b.addText(k, v);
  return b.finish();
}

function entries(p: PairColumns): Pair[] {
  const out: Pair[] = [];
  for (let i = 0; i < p.length; i++) out.push([utf8Text(p.keyBytes, p.keyOffsets[i]!, p.keyOffsets[i + 1]!), p.values[i]!]);
  return byKey(out);
}

describe('wasm keyed state against the JS Map reference', () => {
  let inline: KernelRuntime;
  let pool: KernelRuntime;
  beforeAll(() => {
    inline = KernelRuntime.create({ workers: 0, build: 'debug' });
    pool = KernelRuntime.create({ workers: 2, build: 'debug' });
  });
  afterAll(async () => {
    await inline.close();
    await pool.close();
  });

  for (const mode of ['inline', 'pool'] as const) {
    it(`${mode}: the same state, all and changed keys, after every batch`, async () => {
      await fc.assert(
        fc.asyncProperty(batches, fc.constantFrom<BuiltinAggregation>('sum', 'count', 'min', 'max'), async (input, agg) => {
          const runtime = mode === 'inline' ? inline : pool;
          // small tables and every batch on the pool, so growth and resumption are exercised
          const wasm: KeyedAccumulators = new WasmKeyedAccumulators(runtime, agg, { shards: 3, minRecordsForPool: 0 });
          const ref: KeyedAccumulators = new MapKeyedAccumulators(agg);
          try {
            for (let i = 0; i < input.length; i++) {
              const cols = columns(input[i]!);
              await wasm.add(cols, i + 1);
              await ref.add(cols, i + 1);
              expect(entries(await wasm.read('all', i + 1))).toEqual(entries(await ref.read('all', i + 1)));
              expect(entries(await wasm.read('changed', i + 1))).toEqual(entries(await ref.read('changed', i + 1)));
              expect(wasm.size).toBe(ref.size);
            }
            wasm.clear();
            expect(wasm.size).toBe(0);
          } finally {
            wasm.close();
          }
        }),
        { numRuns: 40 },
      );
    });
  }

  it('pool: a batch of 200,000 records with 20,000 distinct keys', async () => {
    const pairs: Pair[] = [];
    for (let i = 0; i < 200_000; i++) pairs.push([`key-${(i * 7919) % 20_000}`, i % 13]);
    const cols = columns(pairs);
    const wasm = new WasmKeyedAccumulators(pool, 'sum', { minRecordsForPool: 0 });
    const ref = new MapKeyedAccumulators('sum');
    await wasm.add(cols, 1);
    await ref.add(cols, 1);
    expect(wasm.size).toBe(20_000);
    expect(entries(await wasm.read('all', 1))).toEqual(entries(await ref.read('all', 1)));
    wasm.close();
  });
});
