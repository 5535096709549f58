// StreamingContext options, checked at the public boundary: a wrong one throws an OptionError
// that names it and says what it must be.

import { availableParallelism } from 'node:os';
import { OptionError } from '../errors.js';
import { MAX_MEMORY_BYTES } from '../runtime/memory.js';
import { systemClock, type Clock } from '../runtime/scheduler.js';
import { DEFAULT_CHECKPOINT_KEEP, MAX_CHECKPOINT_KEEP } from '../state/checkpoint-keep.js';

export interface StreamingContextOptions {
  /** Milliseconds between batches: a batch is cut at every tick of this clock. */
  batchInterval: number;
  /** Also cut a batch as soon as this many records arrived (size-triggered batches). */
  maxBatchRecords?: number;
  /** Worker threads running the wasm aggregations (default: os.availableParallelism()). */
  workers?: number;
  /** Run the wasm aggregations on the calling thread, with no worker pool (default false). */
  inline?: boolean;
  /**
   * Directory for checkpoints: after every batch the state of each updateStateByKey and the position of
   * each source are saved there, and a context started on it resumes from the newest usable one
   * (see src/state/checkpoint-store.ts). Sources must be able to resume: fileStream and generator can,
   * queueStream cannot (refused).
   */
  checkpointDir?: string;
  /** Checkpoints kept in checkpointDir (default 3). */
  checkpointKeep?: number;
  /** Upper bound of the shared WebAssembly memory that holds keyed state (default 4 GiB). */
  maxMemoryBytes?: number;
  /** The clock batches are timed by (default: the wall clock). Tests pass a ManualClock. */
  clock?: Clock;
}

/** Options with every default filled in. */
export interface ResolvedContextOptions {
  readonly batchInterval: number;
  readonly maxBatchRecords: number | undefined;
  /** 0 when inline. */
  readonly workers: number;
  readonly checkpointDir: string | undefined;
  readonly checkpointKeep: number;
  readonly maxMemoryBytes: number;
  readonly clock: Clock;
}

const MIN_MEMORY_BYTES = 4 * 65536;
const MAX_WORKERS = 256;

export function resolveContextOptions(options: StreamingContextOptions): ResolvedContextOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError('options', 'options must be an object with a batchInterval');
  }
  const { batchInterval, maxBatchRecords, workers, inline, checkpointDir, checkpointKeep, maxMemoryBytes, clock } = options;
  if (typeof batchInterval !== 'number' || !Number.isFinite(batchInterval) || batchInterval <= 0) {
    throw new OptionError('batchInterval', 'options.batchInterval must be a positive number of milliseconds');
  }
  if (maxBatchRecords !== undefined && !(Number.isSafeInteger(maxBatchRecords) && maxBatchRecords > 0)) {
    throw new OptionError('maxBatchRecords', 'options.maxBatchRecords must be a positive integer');
  }
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0 && workers <= MAX_WORKERS)) {
    throw new OptionError('workers', `options.workers must be an integer from 0 (inline) to ${MAX_WORKERS}`);
  }
  if (inline !== undefined && typeof inline !== 'boolean') {
    throw new OptionError('inline', 'options.inline must be a boolean');
  }
  if (inline === true && workers !== undefined && workers > 0) {
    throw new OptionError('inline', 'options.inline cannot be combined with options.workers greater than 0');
  }
  if (checkpointDir !== undefined && (typeof checkpointDir !== 'string' || checkpointDir === '')) {
    throw new OptionError('checkpointDir', 'options.checkpointDir must be a non-empty string');
  }
  if (checkpointKeep !== undefined) {
    if (!(Number.isInteger(checkpointKeep) && checkpointKeep >= 1 && checkpointKeep <= MAX_CHECKPOINT_KEEP)) {
      throw new OptionError('checkpointKeep', `options.checkpointKeep must be an integer from 1 to ${MAX_CHECKPOINT_KEEP}`);
    }
    if (checkpointDir === undefined) throw new OptionError('checkpointKeep', 'options.checkpointKeep needs options.checkpointDir');
  }
  if (
    maxMemoryBytes !== undefined &&
    !(Number.isInteger(maxMemoryBytes) && maxMemoryBytes >= MIN_MEMORY_BYTES && maxMemoryBytes <= MAX_MEMORY_BYTES)
  ) {
    throw new OptionError(
      'maxMemoryBytes',
      `options.maxMemoryBytes must be an integer from ${MIN_MEMORY_BYTES} to ${MAX_MEMORY_BYTES} bytes`,
    );
  }
  if (clock !== undefined && !(typeof clock === 'object' && clock !== null && typeof clock.now === 'function' && typeof clock.sleep === 'function')) {
    throw new OptionError('clock', 'options.clock must have now() and sleep(ms) methods');
  }
  return {
    batchInterval,
    maxBatchRecords,
    workers: inline ? 0 : (workers ?? availableParallelism()),
    checkpointDir,
    checkpointKeep: checkpointKeep ?? DEFAULT_CHECKPOINT_KEEP,
    maxMemoryBytes: maxMemoryBytes ?? MAX_MEMORY_BYTES,
    clock: clock ?? systemClock,
  };
}
