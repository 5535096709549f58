// The changelog of a Kafka job's keyed state: how a partition's shard moves from one member to another.
//
// A compacted topic with as many partitions as the input; partition p holds shard p (the shards of a job
// that hands partitions over are the input partitions, DESIGN.md "Sharding"). Every batch appends, per
// partition it changed, one record per changed key and a marker:
//
//   data record   key   0x00 ‖ key bytes         value  count | sum | min | max   4 × f64, little endian (32 B)
//   marker        key   0x01                     value  {"v":1,"offset":"<next input offset>","job":"<fingerprint>"}
//   partition     (murmur2(key bytes) & 0x7fffffff) % partitions, set explicitly = what Kafka's default
//                 partitioner would pick for the key itself; the tag byte keeps a marker from ever sharing
//                 a key (and so a compaction slot) with a data record, whatever the keys' bytes are
//
// Compaction keeps the last record of each key, so reading partition p from its start to its end (last
// stable offset, read_committed) and keeping the last value per key gives shard p's state as of the last
// marker, which names the input offset that state covers. The batch's records and marker are written in
// one transaction (src/sinks/kafka-transactions.ts), so a reader sees all of a batch or none of it.
//
// Reading uses one consumer of its own (an ephemeral group, so it is assigned every partition of the
// changelog and commits nothing), opened once and kept paused: a restore seeks a partition to its start,
// resumes it, and pauses it again at its end.

import { createHash, randomBytes } from 'node:crypto';
import { Kafka, logLevel as kafkaLogLevel, type Admin, type Consumer, type EachBatchPayload, type KafkaConfig, type Message } from 'kafkajs';
import { SluiceError, kafkaError } from '../errors.js';
import { MessageKeys } from '../codec/message-keys.js';
import type { KernelRuntime } from '../runtime/pool.js';
import { createTopicAndWait } from '../sources/kafka-topics.js';
import type { ByteShardTable, ShardSet } from './shard-table.js';

export interface ChangelogOptions {
  brokers: string[];
  /** The job's input topic and consumer group: the changelog's name is derived from them. */
  inputTopic: string;
  groupId: string;
  /** Partitions of the input = of the changelog = shards. */
  partitions: number;
  /** What the state means (format, key, value, accumulators): a changelog of another job is refused. */
  fingerprint: string;
  clientId?: string;
  logLevel?: kafkaLogLevel;
  kafka?: Partial<KafkaConfig>;
}

/** What restore() found for a partition. */
export interface RestoredPartition {
  /** The input offset the restored state covers (the last marker's), or undefined when there is none. */
  offset: number | undefined;
  /** Changelog records read. */
  records: number;
  /** Keys restored into the shard. */
  keys: number;
}

const DATA = 0x00;
const MARKER = 0x01;
const MARKER_KEY = Buffer.from([MARKER]);
const VALUE_BYTES = 32;
/** Records applied to a shard at a time while restoring. */
const APPLY_EVERY = 65536;

/**
 * The changelog topic of a group reading a topic: `sluice-changelog.<topic>.<group>.<hash>`, the group
 * reduced to legal topic characters and the hash taken of the exact pair, so no two pairs share one.
 */
export function changelogTopicFor(inputTopic: string, groupId: string): string {
  const hash = createHash('sha256').update(`${inputTopic}\0${groupId}`).digest('hex').slice(0, 8);
  const group = groupId.replace(/[^a-zA-Z0-9._-]/g, '_');
  const head = `sluice-changelog.${inputTopic}.`;
  const room = 249 - head.length - hash.length - 1;
  return `${head}${group.slice(0, Math.max(0, room))}.${hash}`;
}

export class Changelog {
  readonly topic: string;
  private readonly options: ChangelogOptions;
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private reader: ChangelogReader | undefined;

