// The local checkpoint of a Kafka job (`sluice aggregate --input kafka://... --checkpoint <dir>`): what it
// saves after a batch, and which checkpoint a restarted job goes on from.
//
// A checkpoint N holds the state after batch N (16 shard files), the next offset of every partition of the
// input (`input: {kind: 'kafka', ...}`), the counters and the aggregate's stamp. Under --exactly-once the
// steps of batch N are
//
//   intent N (its offsets from -> to) ─► fold ─► checkpoint N (kept with N-1) ─► transaction N: outputs, dead
//   letters, sendOffsets(every partition, to the group G) ─► commit ─► older checkpoints pruned
//
// and a restart first initialises the transactional id (which fences the killed job and completes or aborts
// its open transaction), then reads G's committed offsets C and compares them with the checkpoints, newest
// first:
//
//   checkpoint == C           transaction N committed: go on from N
//   checkpoint past C         transaction N did not commit (only the newest can be): discard it, look at N-1
//   checkpoint before C       the batches up to C committed but their checkpoints are damaged: the intents
//                             after the checkpoint must end exactly at C; their input is folded again without
//                             output (the outputs are in Kafka already), and the job goes on from C
//   anything else             the group's offsets were moved by something else: refused, naming both
//
// Without --exactly-once the outputs go first (idempotent producer), then the checkpoint, then the offsets
// (a transaction of offsets only): a restart goes on from the newest usable checkpoint, and what was written
// after it is written again (at least once).

import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { CheckpointError, SluiceError, kafkaError } from '../errors.js';
import type { AggregateSpec } from '../plan/aggregate-spec.js';
import type { KernelRuntime } from '../runtime/pool.js';
import { DEFAULT_SHARDS } from '../runtime/columnar-aggregate.js';
import { batchDirName, type CheckpointStore, type KafkaOffset, type KafkaRange, type StoredCheckpoint } from '../state/checkpoint-store.js';
import type { Fingerprint } from '../state/fingerprint.js';
import type { ByteShardTable } from '../state/shard-table.js';
import { countOf, countersOf, restoreAggregate, type JobCounters } from './aggregate-checkpoint.js';

/** Partition -> the next offset to read. */
export type PartitionOffsets = ReadonlyMap<number, number>;

/** The fingerprint of a checkpointed Kafka job: what must stay the same for its checkpoint to mean anything. */
export function kafkaJobFingerprint(spec: AggregateSpec): Fingerprint {
  const input = spec.kafkaInput!;
  return {
    job: 'sluice aggregate',
    topic: input.topic,
    group: input.group ?? null,
    '--format': spec.format,
    ...(spec.messageKey ? { '--message-key': true } : { '--key': spec.key }),
    '--value': spec.value ?? null,
    '--agg': spec.aggs.join(','),
    // the recovery reads a checkpoint differently: ahead of the committed offsets it is an aborted batch
    '--exactly-once': spec.exactlyOnce === true,
    shards: DEFAULT_SHARDS,
  };
}

export function kafkaOffset(topic: string, offsets: PartitionOffsets): KafkaOffset {
  return { kind: 'kafka', topic, partitions: Object.fromEntries(sorted(offsets).map(([p, o]) => [String(p), String(o)])) };
}

export function kafkaRange(topic: string, from: PartitionOffsets, to: PartitionOffsets): KafkaRange {
  const partitions: KafkaRange['partitions'] = {};
  for (const [p, o] of sorted(to)) partitions[String(p)] = { from: String(from.get(p) ?? o), to: String(o) };
  return { kind: 'kafka', topic, partitions };
}

/** `0@120 1@98`: offsets as the job's notes and errors show them. */
export function offsetList(offsets: PartitionOffsets): string {
  const list = sorted(offsets);
  return list.length === 0 ? 'none' : list.map(([p, o]) => `${p}@${o}`).join(' ');
}

const sorted = (offsets: PartitionOffsets): Array<[number, number]> => [...offsets].sort((a, b) => a[0] - b[0]);

/**
 * How offsets `a` stand to offsets `b`, partition by partition (a partition missing from one is before
 * every offset of the other): the same, every one at or past (`ahead`), at or before (`behind`), or mixed.
 */
export function compareOffsets(a: PartitionOffsets, b: PartitionOffsets): 'equal' | 'ahead' | 'behind' | 'apart' {
  let ahead = false;
  let behind = false;
  for (const p of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(p) ?? -1;
    const y = b.get(p) ?? -1;
    if (x > y) ahead = true;
    if (x < y) behind = true;
  }
  return ahead ? (behind ? 'apart' : 'ahead') : behind ? 'behind' : 'equal';
}

