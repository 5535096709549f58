// `sluice aggregate --input kafka://...`: the columnar group-by over a Kafka topic, micro-batch by micro-batch.
//
//   loop: assignment.apply()                    partitions revoked / added since the last batch (kafka-assignment.ts)
//         chunk = source.poll()                 everything staged since the last batch (see src/sources/kafka.ts)
//         agg.push(chunk.bytes); agg.finish()   decode + aggregate; bad records go to the error policy; the
//                                               record map gives each record its message (key, partition)
//         --out kafka://   write the batch (below)
//   end (bounded: the end offsets seen at start reached; follow: stop()/SIGINT/SIGTERM):
//         --out file|-     the final CSV, like the file job; then the offsets are committed
//
// Two ways to run, chosen by the options:
//
//   one member      (bounded, a file output, or no group)  the member owns every partition, else it fails.
//                   Shards: DEFAULT_SHARDS. A batch: outputs (idempotent) then the offsets commit; or, with
//                   --exactly-once, one transaction (id `all`) holding outputs and offsets. No changelog.
//   handover        (--follow, ?group=, --out kafka://)  members of the group share the partitions. Shard p
//                   = partition p; state moves between members through a changelog (src/state/changelog.ts).
//                   A batch, per partition p it moved (or one `all` transaction when this member owned every
//                   partition throughout): outputs of p's keys, then one transaction on p's id holding the
//                   changed keys' changelog records and p's marker, then the offsets commit. --exactly-once
//                   puts the outputs, the dead letters and the offsets (sendOffsets) in that transaction too.
//
// In handover mode a member that does not own every partition checks that each record's key belongs to
// the partition it came from (co-partitioning): otherwise the partitions' transactions would not each
// hold everything their input changed. A transaction refused because the id was fenced means the
// partition moved (or is moving): its state is restored again from the changelog, as for a new owner.
//
// Offsets move only after the input they cover is aggregated and its outputs are written. With a file
// output that is once, at the end, after the file is renamed into place: a job stopped half-way leaves
// the group where it was.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { Message, TopicMessages } from 'kafkajs';
import { logLevel as kafkaLogLevel } from 'kafkajs';
import { BadMessageError, CoPartitionError, IOError, ProducerFencedError, SluiceError } from '../errors.js';
import type { BadRecord, DecodeJobOptions } from '../codec/decode-job.js';
import type { BadRecordContext } from '../codec/bad-record.js';
import { MessageKeys } from '../codec/message-keys.js';
import type { AggregateSpec } from '../plan/aggregate-spec.js';
import { KernelRuntime } from '../runtime/pool.js';
import { endStream, writeCsvResult } from '../sinks/csv-result.js';
import { ColumnarAggregate, DEFAULT_SHARDS, aggMask, type BatchKeyColumns } from '../runtime/columnar-aggregate.js';
import { KafkaSource, type KafkaChunk, type KafkaMessagePosition } from '../sources/kafka.js';
import { KafkaRecordMap } from '../sources/kafka-record-map.js';
import { KafkaSink } from '../sinks/kafka.js';
import { KafkaTransactions, type TransactionScope } from '../sinks/kafka-transactions.js';
import { Changelog } from '../state/changelog.js';
import { KafkaAssignment } from './kafka-assignment.js';

export interface KafkaAggregateResult {
  /** Good records aggregated. */
  records: number;
  /** Bad records skipped or dead-lettered. */
  skipped: number;
  /** Distinct keys at the end (in the shards this member owns). */
  groups: number;
  /** Micro-batches that carried messages. */
  batches: number;
  /** Output messages written to --out kafka:// (committed ones under --exactly-once). */
  outputs: number;
  /** Times a partition paused because the engine was behind (backpressure). */
  pauses: number;
  /** Keys restored from the changelog when partitions were assigned (handover mode). */
  restoredKeys: number;
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
  /** One line per partition assignment change (handover mode); the CLI prints them on stderr. */
  log?: (line: string) => void;
  /** kafkajs consumer session timeout (default 30 s). */
  sessionTimeout?: number;
}

