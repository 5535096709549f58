// Kernel tasks: the units of work a worker (or the inline executor) runs over the shared memory.
//
// A task is large — one shard range of one batch, or one chunk to decode — never a record: a pool
// round trip costs ~10 µs. Tasks and results are small plain objects posted between threads; all
// data stays in the shared memory and is addressed by pointers.

import type { KernelExports } from '../wasm/abi.js';

/** Decode one chunk: run csv_decode or json_decode on a job struct. */
export interface DecodeTask {
  kind: 'decode';
  format: 'csv' | 'jsonl';
  job: number;
}

/**
 * Phase 1 of the partitioned fold: stable-sorts rows [lo, hi) by shard (hashes[j] & 0x7fffffff) %
 * shards into perm[lo, hi) and starts u32[shards+1] (partition_range). Tasks over disjoint row
 * ranges, each with its own starts, run in parallel on one batch.
 */
export interface PartitionTask {
  kind: 'partition';
  hashes: number;
  lo: number;
  hi: number;
  shards: number;
  starts: number;
  perm: number;
}

/**
 * Phase 2 of the partitioned fold: fused intern + accumulate of byte keys, for each shard of
 * [shardLo, shardHi), of the lists of all `parts` row ranges in range order (agg_bytes_parts), from
 * position `from` to `to` (the lists' total). Tasks over disjoint shard ranges run in parallel.
 */
export interface FoldPartsTask {
  kind: 'fold-parts';
  tables: number;
  accs: number;
  shards: number;
  shardLo: number;
  shardHi: number;
  keyOffs: number;
  keyBytes: number;
  hashes: number;
  values: number;
  starts: number;
  parts: number;
  perm: number;
  from: number;
  to: number;
  stamp: number;
  mask: number;
}

export type KernelTask = DecodeTask | PartitionTask | FoldPartsTask;

/** `done` is true when the whole task ran; otherwise the shard of the row at position `j` must grow before it resumes there. */
export interface TaskResult {
  done: boolean;
  /** decode: the kernel's DecodeStatus. */
  status: number;
  j: number;
}

const DONE: TaskResult = Object.freeze({ done: true, status: 0, j: -1 });

/** Runs one task. The same code runs in a worker and in inline mode, so both give identical results. */
export function runTask(k: KernelExports, task: KernelTask): TaskResult {
  switch (task.kind) {
    case 'decode': {
      const status = task.format === 'csv' ? k.csv_decode(task.job) : k.json_decode(task.job);
      return { done: true, status: status >>> 0, j: -1 };
    }
    case 'partition': {
      k.partition_range(task.hashes, task.lo, task.hi, task.shards, task.starts, task.perm);
      return DONE;
    }
    case 'fold-parts': {
      const j =
        k.agg_bytes_parts(
          task.tables, task.accs, task.shards, task.shardLo, task.shardHi, task.keyOffs, task.keyBytes,
          task.hashes, task.values, task.starts, task.parts, task.perm, task.from, task.stamp, task.mask,
        ) >>> 0;
      return j < task.to ? { done: false, status: 0, j } : DONE;
    }
  }
}
