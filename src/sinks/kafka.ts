// The columnar aggregate's results to a Kafka topic: after every batch, the new result of each key the
// batch changed, one message per key.
//
//   message key   = the key's bytes (so the default partitioner puts a key where murmur2 says, like the shards)
//   message value = {"<agg>": number, ...} in --agg order, or with format csv the row `key,<aggs>` of the
//                   file output (RFC 4180 quoting, numbers as String(x))
//
// Delivery: an idempotent producer by default (no duplicates from retries; the caller commits the
// consumed offsets after write() returns, so a crash in between re-sends a batch: at least once).
// With a transactional id (exactly-once), write() runs one transaction per batch holding the outputs,
// any dead letters, and the consumed offsets (sendOffsets): a read_committed reader sees each batch's
// output once, and exactly when the group's offsets move past its input.

import { Kafka, Partitioners, logLevel as kafkaLogLevel, type KafkaConfig, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { SluiceError } from '../errors.js';
import { csvField, csvNumber } from '../codec/csv-encode.js';
import type { AggName } from '../plan/aggregate-spec.js';
import type { ByteShardTable, ShardSet } from '../state/shard-table.js';

export interface KafkaSinkOptions {
  brokers: string[];
  topic: string;
  aggs: readonly AggName[];
  /** Message values: JSON object (default) or CSV row. */
  format?: 'json' | 'csv';
  /** Exactly-once: one transaction per batch under this id (keep it the same across restarts). */
  transactionalId?: string;
  clientId?: string;
  logLevel?: kafkaLogLevel;
  kafka?: Partial<KafkaConfig>;
}

/** Offsets a transaction commits for a consumer group. */
export interface ConsumedOffsets {
  groupId: string;
  topic: string;
  partitions: Array<{ partition: number; offset: string }>;
}

/** Messages per produce request; Kafka refuses record batches over message.max.bytes (1 MiB by default). */
const SEND_BYTES = 512 * 1024;

/**
 * The transactional id of an exactly-once job: the same for the same consumer group and input topic,
 * so a restarted job fences the one it replaces and aborts its open transaction.
 */
export function transactionalIdFor(groupId: string, inputTopic: string): string {
  return `sluice-eos.${groupId}.${inputTopic}`;
}

export class KafkaSink {
  readonly topic: string;
  readonly transactional: boolean;
  private readonly options: KafkaSinkOptions;
  private readonly producer: Producer;
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** Output messages written (committed, under exactly-once). */
  written = 0;

  constructor(options: KafkaSinkOptions) {
    this.options = options;
    this.topic = options.topic;
    this.transactional = options.transactionalId !== undefined;
    const kafka = new Kafka({
      clientId: options.clientId ?? 'sluice',
      brokers: options.brokers,
      logLevel: options.logLevel ?? kafkaLogLevel.NOTHING,
      ...options.kafka,
    });
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: this.transactional ? 1 : 5,
      ...(this.transactional ? { transactionalId: options.transactionalId } : {}),
    });
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (cause) {
      throw sinkError(`cannot connect a producer for Kafka topic ${this.topic}`, cause);
    }
  }

  /**
   * The messages of the groups whose stamp is in (fromStamp, toStamp]: the keys the batches after
   * `fromStamp` changed, each with its current result. Each key appears once (a group has one stamp).
   */
  collect(state: ShardSet<ByteShardTable>, fromStamp: number, toStamp: number): Message[] {
    const out: Message[] = [];
    const aggs = this.options.aggs;
    const csv = this.options.format === 'csv';
    for (const table of state.tables) {
      if (table.count === 0) continue;
      let ids: Uint32Array[] | undefined;
      for (let s = fromStamp + 1; s <= toStamp; s++) {
        const c = table.changed(s);
        if (c.length > 0) (ids ??= []).push(c);
      }
      if (!ids) continue;
      const count = table.column('count');
      const sum = table.column('sum');
      const min = table.column('min');
      const max = table.column('max');
      for (const list of ids) {
        for (let i = 0; i < list.length; i++) {
          const g = list[i]!;
          const key = Buffer.from(table.key(g)); // a copy: the view moves when the table grows
          let value: string;
          if (csv) {
            value = csvField(this.decoder.decode(key));
            for (const a of aggs) value += ',' + csvNumber(result(a, g, count, sum, min, max));
          } else {
            value = '{';
            for (let k = 0; k < aggs.length; k++) {
              const a = aggs[k]!;
              value += (k === 0 ? '"' : ',"') + a + '":' + jsonNumber(result(a, g, count, sum, min, max));
            }
            value += '}';
          }
          out.push({ key, value });
        }
      }
    }
    return out;
  }

  /**
   * Writes one batch: `messages` to the sink's topic, `extra` (dead letters) to theirs. Exactly-once:
   * all in one transaction with `offsets`, committed before this resolves. Otherwise the caller commits
   * `offsets` itself once this resolves.
   */
  async write(
    messages: Message[],
    extra: TopicMessages[] = [],
    offsets?: ConsumedOffsets,
    beforeCommit?: () => void | Promise<void>,
  ): Promise<void> {
    const topicMessages: TopicMessages[] = [{ topic: this.topic, messages }, ...extra];
    if (!this.transactional) {
      try {
        for (const part of splitForSend(topicMessages)) await this.producer.sendBatch({ topicMessages: part, acks: -1 });
        await beforeCommit?.();
      } catch (cause) {
        throw sinkError(`cannot write to Kafka topic ${this.topic}`, cause);
      }
      this.written += messages.length;
      return;
    }
    const hasOffsets = offsets !== undefined && offsets.partitions.length > 0;
    if (topicMessages.every((t) => t.messages.length === 0) && !hasOffsets) return;
    let tx: Awaited<ReturnType<Producer['transaction']>> | undefined;
    try {
      tx = await this.producer.transaction();
      for (const part of splitForSend(topicMessages)) await tx.sendBatch({ topicMessages: part, acks: -1 });
      if (hasOffsets) {
        await tx.sendOffsets({
          consumerGroupId: offsets!.groupId,
          topics: [{ topic: offsets!.topic, partitions: offsets!.partitions }],
        });
      }
      await beforeCommit?.();
      await tx.commit();
    } catch (cause) {
      if (tx && tx.isActive()) await tx.abort().catch(() => {});
      throw sinkError(`the transaction writing to Kafka topic ${this.topic} failed (nothing of this batch was committed)`, cause);
    }
    this.written += messages.length;
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }
}

