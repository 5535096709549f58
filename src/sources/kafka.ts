// A Kafka topic as the input of the columnar aggregate: a consumer group read through eachBatch.
//
//   kafkajs fetch loop ── eachBatch(partition batch) ──► staging bytes: each message value + '\n'
//                                                       per message: partition, offset, first line
//                         pause(partition) when the staging area is over its high-water mark
//   engine loop ── poll() ──► takes everything staged as one chunk (bytes + the next offset per
//                             partition), resumes paused partitions
//              ── aggregate the chunk, write sinks ── commit(chunk.offsets) or a transaction with them
//
// The fetch loop never waits for the engine: it stages and returns, so kafkajs keeps fetching for the
// other partitions and keeps heartbeating (it heartbeats after every batch and after every empty fetch,
// and all partitions paused is an empty fetch) however long the engine takes over one chunk.
// Backpressure is the pause: a partition whose data the engine has not taken yet stops being fetched.
//
// Bounded mode reads up to the end offsets (last stable offsets) seen at open() and then reports the
// end; follow mode reads until stop(). Offsets are committed only by the caller, after the chunk that
// carried them is aggregated and its outputs written (autoCommit is off).
//
// Records: every message value is one record line. A value without a line feed gets one appended; a
// jsonl value's own line feeds (JSON whitespace) become spaces, so one message stays one line; a CSV
// value may hold quoted line feeds (one record over several lines). A CSV value with an unbalanced
// quote would swallow the messages after it, so it is rejected here, as a bad record of its own.
// An empty or null value is a blank line, which the decoders skip.

import { Kafka, logLevel as kafkaLogLevel, type Consumer, type EachBatchPayload, type KafkaConfig } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { SluiceError } from '../errors.js';
import { describeBadRecord, type BadRecordContext } from '../codec/bad-record.js';

export interface KafkaSourceOptions {
  brokers: string[];
  topic: string;
  /** Consumer group; without one, an ephemeral group reads from the beginning and nothing is committed. */
  groupId?: string;
  /** Keep reading new messages until stop() (default: bounded, stop at the end offsets seen at open()). */
  follow?: boolean;
  /** How values are checked before decoding (see the header comment). */
  format: 'csv' | 'jsonl';
  /** For the reason of a CSV value rejected here (unbalanced quote). */
  badRecordContext?: BadRecordContext;
  /** Staged bytes above which partitions pause until the engine takes them. Default 16 MiB. */
  maxPendingBytes?: number;
  clientId?: string;
  logLevel?: kafkaLogLevel;
  /** Extra kafkajs client settings (ssl, sasl, ...). */
  kafka?: Partial<KafkaConfig>;
  /** kafkajs consumer timeouts. */
  sessionTimeout?: number;
  heartbeatInterval?: number;
  maxWaitTimeInMs?: number;
}

/** Where a message's record starts in a chunk, and where it came from. */
export interface KafkaMessagePosition {
  partition: number;
  offset: string;
}

/** A message rejected before decoding (CSV with an unbalanced quote). */
export interface RejectedMessage extends KafkaMessagePosition {
  reason: string;
  raw: Uint8Array;
}

/** Everything staged since the last poll. */
export interface KafkaChunk {
  /** The records, one per message (see the header comment), each ending in a line feed. */
  bytes: Uint8Array;
  /** Messages in `bytes`. */
  messages: number;
  /** Per partition that moved: the next offset to read (what to commit once the chunk is processed). */
  offsets: Array<{ partition: number; offset: string }>;
  /** Rejected messages of this chunk, in arrival order. */
  rejected: RejectedMessage[];
  /** The message whose record holds the chunk's 0-based line `line`. */
  locate(line: number): KafkaMessagePosition;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const SPACE = 0x20;

/** Heartbeat after this many messages staged within one eachBatch call. */
const HEARTBEAT_EVERY = 8192;

export class KafkaSource {
  readonly name: string;
  readonly topic: string;
  readonly groupId: string;
  /** Whether offsets are committed (a named group). */
  readonly commits: boolean;
  private readonly options: KafkaSourceOptions;
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private readonly maxPending: number;

  // staging
  private buf = new Uint8Array(1 << 20);
  private len = 0;
  private lines = 0;
  private msgPartition: number[] = [];
  private msgOffset: number[] = [];
  private msgLine: number[] = [];
  private rejected: RejectedMessage[] = [];

  /** Next offset to read, per partition, as far as staged. */
  private readonly position = new Map<number, number>();
  private readonly moved = new Set<number>();
  /** Bounded mode: the end offset of each partition. */
  private readonly end = new Map<number, number>();
  private readonly done = new Set<number>();
  private readonly pausedForRoom = new Set<number>();
  private partitions = 0;
  /** Times a partition was paused because the engine had not taken the staged data yet. */
  pauses = 0;

  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private stopped = false;
  private running = false;

