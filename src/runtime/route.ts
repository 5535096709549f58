// Folds one batch of byte keys into a ShardSet on the pool: partition by row range, then fold by shard range, each phase in parallel.
//
//     phase 1, one task per row range:    rows [lo_t, hi_t) ─► partition_range ─► perm[lo_t, hi_t), starts_t
//     phase 2, one task per shard range:  for each shard s: range 0's list of s, then range 1's, ...
//                                         ─► agg_bytes_parts ─► tables[s]
//
// Every row is read by one task in each phase (no task scans the other's rows), a phase-2 task keeps
// one shard's table header in locals for a whole list, and all of range 0's rows of a shard fold
// before range 1's: each key's values fold in input order, whatever the number of tasks. When a
// table is full the fold task returns the position it stopped at; the host grows that shard's table
// and the task resumes from there.
//
// `tasks` says how many tasks per phase (default: one per worker; at most one per shard in phase 2).
// A caller that keeps another task running beside the fold (the CLI job decodes batch k+1 while batch
// k folds) asks for fewer, so the fold never queues in front of that task: on 2 workers, decode ||
// fold beats decode, then fold.

import type { ByteKeyInput, ByteShardTable, RangePartition, ShardSet } from '../state/shard-table.js';
import type { KernelRuntime } from './pool.js';
import type { FoldPartsTask, PartitionTask } from './tasks.js';

/** Fewer rows than this per phase-1 task and the pool round trip costs more than the split saves. */
const MIN_ROWS_PER_RANGE = 16_384;

export async function aggregateRouted(
  rt: KernelRuntime, set: ShardSet<ByteShardTable>, input: ByteKeyInput, n: number, stamp: number, mask: number,
  tasks = rt.workers,
): Promise<void> {
  if (n === 0) return;
  const S = set.size;
  const want = Math.max(1, tasks);
  const parts = Math.max(1, Math.min(want, Math.floor(n / MIN_ROWS_PER_RANGE)));
  const part = set.rangePartition(n, parts);
  const sorts: Array<Promise<unknown>> = [];
  for (let t = 0; t < parts; t++) {
    const task: PartitionTask = {
      kind: 'partition',
      hashes: input.hashes,
      lo: Math.floor((t * n) / parts),
      hi: Math.floor(((t + 1) * n) / parts),
      shards: S,
      starts: part.starts + t * (S + 1) * 4,
      perm: part.perm,
    };
    sorts.push(rt.run(task));
  }
  await Promise.all(sorts);
  const ranges = Math.min(want, S);
  const folds: Array<Promise<void>> = [];
  for (let r = 0; r < ranges; r++) {
    const shardLo = Math.floor((r * S) / ranges);
    const shardHi = Math.floor(((r + 1) * S) / ranges);
    const task: FoldPartsTask = {
      kind: 'fold-parts',
      tables: set.tablePtrs,
      accs: set.accPtrs,
      shards: S,
      shardLo,
      shardHi,
      keyOffs: input.keyOffs,
      keyBytes: input.keyBytes,
      hashes: input.hashes,
      values: input.values,
      starts: part.starts,
      parts,
      perm: part.perm,
      from: 0,
      to: set.partsTotal(part, shardLo, shardHi),
      stamp,
      mask,
    };
    folds.push(runRange(rt, set, task, input, part));
  }
  await Promise.all(folds);
}

async function runRange(
  rt: KernelRuntime, set: ShardSet<ByteShardTable>, task: FoldPartsTask, input: ByteKeyInput, part: RangePartition,
): Promise<void> {
  if (task.to === 0) return;
  for (;;) {
    const res = await rt.run(task);
    if (res.done) return;
    set.growPartFor(input, part, task.shardLo, task.shardHi, res.j);
    task = { ...task, from: res.j };
  }
}
