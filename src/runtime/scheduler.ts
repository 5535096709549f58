// The micro-batch clock: cuts what the sources hold into batches and runs them one at a time.
//
//              poll (only while there is room)          seal (tick or size)             run, one at a time
//   sources ─────────────────────────────────▶ receiving ──────────────────▶ ready queue ──────────────────▶ runBatch
//                                              buffer ≤ cap                  ≤ maxQueuedBatches               (in flight: 1)
//
// Design goals:
// - Bounded memory. A source is polled only while the receiving buffer holds fewer than `cap`
//   records, and the buffer is sealed only when the ready queue has room. A slow pipeline therefore
//   makes a fast source wait (backpressure) instead of filling memory: at most one batch in flight,
//   `maxQueuedBatches` sealed and one being received, each of at most `cap` records (queue items
//   that arrive whole may exceed it, see QueueSource).
// - Spark's batch clock. A batch is cut at every tick `start + k * batchInterval`, also when it is
//   empty; with `maxBatchRecords` it is also cut as soon as that many records arrived. When the
//   pipeline falls behind, ticks that pass while it is full are coalesced into one batch.
// - Batch times strictly increase, so sinks can name their output by batch time.
// - Testable: every wait goes through a Clock, so tests drive time with a ManualClock.
//
// The scheduler is generic in what a source returns (`C`, anything with a record count): it does
// not look inside chunks; the caller's runBatch does.

/** Milliseconds since the Unix epoch, and a way to wait. */
export interface Clock {
  now(): number;
  /** Resolves once `now()` has advanced by at least `ms`. */
  sleep(ms: number): Promise<void>;
}

/** The wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/**
 * A clock that moves only when told to: for tests of streaming jobs, like Spark's ManualClock.
 *
 * @example
 * const clock = new ManualClock(0);
 * const ssc = new StreamingContext({ batchInterval: 1000, clock });
 * // ... build the job, ssc.start() ...
 * await clock.advance(1000); // runs the first batch
 */
export class ManualClock implements Clock {
  private time: number;
  private sleepers: Array<{ at: number; wake: () => void }> = [];

  constructor(startMs = 0) {
    this.time = startMs;
  }

  /**
   * The current time: the start time plus every advance.
   *
   * @example
   * new ManualClock(5000).now(); // 5000
   */
  now(): number {
    return this.time;
  }

