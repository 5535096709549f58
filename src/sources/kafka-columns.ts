// A Kafka topic of JSON-lines records as a columnar source of the streaming API (the demo's website_logs).
//
//   KafkaSource (one member, an ephemeral group, starting at the end offsets: only what comes from now on)
//     └─ poll() ─► chunk bytes ─► json_decode (inline, on a runtime of its own) ─► { key field: utf8 column,
//                                                                                   value field: f64 column }
//
// Each batch is a ColumnTable, so `pairs(keyField, valueField)` reaches the wasm state tables without a JS
// object or string per record. Bad records (not JSON, a field missing) are counted and skipped. Reading
// goes on until drain(): then it finishes at the end offsets of that moment, so a job that stops its
// producer first and then drains has read exactly what was produced.

import { Admin, Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { kafkaError } from '../errors.js';
import { DecodeJob } from '../codec/decode-job.js';
import { Batch } from '../plan/batch.js';
import type { ColumnTable } from '../plan/columns.js';
import { KernelRuntime } from '../runtime/pool.js';
import { KafkaSource } from './kafka.js';
import type { Source } from './source.js';

export interface KafkaColumnSourceOptions {
  brokers: string[];
  topic: string;
  /** Dotted path of the string field that becomes the utf8 column `keyField`. */
  keyField: string;
  /** Dotted path of the number field that becomes the f64 column `valueField`. */
  valueField: string;
  logLevel?: kafkaLogLevel;
}

export class KafkaColumnSource<T> implements Source<T> {
  readonly name: string;
  private readonly options: KafkaColumnSourceOptions;
  private readonly kafka: KafkaSource;
  private rt: KernelRuntime | undefined;
  private job: DecodeJob | undefined;
  private ended = false;
  /** Records skipped because they were not a JSON object with both fields. */
  badRecords = 0;
  /** Records read. */
  records = 0;

  constructor(options: KafkaColumnSourceOptions) {
    this.options = options;
    this.name = `kafka:${options.topic}`;
    this.kafka = new KafkaSource({
      brokers: options.brokers,
      topic: options.topic,
      follow: true,
      startAt: 'latest',
      format: 'jsonl',
      clientId: 'sluice-demo',
      logLevel: options.logLevel,
    });
  }

  get exhausted(): boolean {
    return this.ended;
  }

  async open(): Promise<void> {
    this.rt = KernelRuntime.create({ workers: 0 });
    this.job = new DecodeJob(this.rt.arena, {
      format: 'jsonl',
      keyPath: this.options.keyField,
      valuePath: this.options.valueField,
      maxRecords: 1 << 16,
      inputBytes: 1 << 20,
    });
    await this.kafka.open();
  }

  /** Finishes at the topic's end offsets now (see the header comment). */
  async drain(admin: Admin): Promise<void> {
    const ends = await admin.fetchTopicOffsets(this.options.topic);
    this.kafka.drainTo(new Map(ends.map((o) => [o.partition, Number(o.high)])));
  }

  async poll(): Promise<Batch<T> | undefined> {
    for (const p of this.kafka.takeChanges()) {
      const epoch = this.kafka.epochOf(p);
      if (epoch !== undefined) this.kafka.start(p, epoch); // one member: at the end offsets seen at open()
    }
    const chunk = await this.kafka.poll(0);
    if (!chunk) {
      this.ended = true;
      return undefined;
    }
    try {
      if (chunk.bytes.length === 0) return undefined;
      return this.decode(chunk.bytes);
    } finally {
      chunk.release();
    }
  }

  private decode(bytes: Uint8Array): Batch<T> | undefined {
    const job = this.job!;
    const k = this.rt!.k;
    const keys: Uint8Array[] = [];
    const offsets: Uint32Array[] = [];
    const values: Float64Array[] = [];
    let n = 0;
    job.write(bytes);
    for (;;) {
      const step = job.decode(k, true);
      if (job.records > 0) {
        // copies: the job's columns are reused by the next decode
        keys.push(job.keyBytes().slice());
        offsets.push(job.keyOffsets().slice());
        values.push(job.values().slice());
        n += job.records;
        job.clearRecords();
      }
      if (step === 'done') break;
    }
    this.badRecords += job.takeBadRecords().length;
    this.records += n;
    if (n === 0) return undefined;
    const offs = new Uint32Array(n + 1);
    const total = keys.reduce((s, b) => s + b.length, 0);
    const keyBytes = new Uint8Array(total);
    const vals = new Float64Array(n);
    let row = 0;
    let at = 0;
    for (let i = 0; i < keys.length; i++) {
      keyBytes.set(keys[i]!, at);
      const o = offsets[i]!;
      for (let r = 1; r < o.length; r++) offs[row + r] = o[r]! + at;
      vals.set(values[i]!, row);
      row += o.length - 1;
      at += keys[i]!.length;
    }
    const table: ColumnTable = {
      length: n,
      columns: {
        [this.options.keyField]: { kind: 'utf8', offsets: offs, bytes: keyBytes },
        [this.options.valueField]: { kind: 'f64', values: vals },
      },
    };
    return Batch.ofTable<T>(table);
  }

  async close(): Promise<void> {
    await this.kafka.close();
    this.job?.release();
    this.job = undefined;
    await this.rt?.close();
  }
}

/** A kafkajs admin client on `brokers`, connected. */
export async function connectAdmin(brokers: string[], logLevel: kafkaLogLevel = kafkaLogLevel.NOTHING): Promise<Admin> {
  const admin = new Kafka({ clientId: 'sluice-demo', brokers, logLevel, retry: { retries: 3 } }).admin();
  try {
    await admin.connect();
  } catch (cause) {
    throw kafkaError(`cannot connect to Kafka at ${brokers.join(',')}`, cause);
  }
  return admin;
}