  constructor(options: ChangelogOptions) {
    this.options = options;
    this.topic = changelogTopicFor(options.inputTopic, options.groupId);
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'sluice',
      brokers: options.brokers,
      logLevel: options.logLevel ?? kafkaLogLevel.NOTHING,
      ...options.kafka,
    });
  }

  /** Creates the topic if it is missing (compacted, one partition per input partition), checks it, starts the reader. */
  async open(): Promise<void> {
    const admin = this.kafka.admin();
    this.admin = admin;
    try {
      await admin.connect();
      if (!(await admin.listTopics()).includes(this.topic)) {
        // another member may make it first: createTopicAndWait leaves an existing one as it is
        await createTopicAndWait(admin, {
          topic: this.topic,
          numPartitions: this.options.partitions,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            // a small active segment: compaction never touches the active one, and a restore reads it all
            { name: 'segment.bytes', value: String(64 << 20) },
          ],
        });
      }
      // right after a creation the partitions may still be electing their leaders
      let offsets: Awaited<ReturnType<Admin['fetchTopicOffsets']>> | undefined;
      for (let attempt = 0; offsets === undefined; attempt++) {
        try {
          offsets = await admin.fetchTopicOffsets(this.topic);
        } catch (cause) {
          if (attempt >= 20 || !(cause as { retriable?: boolean }).retriable) throw cause;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      if (offsets.length !== this.options.partitions) {
        throw new SluiceError(
          'ERR_STATE',
          `the changelog topic ${this.topic} has ${offsets.length} partitions, but Kafka topic ${this.options.inputTopic} has ` +
            `${this.options.partitions}: a changelog is made for one partition count. Delete ${this.topic} (the group's state ` +
            'starts from zero), or use another consumer group',
        );
      }
    } catch (cause) {
      if (cause instanceof SluiceError) throw cause;
      throw kafkaError(`cannot create or read the changelog topic ${this.topic}`, cause);
    }
    this.reader = new ChangelogReader(this.kafka, this.topic);
    await this.reader.open();
  }

  /** Appends to `out` the data record of each group in `ids` of `table` (shard = changelog partition `partition`). */
  records(table: ByteShardTable, ids: Uint32Array, partition: number, out: Message[] = []): Message[] {
    if (ids.length === 0) return out;
    const { count, sum, min, max } = table.accumulators();
    for (let i = 0; i < ids.length; i++) {
      const g = ids[i]!;
      const k = table.key(g);
      const key = Buffer.allocUnsafe(k.length + 1);
      key[0] = DATA;
      key.set(k, 1);
      const value = Buffer.allocUnsafe(VALUE_BYTES);
      value.writeDoubleLE(count[g]!, 0);
      value.writeDoubleLE(sum[g]!, 8);
      value.writeDoubleLE(min[g]!, 16);
      value.writeDoubleLE(max[g]!, 24);
      out.push({ key, value, partition });
    }
    return out;
  }

  /** The marker of `partition`: its state covers the input up to (not including) `offset`. */
  marker(partition: number, offset: string): Message {
    return { key: MARKER_KEY, value: JSON.stringify({ v: 1, offset, job: this.options.fingerprint }), partition };
  }

  /**
   * Reads changelog partition p of each of `partitions` to its end and loads it into shard p of `state`
   * (empty: the caller reset it). The caller has fenced the partitions' previous owners first, so nothing
   * is written to these partitions meanwhile.
   */
  async restore(rt: KernelRuntime, partitions: readonly number[], state: ShardSet<ByteShardTable>): Promise<Map<number, RestoredPartition>> {
    const reader = this.reader;
    if (!reader || !this.admin) throw new Error('Changelog.restore before open()');
    let offsets: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
    try {
      offsets = await this.admin.fetchTopicOffsets(this.topic);
    } catch (cause) {
      throw kafkaError(`cannot read the offsets of the changelog topic ${this.topic}`, cause);
    }
    const out = new Map<number, RestoredPartition>();
    await Promise.all(
      partitions.map(async (p) => {
        const o = offsets.find((x) => x.partition === p);
        const low = Number(o?.low ?? 0);
        const end = Number(o?.high ?? 0);
        const apply = new ShardRestore(rt, state.tables[p]!, p, this.options.partitions, this.topic);
        let offset: number | undefined;
        let records = 0;
        if (end > low) {
          await reader.read(p, low, end, (messages) => {
            for (const m of messages) {
              records++;
              const key = m.key;
              if (!key || key.length === 0) continue;
              if (key[0] === MARKER) offset = this.readMarker(m.value, p, m.offset);
              else if (key[0] === DATA && m.value && m.value.length === VALUE_BYTES) apply.add(key.subarray(1), m.value);
              else throw corrupt(this.topic, p, m.offset, 'it is neither a data record nor a marker');
            }
            apply.flush(false);
          });
        }
        apply.flush(true);
        out.set(p, { offset, records, keys: state.tables[p]!.count });
      }),
    );
    return out;
  }

  private readMarker(value: Buffer | null, partition: number, at: string): number {
    let m: { v?: unknown; offset?: unknown; job?: unknown };
    try {
      m = JSON.parse(String(value)) as typeof m;
    } catch {
      throw corrupt(this.topic, partition, at, 'its marker is not JSON');
    }
    if (m.v !== 1 || typeof m.offset !== 'string' || !/^\d+$/.test(m.offset)) throw corrupt(this.topic, partition, at, 'its marker has no offset');
    if (m.job !== this.options.fingerprint) {
      throw new SluiceError(
        'ERR_STATE',
        `the changelog topic ${this.topic} holds the state of another job (${String(m.job)}); this one is ${this.options.fingerprint}. ` +
          `Use another consumer group for this job, or delete ${this.topic} to start the group's state from zero`,
      );
    }
    return Number(m.offset);
  }

  async close(): Promise<void> {
    await this.reader?.close();
    await this.admin?.disconnect().catch(() => {});
  }
}