  /**
   * Resolves once the clock has been advanced by at least `ms`.
   *
   * @example
   * const woken = clock.sleep(100);
   * await clock.advance(100); // woken resolves
   */
  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((wake) => this.sleepers.push({ at: this.time + ms, wake }));
  }

  /**
   * Moves time forward by `ms`, waking every sleeper whose time has come, and then lets pending
   * I/O callbacks and promise reactions run (one macrotask turn), so work started by the wake-up
   * gets going before this resolves.
   *
   * @example
   * await clock.advance(1000); // one batch interval of 1 s
   */
  async advance(ms: number): Promise<void> {
    this.time += ms;
    const due = this.sleepers.filter((s) => s.at <= this.time);
    this.sleepers = this.sleepers.filter((s) => s.at > this.time);
    for (const s of due) s.wake();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** What the scheduler needs of a source. */
export interface PolledSource<C extends { readonly length: number }> {
  /** True once the source will never return records again (a file read once, a finite queue). */
  readonly exhausted: boolean;
  /**
   * Returns up to `max` records that are available now, for the batch numbered `batchSeq`, or
   * undefined when there are none yet. Must not wait for data to arrive. An empty chunk is
   * something received (an empty queue item): it makes a batch even when nothing else comes.
   */
  poll(max: number, batchSeq: number): Promise<C | undefined>;
  /** Where the source stands (for checkpoints): taken when a batch is sealed, after its last poll. */
  position?(): unknown;
}

/** A batch ready to run: the chunks of each source, in source order and arrival order. */
export interface SealedBatch<C> {
  /** 0, 1, 2, ... */
  readonly seq: number;
  /** Batch time in ms: the tick that cut it (or the time it was cut by size); strictly increasing. */
  readonly time: number;
  /** Records in all chunks. */
  readonly records: number;
  /** chunks[i] holds what source i returned for this batch. */
  readonly chunks: C[][];
  /** positions[i]: source i's position() right after its last chunk in this batch (undefined without one). */
  readonly positions: unknown[];
}

export interface SchedulerOptions<C extends { readonly length: number }> {
  clock: Clock;
  /** Milliseconds between ticks. */
  batchInterval: number;
  /** When set, a batch is also cut as soon as this many records arrived. */
  maxBatchRecords?: number;
  /** Records a batch may hold when no size trigger is set (default 1,048,576). */
  maxBufferedRecords?: number;
  /** Sealed batches that may wait while one runs (default 1). */
  maxQueuedBatches?: number;
  /** How long to wait before polling again when no source had anything (default min(50, batchInterval)). */
  idlePollMs?: number;
  sources: ReadonlyArray<PolledSource<C>>;
  /**
   * A job restored from a checkpoint: batches continue at `seq` (the batches before it ran), with batch
   * times above `time` (the last one's), so outputs named by batch time never collide with earlier ones.
   */
  resume?: { seq: number; time: number };
  /** Runs one batch through the pipeline; a rejection stops the scheduler with that error. */
  runBatch(batch: SealedBatch<C>): Promise<void>;
}

export const DEFAULT_MAX_BUFFERED_RECORDS = 1 << 20;

type StopMode = 'none' | 'graceful' | 'immediate';

/**
 * Wakes whoever waits on it. A waiter passes the generation it last looked at, so a notify that
 * came while it was busy elsewhere (awaiting a poll) is not lost: the wait then returns at once.
 */
class Signal {
  private waiters: Array<() => void> = [];
  /** Incremented by every notify. */
  generation = 0;
  wait(since: number): Promise<void> {
    if (since !== this.generation) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notify(): void {
    this.generation++;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

/**
 * Drives a job's batches. `start()` once; `done` settles when the job ends: when every source is
 * exhausted and every batch ran, after `stop()`, or (rejecting) when a batch failed.
 */
export class Scheduler<C extends { readonly length: number }> {
  private readonly clock: Clock;
  private readonly interval: number;
  private readonly sizeTrigger: number;
  private readonly cap: number;
  private readonly maxQueued: number;
  private readonly idleMs: number;
  private readonly sources: ReadonlyArray<PolledSource<C>>;
  private readonly runBatch: (batch: SealedBatch<C>) => Promise<void>;

  private stopMode: StopMode = 'none';
  private started = false;
  private receiving = true;
  private readonly ready: SealedBatch<C>[] = [];
  private readonly changed = new Signal();
  private seq = 0;
  private lastTime = Number.NEGATIVE_INFINITY;
  private buffered = 0;
  /** Chunks in the receiving buffer: an empty chunk (an empty queue item) still makes a batch. */
  private chunksBuffered = 0;
  private peak = 0;
  private failure: { error: unknown } | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;

  /** Settles when the job has ended (see class doc). */
  readonly done: Promise<void>;

  constructor(options: SchedulerOptions<C>) {
    this.clock = options.clock;
    this.interval = options.batchInterval;
    this.sizeTrigger = options.maxBatchRecords ?? Number.POSITIVE_INFINITY;
    this.cap = options.maxBatchRecords ?? options.maxBufferedRecords ?? DEFAULT_MAX_BUFFERED_RECORDS;
    this.maxQueued = options.maxQueuedBatches ?? 1;
    this.idleMs = options.idlePollMs ?? Math.min(50, options.batchInterval);
    this.sources = options.sources;
    this.runBatch = options.runBatch;
    if (options.resume) {
      this.seq = options.resume.seq;
      this.lastTime = options.resume.time;
    }
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // awaitTermination-style callers attach later; an unobserved failure must not crash the process.
    this.done.catch(() => undefined);
  }

  /** Records received and not yet run (receiving buffer + sealed batches), for metrics and tests. */
  get bufferedRecords(): number {
    let n = this.buffered;
    for (const b of this.ready) n += b.records;
    return n;
  }

  /** The largest `bufferedRecords` seen so far. */
  get peakBufferedRecords(): number {
    return this.peak;
  }

  /** Batches that finished running. */
  get completedBatches(): number {
    return this.completed;
  }
  private completed = 0;

  start(): void {
    if (this.started) throw new Error('Scheduler.start called twice');
    this.started = true;
    const receiver = this.receive();
    const executor = this.execute();
    Promise.all([receiver, executor]).then(
      () => (this.failure ? this.rejectDone(this.failure.error) : this.resolveDone()),
      (e) => this.rejectDone(e),
    );
  }

  /**
   * Stops the job. Graceful: no source is polled again, and what was already received (the
   * buffer and the sealed batches) still runs. Immediate: the batch in flight finishes (a batch is
   * never interrupted half-way through its sinks); nothing else runs. Resolves when the job ended.
   */
  async stop(graceful: boolean): Promise<void> {
    if (this.stopMode === 'none' || (this.stopMode === 'graceful' && !graceful)) {
      this.stopMode = graceful ? 'graceful' : 'immediate';
    }
    this.changed.notify();
    if (!this.started) {
      this.started = true;
      this.resolveDone();
    }
    await this.done.catch(() => undefined);
  }

  /** Re-read after an await: stop() may have been called meanwhile. */
  private halted(): boolean {
    return this.stopMode === 'immediate';
  }

  private fail(error: unknown): void {
    if (!this.failure) this.failure = { error };
    this.stopMode = 'immediate';
    this.changed.notify();
  }

  private note(): void {
    const b = this.bufferedRecords;
    if (b > this.peak) this.peak = b;
  }

  /** Waits for a state change since generation `since` (stop, room in the queue) or `ms` of clock time. */
  private async pause(since: number, ms: number): Promise<void> {
    await Promise.race([this.changed.wait(since), this.clock.sleep(ms)]);
  }

  private async receive(): Promise<void> {
    const start = this.clock.now();
    let nextTick = start + this.interval;
    let chunks: C[][] = this.sources.map(() => []);
    const seal = (time: number): void => {
      const t = Math.max(time, this.lastTime + 1);
      this.lastTime = t;
      const positions = this.sources.map((s) => s.position?.());
      this.ready.push({ seq: this.seq++, time: t, records: this.buffered, chunks, positions });
      chunks = this.sources.map(() => []);
      this.buffered = 0;
      this.chunksBuffered = 0;
      this.changed.notify();
    };
    try {
      for (;;) {
        // Every wait below is for a change after this point: one that happens during an await is not missed.
        const gen = this.changed.generation;
        if (this.stopMode === 'immediate') break;
        if (this.stopMode === 'graceful') {
          if (this.chunksBuffered > 0) {
            if (this.ready.length >= this.maxQueued) {
              await this.changed.wait(gen);
              continue;
            }
            seal(this.clock.now());
          }
          break;
        }
        const now = this.clock.now();
        const exhausted = this.sources.every((s) => s.exhausted);
        const tick = now >= nextTick;
        if (tick || this.buffered >= this.sizeTrigger || exhausted) {
          if (exhausted && this.chunksBuffered === 0) break;
          if (this.ready.length >= this.maxQueued) {
            // Full pipeline: wait for room. Keep polling meanwhile while the buffer has room.
            if (this.buffered < this.cap && !exhausted && (await this.pollAll(chunks)) > 0) continue;
            await this.changed.wait(gen);
            continue;
          }
          if (tick) {
            // A batch holds what the sources hold at its tick: take that before cutting.
            if (this.buffered < this.cap && !exhausted) {
              await this.pollAll(chunks);
              if (this.halted()) break;
            }
            // The latest tick that has passed: ticks missed while the pipeline was full coalesce.
            const last = nextTick + Math.floor((now - nextTick) / this.interval) * this.interval;
            seal(last);
            nextTick = last + this.interval;
          } else {
            seal(now);
          }
          continue;
        }
        if (this.buffered < this.cap && (await this.pollAll(chunks)) > 0) continue;
        // the clock may have moved during the poll: a tick that came then must not wait for the next sleep
        const later = this.clock.now();
        if (later >= nextTick) continue;
        await this.pause(gen, this.buffered < this.cap ? Math.min(nextTick - later, this.idleMs) : nextTick - later);
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.receiving = false;
      this.buffered = 0;
      this.chunksBuffered = 0;
      this.changed.notify();
    }
  }

  /** Polls each source once for what fits in the buffer; returns the chunks received. */
  private async pollAll(chunks: C[][]): Promise<number> {
    let got = 0;
    for (let i = 0; i < this.sources.length; i++) {
      const room = this.cap - this.buffered;
      if (room <= 0) break;
      const source = this.sources[i]!;
      if (source.exhausted) continue;
      const chunk = await source.poll(room, this.seq);
      if (this.stopMode !== 'none' && this.stopMode !== 'graceful') return got;
      if (chunk === undefined) continue;
      chunks[i]!.push(chunk);
      this.buffered += chunk.length;
      this.chunksBuffered++;
      got++;
      this.note();
    }
    return got;
  }

  private async execute(): Promise<void> {
    for (;;) {
      const gen = this.changed.generation;
      if (this.stopMode === 'immediate') break;
      const batch = this.ready.shift();
      if (batch === undefined) {
        if (!this.receiving) break;
        await this.changed.wait(gen);
        continue;
      }
      this.changed.notify(); // room in the queue
      try {
        await this.runBatch(batch);
        this.completed++;
      } catch (e) {
        this.fail(e);
        break;
      }
    }
    this.ready.length = 0;
  }
}
