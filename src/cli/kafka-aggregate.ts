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
// Three ways to run, chosen by the options:
//
//   one member      (bounded, a file output, or no group; no --checkpoint)  the member owns every
//                   partition, else it fails. Shards: DEFAULT_SHARDS. A batch: outputs (idempotent) then
//                   the offsets commit; or, with --exactly-once, one transaction (id `all`) holding outputs
//                   and offsets. No changelog.
//   handover        (--follow, ?group=, --out kafka://)  members of the group share the partitions. Shard p
//                   = partition p; state moves between members through a changelog (src/state/changelog.ts).
//                   A batch, per partition p it moved (or one `all` transaction when this member owned every
//                   partition throughout): outputs of p's keys, then one transaction on p's id holding the
//                   changed keys' changelog records and p's marker, then the offsets commit. --exactly-once
//                   puts the outputs, the dead letters and the offsets (sendOffsets) in that transaction too.
//   local checkpoint (--checkpoint <dir>)  one member that owns every partition; its state, offsets and
//                   batch intents are in <dir>; no changelog. Its consumer joins a fresh group of its own
//                   each run (a restart never waits for the killed member's session), and the offsets are
//                   committed for the group G of the URL through transactions (sendOffsets). The order of
//                   a batch's steps and the recovery: src/cli/kafka-checkpoint.ts.
//
// In handover mode a member that does not own every partition checks that each record's key belongs to
// the partition it came from (co-partitioning): otherwise the partitions' transactions would not each
// hold everything their input changed. A transaction refused because the id was fenced means the
// partition moved (or is moving): its state is restored again from the changelog, as for a new owner.
//
// Offsets move only after the input they cover is aggregated and its outputs are written. With a file
// output that is once, at the end, after the file is renamed into place: a job stopped half-way leaves
// the group where it was.

import type { Admin, Message, TopicMessages } from 'kafkajs';
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import { BadMessageError, CoPartitionError, ProducerFencedError, SluiceError } from '../errors.js';
import type { BadRecord, DecodeJobOptions } from '../codec/decode-job.js';
import type { BadRecordContext } from '../codec/bad-record.js';
import { MessageKeys } from '../codec/message-keys.js';
import type { AggregateSpec } from '../plan/aggregate-spec.js';
import { KernelRuntime } from '../runtime/pool.js';
import { writeCsvResult } from '../sinks/csv-result.js';
import { DeadLetters } from '../sinks/dead-letter-file.js';
import { ColumnarAggregate, DEFAULT_SHARDS, aggMask, type BatchKeyColumns } from '../runtime/columnar-aggregate.js';
import { KafkaSource, type KafkaChunk, type KafkaMessagePosition, type KafkaSourceOptions } from '../sources/kafka.js';
import { KafkaRecordMap } from '../sources/kafka-record-map.js';
import { KafkaSink } from '../sinks/kafka.js';
import { KafkaTransactions, type TransactionScope } from '../sinks/kafka-transactions.js';
import { Changelog } from '../state/changelog.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { KafkaAssignment } from './kafka-assignment.js';
import { aggregateState, countersExtra, deadLetterKeep } from './aggregate-checkpoint.js';
import {
  committedOffsets, kafkaJobFingerprint, kafkaOffset, kafkaRange, recoverKafkaJob, refuseLiveMembers, type KafkaResume, type PartitionOffsets,
} from './kafka-checkpoint.js';

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
  /** --checkpoint: id of the last batch in the state (and in the newest checkpoint). */
  batch: number;
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
  /** Notes: one line per partition assignment change (handover mode), what a restart restored (--checkpoint); the CLI prints them on stderr. */
  log?: (line: string) => void;
  /** Warnings (a damaged checkpoint skipped, input deleted before it was read); default `sluice: warning: ...` on stderr. */
  warn?: (message: string) => void;
  /** kafkajs consumer session timeout (default 30 s). */
  sessionTimeout?: number;
}

