// The columnar aggregate's results to a Kafka topic: after every batch, the new result of each key the
// batch changed, one message per key.
//
//   message key   = the key's bytes (so the default partitioner puts a key where murmur2 says, like the shards)
//   message value = {"<agg>": number, ...} in --agg order, or with format csv the row `key,<aggs>` of the
//                   file output (RFC 4180 quoting, numbers as String(x))
//
// Delivery: write() sends through an idempotent producer (no duplicates from retries; the caller commits the
// consumed offsets after write() returns, so a crash in between re-sends a batch: at least once). Under
// exactly-once the same messages go into a transaction instead (src/sinks/kafka-transactions.ts).

import { Kafka, Partitioners, logLevel as kafkaLogLevel, type KafkaConfig, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { kafkaError } from '../errors.js';
import { csvField, csvNumber } from '../codec/csv-encode.js';
import type { AggName } from '../plan/aggregate-spec.js';
import type { ByteShardTable, ShardSet } from '../state/shard-table.js';

export interface KafkaSinkOptions {
  brokers: string[];
  topic: string;
  aggs: readonly AggName[];
  /** Message values: JSON object (default) or CSV row. */
  format?: 'json' | 'csv';
  clientId?: string;
  logLevel?: kafkaLogLevel;
  kafka?: Partial<KafkaConfig>;
}

/** Messages per produce request; Kafka refuses record batches over message.max.bytes (1 MiB by default). */
const SEND_BYTES = 512 * 1024;

export class KafkaSink {
  readonly topic: string;
  private readonly options: KafkaSinkOptions;
  private readonly producer: Producer;
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** Output messages written through write(). */
  written = 0;

  constructor(options: KafkaSinkOptions) {
    this.options = options;
    this.topic = options.topic;
    const kafka = new Kafka({
      clientId: options.clientId ?? 'sluice',
      brokers: options.brokers,
      logLevel: options.logLevel ?? kafkaLogLevel.NOTHING,
      ...options.kafka,
    });
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 5 });
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (cause) {
      throw kafkaError(`cannot connect a producer for Kafka topic ${this.topic}`, cause);
    }
  }

  /**
   * The messages of the groups whose stamp is in (fromStamp, toStamp], in the shards given (default all):
   * the keys the batches after `fromStamp` changed, each with its current result, once.
   */
  collect(state: ShardSet<ByteShardTable>, fromStamp: number, toStamp: number, shards?: Iterable<number>): Message[] {
    const out: Message[] = [];
    for (const s of shards ?? state.tables.keys()) {
      const table = state.tables[s]!;
      this.messagesOf(table, table.changedIn(fromStamp, toStamp), out);
    }
    return out;
  }

  /** Appends to `out` the message of each group in `ids` of `table`. */
  messagesOf(table: ByteShardTable, ids: Uint32Array, out: Message[] = []): Message[] {
    if (ids.length === 0) return out;
    const aggs = this.options.aggs;
    const csv = this.options.format === 'csv';
    const { count, sum, min, max } = table.accumulators();
    for (let i = 0; i < ids.length; i++) {
      const g = ids[i]!;
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
    return out;
  }

  /**
   * Writes one batch: `messages` to the sink's topic, `extra` (dead letters) to theirs, acknowledged by
   * all in-sync replicas when this resolves. `beforeReturn` (tests) runs after the sends.
   */
  async write(messages: Message[], extra: TopicMessages[] = [], beforeReturn?: () => void | Promise<void>): Promise<void> {
    const topicMessages: TopicMessages[] = [{ topic: this.topic, messages }, ...extra];
    try {
      for (const part of splitForSend(topicMessages)) await this.producer.sendBatch({ topicMessages: part, acks: -1 });
      await beforeReturn?.();
    } catch (cause) {
      throw kafkaError(`cannot write to Kafka topic ${this.topic}`, cause);
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
export function* splitForSend(topicMessages: TopicMessages[]): Generator<TopicMessages[]> {
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
