// The columnar group-by engine behind `sluice aggregate`: bytes in, keyed count/sum/min/max state out.
//
//   push(chunk) ─► DecodeJob input ─► decode task ─► columns (key bytes + offsets, f64 values, key hashes)
//                                                      │ once batchSize records are decoded, or at finish()
//                                                      ▼
//                      one routed task per shard range, in parallel: record j goes to shard
//                      (hash & 0x7fffffff) % S ─► S shard tables (key -> group id, columnar accumulators)
//
// The hash is murmur2, Kafka's, unless options.hash is 'fast': then fastHash, in the decoders and in
// the tables alike, for a job whose state ends in its result and is never read by Kafka's hash.
//
// Two decode jobs take turns. Serially, one decodes batch k+1 while the other's batch k folds. With
// two or more workers and a large chunk, the chunk is split instead (DecodeJob.splitTo): the head
// job decodes the first half and the other job the second, on two workers at once; the head's records
// (earlier input) fold first, then decoding and folding go on in the tail job. A cut that turns out
// not to be a record boundary (a line feed inside quotes) is undone and that chunk decodes serially.
// pushFrom() (a file read into the shared memory) keeps the pool fed without waiting on the host: the
// next chunk is read beside each split decode, and a third job lets the split start while the fold
// before it still runs (the folds themselves are chained, so they stay in input order).
//
// Records never become JS values: the host moves pointers. A bad record becomes a small JS object (the
// error policy needs its text); nothing else does. Per key, values are added in input order, so a sum
// is bit-identical to a left-to-right fold whatever the number of workers.

import { BadRecordError } from '../errors.js';
import { DecodeJob, type BadRecord, type DecodeJobOptions, type DecodeStep } from '../codec/decode-job.js';
import { ShardSet, type ByteShardTable, type ByteTableHash } from '../state/shard-table.js';
import { AGG_COUNT, AGG_MAX, AGG_MIN, AGG_SUM } from '../wasm/abi.js';
import type { AggName } from '../plan/aggregate-spec.js';
import type { KernelRuntime } from './pool.js';
import { aggregateRouted } from './route.js';

/** Shards of the keyed state: more than workers, so ranges balance; fixed, so results never depend on workers. */
export const DEFAULT_SHARDS = 16;

export function aggMask(aggs: readonly AggName[]): number {
  let mask = 0;
  for (const a of aggs) {
    if (a === 'count' || a === 'avg') mask |= AGG_COUNT;
    if (a === 'sum' || a === 'avg') mask |= AGG_SUM;
    if (a === 'min') mask |= AGG_MIN;
    if (a === 'max') mask |= AGG_MAX;
  }
  return mask;
}

/** Pointers of a batch's key columns in the shared memory (key i = keyBytes[keyOffs[i] .. keyOffs[i+1]), hashes[i] its murmur2). */
export interface BatchKeyColumns {
  keyOffs: number;
  keyBytes: number;
  hashes: number;
}

export interface ColumnarAggregateOptions {
  decode: DecodeJobOptions;
  aggs: readonly AggName[];
  /**
   * Called with each bad record in input order; throw to stop the job. A returned promise is awaited
   * before decoding goes on (a dead-letter file's backpressure, so memory stays bounded).
   */
  onBadRecord: (bad: BadRecord) => void | Promise<void>;
  shards?: number;
  /**
   * The key columns each decoded batch of `records` good records is folded by: the decoder's (given)
   * unless this returns others (a Kafka job's message keys). Called once per batch, in input order, after
   * the batch's bad records were reported; a throw stops the job. The columns must stay valid until the
   * next call.
   */
  keysOf?: (records: number, decoded: BatchKeyColumns) => BatchKeyColumns;
  /**
   * Pending input from which one decode is split over two workers (default 1 MiB; 0 never splits;
   * tests use tiny values to split everywhere). Ignored with fewer than 2 workers.
   */
  splitBytes?: number;
  /**
   * What the decoders hash keys with and the state is keyed by: 'murmur2' (the default; Kafka's, what
   * shards, checkpoints and message keys go by) or 'fast' (fastHash, ~2.3x cheaper a key: for a job
   * whose state only ends in its result, a plain file job). Not with keysOf, whose columns hold murmur2.
   */
  hash?: ByteTableHash;
}

/** Where pushFrom() reads its input: `read` fills a view, `bytes` long, and resolves to the bytes written. */
interface Reader {
  read: (into: Uint8Array) => Promise<number>;
  bytes: number;
}

/**
 * Batch sizes up to which pushFrom() makes a third decode job (columns for this many records, and key
 * bytes); above it, splits wait for the fold before them rather than take ~1.5x the memory.
 */
