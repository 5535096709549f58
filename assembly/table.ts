// Open-addressing tables that intern keys (UTF-8 byte strings, or u32) to dense group ids 0..count-1.
//
// Layouts (mirrored in src/wasm/abi.ts, BT_* and NT_*):
//
//     byte table header (32 B)      slots: cap lanes in buckets of 4 (64 B, one cache line each)
//     +-------------+               +-----------------+-----------------+-----------------+-----------------+
//     | slots     --+-------------> | hash  x4        | g + 1  x4       | key offset  x4  | key len + 1  x4 |
//     | cap         |               +-----------------+-----------------+-----------------+-----------------+
//     | count       |                 lane k of a bucket is the k-th u32 of each field; 0 = empty lane
//     | keyOffs     |
//     | arena       |               groups, dense by id g: keyOffs u32[groupCap+1], arena u8[arenaCap],
//     | arenaCap    |               hashes u32[groupCap]; key g = arena[keyOffs[g] .. keyOffs[g+1])
//     | groupCap    |
//     | hashes      |               u32 table: slots u64[cap] hold (key, g + 1); keys u32[groupCap]
//     +-------------+               holds the key of group g.
//
// Design (after DataFusion's group_values and AssemblyScript's std/assembly/map.ts):
//   - Interning is separate from accumulating: a table only maps keys to dense ids, so accumulators,
//     output, checkpoints and merges walk ids 0..count-1 and never scan slots.
//   - u32 tables: a slot is one u64 (lo = key, hi = id + 1), so a probe is one load, and 0 means
//     empty (id + 1 is never 0).
//   - Byte tables: a bucket holds, for each of its 4 lanes, the key's murmur2, id + 1, and where its
//     bytes are in the arena and how long they are, field by field (after SwissTable's groups). A
//     lookup compares the four hashes with one v128 compare and, on a match, reads the key's bytes
//     straight from the arena: a hit touches one bucket line and the key, not keyOffs as well, and
//     where in the bucket the key sits is no branch. Buckets, not single slots, are linearly probed,
//     so at load 3/4 most keys are in their home bucket and the probe loop rarely turns. The length
//     is stored + 1 so that an empty lane (all zero, hash 0 included) never passes the length check.
//   - Linear probing (of buckets, for byte keys) over a power-of-two capacity, at most 3/4 full; a
//     byte table has at least one bucket (cap >= 4: a smaller one holds no group). The start slot comes from the
//     HIGH bits of a multiplicative remix (Knuth 6.4, "Fibonacci hashing"): within one shard every
//     murmur2 is congruent mod S (shard = (h & 0x7fffffff) % S), so its low bits are anything but
//     random there. u32 keys are placed by the same remix of the key itself: one multiply, and dense
//     or arithmetic-progression keys (ids, the common case) land nearly collision-free (the three-
//     distance theorem), which a full-avalanche finaliser would scatter at random instead.
//   - Growth is the host's (src/state/shard-table.ts): a kernel never allocates. A new group is
//     inserted only while count < groupCap, keyOffs[count] + keyLen <= arenaCap and
//     (count + 1) * 4 <= cap * 3; otherwise the kernel stores `count`, returns the index j of the
//     record it stopped at, and the host grows what was full and calls again from j.
//
// Bounds: the kernels write only inside the regions the header describes, given a header that the
// host keeps consistent (cap a power of two; a cap that is not is used as the largest power of two
// below it). Input columns (keyOffs, keys, hashes, perm) must cover every record index they are
// asked about; key offsets must be non-decreasing (asserted in the debug build).
//
// Hash flooding: byte keys are placed by Kafka's murmur2, which is unseeded, so keys crafted to
// collide (easy for murmur2) degrade a table to a linear scan of the colliding run. That is the price
// of sharding by the very hash Kafka partitions by; results stay correct, only slower.

import { fastHashRange, murmur2Range } from "./hash";

