// A Kafka topic as the input of the columnar aggregate: a consumer group read through eachBatch.
//
//   kafkajs fetch loop ── eachBatch(partition batch) ──► staging (src/sources/kafka-staging.ts): one record
//                                                       line per message, its partition and offset
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
// Assignment (kafkajs's eager rebalance: on every rebalance a member gives up all its partitions and gets
// a new set). GROUP_JOIN carries this member's new set, synchronously before the fetch loop restarts:
//
//   revoked  (owned before, not now)  staged data dropped, never committed; the job resets its state
//   added    (not owned before)       paused until the job has restored its state and says where to
//                                     start: start(partition, epoch, offset) seeks and resumes it
//   retained                          seeked to where staging is (kafkajs would go back to the committed
//                                     offset), so nothing is fetched twice
//
// Every (re)assignment of a partition gets a new epoch; a chunk records the epochs it was staged under,
// so a job can tell that a partition it is writing for was taken away (and maybe given back) meanwhile.
// A member whose id changed was out of the group for a while (someone else may have read its
// partitions): all of them count as revoked and added again. Without `shared`, the source expects to own
// every partition and fails when the group gives it fewer.
//
// Bounded mode reads up to the end offsets (last stable offsets) seen at open() and then reports the
// end; follow mode reads until stop(). Offsets are committed only by the caller, after the chunk that
// carried them is aggregated and its outputs written (autoCommit is off).
//
// An ephemeral group commits nothing, so once such a source has fetched everything up to its end offsets
// the consumer leaves at once, while the caller still aggregates and writes what was staged: otherwise
// close() would wait for the fetch loop's idle fetch (all partitions paused: kafkajs sleeps maxWaitTimeInMs)
// and the group leave, after the job's output is written. A named group's consumer stays until close(),
// for the caller's commit.

import { Kafka, logLevel as kafkaLogLevel, type Consumer, type EachBatchPayload, type KafkaConfig } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { SluiceError, kafkaError } from '../errors.js';
import type { BadRecordContext } from '../codec/bad-record.js';
import type { MessageKeys } from '../codec/message-keys.js';
import { KafkaStaging, type KafkaMessagePosition, type StagedMessages } from './kafka-staging.js';

export type { KafkaMessagePosition, RejectedMessage } from './kafka-staging.js';

export interface KafkaSourceOptions {
  brokers: string[];
  topic: string;
  /** Consumer group; without one, an ephemeral group reads the topic and nothing is committed. */
  groupId?: string;
  /** Keep reading new messages until stop() (default: bounded, stop at the end offsets seen at open()). */
  follow?: boolean;
  /** How values are checked before decoding (src/sources/kafka-staging.ts). */
  format: 'csv' | 'jsonl';
  /** For the reason of a CSV value rejected before decoding. */
  badRecordContext?: BadRecordContext;
  /** --message-key: each chunk's message keys go to these key columns. */
  messageKeys?: () => MessageKeys;
  /** Where a partition with no committed offset starts: its first offset (default) or its end at open(). */
  startAt?: 'earliest' | 'latest';
  /** This member may own only some partitions (the job hands partitions over); see the header comment. */
  shared?: boolean;
  /** Without `shared`: what to do when another member takes partitions, for the error message. */
  notSharedHint?: string;
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

/** Everything staged since the last poll. */
export interface KafkaChunk extends StagedMessages {
  /** Per partition that moved: the next offset to read (what to commit once the chunk is processed). */
  offsets: Array<{ partition: number; offset: string }>;
  /** Epoch of each partition this member owned and had started when the chunk was taken. */
  epochs: ReadonlyMap<number, number>;
  /** This member owned (and had started) every partition of the topic when the chunk was taken. */
  ownedAll: boolean;
  /** The message whose record holds the chunk's 0-based line `line`. */
  messageAt(line: number): number;
  /** Partition and offset of the message holding chunk line `line`. */
  locate(line: number): KafkaMessagePosition;
  /** The chunk was processed: frees its key columns and gives its buffer back for staging. */
  release(): void;
}

/** Heartbeat after this many messages staged within one eachBatch call. */
const HEARTBEAT_EVERY = 8192;

/** Offset-commit errors of a generation that ended: the partitions were handed over, or are being. */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

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
  private readonly staging: KafkaStaging;

  private partitions = -1;
  /** Where each partition starts when the caller gives no offset: committed, else first (or end). */
  private readonly defaults = new Map<number, number>();
  /** The first offset still in each partition at open(). */
  private readonly lows = new Map<number, number>();
  /** Bounded mode: the end offset of each partition. */
  private readonly end = new Map<number, number>();

