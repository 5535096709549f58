// Test helper: the Kafka broker started by test/global-setup.ts, a describe() that needs it, and producing,
// reading back and a reference group-by for the Kafka tests.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { Kafka, Partitioners, logLevel, type Admin, type IHeaders, type KafkaConfig, type Message } from 'kafkajs';
import { createTopicAndWait } from '../../src/sources/kafka-topics.js';
import { describeNeeding } from './needs.js';

/** host:port of the broker for this run, or undefined when there is none. */
export function kafkaBootstrap(): string | undefined {
  let v: string | undefined;
  try {
    v = inject('kafkaBootstrap');
  } catch {
    v = undefined; // not under the vitest runner's globalSetup
  }
  return v || process.env.KAFKA_BOOTSTRAP || undefined;
}

/** Why there is no broker, for messages. */
export function kafkaUnavailableReason(): string {
  let why: string | undefined;
  try {
    why = inject('kafkaUnavailable');
  } catch {
    why = undefined;
  }
  return why || 'no Kafka broker: KAFKA_BOOTSTRAP is not set and test/global-setup.ts did not provide one';
}

/** The bootstrap address, or a thrown error that says why there is none. */
export function requireKafkaBootstrap(): string {
  const b = kafkaBootstrap();
  if (!b) throw new Error(kafkaUnavailableReason());
  return b;
}

/**
 * describe() for tests that need the real broker. Without one it is describe.skip with a loud
 * reason, except under CI=true, where it never skips: the suite fails with the reason instead.
 */
export function describeKafka(name: string, fn: () => void): void {
  describeNeeding('a Kafka broker', kafkaBootstrap() ? undefined : kafkaUnavailableReason(), name, fn);
}

/**
 * kafkajs's log level for test clients: silent by default (kafkajs logs every retried protocol
 * error, e.g. "coordinator is loading", at ERROR); KAFKAJS_LOG_LEVEL=error|warn|info|debug to see them.
 */
export function testLogLevel(): logLevel {
  const name = (process.env.KAFKAJS_LOG_LEVEL || 'nothing').toUpperCase() as keyof typeof logLevel;
  return logLevel[name] ?? logLevel.NOTHING;
}

/** A kafkajs client on the test broker. */
export function kafkaClient(clientId = 'sluice-test', extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers: [requireKafkaBootstrap()],
    logLevel: testLogLevel(),
    ...extra,
  });
}

/** A name no other test (or earlier run on the same broker) has used: `${prefix}-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Sends `messages` to `topic` with an idempotent producer and the default partitioner (keyed by message key). */
export async function produceMessages(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  await p.connect();
  try {
    const CHUNK = 10_000;
    // a topic made a moment ago may not be in every broker's metadata yet: retry what says so
    const send = async (part: Message[]): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          await p.send({ topic, acks: -1, messages: part });
          return;
        } catch (err) {
          if (attempt >= 10 || !(err as { retriable?: boolean }).retriable) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < messages.length; i += CHUNK) {
      sends.push(send(messages.slice(i, i + CHUNK)));
      if (sends.length === 4) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
  } finally {
    await p.disconnect();
  }
}

/** A message as read back: key and value bytes, where it was, its headers. */
export interface ReadMessage {
  key: string;
  keyBytes: Buffer | null;
  value: string;
  partition: number;
  offset: string;
  headers: IHeaders | undefined;
}

/** Every message of `topic` up to its end offsets now, in partition order (read_committed unless told). */
export async function readTopicMessages(kafka: Kafka, admin: Admin, topic: string, readUncommitted = false): Promise<ReadMessage[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const remaining = new Map(ends.filter((o) => Number(o.high) > Number(o.low)).map((o) => [o.partition, Number(o.high)]));
  const out: ReadMessage[] = [];
  if (remaining.size === 0) return out;
  const c = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100, readUncommitted });
  await c.connect();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  c.on(c.events.END_BATCH_PROCESS, (e) => {
    const end = remaining.get(e.payload.partition);
    if (end !== undefined && Number(e.payload.lastOffset) + 1 >= end) remaining.delete(e.payload.partition);
    if (remaining.size === 0) resolveDone();
  });
  await c.subscribe({ topics: [topic], fromBeginning: true });
  await c.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        out.push({
          key: m.key?.toString() ?? '',
          keyBytes: m.key,
          value: m.value?.toString() ?? '',
          partition: batch.partition,
          offset: m.offset,
          headers: m.headers,
        });
      }
    },
  });
  const timeout = setTimeout(resolveDone, 30_000);
  await done;
  clearTimeout(timeout);
  await c.disconnect();
  return out;
}