// @ts-ignore: decorator
@inline export const BT_SLOTS: usize = 0;
// @ts-ignore: decorator
@inline export const BT_CAP: usize = 4;
// @ts-ignore: decorator
@inline export const BT_COUNT: usize = 8;
// @ts-ignore: decorator
@inline export const BT_KEY_OFFS: usize = 12;
// @ts-ignore: decorator
@inline export const BT_ARENA: usize = 16;
// @ts-ignore: decorator
@inline export const BT_ARENA_CAP: usize = 20;
// @ts-ignore: decorator
@inline export const BT_GROUP_CAP: usize = 24;
// @ts-ignore: decorator
@inline export const BT_HASHES: usize = 28;

/** Byte-table slots come in buckets of 4 lanes, 64 bytes (a cache line): the fields of lane k at 4k + BK_*. */
// @ts-ignore: decorator
@inline export const BUCKET_LANES: u32 = 4;
// @ts-ignore: decorator
@inline export const BUCKET_MASK: u32 = BUCKET_LANES - 1;
// @ts-ignore: decorator
@inline const BK_GID: usize = 16;
// @ts-ignore: decorator
@inline const BK_OFF: usize = 32;
// @ts-ignore: decorator
@inline const BK_LEN: usize = 48;

// @ts-ignore: decorator
@inline export const NT_SLOTS: usize = 0;
// @ts-ignore: decorator
@inline export const NT_CAP: usize = 4;
// @ts-ignore: decorator
@inline export const NT_COUNT: usize = 8;
// @ts-ignore: decorator
@inline export const NT_KEYS: usize = 12;
// @ts-ignore: decorator
@inline export const NT_GROUP_CAP: usize = 16;

/** Returned by the find-or-insert helpers when a new group does not fit: the kernel stops there. */
// @ts-ignore: decorator
@inline export const NO_ROOM: u32 = 0xffffffff;

/** 2^32 / golden ratio, odd: Knuth's multiplier for Fibonacci hashing. */
// @ts-ignore: decorator
@inline const FIBONACCI: u32 = 0x9e3779b9;

/** The largest power of two <= cap (0 for 0): the capacity actually probed. */
// @ts-ignore: decorator
@inline export function probedCap(cap: u32): u32 {
  return cap == 0 ? 0 : <u32>1 << (31 - clz(cap));
}

/** How many groups a table of `cap` slots may hold: floor(cap * 3 / 4), so a probe always ends. */
// @ts-ignore: decorator
@inline export function maxGroupsFor(cap: u32): u32 {
  return <u32>((<u64>cap * 3) >> 2);
}

/** Right shift that keeps the top log2(cap) bits; for cap 1 it is 32, which wasm takes as 0, and mask 0 clears it. */
// @ts-ignore: decorator
@inline export function slotShift(cap: u32): u32 {
  return 32 - ctz(cap);
}

/** Start slot of a murmur2 hash: high bits of the Fibonacci remix (see the file comment). */
// @ts-ignore: decorator
@inline export function byteSlot(h: u32, shift: u32, mask: u32): u32 {
  return ((h * FIBONACCI) >>> shift) & mask;
}

/** Start slot of a u32 key: high bits of its Fibonacci remix, like byteSlot. */
// @ts-ignore: decorator
@inline export function u32Slot(key: u32, shift: u32, mask: u32): u32 {
  return ((key * FIBONACCI) >>> shift) & mask;
}

/**
 * Byte equality of [a, a+len) and [b, b+len), reading nothing outside them: 16 bytes at a time with
 * v128, and the tail as one overlapping load ending at the last byte (so no byte loop for len >= 4).
 */