/** Loads changelog records into one shard: the last value of a key wins, in changelog order. */
class ShardRestore {
  private keys: MessageKeys | undefined;
  private values = new Float64Array(4 * 1024);
  private n = 0;

  constructor(
    private readonly rt: KernelRuntime,
    private readonly table: ByteShardTable,
    private readonly partition: number,
    private readonly partitions: number,
    private readonly topic: string,
  ) {}

  add(key: Uint8Array, value: Buffer): void {
    this.keys ??= new MessageKeys(this.rt.arena, this.rt.k, APPLY_EVERY);
    this.keys.append(key);
    if (4 * (this.n + 1) > this.values.length) {
      const next = new Float64Array(this.values.length * 2);
      next.set(this.values);
      this.values = next;
    }
    const v = this.values;
    const at = 4 * this.n++;
    v[at] = value.readDoubleLE(0);
    v[at + 1] = value.readDoubleLE(8);
    v[at + 2] = value.readDoubleLE(16);
    v[at + 3] = value.readDoubleLE(24);
  }

  /** Interns what was added into the table and writes its accumulators (when `all`, or enough piled up). */
  flush(all: boolean): void {
    const keys = this.keys;
    const n = this.n;
    if (!keys || n === 0 || (!all && n < APPLY_EVERY)) {
      if (all) this.release();
      return;
    }
    const arena = this.rt.arena;
    const cols = keys.columns([[0, n]]);
    for (let i = 0; i < n; i++) {
      const part = (arena.u32[(cols.hashes >>> 2) + i]! & 0x7fffffff) % this.partitions;
      if (part !== this.partition) {
        throw new SluiceError(
          'ERR_STATE',
          `the changelog topic ${this.topic} holds in partition ${this.partition} a key of partition ${part}: it was not written ` +
            `by sluice for ${this.partitions} partitions. Delete it (the group's state starts from zero), or use another consumer group`,
        );
      }
    }
    const gids = arena.alloc(n * 4);
    try {
      this.table.intern({ keyOffs: cols.keyOffs, keyBytes: cols.keyBytes, hashes: cols.hashes, values: 0, perm: 0 }, 0, n, gids);
      const { count, sum, min, max } = this.table.accumulators();
      const g32 = arena.u32;
      const v = this.values;
      for (let i = 0; i < n; i++) {
        const g = g32[(gids >>> 2) + i]!;
        count[g] = v[4 * i]!;
        sum[g] = v[4 * i + 1]!;
        min[g] = v[4 * i + 2]!;
        max[g] = v[4 * i + 3]!;
      }
    } finally {
      arena.release(gids);
    }
    this.release();
  }

