// Suite 3: a Kafka topic read to its end as whole processes — `sluice aggregate` (bounded: up to the
// end offsets seen at start) summing a value per URL key, against a raw kafkajs eachBatch consumer
// that does nothing with the messages (bench/kafka-raw.ts). The figure is the median wall time from
// spawn to exit; the two alternate run by run so drift on a shared machine hits both alike.
//
// The topic has 6 partitions and one `url,value` CSV record per message (the rows of the file job,
// bench/data-gen.ts), keyed by the URL so Kafka's default partitioner places it; it is produced once
// per size and reused while the broker keeps it. Without KAFKA_BOOTSTRAP the local broker is started
// with scripts/kafka.mjs under a lease, so a broker this run started is stopped again at the end and
// one brought up by hand stays up. When no broker can be had the suite is reported missing, with why.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners, type Admin, type Message } from 'kafkajs';
import { createTopicAndWait } from '../dist/sources/kafka-topics.js';
import { urlRows } from './data-gen.js';
import { digestCsv, wall } from './file-job.js';
import { Digest, median, type Figure } from './measure.js';

export interface KafkaJobOptions {
  messages: number;
  distinct: number;
  runs: number;
  /** Start the local broker when KAFKA_BOOTSTRAP is not set (not in smoke runs). */
  startBroker: boolean;
  log: (line: string) => void;
}

export type KafkaSuite =
  | {
      status: 'ok';
      topic: string;
      partitions: number;
      messages: number;
      /** Bytes of all message values. */
      bytes: number;
      runs: number;
      /** Digest of the right answer, computed from the generator's rows. */
      expected: string;
      figures: Figure[];
    }
  | { status: 'missing'; reason: string };

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const SCRIPT = path.join(ROOT, 'scripts/kafka.mjs');
const PARTITIONS = 6;
const SEED = 20261125;
export const KAFKA_SLUICE = 'sluice aggregate (bounded)';
export const KAFKA_RAW = 'kafkajs eachBatch, no work';

interface Broker {
  bootstrap: string;
  release(): void;
}

