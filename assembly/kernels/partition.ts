// Stable counting sort of a batch's records (or of one row range of it) by shard = (murmur2 & 0x7fffffff) % shards (Kafka's default partitioner);
// scatter_range sorts the rows' keys and values themselves rather than their indexes.
//
//     hashes  h0 h1 h2 h3 h4 h5         shard(h)  1  0  1  2  0  1
//     outStarts [0, 2, 5, 6]            outPerm   1  4 | 0  2  5 | 3
//                                                 s=0    s=1       s=2
//
// Stable: within a shard, records keep their input order, so a shard's sums fold in input order.
// Three passes: histogram into outStarts, exclusive prefix sum, scatter (outStarts[s] is the cursor
// of shard s), then one O(shards) shift turns the cursors (ends) back into starts. No scratch.
//
// partition_range sorts rows [lo, hi) alone, into perm[lo, hi), with starts as absolute positions of
// perm: W tasks each sort one row range of a batch into the same perm column at once, and a fold
// that takes, for a shard, range 0's list, then range 1's, ... still sees the shard's rows in input
// order (assembly/kernels/accumulate.ts, agg_u32_parts). partition_blocks runs it
// over consecutive blocks of a range, so the fold can take the rows one cache-sized block at a time.
//
//     rows        0  1  2  3 | 4  5  6  7        shard     1  0  1  0 | 0  0  1  1
//     starts (range 0) [0, 2, 4]                 perm      1  3  0  2 | 4  5  6  7
//     starts (range 1) [4, 6, 8]                           s=0  s=1    s=0  s=1

import { shardMagic, shardOf } from "../hash";

/**
 * outStarts[s] = where shard s's rows begin among positions [lo, hi): a histogram of rows [lo, hi) by
 * shard, then its exclusive prefix sum from lo; outStarts[shards] = hi. outStarts must be zeroed.
 */
// @ts-ignore: decorator
@inline function shardStarts(hashes: usize, lo: u32, hi: u32, shards: u32, outStarts: usize, magic: u64): void {
  for (let i = lo; i < hi; i++) {
    const p = outStarts + (<usize>shardOf(load<u32>(hashes + (<usize>i << 2)), shards, magic) << 2);
    store<u32>(p, load<u32>(p) + 1);
  }
  let sum = lo;
  for (let s: u32 = 0; s < shards; s++) {
    const p = outStarts + (<usize>s << 2);
    const c = load<u32>(p);
    store<u32>(p, sum);
    sum += c;
  }
  store<u32>(outStarts + (<usize>shards << 2), hi);
}

/** After a scatter used outStarts[s] as shard s's cursor, each holds its shard's end, the next one's start: shifts them back into starts. */
// @ts-ignore: decorator
@inline function endsToStarts(outStarts: usize, shards: u32, lo: u32): void {
  for (let s = shards; s > 1; s--) {
    store<u32>(outStarts + (<usize>(s - 1) << 2), load<u32>(outStarts + (<usize>(s - 2) << 2)));
  }
  store<u32>(outStarts, lo);
}

// @ts-ignore: decorator
@inline function sortInto(
  hashes: usize, lo: u32, hi: u32, shards: u32, outStarts: usize, outPerm: usize, magic: u64,
): void {
  shardStarts(hashes, lo, hi, shards, outStarts, magic);
  for (let i = lo; i < hi; i++) {
    const p = outStarts + (<usize>shardOf(load<u32>(hashes + (<usize>i << 2)), shards, magic) << 2);
    const at = load<u32>(p);
    store<u32>(outPerm + (<usize>at << 2), i);
    store<u32>(p, at + 1);
  }
  endsToStarts(outStarts, shards, lo);
}

/** sortInto that moves each row's u32 key and f64 value (values != 0) to its place instead of writing its index. */
// @ts-ignore: decorator
@inline function scatterInto(
  hashes: usize, keys: usize, values: usize, lo: u32, hi: u32, shards: u32,
  outStarts: usize, outKeys: usize, outValues: usize, magic: u64,
): void {
  shardStarts(hashes, lo, hi, shards, outStarts, magic);
  for (let i = lo; i < hi; i++) {
    const p = outStarts + (<usize>shardOf(load<u32>(hashes + (<usize>i << 2)), shards, magic) << 2);
    const at = load<u32>(p);
    store<u32>(outKeys + (<usize>at << 2), load<u32>(keys + (<usize>i << 2)));
    if (values != 0) store<f64>(outValues + (<usize>at << 3), load<f64>(values + (<usize>i << 3)));
    store<u32>(p, at + 1);
  }
  endsToStarts(outStarts, shards, lo);
}

/**
 * sortInto for two shards (shard = h & 1), the cursors in locals: the general loops keep a shard's
 * count and cursor in memory, and with few shards nearly every row extends one chain of dependent
 * loads and stores through it. The histogram is one v128 sum of the low bits; the scatter picks the
 * cursor with a select, not a branch (the shards of consecutive rows are a coin toss).
 */
