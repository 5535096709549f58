// Fused intern + accumulate (count, sum, min, max) into shard state (one shard, or routed across a shard set), partial-state merge, changed groups.
//
// Accumulators are columnar by group id (src/wasm/abi.ts, AC_*):
//
//     acc header (32 B)    count f64[cap]  sum f64[cap]  min f64[cap]  max f64[cap]  stamp u32[cap]
//     | cap | count | sum | min | max | stamp |
//
// The host fills fresh capacity with count 0, sum 0, min +Inf, max -Inf, stamp 0, so a new group
// needs no initialisation here and min/max need no "first value" branch.
//
// Exactness: records are folded in perm order (the stable partition keeps a shard's records in input
// order), one `+` per record into the group's sum, so every sum is bit-identical to a left-to-right
// JavaScript fold `sum += v` over the same records. min/max use wasm f64.min/f64.max, which agree with
// Math.min/Math.max: NaN wins, and -0 < +0. count is an f64 so that avg = sum / count needs no convert.

import {
  BT_ARENA, BT_CAP, BT_COUNT, BT_GROUP_CAP, BT_SLOTS,
  NT_CAP, NT_COUNT, NT_GROUP_CAP, NT_KEYS, NT_SLOTS, NO_ROOM,
  BUCKET_MASK, bucketOf, bytesGroupIn, bytesGroupOf, maxGroupsFor, rowHash, probedCap, recordAt, slotShift, stopAt, u32FindOrInsert, u32Slot,
} from "../table";
import { shardMagic, shardOf } from "../hash";

// @ts-ignore: decorator
@inline export const AC_CAP: usize = 0;
// @ts-ignore: decorator
@inline export const AC_COUNT: usize = 4;
// @ts-ignore: decorator
@inline export const AC_SUM: usize = 8;
// @ts-ignore: decorator
@inline export const AC_MIN: usize = 12;
// @ts-ignore: decorator
@inline export const AC_MAX: usize = 16;
// @ts-ignore: decorator
@inline export const AC_STAMP: usize = 20;

// @ts-ignore: decorator
@inline export const AGG_COUNT: u32 = 1;
// @ts-ignore: decorator
@inline export const AGG_SUM: u32 = 2;
// @ts-ignore: decorator
@inline export const AGG_MIN: u32 = 4;
// @ts-ignore: decorator
@inline export const AGG_MAX: u32 = 8;
// @ts-ignore: decorator
@inline export const AGG_VALUES: u32 = AGG_SUM | AGG_MIN | AGG_MAX;
// @ts-ignore: decorator
@inline const AGG_ALL: u32 = AGG_COUNT | AGG_VALUES;

/** How many records ahead the large-table loops touch a start slot. */
// @ts-ignore: decorator
@inline const AHEAD: u32 = 32;
/** Slot capacity above which the slots outgrow L2 (2^16 slots = 512 KiB) and the loops touch ahead. */
// @ts-ignore: decorator
@inline const PREFETCH_CAP: u32 = 1 << 16;

/** Folds value v into group g. With a constant `mask` (the dispatch below) the branches fold away. */
// @ts-ignore: decorator
@inline function fold(
  cnt: usize, sum: usize, mn: usize, mx: usize, stamps: usize, g: u32, v: f64, stamp: u32, mask: u32,
): void {
  const o = <usize>g << 3;
  if (mask & AGG_COUNT) store<f64>(cnt + o, load<f64>(cnt + o) + 1.0);
  if (mask & AGG_SUM) store<f64>(sum + o, load<f64>(sum + o) + v);
  if (mask & AGG_MIN) store<f64>(mn + o, min<f64>(load<f64>(mn + o), v));
  if (mask & AGG_MAX) store<f64>(mx + o, max<f64>(load<f64>(mx + o), v));
  store<u32>(stamps + (<usize>g << 2), stamp);
}

/** fold() into the accumulators at header `acc`, their columns read from it (a loop over several shards' tables). */
// @ts-ignore: decorator
@inline export function foldAt(acc: usize, g: u32, v: f64, stamp: u32, mask: u32): void {
  fold(
    <usize>load<u32>(acc + AC_COUNT), <usize>load<u32>(acc + AC_SUM), <usize>load<u32>(acc + AC_MIN),
    <usize>load<u32>(acc + AC_MAX), <usize>load<u32>(acc + AC_STAMP), g, v, stamp, mask,
  );
}

