// A shard table's groups copied out of the shared memory as plain columns, and a table rebuilt from them.
//
//   ByteShardTable ──snapshotShard──▶ ShardSnapshot ──(checkpoint file, TTL compaction)──▶ restoreShard ──▶ new ByteShardTable
//                    reading API only:                 keyOffsets u32[n+1]  keyBytes u8[]
//                    keyColumns, column,               hashes u32[n]        stamps u32[n]
//                    stamps                            count | sum | min | max  f64[n] (the columns of `mask`)
//
// Neither side knows the table's memory layout: a snapshot is read through the table's reading API,
// and a table is rebuilt by interning the keys with the intern kernel (the table assigns group ids)
// and writing each accumulator at the id the kernel gave. So the checkpoint format stays the same
// whatever the kernels do inside.

import { SluiceError } from '../errors.js';
import { ByteShardTable, type AccColumn } from './shard-table.js';
import type { SharedArena } from '../runtime/memory.js';
import { AGG_COUNT, AGG_MAX, AGG_MIN, AGG_SUM, type KernelExports } from '../wasm/abi.js';

/** The accumulator columns in file and mask-bit order. */
export const ACC_COLUMNS: ReadonlyArray<{ name: AccColumn; bit: number }> = [
  { name: 'count', bit: AGG_COUNT },
  { name: 'sum', bit: AGG_SUM },
  { name: 'min', bit: AGG_MIN },
  { name: 'max', bit: AGG_MAX },
];

/** n groups of one shard, in group-id order. Group j's key is keyBytes[keyOffsets[j] .. keyOffsets[j+1]). */
export interface ShardSnapshot {
  readonly count: number;
  /** u32[n + 1], starting at 0. */
  readonly keyOffsets: Uint32Array;
  readonly keyBytes: Uint8Array;
  /** u32[n]: murmur2 of each key. */
  readonly hashes: Uint32Array;
  /** u32[n]: id of the batch that last updated each group (TTL reads it). */
  readonly stamps: Uint32Array;
  /** AGG_* bits of the accumulator columns held. */
  readonly mask: number;
  /** f64[n] per accumulator of `mask`. */
  readonly columns: Partial<Record<AccColumn, Float64Array>>;
}

/** A snapshot a table cannot be rebuilt from (corrupt in a way its checksum did not catch). */
export class SnapshotError extends SluiceError {
  constructor(message: string) {
    super('ERR_CHECKPOINT', message);
  }
}

/**
 * Copies the groups of `table` (only those with stamp >= `minStamp`, when given) and the accumulator
 * columns of `mask` out of the shared memory.
 */
export function snapshotShard(table: ByteShardTable, mask: number, minStamp = 0): ShardSnapshot {
  const n = table.count;
  const keys = table.keyColumns();
  const stamps = table.stamps();
  let keep: Uint32Array | undefined;
  if (minStamp > 0) {
    let k = 0;
    for (let g = 0; g < n; g++) if (stamps[g]! >= minStamp) k++;
    if (k < n) {
      keep = new Uint32Array(k);
      k = 0;
      for (let g = 0; g < n; g++) if (stamps[g]! >= minStamp) keep[k++] = g;
    }
  }
  const columns: Partial<Record<AccColumn, Float64Array>> = {};
  if (keep === undefined) {
    for (const { name, bit } of ACC_COLUMNS) if (mask & bit) columns[name] = table.column(name).slice();
    return {
      count: n,
      keyOffsets: keys.offsets.slice(),
      keyBytes: keys.bytes.slice(),
      hashes: keys.hashes.slice(),
      stamps: stamps.slice(),
      mask,
      columns,
    };
  }
  const m = keep.length;
  const keyOffsets = new Uint32Array(m + 1);
  let bytes = 0;
  for (let j = 0; j < m; j++) {
    const g = keep[j]!;
    bytes += keys.offsets[g + 1]! - keys.offsets[g]!;
    keyOffsets[j + 1] = bytes;
  }
  const keyBytes = new Uint8Array(bytes);
  const hashes = new Uint32Array(m);
  const kept = new Uint32Array(m);
  for (let j = 0; j < m; j++) {
    const g = keep[j]!;
    keyBytes.set(keys.bytes.subarray(keys.offsets[g]!, keys.offsets[g + 1]!), keyOffsets[j]!);
    hashes[j] = keys.hashes[g]!;
    kept[j] = stamps[g]!;
  }
  for (const { name, bit } of ACC_COLUMNS) {
    if (!(mask & bit)) continue;
    const src = table.column(name);
    const dst = new Float64Array(m);
    for (let j = 0; j < m; j++) dst[j] = src[keep[j]!]!;
    columns[name] = dst;
  }
  return { count: m, keyOffsets, keyBytes, hashes, stamps: kept, mask, columns };
}