// @ts-ignore: decorator
@inline function sortInto2(hashes: usize, lo: u32, hi: u32, outStarts: usize, outPerm: usize): void {
  let lanes = i32x4.splat(0);
  const bit = i32x4.splat(1);
  let i = lo;
  for (; hi - i >= 4; i += 4) lanes = i32x4.add(lanes, v128.and(v128.load(hashes + (<usize>i << 2)), bit));
  let ones = <u32>(i32x4.extract_lane(lanes, 0) + i32x4.extract_lane(lanes, 1) + i32x4.extract_lane(lanes, 2) + i32x4.extract_lane(lanes, 3));
  for (; i < hi; i++) ones += load<u32>(hashes + (<usize>i << 2)) & 1;
  const mid = hi - ones;
  let c0 = lo;
  let c1 = mid;
  for (let r = lo; r < hi; r++) {
    const b = load<u32>(hashes + (<usize>r << 2)) & 1;
    store<u32>(outPerm + (<usize>select<u32>(c1, c0, b != 0) << 2), r);
    c0 += b ^ 1;
    c1 += b;
  }
  store<u32>(outStarts, lo);
  store<u32>(outStarts, mid, 4);
  store<u32>(outStarts, hi, 8);
}

/**
 * Stable counting sort of records 0..n-1 by shard = (hashes[i] & 0x7fffffff) % shards.
 * outStarts u32[shards+1]; outPerm u32[n]: the records of shard s are outPerm[outStarts[s] ..
 * outStarts[s+1]) in input order. shards = 0 writes nothing (asserted in the debug build).
 */
export function partition(hashes: usize, n: u32, shards: u32, outStarts: usize, outPerm: usize): void {
  partition_range(hashes, 0, n, shards, outStarts, outPerm);
}

/**
 * partition of rows [lo, hi) alone: hashes, outPerm and the positions in outStarts are all indexed
 * by absolute row. outStarts u32[shards+1]; outPerm u32[hi] of which only [lo, hi) is written: the
 * rows of shard s are outPerm[outStarts[s] .. outStarts[s+1]), in input order, outStarts[0] = lo and
 * outStarts[shards] = hi. lo > hi or shards = 0 writes nothing (asserted in the debug build).
 */
export function partition_range(hashes: usize, lo: u32, hi: u32, shards: u32, outStarts: usize, outPerm: usize): void {
  assert(shards > 0 && lo <= hi, "partition_range: shards must be at least 1 and lo <= hi");
  if (shards == 0 || lo > hi) return;
  if (shards == 2) {
    sortInto2(hashes, lo, hi, outStarts, outPerm);
    return;
  }
  memory.fill(outStarts, 0, (<usize>shards + 1) << 2);
  // two instances of the loops: a power-of-two shard count masks, any other divides by multiplying
  const magic = shardMagic(shards);
  if (magic == 0) sortInto(hashes, lo, hi, shards, outStarts, outPerm, 0);
  else sortInto(hashes, lo, hi, shards, outStarts, outPerm, magic);
}

/**
 * partition_range of rows [lo, hi) in blocks of `block` rows (the last one shorter): block k is rows
 * [lo + k*block, min(hi, lo + (k+1)*block)) and its starts are outStarts + k*(shards+1) (u32 each).
 * Phase 1 of the partitioned fold: a fold that takes block 0's lists, then block 1's, ... gathers
 * rows from one cache-sized block at a time, and each key still sees its rows in input order.
 * block = 0 writes nothing (asserted in the debug build).
 */
export function partition_blocks(
  hashes: usize, lo: u32, hi: u32, block: u32, shards: u32, outStarts: usize, outPerm: usize,
): void {
  assert(block > 0, "partition_blocks: block must be at least 1");
  if (block == 0) return;
  const stride = (<usize>shards + 1) << 2;
  let starts = outStarts;
  for (let at = lo; at < hi; at += min(block, hi - at)) {
    partition_range(hashes, at, at + min(block, hi - at), shards, starts, outPerm);
    starts += stride;
  }
}

/**
 * partition_range that moves the rows themselves: rows [lo, hi) of u32 keys (and f64 values, unless
 * values = 0), stably sorted by the shard of hashes[i], are written to outKeys[lo, hi) (outValues[lo,
 * hi)), shard s's at positions [outStarts[s], outStarts[s+1]) in input order; outStarts u32[shards+1]
 * absolute, outStarts[0] = lo, outStarts[shards] = hi. Phase 1 of the scattered fold: each shard's rows
 * then lie contiguous, and a shard's fold streams them into a table that is the only one it touches.
 * W tasks may scatter adjacent ranges into the same columns at once. lo > hi or shards = 0 writes
 * nothing (asserted in the debug build).
 */
export function scatter_range(
  hashes: usize, keys: usize, values: usize, lo: u32, hi: u32, shards: u32,
  outStarts: usize, outKeys: usize, outValues: usize,
): void {
  assert(shards > 0 && lo <= hi, "scatter_range: shards must be at least 1 and lo <= hi");
  if (shards == 0 || lo > hi) return;
  memory.fill(outStarts, 0, (<usize>shards + 1) << 2);
  const magic = shardMagic(shards);
  if (magic == 0) scatterInto(hashes, keys, values, lo, hi, shards, outStarts, outKeys, outValues, 0);
  else scatterInto(hashes, keys, values, lo, hi, shards, outStarts, outKeys, outValues, magic);
}