/** KAFKA_BOOTSTRAP, or the local broker started here; a string says why there is none. */
function broker(opts: KafkaJobOptions): Broker | string {
  const given = process.env.KAFKA_BOOTSTRAP?.trim();
  if (given) return { bootstrap: given, release: () => {} };
  if (!opts.startBroker) return 'KAFKA_BOOTSTRAP is not set, and smoke runs do not start a broker';
  opts.log('  starting the local broker: node scripts/kafka.mjs up');
  const r = spawnSync(process.execPath, [SCRIPT, 'up', `--lease=${process.pid}`], { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000 });
  const m = /KAFKA_BOOTSTRAP=(\S+)\s*$/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) {
    const tail = `${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim().split('\n').slice(-3).join(' | ');
    return `the local broker did not start (node scripts/kafka.mjs up exited ${r.status ?? r.signal}: ${tail}); it needs Java 17+ and Maven, or set KAFKA_BOOTSTRAP=host:port`;
  }
  return {
    bootstrap: m[1]!,
    release: () => void spawnSync(process.execPath, [SCRIPT, 'release', String(process.pid)], { cwd: ROOT, stdio: 'ignore', timeout: 2 * 60_000 }),
  };
}

/** Messages in the topic (sum of high - low over partitions), or -1 when it does not exist. */
async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return -1;
    const offsets = await admin.fetchTopicOffsets(topic);
    if (offsets.length !== PARTITIONS) return -2;
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Makes `topic` hold exactly the generator's rows, producing them unless it already does. */
async function ensureTopic(kafka: Kafka, topic: string, rows: ReturnType<typeof urlRows>, log: (s: string) => void): Promise<void> {
  const n = rows.ids.length;
  const size = await topicSize(kafka, topic);
  if (size === n) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (size !== -1) {
      // left half-written by an interrupted run: start over
      await admin.deleteTopics({ topics: [topic] });
      for (let i = 0; i < 60 && (await admin.listTopics()).includes(topic); i++) await new Promise((r) => setTimeout(r, 500));
    }
    await createTopicAndWait(admin, { topic, numPartitions: PARTITIONS, replicationFactor: 1 });
  } finally {
    await admin.disconnect();
  }
  log(`  producing ${n.toLocaleString('en-US')} messages into ${topic}`);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const CHUNK = 10_000;
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < n; i += CHUNK) {
      const messages: Message[] = [];
      for (let j = i; j < Math.min(n, i + CHUNK); j++) {
        const key = rows.keys[rows.ids[j]!]!;
        messages.push({ key, value: `${key},${rows.values[j]}` });
      }
      inFlight.push(producer.send({ topic, messages, acks: -1 }));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
  const after = await topicSize(kafka, topic);
  if (after !== n) throw new Error(`topic ${topic} holds ${after} messages after producing ${n}`);
}

export async function runKafkaJob(opts: KafkaJobOptions): Promise<KafkaSuite> {
  const b = broker(opts);
  if (typeof b === 'string') {
    opts.log(`  missing: ${b}`);
    return { status: 'missing', reason: b };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-kafka-'));
  try {
    const kafka = new Kafka({ clientId: 'sluice-bench', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const topic = `sluice-bench-urls-${opts.messages}-${opts.distinct}-${SEED}`;
    const rows = urlRows(opts.messages, opts.distinct, SEED);
    try {
      await ensureTopic(kafka, topic, rows, opts.log);
    } catch (err) {
      const reason = `Kafka at ${b.bootstrap} cannot be used: ${(err as Error).message}`;
      opts.log(`  missing: ${reason}`);
      return { status: 'missing', reason };
    }
    let bytes = 0;
    const sums = new Map<string, number>();
    for (let i = 0; i < rows.ids.length; i++) {
      const key = rows.keys[rows.ids[i]!]!;
      bytes += key.length + 1 + String(rows.values[i]).length;
      sums.set(key, (sums.get(key) ?? 0) + rows.values[i]!);
    }
    const expected = new Digest();
    for (const [k, s] of sums) expected.add(k, -1, s);
    opts.log(`  ${opts.messages.toLocaleString('en-US')} messages in ${PARTITIONS} partitions, ${(bytes / 1e6).toFixed(0)} MB of values, at ${b.bootstrap}`);

    const node = process.execPath;
    const sluiceOut = path.join(dir, 'sluice.csv');
    const rawOut = path.join(dir, 'raw.txt');
    const impls = [
      { impl: KAFKA_SLUICE, argv: [node, path.join(ROOT, 'dist/bin/sluice.mjs'), 'aggregate', '--input', `kafka://${b.bootstrap}/${topic}`, '--format', 'csv', '--key', '0', '--value', '1', '--agg', 'sum', '--out', sluiceOut] },
      { impl: KAFKA_RAW, argv: [node, path.join(HERE, 'kafka-raw.js'), b.bootstrap, topic, rawOut] },
    ];
    const samples = new Map<string, number[]>(impls.map((x) => [x.impl, []]));
    const failed = new Map<string, string>();
    for (let r = -1; r < opts.runs; r++) {
      // run -1 is untimed: broker page cache and code caches warm for both
      for (const x of impls) {
        if (failed.has(x.impl)) continue;
        try {
          const ms = await wall(x.argv);
          if (r >= 0) samples.get(x.impl)!.push(ms);
        } catch (err) {
          failed.set(x.impl, (err as Error).message);
        }
      }
    }
    const figures: Figure[] = impls.map(({ impl }) => {
      const fail = failed.get(impl);
      if (fail !== undefined) return { impl, status: 'failed', reason: fail };
      let digest: string;
      if (impl === KAFKA_SLUICE) digest = digestCsv(sluiceOut, true).toString();
      else {
        const read = Number(readFileSync(rawOut, 'utf8').trim());
        if (read !== opts.messages) return { impl, status: 'failed', reason: `read ${read} of ${opts.messages} messages` };
        digest = `${read} messages`;
      }
      const s = samples.get(impl)!;
      const medianMs = median(s);
      return { impl, status: 'ok', medianMs, samplesMs: s, rowsPerSec: opts.messages / (medianMs / 1000), digest };
    });
    for (const f of figures) {
      opts.log(f.status === 'ok'
        ? `    ${f.impl.padEnd(28)} ${f.medianMs.toFixed(0).padStart(7)} ms  ${(f.rowsPerSec / 1e6).toFixed(2)} M msgs/s  ${f.digest}`
        : `    ${f.impl.padEnd(28)} ${f.status}: ${f.reason}`);
    }
    return { status: 'ok', topic, partitions: PARTITIONS, messages: opts.messages, bytes, runs: opts.runs, expected: expected.toString(), figures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    b.release();
  }
}
