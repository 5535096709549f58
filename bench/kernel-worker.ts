// piscina worker of suite 1: instantiates the kernels once over the shared memory and runs one
// row range (hashing, partitioning, scattering, interning, the dense fold, a continued fold) or one shard range (folding) of an in-memory batch per task.

import { workerData } from 'node:worker_threads'; // the pool's workerData, without loading piscina's pool code here
import { syncMemoryView } from '../dist/runtime/memory.js';
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

/** Phase 1 of the two-phase fold: rows [from, to), block by block, stably partitioned by shard of hashes[j] (partition_blocks). */
export interface PartitionRange {
  op: 'partition';
  hashes: number;
  from: number;
  to: number;
  block: number;
  shards: number;
  starts: number;
  perm: number;
}

/** Phase 2: shards [lo, hi) of u32 keys, the lists of each of `parts` blocks in order (agg_u32_parts), from list position `from`. */
export interface PartsRange extends Omit<ShardRange, 'op' | 'keyBytes' | 'hashes' | 'to'> {
  op: 'u32-parts';
  starts: number;
  parts: number;
  perm: number;
}

/** Phase 1 of the scattered fold: rows [from, to) of u32 keys and f64 values stably sorted by shard of hashes[j] into outKeys/outValues (scatter_range). */
export interface ScatterRange {
  op: 'scatter';
  hashes: number;
  keys: number;
  values: number;
  from: number;
  to: number;
  shards: number;
  starts: number;
  outKeys: number;
  outValues: number;
}

/** The dense fold of u32 rows [from, to) into a dense set and, for keys outside its range, one table (agg_u32_dense). */
export interface DenseRange {
  op: 'dense';
  table: number;
  acc: number;
  dense: number;
  base: number;
  keys: number;
  values: number;
  from: number;
  to: number;
  mask: number;
}

/** Byte-key rows [from, to) folded into one 'fast' table, hashing each key as it is read (agg_bytes_fast). */
export interface FastFoldRange {
  op: 'fold-fast';
  table: number;
  acc: number;
  keyOffs: number;
  keyBytes: number;
  values: number;
  from: number;
  to: number;
  mask: number;
}

/** Byte-key rows [from, to) interned into one 'fast' table, gids[j] = their groups (table_bytes_intern_fast). */
export interface FastInternRange {
  op: 'intern-fast';
  table: number;
  keyOffs: number;
  keyBytes: number;
  gids: number;
  from: number;
  to: number;
}

/** Rows [from, to) interned already, folded in row order into groups map[gids[j]] of one table's accumulators (agg_groups). */
export interface GroupsRange {
  op: 'groups';
  acc: number;
  gids: number;
  map: number;
  /** Entries in map. */
  mapLen: number;
  values: number;
  from: number;
  to: number;
  /** The table's group count. */
  limit: number;
  mask: number;
}

export type BenchTask = HashRange | ShardRange | PartitionRange | PartsRange | ScatterRange | DenseRange | FastFoldRange | FastInternRange | GroupsRange;

const init = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory };
const k = instantiateKernels(init.module, init.memory);

/** Returns the row (or, for *-parts, the list position) the kernel stopped at: the range's end when done. */
export default function run(t: BenchTask & { memoryBytes: number }): number {
  syncMemoryView(init.memory, t.memoryBytes);
  switch (t.op) {
    case 'hash':
      k.hash_keys_murmur2(t.keyOffs + t.from * 4, t.keyBytes, t.to - t.from, t.out + t.from * 4);
      return t.to;
    case 'partition':
      k.partition_blocks(t.hashes, t.from, t.to, t.block, t.shards, t.starts, t.perm);
      return t.to;
    case 'scatter':
      k.scatter_range(t.hashes, t.keys, t.values, t.from, t.to, t.shards, t.starts, t.outKeys, t.outValues);
      return t.to;
    case 'dense':
      return k.agg_u32_dense(t.table, t.acc, t.dense, t.base, t.keys, t.values, t.from, t.to, 1, t.mask) >>> 0;
    case 'fold-fast':
      return k.agg_bytes_fast(t.table, t.acc, t.keyOffs, t.keyBytes, t.values, 0, t.from, t.to, 1, t.mask) >>> 0;
    case 'intern-fast':
      return k.table_bytes_intern_fast(t.table, t.keyOffs, t.keyBytes, 0, t.from, t.to, t.gids) >>> 0;
    case 'groups':
      return k.agg_groups(t.acc, t.gids, t.map, t.mapLen, t.values, t.from, t.to, t.limit, 1, t.mask) >>> 0;
    case 'u32-parts':
      return k.agg_u32_parts(t.tables, t.accs, t.shards, t.lo, t.hi, t.keys, t.values, t.starts, t.parts, t.perm, t.from, 1, t.mask) >>> 0;
  }
  if (t.op === 'u32') {
    return k.agg_u32_shards(t.tables, t.accs, t.shards, t.lo, t.hi, t.keys, t.hashes, t.values, t.from, t.to, 1, t.mask) >>> 0;
  }
  return k.agg_bytes_shards(t.tables, t.accs, t.shards, t.lo, t.hi, t.keys, t.keyBytes, t.hashes, t.values, t.from, t.to, 1, t.mask) >>> 0;
}
