// What every sink is to the engine: given each batch's records and the batch time, in batch order.

import type { Batch } from '../plan/batch.js';

export interface Sink<T> {
  /** Writes one batch. Batches arrive one at a time, in order; the next waits for this promise. */
  write(batch: Batch<T>, time: number): Promise<void>;
  /** Called once when the job ends. */
  close?(): Promise<void>;
}
