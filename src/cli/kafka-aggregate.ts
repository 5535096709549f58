// `sluice aggregate --input kafka://...`: the columnar group-by over a Kafka topic, micro-batch by micro-batch.
//
//   loop: chunk = source.poll()                 everything staged since the last batch (see src/sources/kafka.ts)
//         agg.push(chunk.bytes); agg.finish()   decode + aggregate; bad records go to the error policy
//         --out kafka://   sink.write(changed keys' results [, dead letters] [, offsets in the transaction])
//         source.commit(chunk.offsets)          (not under --exactly-once: the transaction carried them)
//   end (bounded: the end offsets seen at start reached; follow: stop()/SIGINT/SIGTERM):
//         --out file|-     the final CSV, like the file job; then the offsets are committed
//
// Offsets move only after the input they cover is aggregated and its outputs are written. With a file
// output that is once, at the end, after the file is renamed into place: a job stopped half-way leaves
// the group where it was. The aggregate state lives in memory: a restarted job aggregates what comes
// after the group's committed offsets, from zero.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { Message, TopicMessages } from 'kafkajs';
import { logLevel as kafkaLogLevel } from 'kafkajs';
import { BadMessageError, IOError, SluiceError } from '../errors.js';
import type { BadRecord, DecodeJobOptions } from '../codec/decode-job.js';
import type { BadRecordContext } from '../codec/bad-record.js';
import type { AggregateSpec } from '../plan/aggregate-spec.js';
import { KernelRuntime } from '../runtime/pool.js';
import { endStream, writeCsvResult } from '../sinks/csv-result.js';
import { ColumnarAggregate } from '../runtime/columnar-aggregate.js';
import { KafkaSource, type KafkaChunk, type KafkaMessagePosition } from '../sources/kafka.js';
import { KafkaSink, transactionalIdFor } from '../sinks/kafka.js';

export interface KafkaAggregateResult {
  /** Good records aggregated. */
  records: number;
  /** Bad records skipped or dead-lettered. */
  skipped: number;
  /** Distinct keys at the end. */
  groups: number;
  /** Micro-batches that carried messages. */
  batches: number;
  /** Output messages written to --out kafka:// (committed ones under --exactly-once). */
  outputs: number;
  /** Times a partition paused because the engine was behind (backpressure). */
  pauses: number;
}

export interface KafkaAggregateOptions {
  /** Stops a follow-mode job (or a bounded one early): the job finishes the batch at hand and ends. */
  signal?: AbortSignal;
  /** kafkajs log level (default: nothing; KAFKAJS_LOG_LEVEL=error|warn|info|debug). */
  logLevel?: kafkaLogLevel;
  /** Staged bytes above which partitions pause (default 16 MiB). */
  maxPendingBytes?: number;
  /** Follow mode: the longest wait for messages before an empty batch (default 1000 ms). */
  pollMs?: number;
  /** Called after each batch is written and committed; for tests and progress. A throw stops the job. */
  onBatch?: (info: { batch: number; messages: number; outputs: number }) => void | Promise<void>;
  /** Tests: called after the outputs of a batch are produced and before its transaction commits. */
  beforeCommit?: (batch: number) => void | Promise<void>;
}

const INPUT_BYTES = 8 * 1024 * 1024;

function envLogLevel(): kafkaLogLevel {
  const name = (process.env.KAFKAJS_LOG_LEVEL || 'nothing').toUpperCase() as keyof typeof kafkaLogLevel;
  return kafkaLogLevel[name] ?? kafkaLogLevel.NOTHING;
}

