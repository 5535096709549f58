// StreamingContext: where a job's sources are made and its outputs registered, and what runs it.
//
// Life of a context, as in Spark:
//
//   initialized ──start()──▶ active ──stop() / every source exhausted / a batch failed──▶ stopped
//   (sources, verbs,            (batches run; no new
//    outputs are added)          streams or outputs)

import { OptionError, SluiceError } from '../errors.js';
import { Batch } from '../plan/batch.js';
import type { OutputNode } from '../plan/logical.js';
import type { BuiltinAggregation, KeyedAccumulators } from '../plan/keyed-state.js';
import { planPhysical, type PhysicalPlan } from '../plan/physical.js';
import { Pipeline } from '../plan/pipeline.js';
import { WasmKeyedAccumulators } from '../plan/wasm-keyed-state.js';
import { KernelRuntime } from '../runtime/pool.js';
import { Scheduler, type SealedBatch } from '../runtime/scheduler.js';
import { FileSource, type FileStreamOptions } from '../sources/file.js';
import { GeneratorSource, type GeneratorOptions, type PageVisit } from '../sources/generator.js';
import { QueueSource, type QueueStreamOptions } from '../sources/queue.js';
import type { Source } from '../sources/source.js';
import { ContextCheckpoints } from './checkpointing.js';
import { DStream, type OutputRegistry } from './dstream.js';
import { resolveContextOptions, type ResolvedContextOptions, type StreamingContextOptions } from './options.js';

export type ContextState = 'initialized' | 'active' | 'stopped';

/** What a listener learns about each batch that completed. */
export interface BatchInfo {
  /** 0, 1, 2, ... */
  readonly seq: number;
  /** Batch time, ms since the epoch (the tick that cut it). */
  readonly time: number;
  /** Records the sources gave this batch. */
  readonly records: number;
  /** Wall time the batch took to run through the pipeline and its outputs, ms. */
  readonly processingMs: number;
}

/** Callbacks on the progress of a job, like Spark's StreamingListener. */
export interface StreamingListener {
  onBatchCompleted?(info: BatchInfo): void;
  /**
   * Something went wrong that the job worked around, e.g. a damaged checkpoint skipped on start (the
   * message names it, the file and why). Without a listener that has this, warnings go to stderr.
   */
  onWarning?(message: string): void;
}

export interface StopOptions {
  /**
   * true: stop reading sources, then run what was already received before stopping. false
   * (default, as Spark): run nothing more; a batch in flight still completes, so no output is left
   * half-written.
   */
  graceful?: boolean;
}

/**
 * The entry point of a streaming job: make streams from sources, transform them, register
 * outputs, then `start()`.
 *
 * @example
 * const ssc = new StreamingContext({ batchInterval: 1000 });
 * ssc.generator({ ratePerSecond: 5000 })
 *   .pairs('page', 'durationMs')
 *   .reduceByKey('sum')
 *   .print();
 * await ssc.start();
 * await ssc.awaitTerminationOrTimeout(10_000);
 * await ssc.stop({ graceful: true });
 */
export class StreamingContext implements OutputRegistry {
  private readonly resolved: ResolvedContextOptions;
  private readonly outputs: OutputNode[] = [];
  private readonly listeners: StreamingListener[] = [];
  private current: ContextState = 'initialized';
  private starting: Promise<void> | undefined;
  private scheduler: Scheduler<Batch<unknown>> | undefined;
  private plan: PhysicalPlan | undefined;
  private pipeline: Pipeline | undefined;
  private runtime: KernelRuntime | undefined;
  private checkpoints: ContextCheckpoints | undefined;
  /** Key shards of the built-in state (fixed by the checkpoint when one is restored). */
  private shards: number | undefined;
  private readonly terminated: Promise<void>;
  private resolveTerminated!: () => void;
  private rejectTerminated!: (error: unknown) => void;

