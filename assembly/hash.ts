// Kafka-compatible murmur2 (what keys are sharded by) and the 32-bit finaliser u32 keys can be sharded by.

// MurmurHash2, 32-bit, exactly as Kafka's org.apache.kafka.common.utils.Utils.murmur2
// (https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/utils/Utils.java)
// and kafkajs src/producer/partitioners/default/murmur2.js, which ports it: seed 0x9747b28c, blocks
// read little-endian, the tail mixed in with the switch fall-through, and the final avalanche
// h ^= h >>> 13; h *= m; h ^= h >>> 15. Kafka's default partitioner takes (murmur2 & 0x7fffffff) % n.

// @ts-ignore: decorator
@inline const MURMUR2_SEED: u32 = 0x9747b28c;
// @ts-ignore: decorator
@inline const MURMUR2_M: u32 = 0x5bd1e995;

/**
 * The tail of murmur2 (the last len & 3 bytes, little-endian, as Kafka's switch fall-through mixes
 * them in) of the bytes [ptr, ptr + len). For len >= 4 one load of the last 4 bytes, shifted, without
 * a branch on len & 3; shorter keys read their bytes one by one. Reads nothing outside the range.
 */
// @ts-ignore: decorator
@inline function murmur2TailWord(ptr: usize, len: usize): u32 {
  const t = <u64>(len & 3);
  if (len >= 4) return <u32>(<u64>load<u32>(ptr + len - 4) >>> (32 - (t << 3)));
  if (t == 0) return 0;
  let w = <u32>load<u8>(ptr);
  if (t >= 2) w |= <u32>load<u8>(ptr, 1) << 8;
  if (t == 3) w |= <u32>load<u8>(ptr, 2) << 16;
  return w;
}

/**
 * murmur2 of the bytes [ptr, ptr + len), as an unsigned value; inlined into callers (decoders, tables).
 * Reads exactly the `len` bytes given and nothing past them.
 */
// @ts-ignore: decorator
@inline export function murmur2Range(ptr: usize, len: usize): u32 {
  let h: u32 = MURMUR2_SEED ^ <u32>len;
  const end = ptr + (len & ~(<usize>3));
  let p = ptr;
  while (p < end) {
    let k = load<u32>(p); // wasm is little-endian, like Kafka's (data[i] & 0xff) + (data[i+1] << 8) + ...
    k *= MURMUR2_M;
    k ^= k >>> 24;
    k *= MURMUR2_M;
    h = (h * MURMUR2_M) ^ k;
    p += 4;
  }
  // Kafka: case 3: h ^= data[2] << 16; case 2: h ^= data[1] << 8; case 1: h ^= data[0]; h *= m
  const tail = (h ^ murmur2TailWord(ptr, len)) * MURMUR2_M;
  h = select<u32>(tail, h, (len & 3) != 0);
  h ^= h >>> 13;
  h *= MURMUR2_M;
  h ^= h >>> 15;
  return h;
}

/** Kafka's Utils.murmur2 over [ptr, ptr + len): the signed 32-bit result Java and kafkajs return. */
export function murmur2(ptr: usize, len: u32): i32 {
  return <i32>murmur2Range(ptr, len);
}

/**
 * outHash[i] = murmur2(key i) for n keys given as offsets u32[n+1] into keyBytes (key i is
 * keyBytes[keyOffs[i] .. keyOffs[i+1])). The offsets must be non-decreasing (the decoders write them so).
 *
 * Four keys at a time, one per i32x4 lane: murmur2's state is one serial chain of multiplies per key
 * (h = h * m ^ k), and four chains side by side hide each other's latency; the block loop runs to the
 * longest of the four and a lane past its own blocks keeps its h (its load reads keyOffs instead, so
 * nothing outside the key or the offsets is read). One loop exit per four keys instead of one per key
 * (the key lengths vary, so each exit is a mispredicted branch). The rest of n is hashed one by one.
 */