  private release(): void {
    this.keys?.release();
    this.keys = undefined;
    this.n = 0;
  }
}

/** One consumer, paused, that reads a changelog partition from a start offset to an end offset on demand. */
class ChangelogReader {
  private readonly consumer: Consumer;
  private readonly topic: string;
  private readonly reads = new Map<number, { end: number; onMessages: (m: EachBatchPayload['batch']['messages']) => void; done: () => void; fail: (e: unknown) => void }>();
  private joined!: Promise<void>;
  private failure: unknown;

  constructor(kafka: Kafka, topic: string) {
    this.topic = topic;
    this.consumer = kafka.consumer({
      groupId: `sluice-restore-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      maxWaitTimeInMs: 100,
      readUncommitted: false,
      retry: { retries: 8, restartOnFailure: async () => false },
    });
  }

  async open(): Promise<void> {
    const c = this.consumer;
    let resolveJoined!: () => void;
    this.joined = new Promise<void>((r) => (resolveJoined = r));
    c.on(c.events.GROUP_JOIN, (e) => {
      // paused until a read asks for a partition
      const assigned = e.payload.memberAssignment[this.topic] ?? [];
      const idle = assigned.filter((p) => !this.reads.has(p));
      if (idle.length > 0) c.pause([{ topic: this.topic, partitions: idle }]);
      resolveJoined();
    });
    c.on(c.events.CRASH, (e) => {
      if (e.payload.restart) return;
      this.failure = e.payload.error;
      for (const r of this.reads.values()) r.fail(e.payload.error);
    });
    // a batch of only transaction markers or aborted records never reaches eachBatch
    c.on(c.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.batchSize === 0) this.progress(e.payload.partition, Number(e.payload.lastOffset) + 1);
    });
    try {
      await c.connect();
      await c.subscribe({ topics: [this.topic], fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch, isStale }: EachBatchPayload) => {
          const r = this.reads.get(batch.partition);
          if (!r || isStale()) return;
          try {
            r.onMessages(batch.messages.filter((m) => Number(m.offset) < r.end));
          } catch (err) {
            this.reads.delete(batch.partition);
            c.pause([{ topic: this.topic, partitions: [batch.partition] }]);
            r.fail(err);
            return;
          }
          this.progress(batch.partition, Number(batch.lastOffset()) + 1);
        },
      });
    } catch (cause) {
      throw kafkaError(`cannot read the changelog topic ${this.topic}`, cause);
    }
    await this.joined;
  }

  /** Calls `onMessages` with the records of partition p in [from, end), batch by batch; resolves at `end`. */
  async read(partition: number, from: number, end: number, onMessages: (m: EachBatchPayload['batch']['messages']) => void): Promise<void> {
    if (this.failure) throw kafkaError(`the reader of the changelog topic ${this.topic} stopped`, this.failure);
    await new Promise<void>((done, fail) => {
      this.reads.set(partition, { end, onMessages, done, fail });
      this.consumer.seek({ topic: this.topic, partition, offset: String(from) });
      this.consumer.resume([{ topic: this.topic, partitions: [partition] }]);
    });
  }

  private progress(partition: number, next: number): void {
    const r = this.reads.get(partition);
    if (!r || next < r.end) return;
    this.reads.delete(partition);
    this.consumer.pause([{ topic: this.topic, partitions: [partition] }]);
    r.done();
  }

  async close(): Promise<void> {
    await this.consumer.stop().catch(() => {});
    await this.consumer.disconnect().catch(() => {});
  }
}

function corrupt(topic: string, partition: number, offset: string, why: string): SluiceError {
  return new SluiceError(
    'ERR_STATE',
    `the record at offset ${offset} of partition ${partition} of the changelog topic ${topic} cannot be restored: ${why}. ` +
      `Delete ${topic} (the group's state starts from zero), or use another consumer group`,
  );
}