function result(a: AggName, g: number, count: Float64Array, sum: Float64Array, min: Float64Array, max: Float64Array): number {
  switch (a) {
    case 'count':
      return count[g]!;
    case 'sum':
      return sum[g]!;
    case 'min':
      return min[g]!;
    case 'max':
      return max[g]!;
    default:
      return sum[g]! / count[g]!;
  }
}

/** JSON has no NaN or infinities: those become null. */
function jsonNumber(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

function messageBytes(m: Message): number {
  const k = m.key == null ? 0 : typeof m.key === 'string' ? m.key.length * 3 : m.key.length;
  const v = m.value == null ? 0 : typeof m.value === 'string' ? m.value.length * 3 : m.value.length;
  return k + v + 32;
}

/** Splits messages into requests of at most SEND_BYTES (estimated), keeping their order. */
function* splitForSend(topicMessages: TopicMessages[]): Generator<TopicMessages[]> {
  let part: TopicMessages[] = [];
  let bytes = 0;
  for (const t of topicMessages) {
    let cur: Message[] = [];
    for (const m of t.messages) {
      const b = messageBytes(m);
      if (bytes + b > SEND_BYTES && bytes > 0) {
        if (cur.length > 0) part.push({ topic: t.topic, messages: cur });
        yield part;
        part = [];
        cur = [];
        bytes = 0;
      }
      cur.push(m);
      bytes += b;
    }
    if (cur.length > 0) part.push({ topic: t.topic, messages: cur });
  }
  if (part.length > 0) yield part;
}

function sinkError(what: string, cause: unknown): SluiceError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new SluiceError('ERR_KAFKA', `${what}: ${msg}`, { cause, retriable: !!(cause as { retriable?: boolean })?.retriable });
}