/** What a job goes on from: a checkpoint, or the start. */
export interface KafkaResume extends JobCounters {
  /** Id of the last batch in the state (0: none). */
  batch: number;
  /** The aggregate's stamp after that batch. */
  stamp: number;
  /** Where reading goes on, per partition (a partition not in it starts at its first offset). */
  offsets: PartitionOffsets;
  /** The restored shards (undefined: an empty state). */
  tables: ByteShardTable[] | undefined;
  /** The checkpoint restored. */
  checkpoint: StoredCheckpoint | undefined;
  /**
   * Exactly-once: the group committed batches past the checkpoint (theirs are damaged). Their input,
   * `offsets` up to `to`, is folded into the state again without output; then the state is that of `batch`.
   */
  catchUp?: { batch: number; to: PartitionOffsets };
}

/** The input offsets of a checkpoint of Kafka topic `topic`; CheckpointError when it holds none. */
function offsetsOf(c: StoredCheckpoint, topic: string): Map<number, number> {
  const o = c.offsets.input;
  if (o?.kind !== 'kafka' || o.topic !== topic) {
    throw new CheckpointError(c.path, `checkpoint ${c.path} holds no offsets of Kafka topic ${topic}`, { batch: c.batch });
  }
  return partitionsOf(o.partitions, c.path);
}

function partitionsOf(partitions: Record<string, unknown>, where: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const [p, off] of Object.entries(partitions)) {
    const x = typeof off === 'string' && /^\d{1,15}$/.test(off) ? Number(off) : NaN;
    if (!/^\d{1,9}$/.test(p) || !Number.isSafeInteger(x)) throw new CheckpointError(where, `${where} holds the offset ${JSON.stringify(off)} for partition ${p}, which is not an offset`);
    out.set(Number(p), x);
  }
  return out;
}

/** Rebuilds the state of checkpoint `c`; SnapshotError (ERR_CHECKPOINT: try an older one) when it cannot. */
function acceptCheckpoint(c: StoredCheckpoint, rt: KernelRuntime, topic: string, mask: number): KafkaResume {
  const offsets = offsetsOf(c, topic);
  const tables = restoreAggregate(c, rt, mask);
  // the stamp the next batch must be above: the one recorded, and at least every group's
  let stamp = countOf(c.extra.stamp);
  for (const t of tables) {
    const stamps = t.stamps();
    for (let g = 0; g < t.count; g++) stamp = Math.max(stamp, stamps[g]!);
  }
  return { batch: c.batch, stamp, offsets, ...countersOf(c.extra), tables, checkpoint: c };
}

export interface KafkaRecoveryOptions {
  rt: KernelRuntime;
  topic: string;
  /** The consumer group (its offsets are committed by the job), if any. */
  group: string | undefined;
  /** AGG_* bits the job needs. */
  mask: number;
  /** --exactly-once: choose by the committed offsets (see the header comment). */
  exactlyOnce: boolean;
  /** The group's committed offsets, read after its transactional id was initialised (only the partitions that have one). */
  committed: PartitionOffsets;
  /** Damaged checkpoints skipped. */
  warn: (message: string) => void;
  /** What the recovery did (restored, discarded, folded again). */
  note: (message: string) => void;
}

/** Picks the checkpoint a restarted Kafka job goes on from, and rebuilds its state (see the header comment). */
export async function recoverKafkaJob(store: CheckpointStore, o: KafkaRecoveryOptions): Promise<KafkaResume> {
  const fresh: KafkaResume = {
    batch: 0, stamp: 0, offsets: o.committed, records: 0, bad: 0, deadLetter: undefined, tables: undefined, checkpoint: undefined,
  };
  const restoredNote = (r: KafkaResume): void =>
    o.note(`restored checkpoint of batch ${r.batch} from ${r.checkpoint!.path}: reading Kafka topic ${o.topic} from ${offsetList(r.offsets)}`);
  if (!o.exactlyOnce) {
    const restored = await store.restore((c) => acceptCheckpoint(c, o.rt, o.topic, o.mask));
    if (!restored) return fresh;
    restoredNote(restored.value);
    return restored.value;
  }

  const skipped: string[] = [];
  let ahead: StoredCheckpoint | undefined;
  let chosen: KafkaResume | undefined;
  for (const id of await store.batches()) {
    const path = join(store.dir, batchDirName(id));
    const loaded = await store.read(id);
    if (!loaded.ok) {
      skipped.push(`${path}: ${loaded.problem}`);
      continue;
    }
    const c = loaded.checkpoint;
    const order = compareOffsets(offsetsOf(c, o.topic), o.committed);
    if (order === 'ahead' && !ahead) {
      ahead = c; // its transaction did not commit
      continue;
    }
    if (order === 'ahead' || order === 'apart') throw await mismatch(store, o);
    const catchUp = order === 'behind' ? await committedAfter(store, c, o) : undefined;
    if (order === 'behind' && !catchUp) throw await mismatch(store, o);
    try {
      chosen = { ...acceptCheckpoint(c, o.rt, o.topic, o.mask), ...(catchUp ? { catchUp } : {}) };
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_CHECKPOINT' || err instanceof CheckpointError) throw err;
      skipped.push(`${path}: ${(err as Error).message}`);
      continue;
    }
    break;
  }
  if (!chosen && skipped.length > 0) {
    throw new CheckpointError(
      store.dir,
      `no usable checkpoint in ${store.dir}: ${skipped.join('; ')}. Remove ${store.dir} to start over at the offsets consumer group ${o.group} committed`,
    );
  }
  if (!chosen && ahead && ahead.batch !== 1) throw await mismatch(store, o);
  for (const s of skipped) o.warn(`skipped damaged checkpoint ${s}; restored batch ${chosen!.batch} from ${chosen!.checkpoint!.path}`);
  if (ahead) {
    o.note(
      `checkpoint ${ahead.batch} in ${store.dir} is past the offsets consumer group ${o.group} committed (${offsetList(o.committed)}): ` +
        `its transaction did not commit, so it is discarded and batch ${ahead.batch} runs again`,
    );
    await store.discard(ahead.batch);
  }
  if (!chosen) return fresh;
  restoredNote(chosen);
  if (chosen.catchUp) {
    const first = chosen.batch + 1;
    const last = chosen.catchUp.batch;
    o.note(
      `consumer group ${o.group} committed ${first === last ? `batch ${last}` : `batches ${first}..${last}`} (up to ${offsetList(chosen.catchUp.to)}), ` +
        'whose checkpoints are damaged: their input is aggregated again without output (their outputs are in Kafka already)',
    );
  }
  return chosen;
}