  private readonly owned = new Set<number>();
  private readonly epochs = new Map<number, number>();
  private epochSeq = 0;
  /** Owned partitions whose start offset is set (being fetched, or done). */
  private readonly started = new Set<number>();
  /** Partitions whose ownership changed since the caller last looked. */
  private readonly changed = new Set<number>();
  private memberId: string | undefined;
  /** Next offset to read, per started partition, as far as staged. */
  private readonly position = new Map<number, number>();
  private readonly moved = new Set<number>();
  private readonly done = new Set<number>();
  private readonly pausedForRoom = new Set<number>();
  /** Times a partition was paused because the engine had not taken the staged data yet. */
  pauses = 0;

  /** The consumer leaving early (see the header comment); close() waits for it. */
  private leaving: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private stopped = false;
  private draining = false;
  private running = false;

  constructor(options: KafkaSourceOptions) {
    this.options = options;
    this.topic = options.topic;
    this.commits = options.groupId !== undefined;
    this.groupId = options.groupId ?? `sluice-ephemeral-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    this.name = `kafka:${options.topic}`;
    this.maxPending = options.maxPendingBytes ?? 16 << 20;
    this.staging = new KafkaStaging({ format: options.format, badRecordContext: options.badRecordContext, messageKeys: options.messageKeys });
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'sluice',
      brokers: options.brokers,
      logLevel: options.logLevel ?? kafkaLogLevel.NOTHING,
      ...options.kafka,
    });
  }

  /** Partitions of the topic (known after describe()). */
  get partitionCount(): number {
    return this.partitions;
  }

  /** Bounded mode: the end offsets read at open(), by partition. */
  get endOffsets(): ReadonlyMap<number, number> {
    return this.end;
  }

  /** The first offset of each partition at open(). */
  get lowOffsets(): ReadonlyMap<number, number> {
    return this.lows;
  }

  /** Reads the topic's partitions, their offsets and (bounded) end offsets, and the group's committed offsets. */
  async describe(): Promise<number> {
    if (this.partitions >= 0) return this.partitions;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const exists = (await admin.listTopics()).includes(this.topic);
      if (!exists) throw new SluiceError('ERR_KAFKA', `Kafka topic ${this.topic} does not exist`);
      const offsets = await admin.fetchTopicOffsets(this.topic);
      const committed = new Map<number, number>();
      if (this.commits) {
        const c = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
        for (const p of c[0]?.partitions ?? []) committed.set(p.partition, Number(p.offset));
      }
      for (const o of offsets) {
        const low = Number(o.low);
        const high = Number(o.high);
        const c = committed.get(o.partition) ?? -1;
        this.lows.set(o.partition, low);
        this.defaults.set(o.partition, c >= 0 ? Math.max(c, low) : this.options.startAt === 'latest' ? high : low);
        if (!this.options.follow) {
          this.end.set(o.partition, high);
          if (this.defaults.get(o.partition)! >= high) this.done.add(o.partition);
        }
      }
      this.partitions = offsets.length;
    } catch (cause) {
      if (cause instanceof SluiceError) throw cause;
      throw kafkaError(`cannot read the offsets of Kafka topic ${this.topic}`, cause);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    return this.partitions;
  }

  /** Joins the group and starts fetching (partitions wait for start(), see the header comment). */
  async open(): Promise<void> {
    await this.describe();
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
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.onGroupJoin(e.payload.memberId, e.payload.memberAssignment[this.topic] ?? []));
    // A batch holding only control records (transaction markers) or aborted messages never reaches
    // eachBatch; its end still moves the position.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.topic !== this.topic || e.payload.batchSize !== 0 || !this.started.has(e.payload.partition)) return;
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
    } catch (cause) {
      throw kafkaError(`cannot consume Kafka topic ${this.topic}`, cause);
    }
  }

  // --- assignment -------------------------------------------------------------------------------

  /** Runs inside kafkajs's joinAndSync, before the fetch loop restarts (kafkajs emits GROUP_JOIN synchronously). */
  private onGroupJoin(memberId: string, partitions: number[]): void {
    if (this.leaving) return; // read to the end and leaving: nothing more is fetched or staged
    const assigned = new Set(partitions);
    const rejoined = this.memberId !== undefined && memberId !== this.memberId;
    this.memberId = memberId;
    if (!this.options.shared && assigned.size !== this.partitions) {
      const list = [...assigned].sort((a, b) => a - b).join(',') || 'none';
      this.fail(
        new SluiceError(
          'ERR_KAFKA',
          `consumer group ${this.groupId} gave this member ${assigned.size} of the ${this.partitions} partitions of Kafka topic ` +
            `${this.topic} (${list}): another member has joined the group. ${this.options.notSharedHint ?? 'Run one member per group.'}`,
        ),
      );
      return;
    }
    const revoked = new Set<number>();
    for (const p of this.owned) if (!assigned.has(p) || (rejoined && this.options.shared)) revoked.add(p);
    if (revoked.size > 0) this.release(revoked);
    const added: number[] = [];
    for (const p of assigned) {
      if (this.owned.has(p)) continue;
      this.owned.add(p);
      this.epochs.set(p, ++this.epochSeq);
      this.changed.add(p);
      added.push(p);
    }
    const c = this.consumer!;
    if (added.length > 0) c.pause([{ topic: this.topic, partitions: added }]);
    for (const p of assigned) {
      if (!this.started.has(p) || this.done.has(p)) continue;
      c.seek({ topic: this.topic, partition: p, offset: String(this.position.get(p)!) }); // retained: go on from staging
    }
    this.signal();
  }

  /** Forgets partitions: not owned, nothing staged, a new epoch, reported as changed. */
  private release(partitions: ReadonlySet<number>): void {
    for (const p of partitions) {
      this.owned.delete(p);
      this.started.delete(p);
      this.position.delete(p);
      this.moved.delete(p);
      this.pausedForRoom.delete(p);
      this.epochs.set(p, ++this.epochSeq);
      this.changed.add(p);
    }
    this.staging.purge(partitions);
  }

  /** Partitions whose ownership changed since the last call (ascending); see owns() for what they are now. */
  takeChanges(): number[] {
    const out = [...this.changed].sort((a, b) => a - b);
    this.changed.clear();
    return out;
  }

  /** Whether assignment changes wait for takeChanges(). */
  get hasChanges(): boolean {
    return this.changed.size > 0;
  }

  /** The epoch of an owned partition (undefined when not owned). */
  epochOf(partition: number): number | undefined {
    return this.owned.has(partition) ? this.epochs.get(partition) : undefined;
  }

  /** Whether this member owns `partition` under `epoch` (the same assignment a chunk was staged under). */
  owns(partition: number, epoch: number | undefined): boolean {
    return epoch !== undefined && this.owned.has(partition) && this.epochs.get(partition) === epoch;
  }

  /** Whether this member owns every partition of the topic now. */
  get ownsAll(): boolean {
    return this.partitions > 0 && this.owned.size === this.partitions;
  }

  /** The partitions owned now, ascending. */
  get ownedPartitions(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  /** Where `partition` starts when start() is given no offset. */
  defaultStart(partition: number): number {
    return this.defaults.get(partition) ?? 0;
  }

  /**
   * Starts fetching an added partition at `offset` (default: defaultStart), if it is still owned under
   * `epoch`. Returns false when it is not (it moved again meanwhile: takeChanges() will say).
   */
  start(partition: number, epoch: number, offset = this.defaultStart(partition)): boolean {
    if (!this.owns(partition, epoch) || !this.consumer) return false;
    this.position.set(partition, offset);
    this.started.add(partition);
    const end = this.end.get(partition);
    if (end !== undefined && offset >= end) {
      this.done.add(partition); // stays paused
    } else {
      this.done.delete(partition);
      this.consumer.seek({ topic: this.topic, partition, offset: String(offset) });
      this.consumer.resume([{ topic: this.topic, partitions: [partition] }]);
    }
    this.signal();
    return true;
  }

  /**
   * Takes a partition back as if it had just been assigned: its staged data is dropped, it pauses, and it
   * is reported as changed, so the caller restores it and starts it again (a transaction for it failed).
   */
  restart(partition: number): void {
    if (!this.owned.has(partition)) return;
    this.release(new Set([partition]));
    this.owned.add(partition);
    this.consumer?.pause([{ topic: this.topic, partitions: [partition] }]);
    this.signal();
  }

  // --- fetching ---------------------------------------------------------------------------------

  private async onBatch({ batch, resolveOffset, heartbeat, pause, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || this.stopped) return;
    const p = batch.partition;
    if (!this.started.has(p)) return; // waiting for start(), or no longer ours
    const epoch = this.epochs.get(p);
    const end = this.end.get(p) ?? Number.POSITIVE_INFINITY;
    // below `from`: already staged (a batch fetched before a pause or a seek took effect)
    const from = this.position.get(p)!;
    let last = -1;
    let cut = false;
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i += HEARTBEAT_EVERY) {
      const stop = Math.min(messages.length, i + HEARTBEAT_EVERY);
      const before = this.staging.messages;
      cut = this.staging.stageBatch(p, messages, i, stop, from, end) < stop;
      if (this.staging.messages > before) last = this.staging.lastOffset;
      if (stop === messages.length || cut) break;
      if (last >= 0) this.advance(p, last + 1); // what is staged is covered by the offsets a poll takes meanwhile
      await heartbeat();
      if (this.epochs.get(p) !== epoch || !this.started.has(p) || this.stopped) return; // moved meanwhile
    }
    if (last >= 0) resolveOffset(String(last));
    // The next offset: after the batch's last record (control records included) unless cut at the end.
    const next = cut ? end : Math.min(end, Number(batch.lastOffset()) + 1);
    this.advance(p, Math.max(next, last + 1));
    if (this.done.has(p)) pause();
    else if (this.staging.bytes >= this.maxPending) {
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

  private signal(): void {
    if (!this.commits && this.finished && this.consumer && this.running) this.leaveEarly(this.consumer);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Stops and disconnects the consumer of a finished ephemeral source in the background (see the header comment). */
  private leaveEarly(consumer: Consumer): void {
    this.consumer = undefined;
    this.running = false;
    this.leaving = (async () => {
      await consumer.stop().catch(() => {});
      await consumer.disconnect().catch(() => {});
    })();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.signal();
  }

  /**
   * Ends a follow-mode source at `ends` (partition -> offset, e.g. the end offsets now): from here on it
   * reads like a bounded one and finishes once every partition got there.
   */
  drainTo(ends: ReadonlyMap<number, number>): void {
    this.draining = true;
    for (const [p, e] of ends) {
      this.end.set(p, e);
      if (this.started.has(p) && (this.position.get(p) ?? 0) >= e) this.done.add(p);
    }
    this.signal();
  }

  /** Bounded mode (or after drainTo): every partition has reached its end offset. */
  get finished(): boolean {
    return (!this.options.follow || this.draining) && this.done.size === this.partitions && this.changed.size === 0;
  }

  /**
   * Waits for staged messages, moved offsets or assignment changes and takes what is staged. Resolves
   * undefined when the input ended (bounded mode, everything taken) or after stop(). `waitMs` bounds the
   * wait (follow mode): then an empty chunk comes back.
   */
  async poll(waitMs = Number.POSITIVE_INFINITY): Promise<KafkaChunk | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.staging.messages > 0 || this.moved.size > 0 || this.changed.size > 0) return this.take();
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
    const staged = this.staging.take();
    const { partitionOf, offsetOf, lineOf } = staged;
    // partitions still waiting for their state (not started) are no part of this chunk: nothing is
    // written for them, and a member is not counted as owning everything until they are started
    const epochs = new Map<number, number>();
    for (const p of this.started) epochs.set(p, this.epochs.get(p)!);
    const messageAt = (line: number): number => {
      // the last message whose first line is <= line
      let lo = 0;
      let hi = lineOf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (lineOf[mid]! <= line) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const chunk: KafkaChunk = {
      ...staged,
      offsets: [...this.moved].sort((a, b) => a - b).map((p) => ({ partition: p, offset: String(this.position.get(p)!) })),
      epochs,
      ownedAll: this.partitions > 0 && this.started.size === this.partitions,
      messageAt,
      locate(line: number) {
        const m = messageAt(line);
        return { partition: partitionOf[m] ?? -1, offset: String(offsetOf[m] ?? -1) };
      },
      release: () => {
        staged.keys?.release();
        this.staging.recycle(staged.bytes);
      },
    };
    this.moved.clear();
    if (this.pausedForRoom.size > 0 && this.consumer && this.running) {
      const again = [...this.pausedForRoom].filter((p) => !this.done.has(p) && this.started.has(p));
      this.pausedForRoom.clear();
      if (again.length > 0) this.consumer.resume([{ topic: this.topic, partitions: again }]);
    }
    return chunk;
  }

  /**
   * Commits the offsets of a processed chunk to the group (no-op for an ephemeral group), for the
   * partitions still owned under the chunk's epochs. With `shared`, a commit refused because the group is
   * rebalancing (its generation ended) is dropped and false returned: the partitions' changelog markers
   * hold the same offsets.
   */
  async commit(offsets: KafkaChunk['offsets'], epochs?: ReadonlyMap<number, number>): Promise<boolean> {
    if (!this.commits || !this.consumer) return true; // nothing fetched (bounded, already at the end): nothing moved
    const mine = epochs ? offsets.filter((o) => this.owns(o.partition, epochs.get(o.partition))) : offsets;
    if (mine.length === 0) return true;
    try {
      await this.consumer.commitOffsets(mine.map((o) => ({ topic: this.topic, partition: o.partition, offset: o.offset })));
      return true;
    } catch (cause) {
      if (this.options.shared && REBALANCE_ERRORS.has((cause as { type?: string }).type ?? '')) return false;
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
    if (c) {
      this.running = false;
      await c.stop().catch(() => {});
      await c.disconnect().catch(() => {});
    }
    await this.leaving;
    this.staging.release();
  }
}
