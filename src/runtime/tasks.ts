// Kernel tasks: the units of work a worker (or the inline executor) runs over the shared memory.
//
// A task is large — one shard range of one batch, or one chunk to decode — never a record: a pool
// round trip costs ~10 µs. Tasks and results are small plain objects posted between threads; all
// data stays in the shared memory and is addressed by pointers.

import type { KernelExports } from '../wasm/abi.js';

/** Decode one chunk: run csv_decode or json_decode on a job struct, then (optionally) partition. */
export interface DecodeTask {
  kind: 'decode';
  format: 'csv' | 'jsonl';
  job: number;
}

/** Partition a decoded batch's records by shard: stable counting sort on the hash column. */
export interface PartitionTask {
  kind: 'partition';
  hashes: number;
  n: number;
  shards: number;
  starts: number;
  perm: number;
}

/**
 * Fused intern + accumulate of one batch into shards [shardLo, shardHi). `tables` and `accs` point at
 * u32[shards] arrays of the shards' table and accumulator headers; `starts`/`perm` come from partition.
 * Resumes at (resumeShard, resumeJ) after the host grew a table.
 */
export interface AggregateTask {
  kind: 'aggregate';
  tables: number;
  accs: number;
  shardLo: number;
  shardHi: number;
  keyOffs: number;
  keyBytes: number;
  hashes: number;
  values: number;
  starts: number;
  perm: number;
  stamp: number;
  mask: number;
  resumeShard: number;
  resumeJ: number;
}

/**
 * Routed intern + accumulate: records j in [from, to), in input order, each to shard
 * (hashes[j] & 0x7fffffff) % shards; only shards in [shardLo, shardHi) are touched, so tasks over
 * disjoint ranges run in parallel on one batch without a partition pass.
 */
export interface RouteTask {
  kind: 'route';
  tables: number;
  accs: number;
  shards: number;
  shardLo: number;
  shardHi: number;
  keyOffs: number;
  keyBytes: number;
  hashes: number;
  values: number;
  from: number;
  to: number;
  stamp: number;
  mask: number;
}

export type KernelTask = DecodeTask | PartitionTask | AggregateTask | RouteTask;

/** `done` is true when the whole task ran; otherwise shard `shard` must grow before record index `j`. */
export interface TaskResult {
  done: boolean;
  status: number;
  shard: number;
  j: number;
}

const DONE: TaskResult = Object.freeze({ done: true, status: 0, shard: -1, j: -1 }) as TaskResult;

/** Runs one task. The same code runs in a worker and in inline mode, so both give identical results. */
export function runTask(k: KernelExports, memory: WebAssembly.Memory, task: KernelTask): TaskResult {
  switch (task.kind) {
    case 'decode': {
      const status = task.format === 'csv' ? k.csv_decode(task.job) : k.json_decode(task.job);
      return { done: true, status: status >>> 0, shard: -1, j: -1 };
    }
    case 'partition':
      k.partition(task.hashes, task.n, task.shards, task.starts, task.perm);
      return DONE;
    case 'aggregate': {
      const u32 = new Uint32Array(memory.buffer);
      for (let s = task.shardLo; s < task.shardHi; s++) {
        const end = u32[(task.starts >>> 2) + s + 1]!;
        const from = s === task.resumeShard ? task.resumeJ : u32[(task.starts >>> 2) + s]!;
        if (from >= end) continue;
        const table = u32[(task.tables >>> 2) + s]!;
        const acc = u32[(task.accs >>> 2) + s]!;
        const j =
          k.agg_bytes(
            table, acc, task.keyOffs, task.keyBytes, task.hashes, task.values,
            task.perm, from, end, task.stamp, task.mask,
          ) >>> 0;
        if (j < end) return { done: false, status: 0, shard: s, j };
      }
      return DONE;
    }
    case 'route': {
      const j =
        k.agg_bytes_shards(
          task.tables, task.accs, task.shards, task.shardLo, task.shardHi,
          task.keyOffs, task.keyBytes, task.hashes, task.values, task.from, task.to, task.stamp, task.mask,
        ) >>> 0;
      return j < task.to ? { done: false, status: 0, shard: -1, j } : DONE;
    }
  }
}