// @ts-ignore: decorator
@inline export function bytesEqual(a: usize, b: usize, len: usize): bool {
  if (len - 16 <= 48) {
    // 16..64 bytes without a length-dependent branch: four 16-byte loads at 0, min(16, len-16),
    // max(len-32, 0) and len-16 cover every byte and stay inside the range
    const last = len - 16;
    const b1 = min<usize>(16, last);
    const b2 = len >= 32 ? len - 32 : 0;
    const d = v128.or(
      v128.or(v128.xor(v128.load(a), v128.load(b)), v128.xor(v128.load(a + b1), v128.load(b + b1))),
      v128.or(v128.xor(v128.load(a + b2), v128.load(b + b2)), v128.xor(v128.load(a + last), v128.load(b + last))),
    );
    return !v128.any_true(d);
  }
  if (len >= 16) {
    const last = len - 16;
    for (let i: usize = 0; i < last; i += 16) {
      if (v128.any_true(v128.xor(v128.load(a + i), v128.load(b + i)))) return false;
    }
    return !v128.any_true(v128.xor(v128.load(a + last), v128.load(b + last)));
  }
  if (len >= 8) {
    return load<u64>(a) == load<u64>(b) && load<u64>(a + len - 8) == load<u64>(b + len - 8);
  }
  if (len >= 4) {
    return load<u32>(a) == load<u32>(b) && load<u32>(a + len - 4) == load<u32>(b + len - 4);
  }
  if (len == 0) return true;
  // 1..3 bytes: first, middle and last cover them all
  const mid = len >> 1;
  return load<u8>(a) == load<u8>(b) && load<u8>(a + mid) == load<u8>(b + mid) &&
    load<u8>(a + len - 1) == load<u8>(b + len - 1);
}

/**
 * The group of byte key [kp, kp+klen) with murmur2 h, inserting it as group `count` when it is new
 * and fits (count < limit, arena room). Returns the group id (== count when inserted) or NO_ROOM.
 * `limit` already folds in groupCap and the load bound (and the accumulators' capacity for agg).
 * `mask` and `shift` are cap - 1 and slotShift(cap) of the table's probed capacity, as for u32 tables.
 */
// @ts-ignore: decorator
@inline export function bytesFindOrInsert(
  slots: usize, mask: u32, shift: u32, keyOffs: usize, arena: usize, arenaCap: u32, hashes: usize,
  count: u32, limit: u32, h: u32, kp: usize, klen: u32,
): u32 {
  if (mask < BUCKET_MASK) return NO_ROOM; // fewer than 4 slots: not one whole bucket (the host never makes one)
  const hv = i32x4.splat(h);
  let i = byteSlot(h, shift, mask) & ~BUCKET_MASK;
  while (true) {
    const b = slots + (<usize>i << 4);
    let bits = i32x4.bitmask(i32x4.eq(v128.load(b), hv));
    while (bits != 0) {
      const lane = b + (<usize>ctz(bits) << 2);
      if (load<u32>(lane, BK_LEN) == klen + 1 && bytesEqual(arena + load<u32>(lane, BK_OFF), kp, klen)) {
        return load<u32>(lane, BK_GID) - 1;
      }
      bits &= bits - 1;
    }
    // lanes fill in order and groups are never removed: a bucket with a free lane ends the search
    const used = ~i32x4.bitmask(i32x4.eq(v128.load(b, BK_GID), i32x4.splat(0))) & 0xf;
    if (used != 0xf) {
      if (count >= limit) return NO_ROOM;
      const keyEnd = load<u32>(keyOffs + (<usize>count << 2));
      if (<u64>keyEnd + klen > <u64>arenaCap) return NO_ROOM;
      memory.copy(arena + keyEnd, kp, klen);
      store<u32>(keyOffs + ((<usize>count + 1) << 2), keyEnd + klen);
      store<u32>(hashes + (<usize>count << 2), h);
      bucketPut(b + (<usize>popcnt(used) << 2), h, count, keyEnd, klen);
      return count;
    }
    i = (i + BUCKET_LANES) & mask;
  }
  return NO_ROOM; // unreachable
}

/**
 * bytesFindOrInsert for the fold loops, which hold the table header: inlined, only the common case
 * (the key is in its home bucket, in the first lane whose hash matches), so a hit reads one bucket
 * line and the key's bytes and needs few live values; the rest (a later lane or bucket, a new key) is
 * bytesProbe, out of line, which reads the other table fields from the header and starts over.
 */