const THIRD_JOB_MAX_RECORDS = 1 << 22;

/** Below this a decode task is too short for the split's extra round trip to pay. */
const SPLIT_BYTES = 1 << 20;
/** Cuts that missed a record boundary before splitting stops for the job (quoted line feeds everywhere). */
const MAX_BAD_SPLITS = 8;

export class ColumnarAggregate {
  /** AGG_* bits of the accumulators the aggregations need. */
  readonly mask: number;
  readonly state: ShardSet<ByteShardTable>;
  private readonly rt: KernelRuntime;
  /**
   * Decode jobs: one decodes while another's columns are folded into the state. pushFrom() adds a
   * third, so a split decode never waits for the fold before it (see pushFrom).
   */
  private readonly jobs: DecodeJob[];
  private readonly decodeOptions: DecodeJobOptions;
  private job: DecodeJob;
  /** The last of the folds queued (each waits for the one before), running while later input decodes. */
  private inflight: Promise<void> | undefined;
  private readonly onBadRecord: (bad: BadRecord) => void | Promise<void>;
  private readonly keysOf: ColumnarAggregateOptions['keysOf'];
  private batches = 0;
  private recordsIn = 0;
  private splitBytes: number;
  private badSplits = 0;
  /** Bytes pushFrom() read ahead during the last split decode, already pending; -1 when none were. */
  private readAhead = -1;

  constructor(rt: KernelRuntime, options: ColumnarAggregateOptions) {
    this.rt = rt;
    this.mask = aggMask(options.aggs);
    this.onBadRecord = options.onBadRecord;
    this.keysOf = options.keysOf;
    const hash = options.hash ?? 'murmur2';
    if (hash === 'fast' && options.keysOf) throw new RangeError("ColumnarAggregate: hash 'fast' cannot fold keysOf's columns, which hold murmur2");
    const decode: DecodeJobOptions = { ...options.decode, hash };
    this.decodeOptions = decode;
    this.jobs = [new DecodeJob(rt.arena, decode), new DecodeJob(rt.arena, decode)];
    this.job = this.jobs[0]!;
    this.state = ShardSet.bytes(rt.arena, rt.k, options.shards ?? DEFAULT_SHARDS, { hash });
    this.splitBytes = rt.workers >= 2 ? (options.splitBytes ?? SPLIT_BYTES) : 0;
  }

  /** Good records aggregated so far. */
  get records(): number {
    return this.recordsIn;
  }

  /** Bad records seen so far. */
  get badRecords(): number {
    return this.jobs.reduce((n, job) => n + job.badRecordCount, 0);
  }

  /** Line number of the next input byte. */
  get line(): number {
    return this.job.line;
  }

  /** Stamp of the last aggregated batch (0 before the first): tables' changed(s) for s up to it. */
  get stamp(): number {
    return this.batches;
  }

  /** Input bytes given and not decoded yet: a partial record, or what follows a full step(). */
  get pendingBytes(): number {
    return this.job.pendingBytes;
  }

  /**
   * One micro-batch of a checkpointed job, its groups stamped `stamp` (the batch id, above every stamp
   * so far): decodes the pending input, reading more with `read` while the batch has room, until
   * `maxRecords` records are decoded or `read` returns 0. With `final`, the input ends where `read`
   * ends, so a last record without a line terminator counts. What is not decoded stays pending for the
   * next step. The same pending input, bytes and options give the same batch: a replay is exact.
   * Returns the batch's records and whether it stopped because it was full.
   */
  async step(
    read: (into: Uint8Array) => Promise<number>,
    chunkBytes: number,
    options: { stamp: number; maxRecords: number; final: boolean },
  ): Promise<{ records: number; full: boolean }> {
    if (this.inflight) throw new Error('ColumnarAggregate.step while a pushed batch is in flight');
    if (!(Number.isInteger(options.stamp) && options.stamp > this.batches)) {
      throw new RangeError(`step stamp ${options.stamp} must be an integer above the last stamp ${this.batches}`);
    }
    const job = this.job;
    job.recordLimit = options.maxRecords;
    let exhausted = false;
    let full = false;
    for (;;) {
      if ((await this.decodeRun(options.final && exhausted)) === 'full') {
        full = true;
        break;
      }
      if (exhausted) break;
      const n = await read(job.reserve(chunkBytes));
      job.commit(n);
      if (n === 0) exhausted = true;
    }
    const records = job.records;
    if (records > 0) this.batches = options.stamp; // a step that folded nothing leaves no stamp: its id may be used again
    await this.fold(job, options.stamp);
    return { records, full };
  }