  /**
   * Checks every option; a wrong one throws an OptionError naming it.
   *
   * @example
   * const ssc = new StreamingContext({ batchInterval: 500, maxBatchRecords: 100_000, workers: 4 });
   */
  constructor(options: StreamingContextOptions) {
    this.resolved = resolveContextOptions(options);
    this.terminated = new Promise<void>((resolve, reject) => {
      this.resolveTerminated = resolve;
      this.rejectTerminated = reject;
    });
    this.terminated.catch(() => undefined);
  }

  /**
   * The options in force, defaults filled in (`workers` is 0 when inline).
   *
   * @example
   * new StreamingContext({ batchInterval: 1000, inline: true }).options.workers; // 0
   */
  get options(): ResolvedContextOptions {
    return this.resolved;
  }

  /**
   * `initialized`, `active` or `stopped`.
   *
   * @example
   * if (ssc.state === 'active') await ssc.stop();
   */
  get state(): ContextState {
    return this.current;
  }

  /**
   * Records of a text file: `lines` (strings), `jsonl` (parsed values) or `csv` (string arrays,
   * or objects keyed by the header with `header: true`). Read once — the job ends when every
   * bounded source is exhausted — or, with `follow: true`, kept open and read as it grows (only
   * complete lines). Each poll reads at most what the batch has room for.
   *
   * @example
   * const lines = ssc.fileStream('/var/log/app.log', { format: 'lines', follow: true });
   * const rows = ssc.fileStream('visits.csv', { format: 'csv', header: true }); // DStream<Record<string, string>>
   * const events = ssc.fileStream<{ page: string; ms: number }>('events.jsonl', { format: 'jsonl' });
   */
  fileStream(path: string, options: FileStreamOptions & { format: 'lines' }): DStream<string>;
  fileStream(path: string, options: FileStreamOptions & { format: 'csv'; header: true }): DStream<Record<string, string>>;
  fileStream(path: string, options: FileStreamOptions & { format: 'csv'; header?: false }): DStream<string[]>;
  fileStream<T = unknown>(path: string, options: FileStreamOptions & { format: 'jsonl' }): DStream<T>;
  fileStream(path: string, options: FileStreamOptions): DStream<unknown> {
    return this.stream(new FileSource<unknown>(path, options));
  }

  /**
   * The synthetic website stream of the demo: page visits `{ page, userId, durationMs, timestamp }`
   * at `ratePerSecond` of the context's clock, with Zipf-distributed page popularity. The same
   * seed gives the same visits. Batches are columnar, so `pairs('page', 'durationMs')` reaches the
   * wasm aggregations without a JS object per visit.
   *
   * @example
   * const visits = ssc.generator({ ratePerSecond: 10_000, pages: 200, seed: 42 });
   */
  generator(options: GeneratorOptions = {}): DStream<PageVisit> {
    return this.stream(new GeneratorSource(options, { clock: this.resolved.clock }));
  }

  /**
   * A stream of in-memory records, like Spark's queueStream: each queue item is one batch's worth.
   * An array's items are taken off its front; an async iterable is pulled one item at a time, only
   * when the pipeline has room. With `oneAtATime` (default true) each batch takes at most one item.
   *
   * @example
   * const s = ssc.queueStream([[1, 2], [3], [4, 5, 6]]); // batch 0: 1 2, batch 1: 3, batch 2: 4 5 6
   */
  queueStream<T>(queue: T[][] | AsyncIterable<T[]>, options: QueueStreamOptions = {}): DStream<T> {
    if (this.resolved.checkpointDir !== undefined) {
      throw new OptionError(
        'checkpointDir',
        'queueStream() cannot be used with options.checkpointDir: its items live in memory and cannot be read again after a restart ' +
          '(use fileStream() or generator(), or drop checkpointDir)',
      );
    }
    const isIterable = typeof (queue as AsyncIterable<T[]>)?.[Symbol.asyncIterator] === 'function';
    if (!Array.isArray(queue) && !isIterable) {
      throw new OptionError('queue', 'queueStream(queue): queue must be an array of arrays or an async iterable of arrays');
    }
    if (options.oneAtATime !== undefined && typeof options.oneAtATime !== 'boolean') {
      throw new OptionError('oneAtATime', 'options.oneAtATime must be a boolean');
    }
    return this.stream(new QueueSource<T>(queue, options));
  }

