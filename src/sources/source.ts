// What every source is to the engine: polled for the records available now, one batch at a time.

import type { Batch } from '../plan/batch.js';
import type { PolledSource } from '../runtime/scheduler.js';
import type { SourceOffset, SourceRange } from '../state/checkpoint-store.js';

/**
 * A source of records. The scheduler polls it only while the pipeline has room, so a source never
 * reads ahead on its own: what it has not been asked for stays in the file, the queue or the
 * generator (backpressure).
 */
export interface Source<T> extends PolledSource<Batch<T>> {
  /** Names the source in errors and metrics, e.g. `file:/var/log/visits.jsonl`. */
  readonly name: string;
  /** Called once when the job starts, before the first poll. */
  open(): Promise<void>;
  /** Called once when the job ends; releases files and iterators. */
  close(): Promise<void>;
  /**
   * What the source is, for a checkpoint's fingerprint: its kind and the options that decide what it
   * returns (`fileStream(/abs/path, csv, header)`). Sources without it cannot be checkpointed.
   */
  describe?(): string;
  /** Where the source stands: every record returned so far lies before it. Checkpointed after each batch. */
  position?(): SourceOffset;
  /** Before open(): continue after `offset`, a position() of an earlier run of the same source. */
  resumeFrom?(offset: SourceOffset): void;
  /**
   * After open(), before the first poll: the records of `range` (what one batch of an earlier run took,
   * from the position the source is at), exactly as they were returned then; the source then stands at
   * its end. Throws a SluiceError (ERR_CHECKPOINT) when the input no longer holds them.
   */
  replay?(range: SourceRange): Promise<Batch<T>>;
}