export function hash_keys_murmur2(keyOffs: usize, keyBytes: usize, n: u32, outHash: usize): void {
  const m = i32x4.splat(MURMUR2_M);
  const safe = i32x4.splat(<i32>keyOffs);
  let i: u32 = 0;
  for (; i + 4 <= n; i += 4) {
    const at = keyOffs + (<usize>i << 2);
    const offs = v128.load(at);
    const ends = v128.load(at, 4);
    assert(i32x4.all_true(i32x4.ge_u(ends, offs)), "key offsets must be non-decreasing");
    const lens = i32x4.sub(ends, offs);
    const starts = i32x4.add(offs, i32x4.splat(<i32>keyBytes));
    const blocks = i32x4.shr_u(lens, 2);
    const most = max(max(i32x4.extract_lane(blocks, 0), i32x4.extract_lane(blocks, 1)), max(i32x4.extract_lane(blocks, 2), i32x4.extract_lane(blocks, 3)));
    let h = v128.xor(i32x4.splat(MURMUR2_SEED), lens);
    let p = starts;
    for (let b: i32 = 0; b < most; b++) {
      // lanes still inside their blocks read p, the others a word of keyOffs they then ignore
      const live = i32x4.gt_u(blocks, i32x4.splat(b));
      const addr = v128.bitselect(p, safe, live);
      let k = v128.load32_lane(<usize>i32x4.extract_lane(addr, 0), i32x4.splat(0), 0);
      k = v128.load32_lane(<usize>i32x4.extract_lane(addr, 1), k, 1);
      k = v128.load32_lane(<usize>i32x4.extract_lane(addr, 2), k, 2);
      k = v128.load32_lane(<usize>i32x4.extract_lane(addr, 3), k, 3);
      k = i32x4.mul(k, m);
      k = v128.xor(k, i32x4.shr_u(k, 24));
      k = i32x4.mul(k, m);
      h = v128.bitselect(v128.xor(i32x4.mul(h, m), k), h, live);
      p = i32x4.add(p, i32x4.splat(4));
    }
    let tail = i32x4.splat(<i32>murmur2TailWord(<usize>i32x4.extract_lane(starts, 0), <usize>i32x4.extract_lane(lens, 0)));
    tail = i32x4.replace_lane(tail, 1, <i32>murmur2TailWord(<usize>i32x4.extract_lane(starts, 1), <usize>i32x4.extract_lane(lens, 1)));
    tail = i32x4.replace_lane(tail, 2, <i32>murmur2TailWord(<usize>i32x4.extract_lane(starts, 2), <usize>i32x4.extract_lane(lens, 2)));
    tail = i32x4.replace_lane(tail, 3, <i32>murmur2TailWord(<usize>i32x4.extract_lane(starts, 3), <usize>i32x4.extract_lane(lens, 3)));
    const hasTail = v128.not(i32x4.eq(v128.and(lens, i32x4.splat(3)), i32x4.splat(0)));
    h = v128.bitselect(i32x4.mul(v128.xor(h, tail), m), h, hasTail);
    h = v128.xor(h, i32x4.shr_u(h, 13));
    h = i32x4.mul(h, m);
    h = v128.xor(h, i32x4.shr_u(h, 15));
    v128.store(outHash + (<usize>i << 2), h);
  }
  let start = load<u32>(keyOffs + (<usize>i << 2));
  for (; i < n; i++) {
    const end = load<u32>(keyOffs + ((<usize>i + 1) << 2));
    assert(end >= start, "key offsets must be non-decreasing");
    store<u32>(outHash + (<usize>i << 2), murmur2Range(keyBytes + start, end - start));
    start = end;
  }
}

/**
 * A bijective 32-bit finaliser with full avalanche: "lowbias32" from Chris Wellons' hash-prospector
 * (https://github.com/skeeto/hash-prospector), bias 0.17 (lower than murmur3's fmix32). Two
 * multiplies: cheap enough to hash every numeric key, and good in the low bits shards are picked by. The
 * u32 tables place keys by a Fibonacci remix of the key instead (table.ts), independent of this.
 */
// @ts-ignore: decorator
@inline export function mix32(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  x ^= x >>> 16;
  return x;
}

/** The hash of a u32 key for sharding (mix32); JS sees it signed, `>>> 0` gives the unsigned value. */
export function hash_u32(x: u32): u32 {
  return mix32(x);
}

/**
 * x % d for x < 2^32, d >= 1, without a division: Lemire, Kaser, Kurz, "Faster Remainder by Direct
 * Computation" (2019), fastmod_u32 with magic = floor((2^64 - 1) / d) + 1. The paper's 128-bit high
 * product is split into two 64-bit multiplies (lowbits * d with d < 2^32 cannot overflow them).
 */
// @ts-ignore: decorator
@inline function fastmod(x: u32, magic: u64, d: u32): u32 {
  const low = magic * <u64>x;
  return <u32>(((low >>> 32) * <u64>d + (((low & 0xffffffff) * <u64>d) >>> 32)) >>> 32);
}

/** The constant shardOf needs for `shards` (>= 1): 0 for a power of two (a mask does), else fastmod's magic. */
// @ts-ignore: decorator
@inline export function shardMagic(shards: u32): u64 {
  return (shards & (shards - 1)) == 0 ? 0 : u64.MAX_VALUE / <u64>shards + 1;
}

