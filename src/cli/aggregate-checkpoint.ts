// What a checkpointed `sluice aggregate` job (a file or a Kafka input) keeps besides its input position: the aggregate's shards and its counters.
//
//   states  [{kind: 'shards', id: 'aggregate', mask, shards: S snapshots}]
//   extra   {records, badRecords, deadLetter?: {path (absolute), bytes}, ...the job's own}

import { resolve } from 'node:path';
import { CheckpointError } from '../errors.js';
import type { ColumnarAggregate } from '../runtime/columnar-aggregate.js';
import type { KernelRuntime } from '../runtime/pool.js';
import type { JsonObject, OperatorState, StoredCheckpoint } from '../state/checkpoint-store.js';
import { restoreShards, snapshotShard } from '../state/shard-snapshot.js';
import type { ByteShardTable } from '../state/shard-table.js';

/** The id under which the aggregate's state is checkpointed. */
const STATE_ID = 'aggregate';

/** The counters of a checkpointed job. */
export interface JobCounters {
  /** Good records aggregated. */
  records: number;
  /** Bad records skipped or dead-lettered. */
  bad: number;
  /** The dead-letter file and its length, when the job writes one. */
  deadLetter: { path: string; bytes: number } | undefined;
}

/** The aggregate's state, to save. */
export function aggregateState(agg: ColumnarAggregate): OperatorState {
  return { kind: 'shards', id: STATE_ID, mask: agg.mask, shards: agg.state.tables.map((t) => snapshotShard(t, agg.mask)) };
}

/**
 * The aggregate's shards rebuilt from checkpoint `c`: a CheckpointError when it holds none with the
 * columns of `mask`, a SnapshotError (the store then tries an older checkpoint) when they do not decode.
 */
export function restoreAggregate(c: StoredCheckpoint, rt: KernelRuntime, mask: number): ByteShardTable[] {
  const state = c.states.find((s) => s.id === STATE_ID);
  if (state?.kind !== 'shards' || (state.mask & mask) !== mask) {
    throw new CheckpointError(c.path, `checkpoint ${c.path} holds no aggregate state with the columns --agg needs`, { batch: c.batch });
  }
  return restoreShards(rt.arena, rt.k, state.shards);
}

/** A count kept in a checkpoint (0 when absent or not one). */
export function countOf(x: unknown): number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : 0;
}

/** The counters as a checkpoint's `extra`, followed by the job's own entries. */
export function countersExtra(c: JobCounters, more: JsonObject = {}): JsonObject {
  return {
    records: c.records,
    badRecords: c.bad,
    ...(c.deadLetter ? { deadLetter: { path: resolve(c.deadLetter.path), bytes: c.deadLetter.bytes } } : {}),
    ...more,
  };
}

/** The counters a checkpoint's `extra` holds. */
export function countersOf(extra: JsonObject): JobCounters {
  const dead = extra.deadLetter as { path?: unknown; bytes?: unknown } | undefined;
  return {
    records: countOf(extra.records),
    bad: countOf(extra.badRecords),
    deadLetter: typeof dead?.path === 'string' ? { path: dead.path, bytes: countOf(dead.bytes) } : undefined,
  };
}

/**
 * How much of the dead-letter file `path` a job keeps when it starts: nothing for a job with no
 * checkpoint (batch 0), the checkpoint's length when the checkpoint counted that file (the batches after
 * it write their dead letters again), and all of it (undefined) when it counted another one.
 */
export function deadLetterKeep(path: string, batch: number, counters: JobCounters | undefined): number | undefined {
  if (batch === 0) return 0;
  return counters?.deadLetter?.path === resolve(path) ? counters.deadLetter.bytes : undefined;
}