  /** After a restore: the batches up to `stamp` are in the state, so the next one is stamped above it. */
  resumeAfter(stamp: number): void {
    if (!(Number.isInteger(stamp) && stamp >= 0 && stamp <= 0xffffffff)) throw new RangeError(`stamp ${stamp} is not a u32`);
    this.batches = stamp;
  }

  /** Decodes and aggregates every complete record of `chunk` (a partial last record waits for more). */
  async push(chunk: Uint8Array): Promise<void> {
    this.job.write(chunk);
    await this.drain(false);
  }

  /**
   * Reads up to `bytes` straight into the shared memory with `read` (a file handle's read, say: no
   * intermediate copy), then decodes and aggregates like push(). Returns the bytes read; 0 at the end.
   *
   * When a decode splits over two workers, the host keeps the pool fed instead of waiting between steps:
   *   - the next `bytes` are read beside the two decodes, into the idle input region of the job that
   *     decodes the second half (DecodeJob.reserveAhead), and the next call returns them unread;
   *   - the split takes a third job, so it does not wait for the fold of the input before it: that
   *     fold and the two decodes are queued on the pool together, and folds still run in input order.
   * The bytes returned by a call may thus have been read by the call before it. `read` is called once
   * at a time, in order.
   */
  async pushFrom(read: (into: Uint8Array) => Promise<number>, bytes: number): Promise<number> {
    let n = this.readAhead;
    this.readAhead = -1;
    if (n < 0) {
      n = await read(this.job.reserve(bytes));
      this.job.commit(n);
    }
    if (n > 0) await this.drain(false, { read, bytes });
    return n;
  }

  /** The input ended: decodes the last record and aggregates what is left; then the state is complete. */
  async finish(): Promise<void> {
    await this.drain(true);
    await this.settleInflight();
    await this.aggregateBatch(this.job);
  }

  /** Waits for the batches being aggregated, if any. */
  private async settleInflight(): Promise<void> {
    const pending = this.inflight;
    this.inflight = undefined;
    if (pending) await pending;
  }

  /**
   * Hands the full batch of the current job to the pool and switches decoding to the other job: batch
   * k is folded while batch k+1 is decoded. Batches are folded one after another, in input order.
   */
  private async rotate(): Promise<void> {
    await this.settleInflight(); // the other job's columns are free again, and batches stay in order
    const full = this.job;
    const next = this.jobs.find((job) => job !== full)!;
    full.moveUnreadTo(next);
    this.job = next;
    // the next decode runs beside this fold: leave it a worker
    this.foldInBackground(full, this.rt.workers - 1);
  }

  /** Folds `job`'s records once the folds before it are done; settleInflight() waits for all of them. */
  private foldInBackground(job: DecodeJob, tasks: number): void {
    const before = this.inflight;
    const run = (async () => {
      if (before) await before; // batches fold in input order; a failed one stops the rest
      await this.aggregateBatch(job, tasks);
    })();
    run.catch(() => {}); // observed by settleInflight(); this keeps it from counting as unhandled meanwhile
    this.inflight = run;
  }

  private async drain(final: boolean, reader?: Reader): Promise<void> {
    let step = final ? undefined : await this.splitDecode(reader);
    for (;;) {
      if (step === undefined) step = await this.decodeRun(final);
      if (step !== 'full') return;
      await this.rotate();
      step = undefined;
    }
  }

  /** Decodes `job`'s pending input until it is all decoded (`done`) or the batch is `full`. */
  private async decodeRun(final: boolean, job = this.job): Promise<'full' | 'done'> {
    for (;;) {
      const step = await this.decodeOnce(job, final);
      await this.reportBad(job);
      if (step !== 'again') return step;
    }
  }

  /** One decode run of `job` on the pool, settled; its bad records wait for reportBad(). */
  private async decodeOnce(job: DecodeJob, final: boolean): Promise<DecodeStep> {
    job.prepare(final);
    await this.rt.run({ kind: 'decode', format: job.format, job: job.ptr });
    return job.settle();
  }

  /** Hands `job`'s bad records so far to onBadRecord, in order, waiting where it asks to (backpressure). */
  private async reportBad(job: DecodeJob): Promise<void> {
    for (const bad of job.takeBadRecords()) {
      const wait = this.onBadRecord(bad);
      if (wait) await wait;
    }
  }