/**
 * A new table holding exactly the groups of `snap`, sized to hold them without growing. Checks what a
 * checksum cannot: every key's murmur2 is recomputed and must match, keys must be distinct, and with
 * `shard` given every key must belong to shard `shard.index` of `shard.count`. Throws SnapshotError.
 */
export function restoreShard(
  arena: SharedArena, kernels: KernelExports, snap: ShardSnapshot, shard?: { index: number; count: number },
): ByteShardTable {
  const n = snap.count;
  const totalBytes = snap.keyOffsets[n]!;
  const table = new ByteShardTable(arena, kernels, {
    groups: Math.min(Math.max(n, 16), 2 ** 30),
    keyBytes: Math.min(Math.max(totalBytes, 256), 2 ** 30),
  });
  if (n === 0) return table;
  const keyOffs = arena.alloc((n + 1) * 4);
  const keyBytes = arena.alloc(Math.max(totalBytes, 1));
  const hashes = arena.alloc(n * 4);
  const gids = arena.alloc(n * 4);
  try {
    arena.u32.set(snap.keyOffsets.subarray(0, n + 1), keyOffs >>> 2);
    arena.u8.set(snap.keyBytes.subarray(0, totalBytes), keyBytes);
    kernels.hash_keys_murmur2(keyOffs, keyBytes, n, hashes);
    const u32 = arena.u32;
    for (let j = 0; j < n; j++) {
      const h = u32[(hashes >>> 2) + j]!;
      if (h !== snap.hashes[j]) throw new SnapshotError(`group ${j}: the stored murmur2 of its key does not match the key`);
      if (shard && (h & 0x7fffffff) % shard.count !== shard.index) {
        throw new SnapshotError(`group ${j}: its key belongs to shard ${(h & 0x7fffffff) % shard.count}, not ${shard.index}`);
      }
    }
    table.intern({ keyOffs, keyBytes, hashes, values: 0, perm: 0 }, 0, n, gids);
    if (table.count !== n) throw new SnapshotError(`${n - table.count} keys are stored twice`);
    const gid = arena.u32.subarray(gids >>> 2, (gids >>> 2) + n);
    for (const { name } of ACC_COLUMNS) {
      const src = snap.columns[name];
      if (!src) continue;
      const dst = table.column(name);
      for (let j = 0; j < n; j++) dst[gid[j]!] = src[j]!;
    }
    const stamps = table.stamps();
    for (let j = 0; j < n; j++) stamps[gid[j]!] = snap.stamps[j]!;
    return table;
  } catch (err) {
    table.free();
    throw err;
  } finally {
    arena.release(gids);
    arena.release(hashes);
    arena.release(keyBytes);
    arena.release(keyOffs);
  }
}

/** Every shard of a keyed state rebuilt, shard s from `snaps[s]` (see restoreShard); all of them or none (SnapshotError). */
export function restoreShards(arena: SharedArena, kernels: KernelExports, snaps: readonly ShardSnapshot[]): ByteShardTable[] {
  const tables: ByteShardTable[] = [];
  try {
    for (let s = 0; s < snaps.length; s++) tables.push(restoreShard(arena, kernels, snaps[s]!, { index: s, count: snaps.length }));
  } catch (err) {
    for (const t of tables) t.free();
    throw err;
  }
  return tables;
}
