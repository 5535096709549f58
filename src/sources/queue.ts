// In-memory queue source, like Spark's queueStream: each queue item is one batch's worth of records.

import { Batch } from '../plan/batch.js';
import type { Source } from './source.js';

export interface QueueStreamOptions {
  /**
   * true (default, as in Spark): each batch takes at most one item from the queue. false: a batch
   * takes every item available when it is cut.
   */
  oneAtATime?: boolean;
}

/**
 * Items are taken off the front of an array (as Spark dequeues its queue), or pulled from an async
 * iterable one at a time, only when the pipeline has room. An item is never split, so an item
 * larger than the batch limit makes one larger batch. The source is exhausted when the array is
 * empty or the iterable is done.
 */
export class QueueSource<T> implements Source<T> {
  readonly name = 'queue';
  private readonly array: T[][] | undefined;
  private readonly iterator: AsyncIterator<T[]> | undefined;
  private readonly oneAtATime: boolean;
  /** The pull under way from the async iterator, and its outcome once settled. */
  private pending: Promise<void> | undefined;
  private settled: { item: T[] } | { error: unknown } | undefined;
  private lastBatch = -1;
  private done = false;

  constructor(queue: T[][] | AsyncIterable<T[]>, options: QueueStreamOptions = {}) {
    if (Array.isArray(queue)) this.array = queue;
    else this.iterator = queue[Symbol.asyncIterator]();
    this.oneAtATime = options.oneAtATime ?? true;
  }

  get exhausted(): boolean {
    return this.array ? this.array.length === 0 : this.done && this.settled === undefined;
  }

  async open(): Promise<void> {}

  async poll(_max: number, batchSeq: number): Promise<Batch<T> | undefined> {
    if (this.oneAtATime && batchSeq === this.lastBatch) return undefined;
    const item = this.array ? this.array.shift() : await this.pull();
    if (item === undefined) return undefined;
    this.lastBatch = batchSeq;
    return Batch.ofRows(item);
  }

  /**
   * Takes the next item of the iterator if it is ready now. A pull that does not settle within one
   * turn of the event loop stays pending and is picked up by a later poll: a poll never waits for
   * the producer, so the batch clock keeps ticking while an iterator has nothing to give.
   */
  private async pull(): Promise<T[] | undefined> {
    if (this.done && this.settled === undefined) return undefined;
    if (this.pending === undefined && this.settled === undefined) {
      this.pending = this.iterator!.next().then(
        (r) => {
          if (r.done) this.done = true;
          else this.settled = { item: r.value };
        },
        (error: unknown) => {
          this.settled = { error };
        },
      ).finally(() => {
        this.pending = undefined;
      });
      await Promise.race([this.pending, new Promise((resolve) => setImmediate(resolve))]);
    }
    const s = this.settled;
    if (s === undefined) return undefined;
    this.settled = undefined;
    if ('error' in s) {
      this.done = true;
      throw s.error;
    }
    return s.item;
  }

  async close(): Promise<void> {
    this.done = true;
    // An async generator that is suspended waiting for its producer would hold `return()` until it
    // resumes, so do not wait for it when a pull is still pending.
    const returned = Promise.resolve(this.iterator?.return?.()).catch(() => undefined);
    if (this.pending === undefined) await returned;
  }
}