/** Runs `sluice aggregate` over a Kafka input as specified. Rejects with a SluiceError. */
export async function runKafkaAggregate(spec: AggregateSpec, options: KafkaAggregateOptions = {}): Promise<KafkaAggregateResult> {
  const input = spec.kafkaInput;
  if (!input) throw new SluiceError('ERR_USAGE', 'runKafkaAggregate needs a kafka:// --input');
  const logLevel = options.logLevel ?? envLogLevel();
  const exactlyOnce = spec.exactlyOnce === true;

  const decode: DecodeJobOptions =
    spec.format === 'csv'
      ? {
          format: 'csv',
          keyColumn: Number(spec.key),
          valueColumn: spec.value === undefined ? undefined : Number(spec.value),
          maxRecords: spec.batchSize,
          inputBytes: INPUT_BYTES,
        }
      : { format: 'jsonl', keyPath: spec.key, valuePath: spec.value, maxRecords: spec.batchSize, inputBytes: INPUT_BYTES };
  const badContext: BadRecordContext | undefined =
    decode.format === 'csv' ? { format: 'csv', keyColumn: decode.keyColumn, valueColumn: decode.valueColumn ?? -1, delimiter: 0x2c } : undefined;

  const source = new KafkaSource({
    brokers: input.brokers,
    topic: input.topic,
    groupId: input.group,
    follow: spec.follow === true,
    format: spec.format,
    badRecordContext: badContext,
    maxPendingBytes: options.maxPendingBytes,
    clientId: 'sluice-aggregate',
    logLevel,
  });
  const sink = spec.kafkaOut
    ? new KafkaSink({
        brokers: spec.kafkaOut.brokers,
        topic: spec.kafkaOut.topic,
        aggs: spec.aggs,
        format: spec.outFormat ?? 'json',
        transactionalId: exactlyOnce ? transactionalIdFor(input.group!, input.topic) : undefined,
        clientId: 'sluice-aggregate',
        logLevel,
      })
    : undefined;
  const deadKafka = spec.onError.kind === 'dead-letter' ? spec.onError.kafka : undefined;
  // Dead letters go through the sink's producer when there is one (inside the batch's transaction);
  // otherwise through a producer of their own.
  const deadSink =
    deadKafka && !(sink && deadKafka.brokers.join() === spec.kafkaOut!.brokers.join())
      ? new KafkaSink({ brokers: deadKafka.brokers, topic: deadKafka.topic, aggs: spec.aggs, clientId: 'sluice-dead-letter', logLevel })
      : undefined;

  let deadFile: WriteStream | undefined;
  const rt = KernelRuntime.create({ workers: spec.workers });
  const agg = new ColumnarAggregate(rt, {
    decode,
    aggs: spec.aggs,
    onBadRecord: (bad) => onBad(bad),
  });

  // Bad records of the batch at hand.
  let chunk: KafkaChunk | undefined;
  let chunkLine = 1;
  let skipped = 0;
  let deadMessages: Message[] = [];
  const badMessage = (pos: KafkaMessagePosition, reason: string, raw: Uint8Array): void => {
    if (spec.onError.kind === 'fail') throw new BadMessageError(input.topic, pos.partition, pos.offset, reason);
    skipped++;
    if (deadFile) {
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw);
      deadFile.write(JSON.stringify({ topic: input.topic, partition: pos.partition, offset: pos.offset, reason, raw: text }) + '\n');
    } else if (deadKafka) {
      deadMessages.push({
        value: Buffer.from(raw),
        headers: {
          'sluice.topic': input.topic,
          'sluice.partition': String(pos.partition),
          'sluice.offset': pos.offset,
          'sluice.reason': reason,
        },
      });
    }
  };
  const onBad = (bad: BadRecord): void => {
    const pos = chunk ? chunk.locate(bad.line - chunkLine) : { partition: -1, offset: '-1' };
    badMessage(pos, bad.reason, bad.raw);
  };

  let stopRequested = false;
  const onAbort = (): void => {
    stopRequested = true;
    source.stop();
  };
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) onAbort();

  let batches = 0;
  // Offsets of aggregated input not yet committed (file output: all of them, until the end).
  const uncommitted = new Map<number, string>();
  const takeUncommitted = (): KafkaChunk['offsets'] => {
    const out = [...uncommitted].sort((a, b) => a[0] - b[0]).map(([partition, offset]) => ({ partition, offset }));
    uncommitted.clear();
    return out;
  };
  try {
    if (spec.onError.kind === 'dead-letter' && !deadKafka) deadFile = await openDeadLetterFile(spec.onError.path);
    if (sink) await sink.connect();
    if (deadSink) await deadSink.connect();
    await source.open();

    for (;;) {
      chunk = await source.poll(spec.follow ? (options.pollMs ?? 1000) : Number.POSITIVE_INFINITY);
      if (!chunk) break;
      if (chunk.messages === 0 && chunk.offsets.length === 0) {
        if (stopRequested) break;
        continue;
      }
      for (const r of chunk.rejected) badMessage(r, r.reason, r.raw);
      const before = agg.stamp;
      chunkLine = agg.line;
      if (chunk.bytes.length > 0) {
        await agg.push(chunk.bytes);
        await agg.finish(); // every record ends in a line feed: this aggregates the whole chunk
      }
      const after = agg.stamp;
      if (chunk.messages > 0) batches++;
      for (const o of chunk.offsets) uncommitted.set(o.partition, o.offset);

      let outputs = 0;
      const extra: TopicMessages[] = [];
      if (deadKafka && deadMessages.length > 0) {
        if (deadSink) await deadSink.write(deadMessages);
        else extra.push({ topic: deadKafka.topic, messages: deadMessages });
        deadMessages = [];
      }
      if (sink) {
        const messages = after > before ? sink.collect(agg.state, before, after) : [];
        outputs = messages.length;
        const offsets = takeUncommitted();
        const hook = options.beforeCommit ? () => options.beforeCommit!(batches) : undefined;
        if (exactlyOnce) {
          await sink.write(messages, extra, { groupId: source.groupId, topic: input.topic, partitions: offsets }, hook);
        } else {
          await sink.write(messages, extra, undefined, hook);
          await source.commit(offsets);
        }
      }
      await options.onBatch?.({ batch: batches, messages: chunk.messages, outputs });
      if (stopRequested) break;
    }
    chunk = undefined;

    if (!spec.kafkaOut) {
      await writeCsvResult(agg, spec);
      // the whole input read is in the file now: move the group past it
      await source.commit(takeUncommitted());
    }
    return { records: agg.records, skipped, groups: countGroups(agg), batches, outputs: sink?.written ?? 0, pauses: source.pauses };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await source.close();
    await sink?.close();
    await deadSink?.close();
    if (deadFile) await endStream(deadFile);
    await agg.close();
    await rt.close();
  }
}

function countGroups(agg: ColumnarAggregate): number {
  let n = 0;
  for (const t of agg.state.tables) n += t.count;
  return n;
}

async function openDeadLetterFile(path: string): Promise<WriteStream> {
  const ws = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (cause) => reject(new IOError('ERR_OUTPUT', path, `cannot write the dead-letter file: ${cause.message}`, { cause })));
  });
  return ws;
}

/** The CLI form: SIGINT/SIGTERM end a job after the batch at hand; counts of bad records to stderr. */
export async function runKafkaAggregateCommand(spec: AggregateSpec): Promise<void> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await runKafkaAggregate(spec, { signal: ac.signal });
    if (result.skipped > 0) {
      const what = `${result.skipped} bad record${result.skipped === 1 ? '' : 's'}`;
      if (spec.onError.kind === 'skip') process.stderr.write(`sluice: skipped ${what}\n`);
      if (spec.onError.kind === 'dead-letter') process.stderr.write(`sluice: wrote ${what} to ${spec.onError.path}\n`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
