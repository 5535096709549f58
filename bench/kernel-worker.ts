// piscina worker of suite 1: instantiates the kernels once over the shared memory and runs one
// shard range (or one hashing range) of an in-memory batch per task.

import { workerData } from 'node:worker_threads'; // the pool's workerData, without loading piscina's pool code here
import { instantiateKernels } from '../dist/wasm/module.js';

/** murmur2 of key rows [from, to) into hashes[from, to). */
export interface HashRange {
  op: 'hash';
  keyOffs: number;
  keyBytes: number;
  out: number;
  from: number;
  to: number;
}

/** Rows [from, to) routed by hashes[j] to shards; only shards [lo, hi) are touched (agg_*_shards). */
export interface ShardRange {
  op: 'u32' | 'bytes';
  tables: number;
  accs: number;
  shards: number;
  lo: number;
  hi: number;
  /** u32 keys, or key offsets for byte keys. */
  keys: number;
  keyBytes: number;
  hashes: number;
  values: number;
  from: number;
  to: number;
  mask: number;
}

export type BenchTask = HashRange | ShardRange;

const init = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory };
const k = instantiateKernels(init.module, init.memory);

/** Returns the row the kernel stopped at (`to` when the range is done). */
export default function run(t: BenchTask): number {
  if (t.op === 'hash') {
    k.hash_keys_murmur2(t.keyOffs + t.from * 4, t.keyBytes, t.to - t.from, t.out + t.from * 4);
    return t.to;
  }
  if (t.op === 'u32') {
    return k.agg_u32_shards(t.tables, t.accs, t.shards, t.lo, t.hi, t.keys, t.hashes, t.values, t.from, t.to, 1, t.mask) >>> 0;
  }
  return k.agg_bytes_shards(t.tables, t.accs, t.shards, t.lo, t.hi, t.keys, t.keyBytes, t.hashes, t.values, t.from, t.to, 1, t.mask) >>> 0;
}