const INPUT_BYTES = 8 * 1024 * 1024;

/**
 * Test hook: with SLUICE_TEST_COMMIT_PAUSE_MS set, a batch whose outputs are produced (inside its
 * transaction under --exactly-once) prints `sluice-test: batch N commit paused` on stderr and sleeps that
 * long before it commits, so a test can kill the process between the two.
 */
async function commitTestPause(batch: number): Promise<void> {
  const ms = Number(process.env.SLUICE_TEST_COMMIT_PAUSE_MS ?? 0);
  if (!(ms > 0)) return;
  process.stderr.write(`sluice-test: batch ${batch} commit paused\n`);
  await new Promise((r) => setTimeout(r, ms));
}

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
  const checkpointed = spec.checkpoint !== undefined;
  const handover = !checkpointed && spec.follow === true && input.group !== undefined && spec.kafkaOut !== undefined;
  const warn = options.warn ?? ((m: string) => void process.stderr.write(`sluice: warning: ${m}\n`));
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
  const sourceOptions: KafkaSourceOptions = {
    brokers: input.brokers,
    topic: input.topic,
    // a checkpointed job's consumer is alone in a group of its own: see the header comment
    groupId: checkpointed ? undefined : input.group,
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
  };
  const source = new KafkaSource(sourceOptions);
  // Builds the output messages; its idempotent producer writes them unless --exactly-once does.
  const sink = spec.kafkaOut
    ? new KafkaSink({ brokers: spec.kafkaOut.brokers, topic: spec.kafkaOut.topic, aggs: spec.aggs, format: spec.outFormat ?? 'json', clientId: 'sluice-aggregate', logLevel })
    : undefined;
  // One transaction holds what it writes on one cluster: the output's (the changelog lives there too); a
  // checkpointed job's transactions that hold only offsets are on the input's.
  const txBrokers = (checkpointed && !exactlyOnce ? input : (spec.kafkaOut ?? input)).brokers;
  const transactions =
    exactlyOnce || handover || (checkpointed && input.group !== undefined)
      ? new KafkaTransactions({ brokers: txBrokers, topic: input.topic, groupId: input.group!, clientId: 'sluice-aggregate', logLevel })
      : undefined;
  const deadKafka = spec.onError.kind === 'dead-letter' ? spec.onError.kafka : undefined;
  // Under --exactly-once, dead letters on the output's cluster go into the batch's transactions.
  const deadInTxn = exactlyOnce && deadKafka !== undefined && deadKafka.brokers.join() === txBrokers.join();
  const deadSink =
    deadKafka && !deadInTxn ? new KafkaSink({ brokers: deadKafka.brokers, topic: deadKafka.topic, aggs: spec.aggs, clientId: 'sluice-dead-letter', logLevel }) : undefined;

  let deadFile: DeadLetters | undefined;
  let agg: ColumnarAggregate | undefined;
  let changelog: Changelog | undefined;
  let assignment: KafkaAssignment | undefined;
  let store: CheckpointStore | undefined;
  let admin: Admin | undefined;
  /** --checkpoint: the next offset of every partition, as far as aggregated. */
  const position = new Map<number, number>();
  /** --checkpoint: id of the last batch in the state, and the records it holds from earlier runs. */
  let batchId = 0;
  let recordsBefore = 0;

  // The batch at hand: its chunk, the line its first byte is on, which message each record is.
  let chunk: KafkaChunk | undefined;
  let records: KafkaRecordMap | undefined;
  let chunkLine = 1;
  let crossPartition = false;
  let skipped = 0;
  /** Kafka dead letters of the batch, by the input partition of the bad message. */
  let deadMessages = new Map<number, Message[]>();
  const badMessage = (pos: KafkaMessagePosition, reason: string, raw: Uint8Array): Promise<void> | undefined => {
    if (spec.onError.kind === 'fail') throw new BadMessageError(input.topic, pos.partition, pos.offset, reason);
    skipped++;
    if (deadFile) {
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw);
      return deadFile.add(JSON.stringify({ topic: input.topic, partition: pos.partition, offset: pos.offset, reason, raw: text }) + '\n');
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
    return undefined;
  };
  const onBadRecord = (bad: BadRecord): Promise<void> | undefined => {
    if (!chunk) return badMessage({ partition: -1, offset: '-1' }, bad.reason, bad.raw);
    const m = chunk.messageAt(bad.line - chunkLine);
    records!.addBad(m);
    return badMessage({ partition: chunk.partitionOf[m]!, offset: String(chunk.offsetOf[m]!) }, bad.reason, bad.raw);
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

  /** What runs after a batch's outputs are produced and before it commits: the tests' hooks. */
  const commitHook = (batch: number) => async (): Promise<void> => {
    await options.beforeCommit?.(batches);
    await commitTestPause(batch);
  };

  /** One member: outputs and offsets, in a transaction under --exactly-once. */
  const writeBatch = async (before: number, after: number): Promise<void> => {
    const hook = commitHook(batches);
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
    const hook = commitHook(batches);
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

  /** --checkpoint: checkpoint `id`, the state and `position` after it. */
  const save = (id: number, prune: boolean): Promise<void> =>
    store!.save(
      {
        batch: id,
        time: Date.now(),
        shards: agg!.state.size,
        offsets: { input: kafkaOffset(input.topic, position) },
        states: [aggregateState(agg!)],
        extra: countersExtra({ records: recordsBefore + agg!.records, bad: skipped, deadLetter: deadFile }, { stamp: agg!.stamp }),
      },
      { prune },
    );

  /** --checkpoint: one transaction committing `topicMessages` and every partition's offset for the group. */
  const commitWithOffsets = async (id: number, topicMessages: TopicMessages[], hook = commitHook(id)): Promise<void> => {
    const partitions = [...position].sort((a, b) => a[0] - b[0]).map(([partition, o]) => ({ partition, offset: String(o) }));
    try {
      await transactions!.commit('all', topicMessages, { partitions }, hook);
    } catch (err) {
      if (!(err instanceof ProducerFencedError)) throw err;
      throw new SluiceError(
        'ERR_KAFKA',
        `${err.message}. Another job initialised the transactional id of consumer group ${input.group} (a --follow job of the group, ` +
          `or a job with another --checkpoint directory): a job with --checkpoint must be the group's only job. Batch ${id} was not committed`,
        { cause: err },
      );
    }
  };

  /**
   * --checkpoint: batch `id` written in the order that lets a restart recover (src/cli/kafka-checkpoint.ts):
   * exactly once, checkpoint then one transaction; at least once, outputs, checkpoint, offsets.
   */
  const writeCheckpointedBatch = async (id: number, before: number, after: number): Promise<void> => {
    const messages = spec.kafkaOut && after > before ? sink!.collect(agg!.state, before, after) : [];
    await deadFile?.flush();
    if (exactlyOnce) {
      await save(id, false); // the checkpoint before it stays until this batch commits
      await commitWithOffsets(id, [{ topic: spec.kafkaOut!.topic, messages }, ...(deadInTxn ? deadTopicMessages() : [])]);
      await store!.prune();
    } else {
      if (deadSink) await deadSink.write([], deadTopicMessages());
      if (spec.kafkaOut) await sink!.write(messages, [], options.beforeCommit ? () => options.beforeCommit!(batches) : undefined);
      await save(id, true);
      if (spec.kafkaOut && transactions) await commitWithOffsets(id, [], () => commitTestPause(id));
    }
    outputs += messages.length;
  };

  /** Decodes and aggregates a chunk (bad records to the error policy); the stamps before and after it. */
  const fold = async (c: KafkaChunk): Promise<{ before: number; after: number }> => {
    chunk = c;
    records = new KafkaRecordMap(c.messages, c.skips);
    crossPartition = false;
    for (const r of c.rejected) await badMessage(r, r.reason, r.raw);
    const before = agg!.stamp;
    chunkLine = agg!.line;
    if (c.bytes.length > 0) {
      await agg!.push(c.bytes);
      await agg!.finish(); // every record ends in a line feed: this aggregates the whole chunk
    }
    return { before, after: agg!.stamp };
  };

  /**
   * --exactly-once recovery: folds the input from `position` up to `to` into the state without any output
   * (the group committed those batches, so their outputs are in Kafka already). A reader of its own reads
   * exactly that range; its dead letters go to a dead-letter file again (cut back to the checkpoint's
   * length), not to Kafka.
   */
  const catchUp = async (to: PartitionOffsets): Promise<void> => {
    const replay = new KafkaSource({ ...sourceOptions, follow: true, groupId: undefined });
    const replayAssignment = new KafkaAssignment({ source: replay, starts: new Map(position) });
    try {
      const P = await replay.describe();
      const ends = new Map<number, number>();
      for (let p = 0; p < P; p++) {
        const from = position.get(p) ?? replay.lowOffsets.get(p) ?? 0;
        const end = Math.max(from, to.get(p) ?? from);
        if (end > from && from < (replay.lowOffsets.get(p) ?? 0)) {
          throw new SluiceError(
            'ERR_STATE',
            `partition ${p} of Kafka topic ${input.topic} begins at offset ${replay.lowOffsets.get(p)} now, but offsets ${from}..${end} must be ` +
              `aggregated again to rebuild the state (the checkpoints of those batches are damaged): they were deleted (retention). ` +
              `Remove ${spec.checkpoint} to start over at the group's offsets`,
          );
        }
        ends.set(p, end);
      }
      replay.drainTo(ends);
      await replay.open();
      for (;;) {
        await replayAssignment.apply();
        const c = await replay.poll();
        if (!c) break;
        try {
          await fold(c);
        } finally {
          chunk = undefined;
          deadMessages = new Map(); // already in Kafka
          c.release();
        }
      }
    } finally {
      await replay.close();
      await replayAssignment.close();
    }
    for (const [p, o] of to) position.set(p, o);
  };

  try {
    // the LOCK first: a second job on the directory must not get as far as fencing the first one
    if (checkpointed) {
      store = await CheckpointStore.open(spec.checkpoint!, { keep: spec.checkpointKeep, keepOption: '--checkpoint-keep', fingerprint: kafkaJobFingerprint(spec), warn });
    }
    const P = await source.describe();
    agg = new ColumnarAggregate(rt, { decode, aggs: spec.aggs, onBadRecord, shards: handover ? P : DEFAULT_SHARDS, keysOf });
    let resume: KafkaResume | undefined;
    if (store) {
      let committed: PartitionOffsets = new Map();
      if (input.group !== undefined) {
        admin = new Kafka({ clientId: 'sluice-aggregate', brokers: input.brokers, logLevel }).admin();
        await admin.connect();
        await refuseLiveMembers(admin, input.group, input.topic);
        // fences the job this one replaces and ends its open transaction, so the offsets read next are final
        await transactions!.fence([]);
        committed = await committedOffsets(admin, input.group, input.topic);
        await admin.disconnect().catch(() => {});
        admin = undefined;
      }
      resume = await recoverKafkaJob(store, {
        rt, topic: input.topic, group: input.group, mask: agg.mask, exactlyOnce, committed, warn, note: options.log ?? (() => {}),
      });
      resume.tables?.forEach((t, s) => agg!.state.replaceTable(s, t));
      agg.resumeAfter(resume.stamp);
      batchId = resume.batch;
      recordsBefore = resume.records;
      skipped = resume.bad;
      for (let p = 0; p < P; p++) position.set(p, resume.offsets.get(p) ?? source.lowOffsets.get(p) ?? 0);
    }
    if (spec.onError.kind === 'dead-letter' && !deadKafka) {
      // restored: cut back to the checkpoint's length (only if it is the file the checkpoint counted)
      const path = spec.onError.path;
      deadFile = await DeadLetters.open(path, deadLetterKeep(path, resume?.batch ?? 0, resume), checkpointed);
    }
    if (sink && !exactlyOnce) await sink.connect();
    if (deadSink) await deadSink.connect();
    if (handover) {
      changelog = new Changelog({ brokers: txBrokers, inputTopic: input.topic, groupId: input.group!, partitions: P, fingerprint: fingerprintOf(spec), clientId: 'sluice-aggregate', logLevel });
      await changelog.open();
    } else if (transactions && !store) {
      await transactions.fence([]); // the `all` id: a restarted job fences the one it replaces
    }
    if (resume?.catchUp) {
      await catchUp(resume.catchUp.to);
      batchId = resume.catchUp.batch;
      await deadFile?.flush();
      await save(batchId, true);
    }
    for (const [p, at] of store ? position : []) {
      const low = source.lowOffsets.get(p) ?? 0;
      if (at >= low) continue;
      warn(`partition ${p} of Kafka topic ${input.topic} begins at offset ${low}: offsets ${at}..${low - 1} were deleted (retention) before this job read them, and are not counted`);
      position.set(p, low);
    }
    assignment = new KafkaAssignment({
      source,
      handover: handover ? { state: agg.state, rt, changelog: changelog!, transactions: transactions!, brokers: input.brokers, logLevel } : undefined,
      log: options.log,
      ...(store ? { starts: new Map(position) } : {}),
    });
    await source.open();

    for (;;) {
      await assignment.apply();
      const c = await source.poll(spec.follow ? (options.pollMs ?? 1000) : Number.POSITIVE_INFINITY);
      if (!c) break;
      const outputsBefore = outputs;
      try {
        if (c.messages === 0 && c.offsets.length === 0) {
          if (stopRequested) break;
          continue;
        }
        const id = batchId + 1;
        if (store && exactlyOnce) {
          // the intent: where this batch ends, so a restart can tell that the group committed it
          const from = new Map(position);
          const to = new Map(position);
          for (const o of c.offsets) to.set(o.partition, Number(o.offset));
          await store.writeIntent({ batch: id, time: Date.now(), ranges: { input: kafkaRange(input.topic, from, to) } });
        }
        const { before, after } = await fold(c);
        if (c.messages > 0) batches++;
        for (const o of c.offsets) {
          uncommitted.set(o.partition, o.offset);
          if (store) position.set(o.partition, Number(o.offset));
        }
        if (store) await writeCheckpointedBatch(id, before, after);
        else if (handover) await writeHandoverBatch(c, before, after);
        else if (spec.kafkaOut) await writeBatch(before, after);
        else if (deadSink) await deadSink.write([], deadTopicMessages());
        if (!store) await deadFile?.flush();
        deadMessages = new Map();
        batchId = id;
      } finally {
        chunk = undefined;
        c.release();
      }
      await options.onBatch?.({ batch: batches, messages: c.messages, outputs: outputs - outputsBefore });
      if (stopRequested) break;
    }

    if (!spec.kafkaOut) {
      await writeCsvResult(agg, spec);
      // the whole input read is in the file now: move the group past it
      if (!store) await source.commit(takeUncommitted());
      else if (transactions) await commitWithOffsets(batchId, [], () => commitTestPause(batchId));
    }
    await deadFile?.flush();
    return {
      records: recordsBefore + agg.records,
      skipped,
      groups: agg.state.count,
      batches,
      outputs,
      pauses: source.pauses,
      restoredKeys: assignment.restoredKeys,
      batch: batchId,
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await source.close();
    await assignment?.close();
    await changelog?.close();
    await transactions?.close();
    await admin?.disconnect().catch(() => {});
    await sink?.close();
    await deadSink?.close();
    await deadFile?.close();
    await agg?.close();
    await rt.close();
    await store?.close();
  }
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
