import { describe, expect, it } from 'vitest';
import { ManualClock, Scheduler, type PolledSource, type SealedBatch } from '../../src/runtime/scheduler.js';
import { settle } from './helpers.js';

/**
 * A source that hands out numbered records, at most `perPoll` per poll, `limit` in all; it is
 * exhausted after the last one unless `endless` (then it just has nothing more).
 */
class CountingSource implements PolledSource<number[]> {
  given = 0;
  constructor(
    private readonly limit = Number.POSITIVE_INFINITY,
    private readonly perPoll = Number.POSITIVE_INFINITY,
    private readonly endless = false,
  ) {}
  get exhausted(): boolean {
    return !this.endless && this.given >= this.limit;
  }
  async poll(max: number): Promise<number[] | undefined> {
    const n = Math.min(max, this.perPoll, this.limit - this.given);
    if (n <= 0) return undefined;
    const out = Array.from({ length: n }, (_, i) => this.given + i);
    this.given += n;
    return out;
  }
}

function collect(): { batches: Array<SealedBatch<number[]>>; runBatch: (b: SealedBatch<number[]>) => Promise<void> } {
  const batches: Array<SealedBatch<number[]>> = [];
  return { batches, runBatch: async (b) => void batches.push(b) };
}

describe('Scheduler', () => {
  it('cuts a batch at every tick, empty ones included, with the tick as batch time', async () => {
    const clock = new ManualClock(10_000);
    const source = new CountingSource(3, 1, true);
    const { batches, runBatch } = collect();
    const s = new Scheduler({ clock, batchInterval: 1000, sources: [source], runBatch });
    s.start();
    await settle();
    for (let i = 0; i < 3; i++) {
      await clock.advance(1000);
      await settle();
    }
    await s.stop(false);
    expect(batches.map((b) => b.time)).toEqual([11_000, 12_000, 13_000]);
    expect(batches[0]!.records).toBe(3);
    expect(batches[0]!.chunks[0]!.flat()).toEqual([0, 1, 2]);
    expect(batches[1]!.records).toBe(0);
  });

  it('cuts by size when maxBatchRecords is reached; batch times strictly increase', async () => {
    const clock = new ManualClock(0);
    const source = new CountingSource(25);
    const { batches, runBatch } = collect();
    const s = new Scheduler({ clock, batchInterval: 1000, maxBatchRecords: 10, sources: [source], runBatch });
    s.start();
    await s.done;
    expect(batches.map((b) => b.records)).toEqual([10, 10, 5]);
    expect(batches.map((b) => b.chunks[0]!.flat()).flat()).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const times = batches.map((b) => b.time);
    expect(times).toEqual([0, 1, 2]);
  });

  it('ends once every source is exhausted and every batch ran', async () => {
    const clock = new ManualClock(0);
    const { batches, runBatch } = collect();
    const s = new Scheduler({ clock, batchInterval: 1000, sources: [new CountingSource(5), new CountingSource(2)], runBatch });
    s.start();
    await s.done;
    expect(batches).toHaveLength(1);
    expect(batches[0]!.chunks.map((c) => c.flat())).toEqual([[0, 1, 2, 3, 4], [0, 1]]);
  });

  it('a slow pipeline makes a fast source wait: buffered records stay bounded', async () => {
    const clock = new ManualClock(0);
    const source = new CountingSource();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let ran = 0;
    const s = new Scheduler({
      clock,
      batchInterval: 100,
      maxBatchRecords: 50,
      sources: [source],
      runBatch: async () => {
        ran++;
        await gate;
      },
    });
    s.start();
    for (let i = 0; i < 50; i++) {
      await clock.advance(100);
      await settle();
    }
    // One batch in flight, one sealed and waiting, one being received: never more.
    expect(ran).toBe(1);
    expect(source.given).toBeLessThanOrEqual(3 * 50);
    expect(s.peakBufferedRecords).toBeLessThanOrEqual(2 * 50);
    release();
    await s.stop(false);
  });

  it('coalesces the ticks that pass while the pipeline is full', async () => {
    const clock = new ManualClock(0);
    const times: number[] = [];
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const s = new Scheduler<number[]>({
      clock,
      batchInterval: 1000,
      sources: [{ exhausted: false, poll: async () => undefined }],
      runBatch: async (b) => {
        times.push(b.time);
        if (times.length === 1) await gate;
      },
    });
    s.start();
    await settle();
    await clock.advance(1000); // batch 1000 runs and blocks
    await settle();
    await clock.advance(1000); // batch 2000 sealed, waits
    await settle();
    await clock.advance(3000); // ticks 3000, 4000, 5000 pass while full
    await settle();
    release();
    await settle();
    await clock.advance(1000);
    await settle();
    await s.stop(false);
    expect(times.slice(0, 3)).toEqual([1000, 2000, 5000]);
    gate = Promise.resolve();
  });

  it('a failing batch stops the scheduler with its error', async () => {
    const clock = new ManualClock(0);
    const s = new Scheduler({
      clock,
      batchInterval: 1000,
      sources: [new CountingSource(1)],
      runBatch: async () => {
        throw new Error('boom');
      },
    });
    s.start();
    await expect(s.done).rejects.toThrow('boom');
  });
});
