import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/index.js';
import { GeneratorSource, pagePath, type PageVisit } from '../../src/sources/generator.js';
import { advanceUntil, byKey, manualContext } from './helpers.js';

async function visits(options: ConstructorParameters<typeof GeneratorSource>[0], chunk: number, total: number): Promise<PageVisit[]> {
  const clock = new ManualClock(1_000);
  const source = new GeneratorSource({ ratePerSecond: Infinity, limit: total, ...options }, { clock });
  await source.open();
  const out: PageVisit[] = [];
  while (!source.exhausted) out.push(...(await source.poll(chunk))!.rows());
  return out;
}

describe('generator', () => {
  it('is deterministic for a seed, whatever the batch sizes', async () => {
    const a = await visits({ seed: 3 }, 7, 500);
    const b = await visits({ seed: 3 }, 500, 500);
    const c = await visits({ seed: 4 }, 500, 500);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a[0]).toEqual({ page: expect.any(String), userId: expect.any(Number), durationMs: expect.any(Number), timestamp: 1000 });
  });

  it('has Zipf-like page popularity, URL paths, and sensible fields', async () => {
    const all = await visits({ seed: 1, pages: 20, users: 100 }, 10_000, 20_000);
    const counts = new Map<string, number>();
    for (const v of all) counts.set(v.page, (counts.get(v.page) ?? 0) + 1);
    const ranked = [...counts].sort((x, y) => y[1] - x[1]);
    expect(ranked[0]![0]).toBe(pagePath(0));
    expect(ranked[0]![1]).toBeGreaterThan(3 * ranked[9]![1]);
    expect(counts.size).toBe(20);
    for (const v of all) {
      expect(v.page.startsWith('/')).toBe(true);
      expect(Number.isInteger(v.userId) && v.userId >= 1 && v.userId <= 100).toBe(true);
      expect(Number.isInteger(v.durationMs) && v.durationMs >= 1).toBe(true);
    }
  });

  it('produces ratePerSecond visits per second of the clock, as columns', async () => {
    const { ssc, clock } = manualContext();
    const sizes: number[] = [];
    const visitsStream = ssc.generator({ ratePerSecond: 500, seed: 9 });
    visitsStream.pairs('page').reduceByKey('count').foreachBatch((rows) => void sizes.push(rows.reduce((n, [, c]) => n + c, 0)));
    let perPage: [string, number][] = [];
    visitsStream.pairs('page', 'durationMs').updateStateByKey('sum').foreachBatch((rows) => void (perPage = rows));
    await ssc.start();
    await advanceUntil(clock, () => sizes.length === 3, 1000);
    await ssc.stop();
    expect(sizes).toEqual([500, 500, 500]);
    // the same totals as a plain JS fold over the same visits
    const reference = new Map<string, number>();
    for (const v of await visits({ seed: 9 }, 1500, 1500)) reference.set(v.page, (reference.get(v.page) ?? 0) + v.durationMs);
    expect(byKey(perPage)).toEqual(byKey([...reference]));
  });
});

describe('worker pool and inline runs', () => {
  it('give the same results for a batch large enough to go to the pool', async () => {
    const run = async (options: { inline?: boolean; workers?: number }): Promise<[string, number][][]> => {
      const { ssc } = manualContext({ maxBatchRecords: 150_000, inline: false, ...options });
      const visits = ssc.generator({ ratePerSecond: Infinity, limit: 300_000, pages: 500, seed: 5 });
      const perBatch = visits.pairs('page', 'durationMs').reduceByKey('max');
      const out: [string, number][][] = [];
      perBatch.foreachBatch((rows) => void out.push(byKey(rows)));
      visits.pairs('page').updateStateByKey('count').foreachBatch((rows) => void out.push(byKey(rows)));
      await ssc.start();
      await ssc.awaitTermination();
      return out;
    };
    const inline = await run({ inline: true });
    const pool = await run({ workers: 2 });
    expect(inline).toHaveLength(4);
    expect(pool).toEqual(inline);
    expect(inline[3]!.reduce((n, [, c]) => n + c, 0)).toBe(300_000);
  });
});