  /**
   * Calls `listener` as batches complete.
   *
   * @example
   * ssc.addListener({ onBatchCompleted: (b) => console.log(`${b.records} records in ${b.processingMs} ms`) });
   */
  addListener(listener: StreamingListener): void {
    this.listeners.push(listener);
  }

  /** @internal A stream of a source made elsewhere (the Kafka demo's website_logs). */
  sourceStream<T>(source: Source<T>): DStream<T> {
    return this.stream(source);
  }

  /** @internal Output verbs register here. */
  addOutput(output: OutputNode): void {
    if (this.current !== 'initialized') {
      throw new SluiceError('ERR_USAGE', 'output operations cannot be added after the StreamingContext has started');
    }
    this.outputs.push(output);
  }

  private stream<T>(source: Source<T>): DStream<T> {
    if (this.current !== 'initialized') {
      throw new SluiceError('ERR_USAGE', 'streams cannot be created after the StreamingContext has started');
    }
    return new DStream<T>(this, { kind: 'source', source: source as Source<unknown> });
  }

  /**
   * Starts the job: opens the sources and starts the batch clock. Resolves once running; rejects
   * (and the context stops) when a source cannot be opened. Call it once.
   *
   * @example
   * await ssc.start();
   */
  start(): Promise<void> {
    if (this.current !== 'initialized') {
      return Promise.reject(new SluiceError('ERR_USAGE', `the StreamingContext cannot start: it is ${this.current}`));
    }
    if (this.outputs.length === 0) {
      return Promise.reject(new SluiceError('ERR_USAGE', 'no output operations registered, so there is nothing to run'));
    }
    this.current = 'active';
    this.starting = this.launch();
    this.starting.catch(() => undefined);
    return this.starting;
  }

  private async launch(): Promise<void> {
    const opts = this.resolved;
    const plan = planPhysical(this.outputs);
    this.plan = plan;
    let resume: { seq: number; time: number } | undefined;
    try {
      if (opts.checkpointDir !== undefined) {
        this.checkpoints = await ContextCheckpoints.open(plan, opts.checkpointDir, opts.checkpointKeep, (m) => this.warn(m));
        const restored = await this.checkpoints.restore((shards) => {
          this.shards = shards ?? this.defaultShards();
          return { pipeline: new Pipeline(plan, (agg) => this.accumulators(agg)), shards: this.shards };
        });
        this.pipeline = restored.pipeline;
        resume = restored.resume;
      } else {
        this.pipeline = new Pipeline(plan, (agg) => this.accumulators(agg));
      }
      await Promise.all(plan.sources.map((s) => s.open()));
      // batches cut before a restart and not checkpointed run first, as they were cut
      for (const batch of (await this.checkpoints?.replays(resume)) ?? []) {
        await this.runBatch(batch, true);
        resume = { seq: batch.seq + 1, time: batch.time };
      }
    } catch (error) {
      await this.finish(error);
      throw error;
    }
    const scheduler = new Scheduler<Batch<unknown>>({
      clock: opts.clock,
      batchInterval: opts.batchInterval,
      maxBatchRecords: opts.maxBatchRecords,
      sources: plan.sources,
      resume,
      runBatch: (batch) => this.runBatch(batch),
    });
    this.scheduler = scheduler;
    scheduler.start();
    scheduler.done.then(
      () => this.finish(undefined),
      (error: unknown) => this.finish(error),
    );
  }