// @ts-ignore: decorator
@inline export function bytesGroupOf(
  table: usize, slots: usize, mask: u32, shift: u32, arena: usize, count: u32, limit: u32, h: u32, kp: usize, klen: u32,
): u32 {
  if (mask >= BUCKET_MASK) {
    const b = bucketOf(slots, mask, shift, h);
    const g = laneHit(b, v128.load(b), arena, h, kp, klen);
    if (g != NO_ROOM) return g;
  }
  return bytesProbe(table, count, limit, h, kp, klen);
}

/**
 * The group of byte key [kp, kp+klen) with hash h when it sits in the first lane of bucket b whose
 * hash is h (`lanes`: the bucket's hash lanes, loaded by the caller); else NO_ROOM, and the caller
 * probes in full.
 */
// @ts-ignore: decorator
@inline function laneHit(b: usize, lanes: v128, arena: usize, h: u32, kp: usize, klen: u32): u32 {
  const bits = i32x4.bitmask(i32x4.eq(lanes, i32x4.splat(h)));
  if (bits != 0) {
    const lane = b + (<usize>ctz(bits) << 2);
    // an empty lane (hash 0, h == 0) has length field 0, never klen + 1
    if (load<u32>(lane, BK_LEN) == klen + 1 && bytesEqual(arena + load<u32>(lane, BK_OFF), kp, klen)) {
      return load<u32>(lane, BK_GID) - 1;
    }
  }
  return NO_ROOM;
}

/** The bucket line whose lanes hold hash h's home (mask >= BUCKET_MASK). */
// @ts-ignore: decorator
@inline export function bucketOf(slots: usize, mask: u32, shift: u32, h: u32): usize {
  return slots + (<usize>(byteSlot(h, shift, mask) & ~BUCKET_MASK) << 4);
}

/**
 * bytesGroupOf with the home bucket `b` and its hash lanes `lanes` already loaded (a fold loop loads
 * a few rows' buckets before it probes any, so their cache misses overlap). Lanes loaded before an
 * earlier row inserted a key may miss it: the probe then starts over in bytesProbe, which finds it.
 */
// @ts-ignore: decorator
@inline export function bytesGroupIn(
  table: usize, b: usize, lanes: v128, arena: usize, count: u32, limit: u32, h: u32, kp: usize, klen: u32,
): u32 {
  const g = laneHit(b, lanes, arena, h, kp, klen);
  return g != NO_ROOM ? g : bytesProbe(table, count, limit, h, kp, klen);
}

/** bytesFindOrInsert with the home bucket's hash lanes loaded ahead (see bytesGroupIn): a hit in them, else the whole probe. */
// @ts-ignore: decorator
@inline function bytesInternIn(
  b: usize, lanes: v128, slots: usize, mask: u32, shift: u32, keyOffs: usize, arena: usize, arenaCap: u32, hashes: usize,
  count: u32, limit: u32, h: u32, kp: usize, klen: u32,
): u32 {
  const g = laneHit(b, lanes, arena, h, kp, klen);
  return g != NO_ROOM ? g : bytesFindOrInsert(slots, mask, shift, keyOffs, arena, arenaCap, hashes, count, limit, h, kp, klen);
}

/** A batched loop's early end: stores the group count it kept in a local and returns the row it stopped at. */
// @ts-ignore: decorator
@inline export function stopAt(table: usize, count: u32, j: u32): u32 {
  store<u32>(table + BT_COUNT, count);
  return j;
}

/** A row's key hash: fastHash of its bytes (fast), else its given murmur2 (hashes != 0) or one computed here. */
// @ts-ignore: decorator
@inline export function rowHash(kp: usize, klen: u32, hashes: usize, r: u32, fast: bool): u32 {
  return fast ? fastHashRange(kp, klen) : hashes != 0 ? load<u32>(hashes + (<usize>r << 2)) : murmur2Range(kp, klen);
}

