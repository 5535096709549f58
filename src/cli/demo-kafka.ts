// `sluice demo --kafka`: the generator's page visits produced into a Kafka topic (website_logs), for the
// monitor to read back from it.
//
//   generator (its clock: ratePerSecond) ─► every 100 ms the visits now due ─► website_logs
//       key   = the page (Kafka's default partitioner: the topic is co-partitioned with the monitor's shards)
//       value = {"page":"/docs","userId":17,"durationMs":15230,"timestamp":1764590000000}
//
// The topic is created when missing. The producer is idempotent and counts what it sent, per page, so a
// run can be checked against what the monitor reports.

import { Kafka, Partitioners, logLevel as kafkaLogLevel, type Admin, type Message, type Producer } from 'kafkajs';
import { SluiceError } from '../errors.js';
import { createTopicAndWait } from '../sources/kafka-topics.js';
import { utf8Text } from '../plan/columns.js';
import { GeneratorSource, type PageVisit } from '../sources/generator.js';
import { systemClock } from '../runtime/scheduler.js';

export interface VisitProducerOptions {
  brokers: string[];
  topic: string;
  ratePerSecond: number;
  pages: number;
  seed: number;
  logLevel?: kafkaLogLevel;
  /** Producing failed (the broker went away): the demo stops with this error. */
  onError?: (err: SluiceError) => void;
}

/** Partitions of a website_logs topic the demo creates. */
const PARTITIONS = 3;
const TICK_MS = 100;

/** Creates `topic` if it does not exist. */
export async function ensureTopic(admin: Admin, topic: string): Promise<void> {
  try {
    if ((await admin.listTopics()).includes(topic)) return;
    await createTopicAndWait(admin, { topic, numPartitions: PARTITIONS });
  } catch (cause) {
    throw new SluiceError('ERR_KAFKA', `cannot create the Kafka topic ${topic}: ${(cause as Error).message}`, { cause });
  }
}

export class VisitProducer {
  /** Visits sent (acknowledged), per page. */
  readonly sentByPage = new Map<string, number>();
  sent = 0;
  private readonly options: VisitProducerOptions;
  private readonly producer: Producer;
  private readonly generator: GeneratorSource;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(options: VisitProducerOptions) {
    this.options = options;
    const kafka = new Kafka({ clientId: 'sluice-demo-producer', brokers: options.brokers, logLevel: options.logLevel ?? kafkaLogLevel.NOTHING });
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    this.generator = new GeneratorSource({ ratePerSecond: options.ratePerSecond, pages: options.pages, seed: options.seed }, { clock: systemClock });
  }

  async start(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (cause) {
      throw new SluiceError('ERR_KAFKA', `cannot connect a producer to ${this.options.brokers.join(',')}: ${(cause as Error).message}`, { cause });
    }
    await this.generator.open();
    this.loop = this.run().catch((cause: unknown) => {
      const err = new SluiceError('ERR_KAFKA', `cannot produce to Kafka topic ${this.options.topic}: ${(cause as Error).message}`, { cause });
      this.options.onError?.(err);
      throw err;
    });
    this.loop.catch(() => {});
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      await new Promise((r) => setTimeout(r, TICK_MS));
      const batch = await this.generator.poll(Number.POSITIVE_INFINITY);
      if (!batch || batch.length === 0) continue;
      const cols = batch.table!.columns;
      const page = cols.page as { offsets: Uint32Array; bytes: Uint8Array };
      const user = (cols.userId as { values: Float64Array }).values;
      const duration = (cols.durationMs as { values: Float64Array }).values;
      const time = (cols.timestamp as { values: Float64Array }).values;
      const messages: Message[] = new Array(batch.length);
      const pages: string[] = new Array(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const p = utf8Text(page.bytes, page.offsets[i]!, page.offsets[i + 1]!);
        pages[i] = p;
        const visit: PageVisit = { page: p, userId: user[i]!, durationMs: duration[i]!, timestamp: time[i]! };
        messages[i] = { key: p, value: JSON.stringify(visit) };
      }
      await this.producer.send({ topic: this.options.topic, acks: -1, messages });
      this.sent += messages.length;
      for (const p of pages) this.sentByPage.set(p, (this.sentByPage.get(p) ?? 0) + 1);
    }
  }

  /** Stops producing; resolves once everything sent is acknowledged (or rejects with why it failed). */
  async stop(): Promise<void> {
    this.stopping = true;
    try {
      await this.loop;
    } finally {
      await this.producer.disconnect().catch(() => {});
    }
  }
}
