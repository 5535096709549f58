import { describe, expect, it } from 'vitest';
import { advanceUntil, manualContext, settle } from './helpers.js';

describe('queueStream', () => {
  it('oneAtATime: one queue item per batch, in queue order, at consecutive ticks', async () => {
    const { ssc, clock } = manualContext();
    const seen: Array<[number, number[]]> = [];
    ssc.queueStream([[1, 2], [3], [4, 5, 6]]).foreachBatch((rows, time) => void seen.push([time, rows]));
    await ssc.start();
    await advanceUntil(clock, () => seen.length === 3, 1000);
    await ssc.awaitTermination();
    expect(seen.map(([, rows]) => rows)).toEqual([[1, 2], [3], [4, 5, 6]]);
    expect(seen[0]![0]).toBe(1000);
    expect(seen[1]![0]).toBe(2000);
  });

  it('oneAtATime false: a batch takes every item available', async () => {
    const { ssc } = manualContext();
    const seen: number[][] = [];
    ssc.queueStream([[1, 2], [3], [4]], { oneAtATime: false }).foreachBatch((rows) => void seen.push(rows));
    await ssc.start();
    await ssc.awaitTermination();
    expect(seen).toEqual([[1, 2, 3, 4]]);
  });

  it('takes items from an async iterable in order, and ends when it is done', async () => {
    const { ssc, clock } = manualContext();
    async function* items(): AsyncGenerator<string[]> {
      yield ['a'];
      await new Promise((r) => setTimeout(r, 5));
      yield ['b', 'c'];
      yield [];
      yield ['d'];
    }
    const seen: string[] = [];
    ssc.queueStream(items()).foreachBatch((rows) => void seen.push(...rows));
    await ssc.start();
    let ended = false;
    void ssc.awaitTermination().then(() => (ended = true));
    await advanceUntil(clock, () => ended, 1000);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it('an iterable that throws stops the job with its error', async () => {
    const { ssc, clock } = manualContext();
    async function* items(): AsyncGenerator<number[]> {
      yield [1];
      throw new Error('producer failed');
    }
    ssc.queueStream(items()).foreachBatch(() => {});
    await ssc.start();
    let error: unknown;
    void ssc.awaitTermination().catch((e) => (error = e));
    await advanceUntil(clock, () => error !== undefined, 1000);
    expect((error as Error).message).toBe('producer failed');
  });
});

/** A job whose first batch blocks until released: batch 0 in flight, batch 1 sealed, item 3 received. */
async function blockedJob(): Promise<{ stop: (graceful: boolean) => Promise<number[][]> }> {
  const { ssc, clock } = manualContext();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: number[][] = [];
  ssc.queueStream([[1], [2], [3], [4]]).foreachBatch(async (rows) => {
    seen.push(rows);
    if (seen.length === 1) await gate;
  });
  await ssc.start();
  await settle();
  await advanceUntil(clock, () => seen.length === 1, 1000); // batch [1] runs and blocks
  await clock.advance(1000); // batch [2] sealed and waiting
  await settle();
  await clock.advance(1000); // tick passes with the pipeline full; [3] received
  await settle();
  return {
    async stop(graceful) {
      const stopped = ssc.stop({ graceful });
      await settle();
      release();
      await stopped;
      expect(ssc.state).toBe('stopped');
      return seen;
    },
  };
}

describe('stop', () => {
  it('graceful: runs the batch in flight and everything already received, reads nothing more', async () => {
    const job = await blockedJob();
    expect(await job.stop(true)).toEqual([[1], [2], [3]]);
  });

  it('immediate: only the batch in flight completes', async () => {
    const job = await blockedJob();
    expect(await job.stop(false)).toEqual([[1]]);
  });

  it('awaitTerminationOrTimeout says whether the job ended', async () => {
    const { ssc } = manualContext();
    ssc.queueStream<number>((async function* () {
      yield [1];
      await new Promise(() => {});
    })()).foreachBatch(() => {});
    await ssc.start();
    expect(await ssc.awaitTerminationOrTimeout(20)).toBe(false);
    await ssc.stop();
    expect(await ssc.awaitTerminationOrTimeout(20)).toBe(true);
  });
});

describe('backpressure', () => {
  it('a slow foreachBatch makes a fast source wait: records pulled but not processed stay bounded', async () => {
    const { ssc, clock } = manualContext({ maxBatchRecords: 1000 });
    let produced = 0;
    async function* fast(): AsyncGenerator<number[]> {
      for (;;) {
        produced += 100;
        yield Array.from({ length: 100 }, (_, i) => i);
      }
    }
    let processed = 0;
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    let maxBacklog = 0;
    ssc.queueStream(fast(), { oneAtATime: false }).foreachBatch(async (rows) => {
      await gate;
      processed += rows.length;
    });
    await ssc.start();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20; i++) {
        await clock.advance(100);
        await settle();
        maxBacklog = Math.max(maxBacklog, produced - processed);
      }
      release();
      gate = new Promise<void>((r) => (release = r));
    }
    release();
    gate = Promise.resolve();
    await ssc.stop();
    expect(processed).toBeGreaterThan(0);
    // batch in flight + one sealed + one being received (+ the item pulled last)
    expect(maxBacklog).toBeLessThanOrEqual(3 * 1000 + 100);
  });
});