  /**
   * Decodes the current job's pending input as two halves on two workers (see the header comment).
   * Returns the step of the job decoding goes on in, its bad records reported; undefined when it did
   * not split (too little input, no cut, or a cut that did not hold), and drain() goes on serially.
   */
  private async splitDecode(reader?: Reader): Promise<'full' | 'done' | undefined> {
    if (this.splitBytes === 0 || this.job.pendingBytes < this.splitBytes) return undefined;
    const head = this.job;
    let tail = reader ? this.freeJob(head) : undefined;
    if (!tail) {
      await this.settleInflight(); // every other job's records are folded: they are empty
      tail = this.jobs.find((job) => job !== head)!;
    }
    if (!head.splitTo(tail)) return undefined;
    // the next input comes in beside the two decodes, into the tail's idle region (see pushFrom)
    const ahead = reader && this.readAhead < 0 ? this.readInto(tail, reader) : undefined;
    ahead?.catch(() => {}); // observed below; this keeps a failed read from counting as unhandled meanwhile
    let steps: DecodeStep[];
    try {
      steps = await Promise.all([this.decodeOnce(head, false), this.decodeOnce(tail, false)]);
    } catch (err) {
      if (ahead) await ahead.catch(() => {}); // the read ends first: nothing may write into a region once it is freed
      throw err;
    }
    if (ahead) this.readAhead = await ahead;
    const [first, tailStep] = steps as [DecodeStep, DecodeStep];
    // the head's half, to its end: its records and bad records come before any of the tail's
    for (let step = first; ; step = await this.decodeOnce(head, false)) {
      await this.reportBad(head);
      if (step === 'done') break;
      if (step === 'full') {
        await this.settleInflight(); // the batches before it fold first
        await this.aggregateBatch(head);
      }
    }
    if (!tail.splitHolds(head)) {
      tail.undoSplit(head);
      if (++this.badSplits >= MAX_BAD_SPLITS) this.splitBytes = 0;
      return undefined;
    }
    tail.joinSplit(head);
    this.job = tail;
    // the head's records fold now; beside the tail's further decoding if it has any
    this.foldInBackground(head, tailStep === 'done' ? this.rt.workers : this.rt.workers - 1);
    await this.reportBad(tail);
    return tailStep === 'again' ? this.decodeRun(false, tail) : tailStep;
  }

  /**
   * A job other than `head` that holds no records (a fold clears them as it ends) and no input:
   * pushFrom's split decodes take it without waiting for the fold before them (a third job is made for
   * that, once). A job whose fold failed keeps its records: the caller then settles, and meets the error.
   */
  private freeJob(head: DecodeJob): DecodeJob | undefined {
    const free = this.jobs.find((job) => job !== head && job.records === 0 && job.pendingBytes === 0);
    if (free || this.jobs.length >= 3 || this.decodeOptions.maxRecords > THIRD_JOB_MAX_RECORDS) return free;
    const job = new DecodeJob(this.rt.arena, this.decodeOptions);
    this.jobs.push(job);
    return job;
  }

  /** Reads the next input ahead into `tail` (a split's tail); resolves to the bytes read. */
  private async readInto(tail: DecodeJob, reader: Reader): Promise<number> {
    const n = await reader.read(tail.reserveAhead(reader.bytes));
    tail.commitAhead(n);
    return n;
  }

  /** Folds a decode job's records into the shard tables with the next stamp, on `tasks` tasks. */
  private async aggregateBatch(job: DecodeJob, tasks = this.rt.workers): Promise<void> {
    if (job.records === 0) return;
    await this.fold(job, ++this.batches, tasks);
  }

  /** Folds a decode job's records into the shard tables (see aggregateRouted), then empties its columns. */
  private async fold(job: DecodeJob, stamp: number, tasks = this.rt.workers): Promise<void> {
    const n = job.records;
    if (n === 0) return;
    let keys: BatchKeyColumns = { keyOffs: job.keyOffsPtr, keyBytes: job.keyBytesPtr, hashes: job.hashesPtr };
    if (this.keysOf) keys = this.keysOf(n, keys);
    const input = { ...keys, values: job.valuesPtr, perm: 0 };
    await aggregateRouted(this.rt, this.state, input, n, stamp, this.mask, tasks);
    this.recordsIn += n;
    job.clearRecords();
  }

  /** Waits for any batch still being aggregated (its error, if any, is dropped), then frees everything. */
  async close(): Promise<void> {
    await this.settleInflight().catch(() => {});
    this.release();
  }

  /** Frees the decode jobs and the state; only when no batch is in flight (after finish(), or close()). */
  release(): void {
    if (this.inflight) throw new Error('ColumnarAggregate.release while a batch is in flight: use close()');
    for (const job of this.jobs) job.release();
    this.state.free();
  }
}

/** Turns the first bad record into the error `--on-error fail` stops with. */
export function badRecordError(source: string, bad: BadRecord): BadRecordError {
  return new BadRecordError(source, bad.line, bad.reason);
}
