// foreachBatch: hands each batch's records to a user function.

import type { Batch } from '../plan/batch.js';
import type { Sink } from './sink.js';

export type ForeachBatchFunction<T> = (records: T[], time: number) => void | Promise<void>;

export class ForeachBatchSink<T> implements Sink<T> {
  private readonly fn: ForeachBatchFunction<T>;

  constructor(fn: ForeachBatchFunction<T>) {
    this.fn = fn;
  }

  async write(batch: Batch<T>, time: number): Promise<void> {
    // A copy: the records are shared with the stream's other outputs, the array is the caller's.
    await this.fn(batch.rows().slice(), time);
  }
}