// @ts-ignore: decorator
@inline function aggBytesLoop(
  table: usize, acc: usize, keyOffs: usize, keyBytes: usize, hashes: usize, values: usize,
  perm: usize, from: u32, to: u32, stamp: u32, mask: u32, fast: bool,
): u32 {
  const slots = <usize>load<u32>(table + BT_SLOTS);
  const cap = probedCap(load<u32>(table + BT_CAP));
  if (cap == 0) return from;
  const smask = cap - 1;
  const shift = slotShift(cap);
  const arena = <usize>load<u32>(table + BT_ARENA);
  const limit = min(min(load<u32>(table + BT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
  const cnt = <usize>load<u32>(acc + AC_COUNT);
  const sum = <usize>load<u32>(acc + AC_SUM);
  const mn = <usize>load<u32>(acc + AC_MIN);
  const mx = <usize>load<u32>(acc + AC_MAX);
  const stamps = <usize>load<u32>(acc + AC_STAMP);
  let count = load<u32>(table + BT_COUNT);
  let j = from;
  if (smask >= BUCKET_MASK) {
    for (; j + 4 <= to; j += 4) {
      const r0 = recordAt(perm, j), r1 = recordAt(perm, j + 1), r2 = recordAt(perm, j + 2), r3 = recordAt(perm, j + 3);
      const s0 = load<u32>(keyOffs + (<usize>r0 << 2)), e0 = load<u32>(keyOffs + (<usize>r0 << 2), 4);
      const s1 = load<u32>(keyOffs + (<usize>r1 << 2)), e1 = load<u32>(keyOffs + (<usize>r1 << 2), 4);
      const s2 = load<u32>(keyOffs + (<usize>r2 << 2)), e2 = load<u32>(keyOffs + (<usize>r2 << 2), 4);
      const s3 = load<u32>(keyOffs + (<usize>r3 << 2)), e3 = load<u32>(keyOffs + (<usize>r3 << 2), 4);
      assert(e0 >= s0 && e1 >= s1 && e2 >= s2 && e3 >= s3, "key offsets must be non-decreasing");
      const h0 = rowHash(keyBytes + s0, e0 - s0, hashes, r0, fast);
      const h1 = rowHash(keyBytes + s1, e1 - s1, hashes, r1, fast);
      const h2 = rowHash(keyBytes + s2, e2 - s2, hashes, r2, fast);
      const h3 = rowHash(keyBytes + s3, e3 - s3, hashes, r3, fast);
      const b0 = bucketOf(slots, smask, shift, h0), b1 = bucketOf(slots, smask, shift, h1);
      const b2 = bucketOf(slots, smask, shift, h2), b3 = bucketOf(slots, smask, shift, h3);
      const l0 = v128.load(b0), l1 = v128.load(b1), l2 = v128.load(b2), l3 = v128.load(b3);
      let g = bytesGroupIn(table, b0, l0, arena, count, limit, h0, keyBytes + s0, e0 - s0);
      if (g == NO_ROOM) return stopAt(table, count, j);
      if (g == count) count++;
      fold(cnt, sum, mn, mx, stamps, g, mask & AGG_VALUES ? load<f64>(values + (<usize>r0 << 3)) : 0.0, stamp, mask);
      g = bytesGroupIn(table, b1, l1, arena, count, limit, h1, keyBytes + s1, e1 - s1);
      if (g == NO_ROOM) return stopAt(table, count, j + 1);
      if (g == count) count++;
      fold(cnt, sum, mn, mx, stamps, g, mask & AGG_VALUES ? load<f64>(values + (<usize>r1 << 3)) : 0.0, stamp, mask);
      g = bytesGroupIn(table, b2, l2, arena, count, limit, h2, keyBytes + s2, e2 - s2);
      if (g == NO_ROOM) return stopAt(table, count, j + 2);
      if (g == count) count++;
      fold(cnt, sum, mn, mx, stamps, g, mask & AGG_VALUES ? load<f64>(values + (<usize>r2 << 3)) : 0.0, stamp, mask);
      g = bytesGroupIn(table, b3, l3, arena, count, limit, h3, keyBytes + s3, e3 - s3);
      if (g == NO_ROOM) return stopAt(table, count, j + 3);
      if (g == count) count++;
      fold(cnt, sum, mn, mx, stamps, g, mask & AGG_VALUES ? load<f64>(values + (<usize>r3 << 3)) : 0.0, stamp, mask);
    }
  }
  for (; j < to; j++) {
    const r = recordAt(perm, j);
    const ko = keyOffs + (<usize>r << 2);
    const ks = load<u32>(ko);
    const ke = load<u32>(ko, 4);
    assert(ke >= ks, "key offsets must be non-decreasing");
    const kp = keyBytes + ks;
    const klen = ke - ks;
    const h = rowHash(kp, klen, hashes, r, fast);
    const g = bytesGroupOf(table, slots, smask, shift, arena, count, limit, h, kp, klen);
    if (g == NO_ROOM) break;
    if (g == count) count++;
    const v = mask & AGG_VALUES ? load<f64>(values + (<usize>r << 3)) : 0.0;
    fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
  }
  store<u32>(table + BT_COUNT, count);
  return j;
}

/**
 * Fused intern + accumulate: for records r = perm[j] (j in [from, to), perm 0 = identity), finds or
 * inserts byte key r in `table` and folds values[r] into its accumulators with the AGG_* bits of
 * mask, setting stamp[g] = stamp. values may be 0, and is then not read (only count is kept).
 * Returns the first j not processed: `to`, or where a new group did not fit the table or the
 * accumulators' cap (the host grows and calls again from there; records before it are folded).
 */
export function agg_bytes(
  table: usize, acc: usize, keyOffs: usize, keyBytes: usize, hashes: usize, values: usize,
  perm: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  return aggBytesMasks(table, acc, keyOffs, keyBytes, hashes, values, perm, from, to, stamp, mask, false);
}

/**
 * agg_bytes into a table keyed by fastHash (hash.ts), computed here as each key is read (see
 * table_bytes_intern_fast): one read of each key's bytes for its hash, probe and compare.
 */
export function agg_bytes_fast(
  table: usize, acc: usize, keyOffs: usize, keyBytes: usize, values: usize,
  perm: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  return aggBytesMasks(table, acc, keyOffs, keyBytes, 0, values, perm, from, to, stamp, mask, true);
}

// @ts-ignore: decorator
@inline function aggBytesMasks(
  table: usize, acc: usize, keyOffs: usize, keyBytes: usize, hashes: usize, values: usize,
  perm: usize, from: u32, to: u32, stamp: u32, mask: u32, fast: bool,
): u32 {
  if (values == 0) mask &= AGG_COUNT;
  // specialised loops for the common masks (count, avg, all); the general one branches per record
  if (mask == AGG_COUNT) {
    return aggBytesLoop(table, acc, keyOffs, keyBytes, hashes, values, perm, from, to, stamp, AGG_COUNT, fast);
  }
  if (mask == (AGG_COUNT | AGG_SUM)) {
    return aggBytesLoop(table, acc, keyOffs, keyBytes, hashes, values, perm, from, to, stamp, AGG_COUNT | AGG_SUM, fast);
  }
  if (mask == AGG_ALL) {
    return aggBytesLoop(table, acc, keyOffs, keyBytes, hashes, values, perm, from, to, stamp, AGG_ALL, fast);
  }
  return aggBytesLoop(table, acc, keyOffs, keyBytes, hashes, values, perm, from, to, stamp, mask, fast);
}

// @ts-ignore: decorator
@inline function aggU32Loop(
  table: usize, acc: usize, keys: usize, values: usize,
  perm: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  const slots = <usize>load<u32>(table + NT_SLOTS);
  const cap = probedCap(load<u32>(table + NT_CAP));
  if (cap == 0) return from;
  const smask = cap - 1;
  const shift = slotShift(cap);
  const tKeys = <usize>load<u32>(table + NT_KEYS);
  const limit = min(min(load<u32>(table + NT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
  const cnt = <usize>load<u32>(acc + AC_COUNT);
  const sum = <usize>load<u32>(acc + AC_SUM);
  const mn = <usize>load<u32>(acc + AC_MIN);
  const mx = <usize>load<u32>(acc + AC_MAX);
  const stamps = <usize>load<u32>(acc + AC_STAMP);
  let count = load<u32>(table + NT_COUNT);
  let j = from;
  for (; j < to; j++) {
    const r = recordAt(perm, j);
    const g = u32FindOrInsert(slots, smask, shift, tKeys, count, limit, load<u32>(keys + (<usize>r << 2)));
    if (g == NO_ROOM) break;
    if (g == count) count++;
    const v = mask & AGG_VALUES ? load<f64>(values + (<usize>r << 3)) : 0.0;
    fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
  }
  store<u32>(table + NT_COUNT, count);
  return j;
}

/** agg_bytes for u32 keys[record]. */
export function agg_u32(
  table: usize, acc: usize, keys: usize, values: usize,
  perm: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  if (values == 0) mask &= AGG_COUNT;
  if (perm == 0 && load<u32>(table + NT_CAP) <= PREFETCH_CAP) return u32Fold(table, acc, keys, values, from, to, stamp, mask);
  if (mask == AGG_COUNT) return aggU32Loop(table, acc, keys, values, perm, from, to, stamp, AGG_COUNT);
  if (mask == (AGG_COUNT | AGG_SUM)) {
    return aggU32Loop(table, acc, keys, values, perm, from, to, stamp, AGG_COUNT | AGG_SUM);
  }
  if (mask == AGG_ALL) return aggU32Loop(table, acc, keys, values, perm, from, to, stamp, AGG_ALL);
  return aggU32Loop(table, acc, keys, values, perm, from, to, stamp, mask);
}

/**
 * The rows of shards [shardLo, shardHi) among [from, to), folded in order: when the range is not every
 * shard, blocks of 64 rows first gather which rows are in it into a bit set without a branch (as
 * aggBytesOneShardLoop does), so a task of half the shards does not mispredict a skip branch on every
 * other row; then each of those rows folds into its shard (aggBytesShardsRow).
 */
// @ts-ignore: decorator
@inline function aggBytesShardsLoop(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32, magic: u64,
): u32 {
  if (shardLo == 0 && shardHi >= shards) {
    for (let j = from; j < to; j++) {
      if (!aggBytesShardsRow(tables, accs, shards, keyOffs, keyBytes, hashes, values, j, stamp, mask, magic)) return j;
    }
    return to;
  }
  const width = shardHi > shardLo ? shardHi - shardLo : 0;
  let j = from;
  while (j < to) {
    const end = j + min<u32>(to - j, 64);
    let bits: u64 = 0;
    for (let q = j; q < end; q++) {
      bits |= <u64>(shardOf(load<u32>(hashes + (<usize>q << 2)), shards, magic) - shardLo < width) << <u64>(q - j);
    }
    while (bits != 0) {
      const q = j + <u32>ctz(bits);
      bits &= bits - 1;
      if (!aggBytesShardsRow(tables, accs, shards, keyOffs, keyBytes, hashes, values, q, stamp, mask, magic)) return q;
    }
    j = end;
  }
  return to;
}

/** Folds row j into its shard's table (agg_bytes_shards' row). False when its new group did not fit. */
// @ts-ignore: decorator
@inline function aggBytesShardsRow(
  tables: usize, accs: usize, shards: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, j: u32, stamp: u32, mask: u32, magic: u64,
): bool {
  const h = load<u32>(hashes + (<usize>j << 2));
  const s = shardOf(h, shards, magic);
  const table = <usize>load<u32>(tables + (<usize>s << 2));
  const acc = <usize>load<u32>(accs + (<usize>s << 2));
  // the shard's header: a few loads that stay in L1 while S is small, cheaper than a gather
  const cap = probedCap(load<u32>(table + BT_CAP));
  if (cap == 0) return false;
  const limit = min(min(load<u32>(table + BT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
  const count = load<u32>(table + BT_COUNT);
  const ko = keyOffs + (<usize>j << 2);
  const ks = load<u32>(ko);
  const ke = load<u32>(ko, 4);
  assert(ke >= ks, "key offsets must be non-decreasing");
  const g = bytesGroupOf(
    table, <usize>load<u32>(table + BT_SLOTS), cap - 1, slotShift(cap), <usize>load<u32>(table + BT_ARENA),
    count, limit, h, keyBytes + ks, ke - ks,
  );
  if (g == NO_ROOM) return false;
  if (g == count) store<u32>(table + BT_COUNT, count + 1);
  const v = mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0;
  foldAt(acc, g, v, stamp, mask);
  return true;
}

/**
 * aggBytesShardsLoop when exactly one shard `s` is wanted (one task per shard): its headers are read
 * once, count is kept in a local and written back on exit, and with `route` false (shards == 1, every
 * record is shard 0) no shard is computed at all.
 */
// @ts-ignore: decorator
@inline function aggBytesOneShardLoop(
  table: usize, acc: usize, s: u32, shards: u32, keyOffs: usize, keyBytes: usize, hashes: usize,
  values: usize, from: u32, to: u32, stamp: u32, mask: u32, magic: u64, route: bool,
): u32 {
  const cap = probedCap(load<u32>(table + BT_CAP));
  const slots = <usize>load<u32>(table + BT_SLOTS);
  const smask = cap - 1;
  const shift = slotShift(cap);
  const arena = <usize>load<u32>(table + BT_ARENA);
  const limit = min(min(load<u32>(table + BT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
  const cnt = <usize>load<u32>(acc + AC_COUNT);
  const sum = <usize>load<u32>(acc + AC_SUM);
  const mn = <usize>load<u32>(acc + AC_MIN);
  const mx = <usize>load<u32>(acc + AC_MAX);
  const stamps = <usize>load<u32>(acc + AC_STAMP);
  let count = load<u32>(table + BT_COUNT);
  let j = from;
  if (route) {
    // Blocks of 64 records: which ones are shard s is first gathered into a bit set without a
    // branch, then only those are folded, in order (a per-record skip branch mispredicts about
    // once every S records when shards interleave at random).
    while (j < to) {
      const end = j + min<u32>(to - j, 64);
      let bits: u64 = 0;
      for (let q = j; q < end; q++) {
        bits |= <u64>(shardOf(load<u32>(hashes + (<usize>q << 2)), shards, magic) == s) << <u64>(q - j);
      }
      while (bits != 0) {
        const q = j + <u32>ctz(bits);
        bits &= bits - 1;
        const ko = keyOffs + (<usize>q << 2);
        const ks = load<u32>(ko);
        const ke = load<u32>(ko, 4);
        assert(ke >= ks, "key offsets must be non-decreasing");
        const g = bytesGroupOf(
          table, slots, smask, shift, arena, count, limit, load<u32>(hashes + (<usize>q << 2)), keyBytes + ks, ke - ks,
        );
        if (g == NO_ROOM) {
          store<u32>(table + BT_COUNT, count);
          return q;
        }
        if (g == count) count++;
        const v = mask & AGG_VALUES ? load<f64>(values + (<usize>q << 3)) : 0.0;
        fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
      }
      j = end;
    }
  } else {
    for (; j < to; j++) {
      const h = load<u32>(hashes + (<usize>j << 2));
      const ko = keyOffs + (<usize>j << 2);
      const ks = load<u32>(ko);
      const ke = load<u32>(ko, 4);
      assert(ke >= ks, "key offsets must be non-decreasing");
      const g = bytesGroupOf(table, slots, smask, shift, arena, count, limit, h, keyBytes + ks, ke - ks);
      if (g == NO_ROOM) break;
      if (g == count) count++;
      const v = mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0;
      fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
    }
  }
  store<u32>(table + BT_COUNT, count);
  return j;
}

// aggBytesOneShardLoop for each common mask as a function of its own (see u32FoldCount).
function bytesOneShardCount(
  table: usize, acc: usize, s: u32, shards: u32, keyOffs: usize, keyBytes: usize, hashes: usize,
  values: usize, from: u32, to: u32, stamp: u32, magic: u64, route: bool,
): u32 {
  if (route) return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_COUNT, magic, true);
  return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_COUNT, magic, false);
}
function bytesOneShardSum(
  table: usize, acc: usize, s: u32, shards: u32, keyOffs: usize, keyBytes: usize, hashes: usize,
  values: usize, from: u32, to: u32, stamp: u32, magic: u64, route: bool,
): u32 {
  if (route) return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_SUM, magic, true);
  return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_SUM, magic, false);
}
function bytesOneShardCountSum(
  table: usize, acc: usize, s: u32, shards: u32, keyOffs: usize, keyBytes: usize, hashes: usize,
  values: usize, from: u32, to: u32, stamp: u32, magic: u64, route: bool,
): u32 {
  if (route) return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_COUNT | AGG_SUM, magic, true);
  return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_COUNT | AGG_SUM, magic, false);
}
function bytesOneShardAll(
  table: usize, acc: usize, s: u32, shards: u32, keyOffs: usize, keyBytes: usize, hashes: usize,
  values: usize, from: u32, to: u32, stamp: u32, magic: u64, route: bool,
): u32 {
  if (route) return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_ALL, magic, true);
  return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_ALL, magic, false);
}

// @ts-ignore: decorator
@inline function bytesOneShard(
  table: usize, acc: usize, s: u32, shards: u32, keyOffs: usize, keyBytes: usize, hashes: usize,
  values: usize, from: u32, to: u32, stamp: u32, mask: u32, magic: u64, route: bool,
): u32 {
  if (mask == AGG_COUNT) return bytesOneShardCount(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, magic, route);
  if (mask == AGG_SUM) return bytesOneShardSum(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, magic, route);
  if (mask == (AGG_COUNT | AGG_SUM)) return bytesOneShardCountSum(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, magic, route);
  if (mask == AGG_ALL) return bytesOneShardAll(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, magic, route);
  if (route) return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, mask, magic, true);
  return aggBytesOneShardLoop(table, acc, s, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, mask, magic, false);
}

/** Shard-range dispatch of agg_bytes_shards for one constant mask. */
// @ts-ignore: decorator
@inline function aggBytesShardsMask(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32, magic: u64,
): u32 {
  if (shardHi == shardLo + 1 && shardLo < shards) {
    const table = <usize>load<u32>(tables + (<usize>shardLo << 2));
    const acc = <usize>load<u32>(accs + (<usize>shardLo << 2));
    if (load<u32>(table + BT_CAP) != 0) {
      return bytesOneShard(table, acc, shardLo, shards, keyOffs, keyBytes, hashes, values, from, to, stamp, mask, magic, shards != 1);
    }
  }
  return bytesShards(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, mask, magic);
}

// aggBytesShardsLoop (a task over several shards: the CLI's file and Kafka jobs) for each common
// mask as a function of its own (see u32FoldCount).
function bytesShardsCount(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, magic: u64,
): u32 {
  return aggBytesShardsLoop(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_COUNT, magic);
}
function bytesShardsSum(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, magic: u64,
): u32 {
  return aggBytesShardsLoop(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_SUM, magic);
}
function bytesShardsCountSum(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, magic: u64,
): u32 {
  return aggBytesShardsLoop(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_COUNT | AGG_SUM, magic);
}
function bytesShardsAll(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, magic: u64,
): u32 {
  return aggBytesShardsLoop(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_ALL, magic);
}

// @ts-ignore: decorator
@inline function bytesShards(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32, magic: u64,
): u32 {
  if (mask == AGG_COUNT) return bytesShardsCount(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, magic);
  if (mask == AGG_SUM) return bytesShardsSum(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, magic);
  if (mask == (AGG_COUNT | AGG_SUM)) return bytesShardsCountSum(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, magic);
  if (mask == AGG_ALL) return bytesShardsAll(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, magic);
  return aggBytesShardsLoop(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, mask, magic);
}

/**
 * agg_bytes over a set of shards without a partition pass: records j in [from, to), in input
 * order, each routed to shard s = (hashes[j] & 0x7fffffff) % shards, whose table and accumulator
 * headers are tables[s] and accs[s] (u32[shards] each); records of shards outside [shardLo, shardHi)
 * are skipped. Reading the batch columns in order beats gathering them through a partition's perm
 * (one pass instead of one per shard). hashes is required. Returns the first j not processed: `to`,
 * or a record whose new group did not fit its shard's table (the host grows that shard, calls again).
 */
export function agg_bytes_shards(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keyOffs: usize, keyBytes: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  assert(shards > 0 && hashes != 0, "agg_bytes_shards: shards >= 1 and a hashes column are required");
  if (shards == 0 || hashes == 0) return from;
  if (values == 0) mask &= AGG_COUNT;
  const magic = shardMagic(shards);
  if (mask == AGG_COUNT) {
    return aggBytesShardsMask(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_COUNT, magic);
  }
  if (mask == AGG_SUM) {
    return aggBytesShardsMask(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_SUM, magic);
  }
  if (mask == (AGG_COUNT | AGG_SUM)) {
    return aggBytesShardsMask(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_COUNT | AGG_SUM, magic);
  }
  if (mask == AGG_ALL) {
    return aggBytesShardsMask(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, AGG_ALL, magic);
  }
  return aggBytesShardsLoop(tables, accs, shards, shardLo, shardHi, keyOffs, keyBytes, hashes, values, from, to, stamp, mask, magic);
}

// @ts-ignore: decorator
@inline function aggU32ShardsLoop(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keys: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32, magic: u64,
): u32 {
  for (let j = from; j < to; j++) {
    const s = shardOf(load<u32>(hashes + (<usize>j << 2)), shards, magic);
    if (s < shardLo || s >= shardHi) continue;
    const table = <usize>load<u32>(tables + (<usize>s << 2));
    const acc = <usize>load<u32>(accs + (<usize>s << 2));
    const cap = probedCap(load<u32>(table + NT_CAP));
    if (cap == 0) return j;
    const limit = min(min(load<u32>(table + NT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
    const count = load<u32>(table + NT_COUNT);
    const g = u32FindOrInsert(
      <usize>load<u32>(table + NT_SLOTS), cap - 1, slotShift(cap), <usize>load<u32>(table + NT_KEYS),
      count, limit, load<u32>(keys + (<usize>j << 2)),
    );
    if (g == NO_ROOM) return j;
    if (g == count) store<u32>(table + NT_COUNT, count + 1);
    const v = mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0;
    foldAt(acc, g, v, stamp, mask);
  }
  return to;
}

/**
 * The fold of u32 rows [from, to) into a single-shard set's table (shards == 1) once its slots
 * outgrow L2: headers read once, count kept in a local and written back on exit, and each row first
 * touches the start slot of the row AHEAD positions on.
 */
// @ts-ignore: decorator
@inline function aggU32BigLoop(
  table: usize, acc: usize, keys: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  const cap = probedCap(load<u32>(table + NT_CAP));
  const slots = <usize>load<u32>(table + NT_SLOTS);
  const smask = cap - 1;
  const shift = slotShift(cap);
  const tKeys = <usize>load<u32>(table + NT_KEYS);
  const limit = min(min(load<u32>(table + NT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
  const cnt = <usize>load<u32>(acc + AC_COUNT);
  const sum = <usize>load<u32>(acc + AC_SUM);
  const mn = <usize>load<u32>(acc + AC_MIN);
  const mx = <usize>load<u32>(acc + AC_MAX);
  const stamps = <usize>load<u32>(acc + AC_STAMP);
  let count = load<u32>(table + NT_COUNT);
  let j = from;
  // Slots larger than the L2 cache: each record first touches the start slot of the record AHEAD
  // positions on, so that slot's cache miss overlaps this record's work instead of stalling a probe
  // branch. The touched word is folded into `seen`, which is only compared, so the load stays.
  let seen: u32 = 0;
  const ahead = to - from > AHEAD ? to - AHEAD : from;
  for (; j < ahead; j++) {
    seen |= load<u32>(slots + (<usize>u32Slot(load<u32>(keys + ((<usize>j + AHEAD) << 2)), shift, smask) << 3));
    const g = u32FindOrInsert(slots, smask, shift, tKeys, count, limit, load<u32>(keys + (<usize>j << 2)));
    if (g == NO_ROOM) break;
    if (g == count) count++;
    const v = mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0;
    fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
  }
  if (j < ahead) {
    store<u32>(table + NT_COUNT, count);
    return j;
  }
  for (; j < to; j++) {
    const g = u32FindOrInsert(slots, smask, shift, tKeys, count, limit, load<u32>(keys + (<usize>j << 2)));
    if (g == NO_ROOM) break;
    if (g == count) count++;
    const v = mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0;
    fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
  }
  store<u32>(table + NT_COUNT, count);
  // a use of `seen` the optimiser cannot drop (it rewrites the value just stored)
  if (seen == 1) store<u32>(table + NT_COUNT, count);
  return j;
}

/**
 * The probe after an inlined first probe missed: the whole find-or-insert, from the start slot, with
 * the header's count and limits. Out of line (it has a loop and several callers, so binaryen keeps it a
 * call): the hot loops then hold only what a hit needs.
 */
function u32ProbeRest(table: usize, acc: usize, key: u32): u32 {
  const cap = probedCap(load<u32>(table + NT_CAP));
  const limit = min(min(load<u32>(table + NT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
  const count = load<u32>(table + NT_COUNT);
  const g = u32FindOrInsert(<usize>load<u32>(table + NT_SLOTS), cap - 1, slotShift(cap), <usize>load<u32>(table + NT_KEYS), count, limit, key);
  if (g == count) store<u32>(table + NT_COUNT, count + 1);
  return g;
}

/**
 * Folds row r into its group: the first probe inlined (a hit is one slot load: the key's half xors to
 * 0, leaving g + 1), the rest out of line in u32ProbeRest. False when a new group did not fit.
 * u32FoldLoop, the one-worker K1 loop, keeps these lines inline: through the helper its wasm gains a
 * result block and a test of the result per row.
 */
// @ts-ignore: decorator
@inline function u32FoldRow(
  table: usize, acc: usize, slots: usize, shift: u32, cnt: usize, sum: usize, mn: usize, mx: usize, stamps: usize,
  keys: usize, values: usize, r: u32, stamp: u32, mask: u32,
): bool {
  const key = load<u32>(keys + (<usize>r << 2));
  const x = rotr<u64>(load<u64>(slots + (<usize>((key * 0x9e3779b9) >>> shift) << 3)) ^ <u64>key, 32) - 1;
  let g = <u32>x;
  if (x >= 0xffffffff) {
    g = u32ProbeRest(table, acc, key);
    if (g == NO_ROOM) return false;
  }
  const v = mask & AGG_VALUES ? load<f64>(values + (<usize>r << 3)) : 0.0;
  fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
  return true;
}

// @ts-ignore: decorator
@inline function u32FoldLoop(
  table: usize, acc: usize, keys: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  const cap = probedCap(load<u32>(table + NT_CAP));
  if (cap < 2) return from;
  const slots = <usize>load<u32>(table + NT_SLOTS);
  const shift = slotShift(cap);
  const cnt = <usize>load<u32>(acc + AC_COUNT);
  const sum = <usize>load<u32>(acc + AC_SUM);
  const mn = <usize>load<u32>(acc + AC_MIN);
  const mx = <usize>load<u32>(acc + AC_MAX);
  const stamps = <usize>load<u32>(acc + AC_STAMP);
  let j = from;
  for (; j < to; j++) {
    const key = load<u32>(keys + (<usize>j << 2));
    const x = rotr<u64>(load<u64>(slots + (<usize>((key * 0x9e3779b9) >>> shift) << 3)) ^ <u64>key, 32) - 1;
    let g = <u32>x;
    if (x >= 0xffffffff) {
      g = u32ProbeRest(table, acc, key);
      if (g == NO_ROOM) break;
    }
    const v = mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0;
    fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
  }
  return j;
}

/**
 * u32FoldLoop for each common mask as a function of its own. Inlined into the one big exported
 * dispatcher, the loop's few live values compete with hundreds of others in V8's register allocator
 * and spill to the stack (loads of slotShift, the column bases and 1.0 in every iteration).
 */
function u32FoldCount(table: usize, acc: usize, keys: usize, values: usize, from: u32, to: u32, stamp: u32): u32 {
  return u32FoldLoop(table, acc, keys, values, from, to, stamp, AGG_COUNT);
}
function u32FoldCountSum(table: usize, acc: usize, keys: usize, values: usize, from: u32, to: u32, stamp: u32): u32 {
  return u32FoldLoop(table, acc, keys, values, from, to, stamp, AGG_COUNT | AGG_SUM);
}
function u32FoldAll(table: usize, acc: usize, keys: usize, values: usize, from: u32, to: u32, stamp: u32): u32 {
  return u32FoldLoop(table, acc, keys, values, from, to, stamp, AGG_ALL);
}

// @ts-ignore: decorator
@inline function u32Fold(
  table: usize, acc: usize, keys: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  if (mask == AGG_COUNT) return u32FoldCount(table, acc, keys, values, from, to, stamp);
  if (mask == (AGG_COUNT | AGG_SUM)) return u32FoldCountSum(table, acc, keys, values, from, to, stamp);
  if (mask == AGG_ALL) return u32FoldAll(table, acc, keys, values, from, to, stamp);
  return u32FoldLoop(table, acc, keys, values, from, to, stamp, mask);
}

// --- the partitioned fold: the row lists of consecutive row ranges (parts), part by part ---------
//
// Phase 1 (partition_range / partition_blocks, assembly/kernels/partition.ts) sorts each of P
// consecutive row ranges of a batch by shard, into one perm column and P starts arrays of S+1
// absolute positions each:
//
//     starts u32[P*(S+1)]   part t, shard s: perm[starts[t*(S+1)+s] .. starts[t*(S+1)+s+1])
//
// Phase 2 (agg_u32_parts, one task per shard range) folds part 0's lists of each
// shard of its range, then part 1's, ...: all of rows [lo_0, hi_0) precede rows [lo_1, hi_1), so each
// key still folds in input order, whatever P or the shard split. Parts of a few thousand rows keep
// the rows a list gathers in cache while the task's shards take their turns (shard-major order would
// pull the whole batch through the cache once per shard). A task's lists, in that order, make one
// virtual sequence of positions 0, 1, ...: the kernel starts at position `from` and returns the
// position it stopped at, so a full table resumes like the other kernels do.

/**
 * The fold of u32 rows perm[j], j in [from, to), into one shard's table: u32FoldLoop over a row list.
 * With `prefetch` (slots beyond L2), each row first touches the start slot of the row AHEAD list
 * positions on, like aggU32BigLoop. Returns the first j not folded.
 */
// @ts-ignore: decorator
@inline function u32ListLoop(
  table: usize, acc: usize, keys: usize, values: usize, perm: usize, from: u32, to: u32, stamp: u32,
  mask: u32, prefetch: bool,
): u32 {
  const cap = probedCap(load<u32>(table + NT_CAP));
  if (cap < 2) return from;
  const slots = <usize>load<u32>(table + NT_SLOTS);
  const shift = slotShift(cap);
  const cnt = <usize>load<u32>(acc + AC_COUNT);
  const sum = <usize>load<u32>(acc + AC_SUM);
  const mn = <usize>load<u32>(acc + AC_MIN);
  const mx = <usize>load<u32>(acc + AC_MAX);
  const stamps = <usize>load<u32>(acc + AC_STAMP);
  let j = from;
  if (prefetch && to - from > AHEAD) {
    const ahead = to - AHEAD;
    let seen: u32 = 0;
    for (; j < ahead; j++) {
      const far = load<u32>(keys + (<usize>load<u32>(perm + ((<usize>j + AHEAD) << 2)) << 2));
      seen |= load<u32>(slots + (<usize>u32Slot(far, shift, cap - 1) << 3));
      const r = load<u32>(perm + (<usize>j << 2));
      if (!u32FoldRow(table, acc, slots, shift, cnt, sum, mn, mx, stamps, keys, values, r, stamp, mask)) break;
    }
    // a use of `seen` the optimiser cannot drop (it rewrites the count the header already holds)
    if (seen == 1) store<u32>(table + NT_COUNT, load<u32>(table + NT_COUNT));
    if (j < ahead) return j;
  }
  for (; j < to; j++) {
    const r = load<u32>(perm + (<usize>j << 2));
    if (!u32FoldRow(table, acc, slots, shift, cnt, sum, mn, mx, stamps, keys, values, r, stamp, mask)) break;
  }
  return j;
}

// u32ListLoop for each common mask as a function of its own (see u32FoldCount); `big` (slots beyond
// L2) picks the prefetching instance. Both instances in one function keep it from being inlined into
// the dispatcher, as binaryen does with a small function that has one caller.
function u32ListCount(table: usize, acc: usize, keys: usize, values: usize, perm: usize, from: u32, to: u32, stamp: u32, big: bool): u32 {
  if (big) return u32ListLoop(table, acc, keys, values, perm, from, to, stamp, AGG_COUNT, true);
  return u32ListLoop(table, acc, keys, values, perm, from, to, stamp, AGG_COUNT, false);
}
function u32ListCountSum(table: usize, acc: usize, keys: usize, values: usize, perm: usize, from: u32, to: u32, stamp: u32, big: bool): u32 {
  if (big) return u32ListLoop(table, acc, keys, values, perm, from, to, stamp, AGG_COUNT | AGG_SUM, true);
  return u32ListLoop(table, acc, keys, values, perm, from, to, stamp, AGG_COUNT | AGG_SUM, false);
}
function u32ListAll(table: usize, acc: usize, keys: usize, values: usize, perm: usize, from: u32, to: u32, stamp: u32, big: bool): u32 {
  if (big) return u32ListLoop(table, acc, keys, values, perm, from, to, stamp, AGG_ALL, true);
  return u32ListLoop(table, acc, keys, values, perm, from, to, stamp, AGG_ALL, false);
}

/** One shard's list through the loop for its mask and table size. */
function u32List(table: usize, acc: usize, keys: usize, values: usize, perm: usize, from: u32, to: u32, stamp: u32, mask: u32): u32 {
  const big = load<u32>(table + NT_CAP) > PREFETCH_CAP;
  if (mask == AGG_COUNT) return u32ListCount(table, acc, keys, values, perm, from, to, stamp, big);
  if (mask == (AGG_COUNT | AGG_SUM)) return u32ListCountSum(table, acc, keys, values, perm, from, to, stamp, big);
  if (mask == AGG_ALL) return u32ListAll(table, acc, keys, values, perm, from, to, stamp, big);
  if (big) return u32ListLoop(table, acc, keys, values, perm, from, to, stamp, mask, true);
  return u32ListLoop(table, acc, keys, values, perm, from, to, stamp, mask, false);
}

/**
 * Phase 2 of the partitioned fold for u32 keys[row]: for each part t = 0 .. parts-1 (the lists
 * partition_range / partition_blocks wrote: starts u32[parts*(shards+1)], perm u32[rows]), folds the
 * rows of part t's list of each shard s in [shardLo, shardHi) into tables[s] / accs[s], so each key's
 * values fold in input order. Positions count the lists' rows in that order; the fold starts at `from` and
 * returns where it stopped: the total when done, else the position of a row whose new group did not
 * fit its shard's table (the host grows it and calls again from there). values may be 0 (count only).
 */
export function agg_u32_parts(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keys: usize, values: usize,
  starts: usize, parts: u32, perm: usize, from: u32, stamp: u32, mask: u32,
): u32 {
  if (values == 0) mask &= AGG_COUNT;
  const hi = min(shardHi, shards);
  const stride = (<usize>shards + 1) << 2;
  let p: u32 = 0;
  for (let t: u32 = 0; t < parts; t++) {
    for (let s = shardLo; s < hi; s++) {
      const table = <usize>load<u32>(tables + (<usize>s << 2));
      const acc = <usize>load<u32>(accs + (<usize>s << 2));
      const at = starts + <usize>t * stride + (<usize>s << 2);
      const a = load<u32>(at);
      const b = load<u32>(at, 4);
      assert(b >= a, "partition starts must be non-decreasing");
      const len = b >= a ? b - a : 0;
      if (<u64>p + len <= <u64>from) {
        p += len;
        continue;
      }
      const begin = a + (from > p ? from - p : 0);
      const j = u32List(table, acc, keys, values, perm, begin, a + len, stamp, mask);
      if (j < a + len) return p + (j - a);
      p += len;
    }
  }
  return p;
}

/** Shard-range dispatch of agg_u32_shards for one constant mask. */
// @ts-ignore: decorator
@inline function aggU32ShardsMask(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keys: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32, magic: u64,
): u32 {
  // one shard in all: every record is its, no hash is read (several shards: the partitioned fold,
  // agg_u32_parts, is the fast path; this routed loop is the inline one)
  if (shards == 1 && shardLo == 0 && shardHi >= 1) {
    const table = <usize>load<u32>(tables);
    const acc = <usize>load<u32>(accs);
    if (load<u32>(table + NT_CAP) != 0) {
      if (load<u32>(table + NT_CAP) > PREFETCH_CAP) return aggU32BigLoop(table, acc, keys, values, from, to, stamp, mask);
      return u32Fold(table, acc, keys, values, from, to, stamp, mask);
    }
  }
  return aggU32ShardsLoop(tables, accs, shards, shardLo, shardHi, keys, hashes, values, from, to, stamp, mask, magic);
}

/** agg_bytes_shards for u32 keys[j]; hashes[j] (any 32-bit hash of the key) picks the shard. */
export function agg_u32_shards(
  tables: usize, accs: usize, shards: u32, shardLo: u32, shardHi: u32, keys: usize,
  hashes: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  assert(shards > 0 && hashes != 0, "agg_u32_shards: shards >= 1 and a hashes column are required");
  if (shards == 0 || hashes == 0) return from;
  if (values == 0) mask &= AGG_COUNT;
  const magic = shardMagic(shards);
  if (mask == AGG_COUNT) {
    return aggU32ShardsMask(tables, accs, shards, shardLo, shardHi, keys, hashes, values, from, to, stamp, AGG_COUNT, magic);
  }
  if (mask == (AGG_COUNT | AGG_SUM)) {
    return aggU32ShardsMask(tables, accs, shards, shardLo, shardHi, keys, hashes, values, from, to, stamp, AGG_COUNT | AGG_SUM, magic);
  }
  if (mask == AGG_ALL) {
    return aggU32ShardsMask(tables, accs, shards, shardLo, shardHi, keys, hashes, values, from, to, stamp, AGG_ALL, magic);
  }
  return aggU32ShardsLoop(tables, accs, shards, shardLo, shardHi, keys, hashes, values, from, to, stamp, mask, magic);
}

// @ts-ignore: decorator
@inline function aggGroupsLoop(
  acc: usize, gids: usize, map: usize, mapLen: u32, values: usize, from: u32, to: u32, limit: u32, stamp: u32, mask: u32,
): u32 {
  const cnt = <usize>load<u32>(acc + AC_COUNT);
  const sum = <usize>load<u32>(acc + AC_SUM);
  const mn = <usize>load<u32>(acc + AC_MIN);
  const mx = <usize>load<u32>(acc + AC_MAX);
  const stamps = <usize>load<u32>(acc + AC_STAMP);
  let j = from;
  for (; j < to; j++) {
    let g = load<u32>(gids + (<usize>j << 2));
    if (map != 0) {
      if (g >= mapLen) break;
      g = load<u32>(map + (<usize>g << 2));
    }
    if (g >= limit) break;
    const v = mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0;
    fold(cnt, sum, mn, mx, stamps, g, v, stamp, mask);
  }
  return j;
}

/**
 * Folds values[j] of rows j in [from, to) into group map[gids[j]] (map = 0: group gids[j]; else map
 * holds mapLen entries) of the accumulators at `acc`, in row order, with the AGG_* bits of mask,
 * setting stamp[g] = stamp: the fold of rows whose keys are interned already (table_*_intern wrote gids into a table of their own, and the
 * accumulators' table interned that table's keys into map). There is no table to probe, and nothing to
 * insert. A gid must be below mapLen, and a group below `limit` (the table's group count; the
 * accumulators' cap bounds it too): the fold stops at the first row where either is not, and returns
 * it; `to` when done.
 * values may be 0, and is then not read (only count is kept).
 */
export function agg_groups(
  acc: usize, gids: usize, map: usize, mapLen: u32, values: usize, from: u32, to: u32, limit: u32, stamp: u32, mask: u32,
): u32 {
  limit = min(limit, load<u32>(acc + AC_CAP));
  if (values == 0) mask &= AGG_COUNT;
  if (mask == AGG_COUNT) return aggGroupsLoop(acc, gids, map, mapLen, values, from, to, limit, stamp, AGG_COUNT);
  if (mask == (AGG_COUNT | AGG_SUM)) return aggGroupsLoop(acc, gids, map, mapLen, values, from, to, limit, stamp, AGG_COUNT | AGG_SUM);
  if (mask == AGG_ALL) return aggGroupsLoop(acc, gids, map, mapLen, values, from, to, limit, stamp, AGG_ALL);
  return aggGroupsLoop(acc, gids, map, mapLen, values, from, to, limit, stamp, mask);
}

/**
 * Folds src groups j in [0, n) into dst groups gidMap[j] (partial -> final merge): count and sum
 * add, min/max combine, stamp[dst g] = stamp; only the columns in mask are touched. Entries with
 * j >= src cap or gidMap[j] >= dst cap are skipped (asserted in the debug build). Merged sums are
 * sums of partial sums: equal to a left-to-right fold only when the partials were folded in order.
 */
export function acc_merge(dst: usize, src: usize, gidMap: usize, n: u32, stamp: u32, mask: u32): void {
  const dstCap = load<u32>(dst + AC_CAP);
  assert(n <= load<u32>(src + AC_CAP), "acc_merge: n exceeds the source capacity");
  n = min(n, load<u32>(src + AC_CAP));
  const sCount = <usize>load<u32>(src + AC_COUNT);
  const sSum = <usize>load<u32>(src + AC_SUM);
  const sMin = <usize>load<u32>(src + AC_MIN);
  const sMax = <usize>load<u32>(src + AC_MAX);
  const dCount = <usize>load<u32>(dst + AC_COUNT);
  const dSum = <usize>load<u32>(dst + AC_SUM);
  const dMin = <usize>load<u32>(dst + AC_MIN);
  const dMax = <usize>load<u32>(dst + AC_MAX);
  const dStamp = <usize>load<u32>(dst + AC_STAMP);
  for (let j: u32 = 0; j < n; j++) {
    const g = load<u32>(gidMap + (<usize>j << 2));
    assert(g < dstCap, "acc_merge: group id beyond the destination capacity");
    if (g >= dstCap) continue;
    const s = <usize>j << 3;
    const d = <usize>g << 3;
    if (mask & AGG_COUNT) store<f64>(dCount + d, load<f64>(dCount + d) + load<f64>(sCount + s));
    if (mask & AGG_SUM) store<f64>(dSum + d, load<f64>(dSum + d) + load<f64>(sSum + s));
    if (mask & AGG_MIN) store<f64>(dMin + d, min<f64>(load<f64>(dMin + d), load<f64>(sMin + s)));
    if (mask & AGG_MAX) store<f64>(dMax + d, max<f64>(load<f64>(dMax + d), load<f64>(sMax + s)));
    store<u32>(dStamp + (<usize>g << 2), stamp);
  }
}

/**
 * Writes the ids of groups g < n (n is clamped to the cap) with stamp[g] == stamp to out, in
 * ascending order, and returns how many. out must hold n entries. Scans four stamps per v128 compare,
 * so a batch that touched few groups costs little more than reading the stamp column.
 */
export function acc_changed(acc: usize, n: u32, stamp: u32, out: usize): u32 {
  n = min(n, load<u32>(acc + AC_CAP));
  const stamps = <usize>load<u32>(acc + AC_STAMP);
  const want = i32x4.splat(stamp);
  const n4 = n & ~3;
  let k: usize = 0;
  let g: u32 = 0;
  for (; g < n4; g += 4) {
    const bits = i32x4.bitmask(i32x4.eq(v128.load(stamps + (<usize>g << 2)), want));
    if (bits == 0) continue;
    // branch-free compaction: always write, advance only on a match (k <= g + lane < n, in bounds)
    store<u32>(out + (k << 2), g);
    k += bits & 1;
    store<u32>(out + (k << 2), g + 1);
    k += (bits >> 1) & 1;
    store<u32>(out + (k << 2), g + 2);
    k += (bits >> 2) & 1;
    store<u32>(out + (k << 2), g + 3);
    k += (bits >> 3) & 1;
  }
  for (; g < n; g++) {
    if (load<u32>(stamps + (<usize>g << 2)) == stamp) {
      store<u32>(out + (k << 2), g);
      k++;
    }
  }
  return <u32>k;
}