/**
 * The batch whose intent ends exactly at the committed offsets, when the intents after checkpoint `c` run
 * on from its offsets without a gap; undefined otherwise.
 */
async function committedAfter(store: CheckpointStore, c: StoredCheckpoint, o: KafkaRecoveryOptions): Promise<KafkaResume['catchUp']> {
  let at: PartitionOffsets = offsetsOf(c, o.topic);
  for (const intent of await store.intents(c.batch)) {
    const r = intent.ranges.input;
    if (r?.kind !== 'kafka' || r.topic !== o.topic) return undefined;
    const where = `batch intent ${intent.batch} in ${store.dir}`;
    const from = partitionsOf(Object.fromEntries(Object.entries(r.partitions).map(([p, x]) => [p, x.from])), where);
    const to = partitionsOf(Object.fromEntries(Object.entries(r.partitions).map(([p, x]) => [p, x.to])), where);
    if (compareOffsets(from, at) !== 'equal') return undefined;
    at = to;
    if (compareOffsets(at, o.committed) === 'equal') return { batch: intent.batch, to };
  }
  return undefined;
}

/** The offsets the group committed fit no checkpoint: an error naming them and every checkpoint's. */
async function mismatch(store: CheckpointStore, o: KafkaRecoveryOptions): Promise<CheckpointError> {
  const seen: string[] = [];
  for (const id of await store.batches()) {
    const loaded = await store.read(id);
    seen.push(`batch ${id}: ${loaded.ok ? offsetList(offsetsOf(loaded.checkpoint, o.topic)) : 'damaged'}`);
  }
  return new CheckpointError(
    store.dir,
    `the offsets consumer group ${o.group} committed for Kafka topic ${o.topic} (${offsetList(o.committed)}) match none of the ` +
      `checkpoints in ${store.dir} (${seen.join('; ')}), nor the end of a batch recorded after one: something other than ` +
      'this job moved the group\'s offsets (a reset, another job on the group, offsets expired after offsets.retention.minutes). ' +
      `Commit the offsets of the checkpoint to go on from for the group, or remove ${store.dir} to start over at the group's offsets`,
  );
}

/** The live members of consumer group `group` (a job with a local checkpoint must be the only one on it). */
export async function refuseLiveMembers(admin: Admin, group: string, topic: string): Promise<void> {
  let members: number;
  try {
    const d = await admin.describeGroups([group]);
    members = d.groups[0]?.members.length ?? 0;
  } catch (cause) {
    throw kafkaError(`cannot describe consumer group ${group}`, cause);
  }
  if (members > 0) {
    throw new SluiceError(
      'ERR_KAFKA',
      `consumer group ${group} has ${members} live member${members === 1 ? '' : 's'}: a job with --checkpoint keeps the state and ` +
        `the offsets of Kafka topic ${topic} for the group by itself, and must be its only job. Stop the other members, or use another group`,
    );
  }
}

/** The offsets consumer group `group` committed for `topic` (partitions without one are left out). */
export async function committedOffsets(admin: Admin, group: string, topic: string): Promise<Map<number, number>> {
  try {
    const c = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const out = new Map<number, number>();
    for (const p of c[0]?.partitions ?? []) if (Number(p.offset) >= 0) out.set(p.partition, Number(p.offset));
    return out;
  } catch (cause) {
    throw kafkaError(`cannot read the committed offsets of group ${group} on ${topic}`, cause);
  }
}
