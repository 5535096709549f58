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

/** Does nothing: its answer tells the pool has a worker up (KernelRuntime). */
export interface WarmUpTask {
  kind: 'warm-up';
}

export type KernelTask = DecodeTask | RouteTask | WarmUpTask;

/** What a worker is posted: a task and the shared memory's size on the host then (see syncMemoryView). */
export interface WorkerMessage {
  task: KernelTask;
  memoryBytes: number;
}

/** `done` is true when the whole task ran; otherwise the shard of record `j` must grow before it resumes there. */
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
    case 'route': {
      const j =
        k.agg_bytes_shards(
          task.tables, task.accs, task.shards, task.shardLo, task.shardHi,
          task.keyOffs, task.keyBytes, task.hashes, task.values, task.from, task.to, task.stamp, task.mask,
        ) >>> 0;
      return j < task.to ? { done: false, status: 0, j } : DONE;
    }
    case 'warm-up':
      return DONE;
  }
}
