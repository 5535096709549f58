import { describe, expect, it } from 'vitest';
import { byKey, manualContext } from './helpers.js';

describe('verbs over a queue stream', () => {
  it('map, filter, flatMap fuse and keep record order', async () => {
    const { ssc } = manualContext();
    const out: number[][] = [];
    ssc
      .queueStream([[1, 2, 3, 4]])
      .map((x) => x * 10)
      .filter((x) => x !== 20)
      .flatMap((x) => [x, x + 1])
      .foreachBatch((rows) => {
        out.push(rows);
      });
    await ssc.start();
    await ssc.awaitTermination();
    expect(out).toEqual([[10, 11, 30, 31, 40, 41]]);
  });

  it('keyBy, mapToPair, mapValues, reduceByKey with built-ins and functions', async () => {
    const { ssc } = manualContext();
    const words = ssc.queueStream([['a', 'bb', 'a', 'ccc', 'bb', 'a']]);
    const seen: Record<string, unknown> = {};
    const keep = (name: string) => (rows: unknown[]) => {
      seen[name] = rows;
    };
    words.keyBy((w) => w.length).foreachBatch(keep('keyBy'));
    words.mapToPair((w) => [w, w.length]).mapValues((n) => n * 2).foreachBatch(keep('mapValues'));
    words.mapToPair((w) => [w, w.length]).reduceByKey('sum').foreachBatch(keep('sum'));
    words.mapToPair((w) => [w, w.length]).reduceByKey((a, b) => a + b).foreachBatch(keep('sumFn'));
    words.mapToPair((w) => [w, 1]).reduceByKey('count').foreachBatch(keep('count'));
    words.keyBy((w) => w).countByKey().foreachBatch(keep('countByKey'));
    words.mapToPair((w) => [w, w.length]).reduceByKey('min').foreachBatch(keep('min'));
    words.mapToPair((w) => [w, w.length]).reduceByKey('max').foreachBatch(keep('max'));
    await ssc.start();
    await ssc.awaitTermination();
    expect(seen.keyBy).toEqual([[1, 'a'], [2, 'bb'], [1, 'a'], [3, 'ccc'], [2, 'bb'], [1, 'a']]);
    expect(seen.mapValues).toEqual([['a', 2], ['bb', 4], ['a', 2], ['ccc', 6], ['bb', 4], ['a', 2]]);
    const sums = [['a', 3], ['bb', 4], ['ccc', 3]];
    expect(byKey(seen.sum as [string, number][])).toEqual(sums);
    expect(seen.sumFn).toEqual(sums);
    expect(byKey(seen.count as [string, number][])).toEqual([['a', 3], ['bb', 2], ['ccc', 1]]);
    expect(byKey(seen.countByKey as [string, number][])).toEqual([['a', 3], ['bb', 2], ['ccc', 1]]);
    expect(byKey(seen.min as [string, number][])).toEqual([['a', 1], ['bb', 2], ['ccc', 3]]);
    expect(byKey(seen.max as [string, number][])).toEqual([['a', 1], ['bb', 2], ['ccc', 3]]);
  });

  it('pairs projects fields of row records; numeric keys become text', async () => {
    const { ssc } = manualContext();
    const rows = [
      { page: '/a', ms: 5, n: 1 },
      { page: '/b', ms: 7, n: 2 },
      { page: '/a', ms: 1, n: 1 },
    ];
    let byPage: unknown;
    let byNumber: unknown;
    const s = ssc.queueStream([rows]);
    s.pairs('page', 'ms').reduceByKey('sum').foreachBatch((r) => void (byPage = r));
    s.pairs('n').reduceByKey('sum').foreachBatch((r) => void (byNumber = r));
    await ssc.start();
    await ssc.awaitTermination();
    expect(byKey(byPage as [string, number][])).toEqual([['/a', 6], ['/b', 7]]);
    expect(byKey(byNumber as [string, number][])).toEqual([['1', 2], ['2', 1]]);
  });

  it('a built-in aggregation refuses keys that are not strings or numbers', async () => {
    const { ssc } = manualContext();
    ssc.queueStream([[{ k: 1 }]]).mapToPair((r) => [r, 1]).reduceByKey('sum').foreachBatch(() => {});
    await ssc.start();
    await expect(ssc.awaitTermination()).rejects.toThrow(
      "reduceByKey('sum'): keys of built-in aggregations must be strings or numbers, got object",
    );
  });
});