  constructor(options: KafkaSourceOptions) {
    this.options = options;
    this.topic = options.topic;
    this.commits = options.groupId !== undefined;
    this.groupId = options.groupId ?? `sluice-ephemeral-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    this.name = `kafka:${options.topic}`;
    this.maxPending = options.maxPendingBytes ?? 16 << 20;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'sluice',
      brokers: options.brokers,
      logLevel: options.logLevel ?? kafkaLogLevel.NOTHING,
      ...options.kafka,
    });
  }

  /** Partitions of the topic (known after open()). */
  get partitionCount(): number {
    return this.partitions;
  }

  /** Bounded mode: the end offsets read at open(), by partition. */
  get endOffsets(): ReadonlyMap<number, number> {
    return this.end;
  }

  /** Reads the partitions and (bounded) their end offsets, joins the group and starts fetching. */
  async open(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const exists = (await admin.listTopics()).includes(this.topic);
      if (!exists) throw new SluiceError('ERR_KAFKA', `Kafka topic ${this.topic} does not exist`);
      const offsets = await admin.fetchTopicOffsets(this.topic);
      this.partitions = offsets.length;
      const committed = new Map<number, number>();
      if (this.commits) {
        const c = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
        for (const p of c[0]?.partitions ?? []) committed.set(p.partition, Number(p.offset));
      }
      for (const o of offsets) {
        const low = Number(o.low);
        const c = committed.get(o.partition) ?? -1;
        const start = c >= 0 ? Math.max(c, low) : low;
        this.position.set(o.partition, start);
        if (!this.options.follow) {
          const end = Number(o.high);
          this.end.set(o.partition, end);
          if (start >= end) this.done.add(o.partition);
        }
      }
    } catch (cause) {
      if (cause instanceof SluiceError) throw cause;
      throw kafkaError(`cannot read the offsets of Kafka topic ${this.topic}`, cause);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (!this.options.follow && this.done.size === this.partitions) return; // nothing to read

    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: this.options.sessionTimeout ?? 30_000,
      heartbeatInterval: this.options.heartbeatInterval ?? 3000,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 250,
      // one fetch stages at most about a quarter of the room per partition
      maxBytesPerPartition: Math.max(16 * 1024, Math.min(1 << 20, this.maxPending >> 2)),
      readUncommitted: false,
      retry: { retries: 8, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.fail(kafkaError(`the Kafka consumer of ${this.topic} stopped`, e.payload.error));
    });
    // A batch holding only control records (transaction markers) or aborted messages never reaches
    // eachBatch; its end still moves the position.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.topic !== this.topic || e.payload.batchSize !== 0) return;
      this.advance(e.payload.partition, Number(e.payload.lastOffset) + 1);
      this.signal();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.onBatch(payload),
      });
      this.running = true;
      if (this.done.size > 0) consumer.pause([{ topic: this.topic, partitions: [...this.done] }]);
    } catch (cause) {
      throw kafkaError(`cannot consume Kafka topic ${this.topic}`, cause);
    }
  }

  private async onBatch({ batch, resolveOffset, heartbeat, pause, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || this.stopped) return;
    const p = batch.partition;
    const end = this.end.get(p) ?? Number.POSITIVE_INFINITY;
    const from = this.position.get(p) ?? 0;
    let last = -1;
    let cut = false;
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const offset = Number(m.offset);
      if (offset < from) continue; // already staged (a batch fetched before a pause took effect)
      if (offset >= end) {
        cut = true;
        break;
      }
      this.stage(p, offset, m.value);
      last = offset;
      if (i % HEARTBEAT_EVERY === HEARTBEAT_EVERY - 1) await heartbeat();
    }
    if (last >= 0) resolveOffset(String(last));
    // The next offset: after the batch's last record (control records included) unless cut at the end.
    const next = cut ? end : Math.min(end, Number(batch.lastOffset()) + 1);
    this.advance(p, Math.max(next, last + 1));
    if (this.done.has(p)) pause();
    else if (this.len >= this.maxPending) {
      pause();
      this.pausedForRoom.add(p);
      this.pauses++;
    }
    this.signal();
    await heartbeat();
  }

  private advance(partition: number, next: number): void {
    const end = this.end.get(partition);
    if (end !== undefined && next > end) next = end;
    if (next > (this.position.get(partition) ?? 0)) {
      this.position.set(partition, next);
      this.moved.add(partition);
    }
    if (end !== undefined && (this.position.get(partition) ?? 0) >= end) this.done.add(partition);
  }

  private stage(partition: number, offset: number, value: Buffer | null): void {
    const v = value ?? EMPTY;
    this.msgPartition.push(partition);
    this.msgOffset.push(offset);
    this.msgLine.push(this.lines);
    let nl = v.indexOf(LF);
    if (this.options.format === 'csv' && v.indexOf(QUOTE) >= 0 && !quotesBalanced(v)) {
      const raw = Uint8Array.prototype.slice.call(v, 0, trimmedLength(v));
      const ctx = this.options.badRecordContext;
      const reason = ctx ? describeBadRecord(ctx, 'UnterminatedQuote', raw) : 'a quoted field is not closed';
      this.rejected.push({ partition, offset: String(offset), reason, raw });
      this.reserve(1);
      this.buf[this.len++] = LF; // a blank line keeps the line numbering
      this.lines++;
      return;
    }
    this.reserve(v.length + 1);
    this.buf.set(v, this.len);
    if (nl >= 0 && this.options.format === 'jsonl') {
      // JSON whitespace: one message, one line
      for (let i = this.len + nl, e = this.len + v.length; i < e; i++) {
        const c = this.buf[i]!;
        if (c === LF || c === CR) this.buf[i] = SPACE;
      }
      nl = -1;
    }
    this.len += v.length;
    if (nl >= 0) {
      for (let i = nl; i < v.length; i++) if (v[i] === LF) this.lines++;
      if (v[v.length - 1] === LF) return;
    }
    this.buf[this.len++] = LF;
    this.lines++;
  }

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.signal();
  }

  /** Bounded mode: every partition has reached its end offset. */
  get finished(): boolean {
    return !this.options.follow && this.done.size === this.partitions;
  }

  /**
   * Waits for staged messages (or moved offsets) and takes them. Resolves undefined when the input
   * ended (bounded mode, everything taken) or after stop(). `waitMs` bounds the wait (follow mode):
   * then an empty chunk comes back.
   */
  async poll(waitMs = Number.POSITIVE_INFINITY): Promise<KafkaChunk | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.len > 0 || this.moved.size > 0 || this.rejected.length > 0) return this.take();
      if (this.stopped || this.finished) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return this.take();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private take(): KafkaChunk {
    const bytes = this.buf.subarray(0, this.len);
    const partitions = this.msgPartition;
    const offsets = this.msgOffset;
    const firstLines = this.msgLine;
    const chunk: KafkaChunk = {
      bytes,
      messages: partitions.length,
      offsets: [...this.moved].sort((a, b) => a - b).map((p) => ({ partition: p, offset: String(this.position.get(p)!) })),
      rejected: this.rejected,
      locate(line: number): KafkaMessagePosition {
        // the last message whose first line is <= line
        let lo = 0;
        let hi = firstLines.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >>> 1;
          if (firstLines[mid]! <= line) lo = mid;
          else hi = mid - 1;
        }
        return { partition: partitions[lo] ?? -1, offset: String(offsets[lo] ?? -1) };
      },
    };
    // the chunk keeps this buffer; staging continues in a fresh one
    this.buf = new Uint8Array(Math.max(1 << 20, Math.min(this.buf.length, this.maxPending * 2)));
    this.len = 0;
    this.lines = 0;
    this.msgPartition = [];
    this.msgOffset = [];
    this.msgLine = [];
    this.rejected = [];
    this.moved.clear();
    if (this.pausedForRoom.size > 0 && this.consumer && this.running) {
      const again = [...this.pausedForRoom].filter((p) => !this.done.has(p));
      this.pausedForRoom.clear();
      if (again.length > 0) this.consumer.resume([{ topic: this.topic, partitions: again }]);
    }
    return chunk;
  }

  /** Commits the offsets of a processed chunk to the group (no-op for an ephemeral group). */
  async commit(offsets: KafkaChunk['offsets']): Promise<void> {
    if (!this.commits || offsets.length === 0) return;
    if (!this.consumer) {
      // nothing was fetched (bounded, already at the end): nothing moved
      return;
    }
    try {
      await this.consumer.commitOffsets(offsets.map((o) => ({ topic: this.topic, partition: o.partition, offset: o.offset })));
    } catch (cause) {
      throw kafkaError(`cannot commit the offsets of group ${this.groupId} on ${this.topic}`, cause);
    }
  }

  /** Stops fetching; poll() then resolves undefined once what is staged has been taken. */
  stop(): void {
    this.stopped = true;
    this.signal();
  }

  /** Leaves the group and disconnects. */
  async close(): Promise<void> {
    this.stopped = true;
    this.signal();
    const c = this.consumer;
    this.consumer = undefined;
    if (!c) return;
    this.running = false;
    await c.stop().catch(() => {});
    await c.disconnect().catch(() => {});
  }
}

const EMPTY = Buffer.alloc(0);

/** Whether a CSV value leaves no quoted field open: RFC 4180 doubles quotes inside quotes, so parity tells. */
function quotesBalanced(v: Uint8Array): boolean {
  let n = 0;
  for (let i = v.indexOf(QUOTE); i >= 0 && i < v.length; i = v.indexOf(QUOTE, i + 1)) n++;
  return (n & 1) === 0;
}

/** Length without a trailing line terminator. */
function trimmedLength(v: Uint8Array): number {
  let n = v.length;
  if (n > 0 && v[n - 1] === LF) n--;
  if (n > 0 && v[n - 1] === CR) n--;
  return n;
}

export function kafkaError(what: string, cause: unknown): SluiceError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  const retriable = !!(cause as { retriable?: boolean } | undefined)?.retriable;
  return new SluiceError('ERR_KAFKA', `${what}: ${msg}`, { cause, retriable });
}