/** Kafka's default partitioner on a murmur2: (h & 0x7fffffff) % shards (Utils.toPositive, then mod). */
// @ts-ignore: decorator
@inline export function shardOf(h: u32, shards: u32, magic: u64): u32 {
  const x = h & 0x7fffffff;
  return magic == 0 ? x & (shards - 1) : fastmod(x, magic, shards);
}

// fastHash: the hash of the scratch tables a batch folds into (table_bytes_intern_fast, agg_bytes_fast),
// whose keys are hashed again with murmur2 when they merge into shard state. Not Kafka's, not stable
// across versions, not for anything that outlives a batch. For 16..64 bytes it is branch-free: the
// four 16-byte loads bytesEqual (table.ts) also makes (0, min(16, len-16), max(len-32, 0), len-16)
// cover every byte; chunk i is rotated by i lanes and multiplied lane-wise by odd constants, so a chunk
// read twice (short keys: the loads overlap) lands in other lanes under other constants and does not
// cancel. Longer keys fold 16 bytes a step; shorter ones are one chunk of two overlapping u64 / u32
// loads, or three bytes. The four lanes and the length end in mix32.

// @ts-ignore: decorator
@inline function laneFold(acc: v128, len: usize): u32 {
  const l0 = <u32>i32x4.extract_lane(acc, 0);
  const l1 = <u32>i32x4.extract_lane(acc, 1);
  const l2 = <u32>i32x4.extract_lane(acc, 2);
  const l3 = <u32>i32x4.extract_lane(acc, 3);
  return mix32(l0 ^ rotl<u32>(l1, 8) ^ rotl<u32>(l2, 16) ^ rotl<u32>(l3, 24) ^ (<u32>len * 0x9e3779b1));
}

/** Chunk c rotated by one lane: (c1, c2, c3, c0). */
// @ts-ignore: decorator
@inline function rot1(c: v128): v128 {
  return i8x16.shuffle(c, c, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
}

/** (c ^ c >>> 15) * k lane by lane: the xor-shift first, so a lane's high bytes reach its low bits too. */
// @ts-ignore: decorator
@inline function mixChunk(c: v128, k: v128): v128 {
  return i32x4.mul(v128.xor(c, i32x4.shr_u(c, 15)), k);
}

/** fastHash of the bytes [p, p + len); reads exactly them. */
// @ts-ignore: decorator
@inline export function fastHashRange(p: usize, len: usize): u32 {
  const k0 = i32x4(0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f);
  const k1 = i32x4(0x165667b1, 0xd3a2646d, 0xfd7046c5, 0xb55a4f09);
  const k2 = i32x4(0x7feb352d, 0x846ca68b, 0x5bd1e995, 0xcc9e2d51);
  const k3 = i32x4(0x1b873593, 0xe6546b65, 0x85ebca6b, 0xc2b2ae35);
  if (len - 16 <= 48) {
    const last = len - 16;
    const b1 = min<usize>(16, last);
    const b2 = len >= 32 ? len - 32 : 0;
    const a = v128.xor(mixChunk(v128.load(p), k0), mixChunk(rot1(v128.load(p + b1)), k1));
    const b = v128.xor(mixChunk(rot1(rot1(v128.load(p + b2))), k2), mixChunk(rot1(rot1(rot1(v128.load(p + last)))), k3));
    return laneFold(v128.xor(a, b), len);
  }
  if (len > 64) {
    let acc = i32x4.splat(0);
    const last = len - 16;
    for (let i: usize = 0; i < last; i += 16) acc = mixChunk(rot1(v128.xor(acc, v128.load(p + i))), k0);
    return laneFold(v128.xor(acc, mixChunk(v128.load(p + last), k3)), len);
  }
  let c = i32x4.splat(0);
  if (len >= 8) c = i64x2(load<u64>(p), load<u64>(p + len - 8));
  else if (len >= 4) c = i32x4(load<u32>(p), load<u32>(p + len - 4), 0, 0);
  else if (len > 0) c = i32x4(load<u8>(p), load<u8>(p + (len >> 1)), load<u8>(p + len - 1), 0);
  return laneFold(mixChunk(c, k0), len);
}

/** outHash[i] = fastHash(key i) for n keys given as offsets u32[n+1] into keyBytes (see hash_keys_murmur2). */
export function hash_keys_fast(keyOffs: usize, keyBytes: usize, n: u32, outHash: usize): void {
  let start = load<u32>(keyOffs);
  for (let i: u32 = 0; i < n; i++) {
    const end = load<u32>(keyOffs + ((<usize>i + 1) << 2));
    assert(end >= start, "key offsets must be non-decreasing");
    store<u32>(outHash + (<usize>i << 2), fastHashRange(keyBytes + start, end - start));
    start = end;
  }
}