const INPUT_BYTES = 8 * 1024 * 1024;

function envLogLevel(): kafkaLogLevel {
  const name = (process.env.KAFKAJS_LOG_LEVEL || 'nothing').toUpperCase() as keyof typeof kafkaLogLevel;
  return kafkaLogLevel[name] ?? kafkaLogLevel.NOTHING;
}

/** What the keyed state means, for the changelog: a changelog of another job is refused. */
function fingerprintOf(spec: AggregateSpec): string {
  const acc = (['count', 'sum', 'min', 'max'] as const).filter((_, i) => (aggMask(spec.aggs) & (1 << i)) !== 0);
  const field = (f: string | undefined): string | number | null => (f === undefined ? null : spec.format === 'csv' ? Number(f) : f);
  return JSON.stringify({ format: spec.format, key: spec.messageKey ? { messageKey: true } : field(spec.key), value: field(spec.value), acc });
}

/** Runs `sluice aggregate` over a Kafka input as specified. Rejects with a SluiceError. */
export async function runKafkaAggregate(spec: AggregateSpec, options: KafkaAggregateOptions = {}): Promise<KafkaAggregateResult> {
  const input = spec.kafkaInput;
  if (!input) throw new SluiceError('ERR_USAGE', 'runKafkaAggregate needs a kafka:// --input');
  const logLevel = options.logLevel ?? envLogLevel();
  const exactlyOnce = spec.exactlyOnce === true;
  const handover = spec.follow === true && input.group !== undefined && spec.kafkaOut !== undefined;
  const messageKey = spec.messageKey === true;

  const decode: DecodeJobOptions =
    spec.format === 'csv'
      ? {
          format: 'csv',
          keyColumn: messageKey ? null : Number(spec.key),
          valueColumn: spec.value === undefined ? undefined : Number(spec.value),
          maxRecords: spec.batchSize,
          inputBytes: INPUT_BYTES,
        }
      : { format: 'jsonl', keyPath: messageKey ? null : spec.key, valuePath: spec.value, maxRecords: spec.batchSize, inputBytes: INPUT_BYTES };
  const badContext: BadRecordContext | undefined =
    decode.format === 'csv' ? { format: 'csv', keyColumn: decode.keyColumn, valueColumn: decode.valueColumn ?? -1, delimiter: 0x2c } : undefined;

  const rt = KernelRuntime.create({ workers: spec.workers });
  const source = new KafkaSource({
    brokers: input.brokers,
    topic: input.topic,
    groupId: input.group,
    follow: spec.follow === true,
    format: spec.format,
    badRecordContext: badContext,
    messageKeys: messageKey ? () => new MessageKeys(rt.arena, rt.k) : undefined,
    shared: handover,
    notSharedHint: spec.follow
      ? `Without --out kafka:// a --follow job keeps its state only in memory: run one member per group, or write to a Kafka topic (--out kafka://) so members hand their partitions over.`
      : `A bounded job reads every partition in one member: run one per group, or run the members with --follow and --out kafka://, which hand partitions over.`,
    maxPendingBytes: options.maxPendingBytes,
    clientId: 'sluice-aggregate',
    logLevel,
    sessionTimeout: options.sessionTimeout,
  });
  // Builds the output messages; its idempotent producer writes them unless --exactly-once does.
  const sink = spec.kafkaOut
    ? new KafkaSink({ brokers: spec.kafkaOut.brokers, topic: spec.kafkaOut.topic, aggs: spec.aggs, format: spec.outFormat ?? 'json', clientId: 'sluice-aggregate', logLevel })
    : undefined;
  // One transaction holds what it writes on one cluster: the output's (the changelog lives there too).
  const txBrokers = (spec.kafkaOut ?? input).brokers;
  const transactions =
    exactlyOnce || handover
      ? new KafkaTransactions({ brokers: txBrokers, topic: input.topic, groupId: input.group!, clientId: 'sluice-aggregate', logLevel })
      : undefined;
  const deadKafka = spec.onError.kind === 'dead-letter' ? spec.onError.kafka : undefined;
  // Under --exactly-once, dead letters on the output's cluster go into the batch's transactions.
  const deadInTxn = exactlyOnce && deadKafka !== undefined && deadKafka.brokers.join() === txBrokers.join();
  const deadSink =
    deadKafka && !deadInTxn ? new KafkaSink({ brokers: deadKafka.brokers, topic: deadKafka.topic, aggs: spec.aggs, clientId: 'sluice-dead-letter', logLevel }) : undefined;

  let deadFile: WriteStream | undefined;
  let agg: ColumnarAggregate | undefined;
  let changelog: Changelog | undefined;
  let assignment: KafkaAssignment | undefined;

  // The batch at hand: its chunk, the line its first byte is on, which message each record is.
  let chunk: KafkaChunk | undefined;
  let records: KafkaRecordMap | undefined;
  let chunkLine = 1;
  let crossPartition = false;
  let skipped = 0;
  /** Kafka dead letters of the batch, by the input partition of the bad message. */
  let deadMessages = new Map<number, Message[]>();
  const badMessage = (pos: KafkaMessagePosition, reason: string, raw: Uint8Array): void => {
    if (spec.onError.kind === 'fail') throw new BadMessageError(input.topic, pos.partition, pos.offset, reason);
    skipped++;
    if (deadFile) {
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw);
      deadFile.write(JSON.stringify({ topic: input.topic, partition: pos.partition, offset: pos.offset, reason, raw: text }) + '\n');
    } else if (deadKafka) {
      const list = deadMessages.get(pos.partition) ?? [];
      deadMessages.set(pos.partition, list);
      list.push({
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
  const onBadRecord = (bad: BadRecord): void => {
    if (!chunk) return badMessage({ partition: -1, offset: '-1' }, bad.reason, bad.raw);
    const m = chunk.messageAt(bad.line - chunkLine);
    records!.addBad(m);
    badMessage({ partition: chunk.partitionOf[m]!, offset: String(chunk.offsetOf[m]!) }, bad.reason, bad.raw);
  };
  /** The key columns of each decoded batch: the message keys, or the decoder's; co-partitioning checked. */
  const keysOf = (n: number, decoded: BatchKeyColumns): BatchKeyColumns => {
    const c = chunk!;
    const ranges = records!.take(n);
    const cols = c.keys ? c.keys.columns(ranges) : decoded;
    if (handover) {
      const u32 = rt.arena.u32;
      const hashes = cols.hashes >>> 2;
      const P = source.partitionCount;
      let j = 0;
      for (const [a, b] of ranges) {
        for (let m = a; m < b; m++, j++) {
          const q = (u32[hashes + j]! & 0x7fffffff) % P;
          if (q === c.partitionOf[m]) continue;
          crossPartition = true;
          if (!c.ownedAll) throw new CoPartitionError(input.topic, c.partitionOf[m]!, String(c.offsetOf[m]!), q, P, source.groupId);
        }
      }
    }
    return cols;
  };

  let stopRequested = false;
  const onAbort = (): void => {
    stopRequested = true;
    source.stop();
  };
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) onAbort();

  let batches = 0;
  let outputs = 0;
  // Offsets of aggregated input not yet committed (file output: all of them, until the end).
  const uncommitted = new Map<number, string>();
  const takeUncommitted = (): KafkaChunk['offsets'] => {
    const out = [...uncommitted].sort((a, b) => a[0] - b[0]).map(([partition, offset]) => ({ partition, offset }));
    uncommitted.clear();
    return out;
  };
  /** The batch's Kafka dead letters (of the input partitions given, default all). */
  const deadTopicMessages = (partitions?: ReadonlySet<number>): TopicMessages[] => {
    if (!deadKafka) return [];
    const messages: Message[] = [];
    for (const [p, list] of deadMessages) if (!partitions || partitions.has(p)) messages.push(...list);
    return messages.length > 0 ? [{ topic: deadKafka.topic, messages }] : [];
  };

  /** One member: outputs and offsets, in a transaction under --exactly-once. */
  const writeBatch = async (before: number, after: number): Promise<void> => {
    const hook = options.beforeCommit ? () => options.beforeCommit!(batches) : undefined;
    const messages = after > before ? sink!.collect(agg!.state, before, after) : [];
    const offsets = takeUncommitted();
    if (deadSink) await deadSink.write([], deadTopicMessages());
    if (exactlyOnce) {
      const dead = deadInTxn ? deadTopicMessages() : [];
      await transactions!.commit('all', [{ topic: spec.kafkaOut!.topic, messages }, ...dead], { partitions: offsets }, hook);
    } else {
      await sink!.write(messages, [], hook);
      await source.commit(offsets);
    }
    outputs += messages.length;
  };

  /** Handover: per partition (or `all`), see the header comment. */
  const writeHandoverBatch = async (c: KafkaChunk, before: number, after: number): Promise<void> => {
    const hook = options.beforeCommit ? () => options.beforeCommit!(batches) : undefined;
    const moved = new Map(c.offsets.map((o) => [o.partition, o.offset]));
    const mine: number[] = [];
    const lost: number[] = [];
    for (const [p, epoch] of c.epochs) (source.owns(p, epoch) ? mine : lost).push(p);
    if (lost.length > 0 && crossPartition) {
      // records of the lost partitions changed keys of the others: take those back from the changelog
      for (const p of mine) source.restart(p);
      return;
    }
    const whole = c.ownedAll && lost.length === 0 && source.ownsAll;
    const out = spec.kafkaOut!.topic;
    type Part = { outputs: Message[]; changelog: Message[] };
    const parts = new Map<number, Part>();
    for (const p of mine) {
      const table = agg!.state.tables[p]!;
      const ids = after > before ? table.changedIn(before, after) : new Uint32Array(0);
      const offset = moved.get(p);
      if (ids.length === 0 && offset === undefined && !deadMessages.has(p)) continue;
      const part: Part = { outputs: sink!.messagesOf(table, ids), changelog: changelog!.records(table, ids, p) };
      if (offset !== undefined) part.changelog.push(changelog!.marker(p, offset));
      parts.set(p, part);
    }
    if (parts.size === 0) return;
    const written = new Set(parts.keys());
    if (deadSink) await deadSink.write([], deadTopicMessages(written));
    if (!exactlyOnce) {
      const all: Message[] = [];
      for (const part of parts.values()) all.push(...part.outputs);
      await sink!.write(all);
      outputs += all.length;
    }
    const txn = (scope: TransactionScope, ps: number[]): Promise<void> => {
      const messages: Message[] = [];
      const changes: Message[] = [];
      for (const p of ps) {
        const part = parts.get(p)!;
        if (exactlyOnce) messages.push(...part.outputs);
        changes.push(...part.changelog);
      }
      const topicMessages: TopicMessages[] = [{ topic: changelog!.topic, messages: changes }];
      if (exactlyOnce) topicMessages.push({ topic: out, messages }, ...(deadInTxn ? deadTopicMessages(new Set(ps)) : []));
      const offsets = exactlyOnce ? { partitions: ps.filter((p) => moved.has(p)).map((p) => ({ partition: p, offset: moved.get(p)! })) } : undefined;
      return transactions!.commit(scope, topicMessages, offsets, hook);
    };
    const scopes: Array<[TransactionScope, number[]]> = whole ? [['all', [...written]]] : [...written].map((p) => [p, [p]]);
    const results = await Promise.allSettled(scopes.map(([scope, ps]) => txn(scope, ps)));
    const committed: number[] = [];
    let failure: unknown;
    results.forEach((r, i) => {
      const ps = scopes[i]![1];
      if (r.status === 'fulfilled') {
        committed.push(...ps);
        if (exactlyOnce) for (const p of ps) outputs += parts.get(p)!.outputs.length;
      } else if (r.reason instanceof ProducerFencedError) {
        // moved, or moving: as a new owner would, restore it again (every partition, when `all` was fenced)
        for (const p of r.reason.scope === 'all' ? source.ownedPartitions : ps) source.restart(p);
      } else failure ??= r.reason;
    });
    if (failure) throw failure;
    if (!exactlyOnce && committed.length > 0) {
      const done = new Set(committed);
      await source.commit(c.offsets.filter((o) => done.has(o.partition)), c.epochs);
    }
  };

  try {
    const P = await source.describe();
    agg = new ColumnarAggregate(rt, { decode, aggs: spec.aggs, onBadRecord, shards: handover ? P : DEFAULT_SHARDS, keysOf });
    if (spec.onError.kind === 'dead-letter' && !deadKafka) deadFile = await openDeadLetterFile(spec.onError.path);
    if (sink && !exactlyOnce) await sink.connect();
    if (deadSink) await deadSink.connect();
    if (handover) {
      changelog = new Changelog({ brokers: txBrokers, inputTopic: input.topic, groupId: input.group!, partitions: P, fingerprint: fingerprintOf(spec), clientId: 'sluice-aggregate', logLevel });
      await changelog.open();
    } else if (transactions) {
      await transactions.fence([]); // the `all` id: a restarted job fences the one it replaces
    }
    assignment = new KafkaAssignment({
      source,
      handover: handover ? { state: agg.state, rt, changelog: changelog!, transactions: transactions!, brokers: input.brokers, logLevel } : undefined,
      log: options.log,
    });
    await source.open();

    for (;;) {
      await assignment.apply();
      chunk = await source.poll(spec.follow ? (options.pollMs ?? 1000) : Number.POSITIVE_INFINITY);
      if (!chunk) break;
      const outputsBefore = outputs;
      try {
        if (chunk.messages === 0 && chunk.offsets.length === 0) {
          if (stopRequested) break;
          continue;
        }
        records = new KafkaRecordMap(chunk.messages, chunk.skips);
        crossPartition = false;
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
        if (handover) await writeHandoverBatch(chunk, before, after);
        else if (spec.kafkaOut) await writeBatch(before, after);
        else if (deadSink) await deadSink.write([], deadTopicMessages());
        deadMessages = new Map();
      } finally {
        chunk.release();
      }
      await options.onBatch?.({ batch: batches, messages: chunk.messages, outputs: outputs - outputsBefore });
      if (stopRequested) break;
    }
    chunk = undefined;

    if (!spec.kafkaOut) {
      await writeCsvResult(agg, spec);
      // the whole input read is in the file now: move the group past it
      await source.commit(takeUncommitted());
    }
    return {
      records: agg.records,
      skipped,
      groups: agg.state.count,
      batches,
      outputs,
      pauses: source.pauses,
      restoredKeys: assignment.restoredKeys,
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await source.close();
    await assignment?.close();
    await changelog?.close();
    await transactions?.close();
    await sink?.close();
    await deadSink?.close();
    if (deadFile) await endStream(deadFile);
    await agg?.close();
    await rt.close();
  }
}

async function openDeadLetterFile(path: string): Promise<WriteStream> {
  const ws = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (cause) => reject(new IOError('ERR_OUTPUT', path, `cannot write the dead-letter file: ${cause.message}`, { cause })));
  });
  return ws;
}

/** The CLI form: SIGINT/SIGTERM end a job after the batch at hand; counts of bad records and assignment changes to stderr. */
export async function runKafkaAggregateCommand(spec: AggregateSpec): Promise<void> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await runKafkaAggregate(spec, { signal: ac.signal, log: (line) => process.stderr.write(`sluice: ${line}\n`) });
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
