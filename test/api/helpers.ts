// Helpers of the API tests: drive a job on a ManualClock and collect what its outputs saw.

import { ManualClock, StreamingContext, type StreamingContextOptions } from '../../src/index.js';

/** Lets pending I/O and promise callbacks run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Advances the clock one step at a time until `done()` holds (at most `maxSteps` steps). Each step
 * also gives real I/O (file writes, fsync) a millisecond of wall time to make progress.
 */
export async function advanceUntil(clock: ManualClock, done: () => boolean, stepMs: number, maxSteps = 1000): Promise<void> {
  await settle(); // let the job reach its first wait before time moves
  for (let i = 0; i < maxSteps && !done(); i++) {
    await clock.advance(stepMs);
    await settle();
    if (!done()) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (!done()) throw new Error(`condition not reached after ${maxSteps} steps of ${stepMs} ms`);
}

/** A context on a ManualClock at time 0 with a 1 s batch interval, inline unless told otherwise. */
export function manualContext(options: Partial<StreamingContextOptions> = {}): { ssc: StreamingContext; clock: ManualClock } {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({ batchInterval: 1000, inline: true, clock, ...options });
  return { ssc, clock };
}

/** Output batches collected by foreachBatch. */
export interface Collected<T> {
  batches: Array<{ time: number; records: T[] }>;
}

/** Sorts pairs by key for comparisons that must ignore output order. */
export function byKey<K, V>(pairs: ReadonlyArray<readonly [K, V]>): Array<[K, V]> {
  return [...pairs].map((p) => [p[0], p[1]] as [K, V]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0));
}
