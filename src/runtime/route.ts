// Folds one batch of byte keys into a ShardSet on the pool: one routed task per shard range, in parallel.
//
// Each task reads the batch in input order and touches only its own shards (agg_bytes_shards), so no
// partition pass is needed and no two tasks share a table. When a table is full the task returns where
// it stopped; the host grows that shard's table and the task resumes from there.
//
// `tasks` says how many (default: one per worker, at most one per shard). A caller that keeps another
// task running beside the fold (the CLI job decodes batch k+1 while batch k folds) asks for fewer, so
// the fold never queues in front of that task: on 2 workers, decode || fold beats decode, then fold.

import type { ByteKeyInput, ByteShardTable, ShardSet } from '../state/shard-table.js';
import type { KernelRuntime } from './pool.js';
import type { RouteTask } from './tasks.js';

export async function aggregateRouted(
  rt: KernelRuntime, set: ShardSet<ByteShardTable>, input: ByteKeyInput, n: number, stamp: number, mask: number,
  tasks = rt.workers,
): Promise<void> {
  if (n === 0) return;
  const S = set.size;
  const ranges = Math.max(1, Math.min(tasks, S));
  const runs: Array<Promise<void>> = [];
  for (let r = 0; r < ranges; r++) {
    const task: RouteTask = {
      kind: 'route',
      tables: set.tablePtrs,
      accs: set.accPtrs,
      shards: S,
      shardLo: Math.floor((r * S) / ranges),
      shardHi: Math.floor(((r + 1) * S) / ranges),
      keyOffs: input.keyOffs,
      keyBytes: input.keyBytes,
      hashes: input.hashes,
      values: input.values,
      from: 0,
      to: n,
      stamp,
      mask,
    };
    runs.push(runRange(rt, set, task, input));
  }
  await Promise.all(runs);
}

async function runRange(rt: KernelRuntime, set: ShardSet<ByteShardTable>, task: RouteTask, input: ByteKeyInput): Promise<void> {
  for (;;) {
    const res = await rt.run(task);
    if (res.done) return;
    set.growShardFor(input, input.hashes, res.j);
    task = { ...task, from: res.j };
  }
}