  /** Built-in aggregations run in the wasm state tables, over one runtime made on first use. */
  private accumulators(agg: BuiltinAggregation): KeyedAccumulators {
    this.runtime ??= KernelRuntime.create({ workers: this.resolved.workers, maxMemoryBytes: this.resolved.maxMemoryBytes });
    return new WasmKeyedAccumulators(this.runtime, agg, { shards: this.shards ?? this.defaultShards() });
  }

  /** One shard inline, two per worker: more ranges than workers, so they balance. */
  private defaultShards(): number {
    return this.resolved.workers === 0 ? 1 : 2 * this.resolved.workers;
  }

  private warn(message: string): void {
    const listeners = this.listeners.filter((l) => l.onWarning);
    if (listeners.length === 0) process.stderr.write(`sluice: warning: ${message}\n`);
    for (const l of listeners) l.onWarning!(message);
  }

  /** Runs one batch; `replayed`: read again from its intent, which is already written. */
  private async runBatch(batch: SealedBatch<Batch<unknown>>, replayed = false): Promise<void> {
    const started = performance.now();
    if (this.checkpoints && !replayed) await this.checkpoints.intend(batch);
    const inputs = batch.chunks.map((chunks) => Batch.concat(chunks));
    await this.pipeline!.run({ seq: batch.seq, time: batch.time, inputs });
    // outputs are written: now the state after this batch, and where its input ended
    if (this.checkpoints) await this.checkpoints.save(batch, this.pipeline!, this.shards!);
    const info: BatchInfo = {
      seq: batch.seq,
      time: batch.time,
      records: batch.records,
      processingMs: performance.now() - started,
    };
    for (const l of this.listeners) l.onBatchCompleted?.(info);
  }

  /** Releases everything the job held, then settles awaitTermination. */
  private async finish(error: unknown): Promise<void> {
    const closing: Promise<unknown>[] = [];
    for (const s of this.plan?.sources ?? []) closing.push(s.close());
    for (const o of this.plan?.outputs ?? []) if (o.sink.close) closing.push(o.sink.close());
    const closed = await Promise.allSettled(closing);
    this.pipeline?.close();
    await this.runtime?.close().catch(() => undefined);
    await this.checkpoints?.close();
    this.current = 'stopped';
    const closeError = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    if (error !== undefined) this.rejectTerminated(error);
    else if (closeError !== undefined) this.rejectTerminated(closeError);
    else this.resolveTerminated();
  }

  /**
   * Resolves when the job has stopped: after stop(), or once every source is exhausted and every
   * batch ran. Rejects with the error that stopped the job, if one did.
   *
   * @example
   * await ssc.start();
   * await ssc.awaitTermination(); // a job over files read once ends by itself
   */
  awaitTermination(): Promise<void> {
    return this.terminated;
  }

  /**
   * Like awaitTermination, but gives up after `timeoutMs` of wall time: true if the job stopped,
   * false on timeout.
   *
   * @example
   * if (!(await ssc.awaitTerminationOrTimeout(60_000))) await ssc.stop({ graceful: true });
   */
  async awaitTerminationOrTimeout(timeoutMs: number): Promise<boolean> {
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      throw new OptionError('timeoutMs', 'awaitTerminationOrTimeout(timeoutMs): timeoutMs must be a number >= 0');
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.terminated.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops the job and resolves once everything is closed. Graceful: reading stops and the data
   * already received still runs through the pipeline. Otherwise only the batch in flight
   * completes. Calling it again, or on a context that never started, is harmless. Rejects with the
   * error that stopped the job, if one did.
   *
   * @example
   * process.once('SIGINT', () => void ssc.stop({ graceful: true }));
   */
  async stop(options: StopOptions = {}): Promise<void> {
    const graceful = options.graceful ?? false;
    if (typeof graceful !== 'boolean') throw new OptionError('graceful', 'options.graceful must be a boolean');
    if (this.current === 'initialized') {
      this.current = 'stopped';
      this.resolveTerminated();
      return;
    }
    await this.starting?.catch(() => undefined);
    await this.scheduler?.stop(graceful);
    await this.terminated;
  }
}