/** count/sum/min/max of one key. */
export interface KeyStats {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/**
 * n CSV messages `k<j>,<value>` keyed by `k<j>` (so the default partitioner co-partitions them with the
 * shards), and the reference group-by: per key, values added in offset order.
 */
export function keyedCsvMessages(n: number, keys: number, seed = 1, ref = new Map<string, KeyStats>()): { messages: Message[]; ref: Map<string, KeyStats> } {
  const messages: Message[] = [];
  for (let i = 0; i < n; i++) {
    const key = `k${(i * 7919 + seed) % keys}`;
    const v = ((i * 31 + seed) % 997) * 0.25 - 50;
    messages.push({ key, value: `${key},${v}` });
    addStat(ref, key, v);
  }
  return { messages, ref };
}

export function addStat(ref: Map<string, KeyStats>, key: string, v: number): void {
  const s = ref.get(key);
  if (s) {
    s.count++;
    s.sum += v;
    s.min = Math.min(s.min, v);
    s.max = Math.max(s.max, v);
  } else ref.set(key, { count: 1, sum: v, min: v, max: v });
}

/** Polls until `check` returns true (or `ms` pass); returns its last answer. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 30_000, every = 100): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Sends `key<TAB>value` lines (newline-separated text) to `topic` with the Java client through
 * `node scripts/kafka.mjs produce`: ~1M small records in seconds where kafkajs needs a minute on a busy
 * machine. Keys are partitioned by murmur2, like kafkajs's DefaultPartitioner. Resolves with the count sent.
 */
export async function produceLines(topic: string, lines: string): Promise<number> {
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/kafka.mjs');
  const child = spawn(process.execPath, [script, 'produce', topic, `--bootstrap=${requireKafkaBootstrap()}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(lines);
  if ((await code) !== 0) throw new Error(`scripts/kafka.mjs produce ${topic} failed:\n${err}`);
  return Number(out.trim());
}

/** Creates a topic named `${prefix}-<random>` and waits until every partition has a leader that answers. */
export async function createTopic(admin: Admin, prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  await createTopicAndWait(admin, { topic, numPartitions: partitions });
  return topic;
}

/** The offsets `group` committed for `topic`, partition -> offset (-1: none). */
export async function groupOffsets(admin: Admin, group: string, topic: string): Promise<Map<number, number>> {
  const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map(committed[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
}

/** Whether `group` has committed the end offsets of every partition of `topic`. */
export async function groupCaughtUp(admin: Admin, group: string, topic: string): Promise<boolean> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), groupOffsets(admin, group, topic)]);
  return ends.every((e) => committed.get(e.partition) === Number(e.high));
}

/**
 * The output of a job with --agg count,sum read back: checks that each key's running total, in offset
 * order, only grows (a batch seen twice would repeat a total, a lost one would be made up later but a
 * replay of an older state would go back), and returns each key's last total.
 */
export function checkRunningTotals(read: ReadMessage[]): Map<string, { count: number; sum: number }> {
  const last = new Map<string, { count: number; sum: number }>();
  const inOrder = [...read].sort((x, y) => x.partition - y.partition || Number(x.offset) - Number(y.offset));
  for (const m of inOrder) {
    const v = JSON.parse(m.value) as { count: number; sum: number };
    const prev = last.get(m.key);
    if (prev && !(v.count > prev.count && v.sum > prev.sum)) {
      throw new Error(`key ${m.key}: ${JSON.stringify(v)} at offset ${m.offset} of partition ${m.partition} after ${JSON.stringify(prev)}`);
    }
    last.set(m.key, v);
  }
  return last;
}