/** The whole bytesFindOrInsert, with the table's fields read from its header (see bytesGroupOf). */
function bytesProbe(table: usize, count: u32, limit: u32, h: u32, kp: usize, klen: u32): u32 {
  const cap = probedCap(load<u32>(table + BT_CAP));
  if (cap < BUCKET_LANES) return NO_ROOM;
  return bytesFindOrInsert(
    <usize>load<u32>(table + BT_SLOTS), cap - 1, slotShift(cap), <usize>load<u32>(table + BT_KEY_OFFS),
    <usize>load<u32>(table + BT_ARENA), load<u32>(table + BT_ARENA_CAP), <usize>load<u32>(table + BT_HASHES),
    count, limit, h, kp, klen,
  );
}

/** Fills the lane at `lane` (bucket + 4 * index) with group g: hash, g + 1, key offset and length. */
// @ts-ignore: decorator
@inline function bucketPut(lane: usize, h: u32, g: u32, off: u32, len: u32): void {
  store<u32>(lane, h);
  store<u32>(lane, g + 1, BK_GID);
  store<u32>(lane, off, BK_OFF);
  store<u32>(lane, len + 1, BK_LEN);
}

/** The group of u32 key `key`, inserting it as group `count` when new and count < limit; else NO_ROOM. */
// @ts-ignore: decorator
@inline export function u32FindOrInsert(
  slots: usize, mask: u32, shift: u32, keys: usize, count: u32, limit: u32, key: u32,
): u32 {
  let i = u32Slot(key, shift, mask);
  while (true) {
    const at = slots + (<usize>i << 3);
    const s = load<u64>(at);
    // the hit first: an empty slot (0) matches only key 0, and then its id + 1 half is 0
    if (<u32>s == key && s > 0xffffffff) return <u32>(s >>> 32) - 1;
    if (s == 0) {
      if (count >= limit) return NO_ROOM;
      store<u32>(keys + (<usize>count << 2), key);
      store<u64>(at, (<u64>(count + 1) << 32) | <u64>key);
      return count;
    }
    i = (i + 1) & mask;
  }
  return NO_ROOM; // unreachable
}

/** Record index of position j: perm[j], or j itself when perm is 0. */
// @ts-ignore: decorator
@inline export function recordAt(perm: usize, j: u32): u32 {
  return perm == 0 ? j : load<u32>(perm + (<usize>j << 2));
}

