import { describe, expect, it } from 'vitest';
import { advanceUntil, byKey, manualContext } from './helpers.js';

type Pair = [string, number];

describe('updateStateByKey', () => {
  const batches: Pair[][] = [
    [['a', 1], ['b', 2], ['a', 3]],
    [['b', 5]],
    [],
    [['c', 7], ['a', -1]],
  ];

  it("built-in 'sum' keeps running totals and emits every key's state after each batch", async () => {
    const { ssc, clock } = manualContext();
    const seen: Pair[][] = [];
    ssc.queueStream(batches.map((b) => b.slice())).mapToPair(([k, v]) => [k, v]).updateStateByKey('sum')
      .foreachBatch((rows) => void seen.push(byKey(rows)));
    await ssc.start();
    await advanceUntil(clock, () => seen.length === 4, 1000);
    await ssc.stop();
    expect(seen).toEqual([
      [['a', 4], ['b', 2]],
      [['a', 4], ['b', 7]],
      [['a', 4], ['b', 7]],
      [['a', 3], ['b', 7], ['c', 7]],
    ]);
  });

  it("emit: 'changed' emits only the keys that received values", async () => {
    const { ssc, clock } = manualContext();
    const builtin: Pair[][] = [];
    const fn: Pair[][] = [];
    const pairs = ssc.queueStream(batches.map((b) => b.slice())).mapToPair(([k, v]) => [k, v]);
    pairs.updateStateByKey('max', { emit: 'changed' }).foreachBatch((rows) => void builtin.push(byKey(rows)));
    pairs
      .updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((a, b) => Math.max(a, b), s ?? -Infinity), { emit: 'changed' })
      .foreachBatch((rows) => void fn.push(byKey(rows)));
    await ssc.start();
    await advanceUntil(clock, () => builtin.length === 4, 1000);
    await ssc.stop();
    const expected = [[['a', 3], ['b', 2]], [['b', 5]], [], [['a', 3], ['c', 7]]];
    expect(builtin).toEqual(expected);
    expect(fn).toEqual(expected);
  });

  it('a function sees every key with state each batch, [] when it got no values; undefined removes the key', async () => {
    const { ssc, clock } = manualContext();
    const calls: Array<[string, number[], number | undefined]> = [];
    const seen: Pair[][] = [];
    ssc
      .queueStream(batches.map((b) => b.slice()))
      .mapToPair(([k, v]) => [k, v])
      // a key lives while it gets values: a batch without any removes it
      .updateStateByKey((values: number[], state: number | undefined) => {
        return values.length === 0 ? undefined : (state ?? 0) + values.reduce((a, b) => a + b, 0);
      })
      .foreachBatch((rows) => void seen.push(byKey(rows)));
    ssc
      .queueStream(batches.map((b) => b.slice()))
      .mapToPair(([k, v]) => [k, v])
      .updateStateByKey((values: number[], state: number | undefined) => {
        calls.push(['', values, state]);
        return state ?? 0;
      })
      .foreachBatch(() => {});
    await ssc.start();
    await advanceUntil(clock, () => seen.length === 4, 1000);
    await ssc.stop();
    expect(seen).toEqual([
      [['a', 4], ['b', 2]],
      [['b', 7]], // a got nothing: removed
      [], // b got nothing: removed
      [['a', -1], ['c', 7]], // a starts again from no state
    ]);
    // The second job's update calls: new keys with their values, known keys with [] when idle.
    expect(calls.slice(0, 4).map(([, v, s]) => [v, s])).toEqual([
      [[1, 3], undefined],
      [[2], undefined],
      [[], 0],
      [[5], 0],
    ]);
  });

  it('reduceByKey is per batch: each batch starts from nothing', async () => {
    const { ssc, clock } = manualContext();
    const seen: Pair[][] = [];
    ssc.queueStream(batches.map((b) => b.slice())).mapToPair(([k, v]) => [k, v]).reduceByKey('sum')
      .foreachBatch((rows) => void seen.push(byKey(rows)));
    await ssc.start();
    await advanceUntil(clock, () => seen.length === 4, 1000);
    await ssc.stop();
    expect(seen).toEqual([[['a', 4], ['b', 2]], [['b', 5]], [], [['a', -1], ['c', 7]]]);
  });

  it('reduceByKey then updateStateByKey on pair columns: running totals of per-batch sums', async () => {
    const { ssc, clock } = manualContext();
    const seen: Pair[][] = [];
    ssc
      .queueStream([[{ p: '/x', ms: 2 }, { p: '/y', ms: 1 }], [{ p: '/x', ms: 5 }]])
      .pairs('p', 'ms')
      .reduceByKey('sum')
      .updateStateByKey('sum')
      .foreachBatch((rows) => void seen.push(byKey(rows)));
    await ssc.start();
    await advanceUntil(clock, () => seen.length === 2, 1000);
    await ssc.awaitTermination();
    expect(seen).toEqual([[['/x', 2], ['/y', 1]], [['/x', 7], ['/y', 1]]]);
  });
});