// @ts-ignore: decorator
@inline function internBytesLoop(
  table: usize, keyOffs: usize, keyBytes: usize, hashes: usize,
  perm: usize, from: u32, to: u32, outGid: usize, fast: bool,
): u32 {
  const slots = <usize>load<u32>(table + BT_SLOTS);
  const cap = probedCap(load<u32>(table + BT_CAP));
  if (cap == 0) return from;
  const mask = cap - 1;
  const shift = slotShift(cap);
  const tKeyOffs = <usize>load<u32>(table + BT_KEY_OFFS);
  const arena = <usize>load<u32>(table + BT_ARENA);
  const arenaCap = load<u32>(table + BT_ARENA_CAP);
  const tHashes = <usize>load<u32>(table + BT_HASHES);
  const limit = min(load<u32>(table + BT_GROUP_CAP), maxGroupsFor(cap));
  let count = load<u32>(table + BT_COUNT);
  let j = from;
  // four rows at a time: their home buckets are loaded before any is probed (see bytesGroupIn)
  if (mask >= BUCKET_MASK) {
    for (; j + 4 <= to; j += 4) {
      const r0 = recordAt(perm, j), r1 = recordAt(perm, j + 1), r2 = recordAt(perm, j + 2), r3 = recordAt(perm, j + 3);
      const s0 = load<u32>(keyOffs + (<usize>r0 << 2)), e0 = load<u32>(keyOffs + (<usize>r0 << 2), 4);
      const s1 = load<u32>(keyOffs + (<usize>r1 << 2)), e1 = load<u32>(keyOffs + (<usize>r1 << 2), 4);
      const s2 = load<u32>(keyOffs + (<usize>r2 << 2)), e2 = load<u32>(keyOffs + (<usize>r2 << 2), 4);
      const s3 = load<u32>(keyOffs + (<usize>r3 << 2)), e3 = load<u32>(keyOffs + (<usize>r3 << 2), 4);
      assert(e0 >= s0 && e1 >= s1 && e2 >= s2 && e3 >= s3, "key offsets must be non-decreasing");
      const h0 = rowHash(keyBytes + s0, e0 - s0, hashes, r0, fast), h1 = rowHash(keyBytes + s1, e1 - s1, hashes, r1, fast);
      const h2 = rowHash(keyBytes + s2, e2 - s2, hashes, r2, fast), h3 = rowHash(keyBytes + s3, e3 - s3, hashes, r3, fast);
      const b0 = bucketOf(slots, mask, shift, h0), b1 = bucketOf(slots, mask, shift, h1);
      const b2 = bucketOf(slots, mask, shift, h2), b3 = bucketOf(slots, mask, shift, h3);
      const l0 = v128.load(b0), l1 = v128.load(b1), l2 = v128.load(b2), l3 = v128.load(b3);
      let g = bytesInternIn(b0, l0, slots, mask, shift, tKeyOffs, arena, arenaCap, tHashes, count, limit, h0, keyBytes + s0, e0 - s0);
      if (g == NO_ROOM) return stopAt(table, count, j);
      if (g == count) count++;
      store<u32>(outGid + (<usize>r0 << 2), g);
      g = bytesInternIn(b1, l1, slots, mask, shift, tKeyOffs, arena, arenaCap, tHashes, count, limit, h1, keyBytes + s1, e1 - s1);
      if (g == NO_ROOM) return stopAt(table, count, j + 1);
      if (g == count) count++;
      store<u32>(outGid + (<usize>r1 << 2), g);
      g = bytesInternIn(b2, l2, slots, mask, shift, tKeyOffs, arena, arenaCap, tHashes, count, limit, h2, keyBytes + s2, e2 - s2);
      if (g == NO_ROOM) return stopAt(table, count, j + 2);
      if (g == count) count++;
      store<u32>(outGid + (<usize>r2 << 2), g);
      g = bytesInternIn(b3, l3, slots, mask, shift, tKeyOffs, arena, arenaCap, tHashes, count, limit, h3, keyBytes + s3, e3 - s3);
      if (g == NO_ROOM) return stopAt(table, count, j + 3);
      if (g == count) count++;
      store<u32>(outGid + (<usize>r3 << 2), g);
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
    const g = bytesFindOrInsert(slots, mask, shift, tKeyOffs, arena, arenaCap, tHashes, count, limit, h, kp, klen);
    if (g == NO_ROOM) break;
    if (g == count) count++;
    store<u32>(outGid + (<usize>r << 2), g);
  }
  store<u32>(table + BT_COUNT, count);
  return j;
}

/**
 * Interns the byte keys of records perm[j], j in [from, to), writing outGid[record] = group id.
 * hashes[record] is the key's murmur2 (hashes = 0: computed here). Returns the first j not
 * processed: `to` when done, else the record whose new group did not fit (see the growth rule).
 */
export function table_bytes_intern(
  table: usize, keyOffs: usize, keyBytes: usize, hashes: usize,
  perm: usize, from: u32, to: u32, outGid: usize,
): u32 {
  return internBytesLoop(table, keyOffs, keyBytes, hashes, perm, from, to, outGid, false);
}

/**
 * table_bytes_intern into a table keyed by fastHash (hash.ts), computed here as each key is read: a
 * table of a batch's own (a scratch table), never one whose hashes must be murmur2.
 */
export function table_bytes_intern_fast(
  table: usize, keyOffs: usize, keyBytes: usize, perm: usize, from: u32, to: u32, outGid: usize,
): u32 {
  return internBytesLoop(table, keyOffs, keyBytes, 0, perm, from, to, outGid, true);
}

/**
 * Re-inserts every group into newSlots (zeroed, newCap * 16 bytes, newCap a power of two >= 4) and
 * points the header at it. Walks groups in id order, reading each stored hash and key offsets: no
 * key bytes are touched. A newCap too small to keep the table at most 3/4 full, or below one bucket,
 * is refused: the header is left unchanged.
 */
export function table_bytes_rehash(table: usize, newSlots: usize, newCap: u32): void {
  const count = load<u32>(table + BT_COUNT);
  const cap = probedCap(newCap);
  assert(cap == newCap && cap >= BUCKET_LANES && count <= maxGroupsFor(cap), "rehash capacity too small or not a power of two");
  if (count > maxGroupsFor(cap) || cap < BUCKET_LANES) return;
  const mask = cap - 1;
  const shift = slotShift(cap);
  const hashes = <usize>load<u32>(table + BT_HASHES);
  const keyOffs = <usize>load<u32>(table + BT_KEY_OFFS);
  let off = load<u32>(keyOffs);
  for (let g: u32 = 0; g < count; g++) {
    const h = load<u32>(hashes + (<usize>g << 2));
    const end = load<u32>(keyOffs + ((<usize>g + 1) << 2));
    let i = byteSlot(h, shift, mask) & ~BUCKET_MASK;
    let used: u32;
    while ((used = ~i32x4.bitmask(i32x4.eq(v128.load(newSlots + (<usize>i << 4), BK_GID), i32x4.splat(0))) & 0xf) == 0xf) {
      i = (i + BUCKET_LANES) & mask;
    }
    bucketPut(newSlots + (<usize>i << 4) + (<usize>popcnt(used) << 2), h, g, off, end - off);
    off = end;
  }
  store<u32>(table + BT_SLOTS, <u32>newSlots);
  store<u32>(table + BT_CAP, newCap);
}

/** Interns u32 keys[record] of records perm[j], j in [from, to); like table_bytes_intern. */
export function table_u32_intern(table: usize, keys: usize, perm: usize, from: u32, to: u32, outGid: usize): u32 {
  const slots = <usize>load<u32>(table + NT_SLOTS);
  const cap = probedCap(load<u32>(table + NT_CAP));
  if (cap == 0) return from;
  const mask = cap - 1;
  const shift = slotShift(cap);
  const tKeys = <usize>load<u32>(table + NT_KEYS);
  const limit = min(load<u32>(table + NT_GROUP_CAP), maxGroupsFor(cap));
  let count = load<u32>(table + NT_COUNT);
  let j = from;
  for (; j < to; j++) {
    const r = recordAt(perm, j);
    const g = u32FindOrInsert(slots, mask, shift, tKeys, count, limit, load<u32>(keys + (<usize>r << 2)));
    if (g == NO_ROOM) break;
    if (g == count) count++;
    store<u32>(outGid + (<usize>r << 2), g);
  }
  store<u32>(table + NT_COUNT, count);
  return j;
}

/** Re-inserts every group of a u32 table into newSlots; like table_bytes_rehash. */
export function table_u32_rehash(table: usize, newSlots: usize, newCap: u32): void {
  const count = load<u32>(table + NT_COUNT);
  const cap = probedCap(newCap);
  assert(cap == newCap && count <= maxGroupsFor(cap), "rehash capacity too small or not a power of two");
  if (count > maxGroupsFor(cap) || cap == 0) return;
  const mask = cap - 1;
  const shift = slotShift(cap);
  const keys = <usize>load<u32>(table + NT_KEYS);
  for (let g: u32 = 0; g < count; g++) {
    const key = load<u32>(keys + (<usize>g << 2));
    let i = u32Slot(key, shift, mask);
    while (load<u64>(newSlots + (<usize>i << 3)) != 0) i = (i + 1) & mask;
    store<u64>(newSlots + (<usize>i << 3), (<u64>(g + 1) << 32) | <u64>key);
  }
  store<u32>(table + NT_SLOTS, <u32>newSlots);
  store<u32>(table + NT_CAP, newCap);
}
