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
  switch (<u32>len & 3) {
    case 3:
      h ^= <u32>load<u8>(p, 2) << 16;
    // falls through
    case 2:
      h ^= <u32>load<u8>(p, 1) << 8;
    // falls through
    case 1:
      h ^= <u32>load<u8>(p);
      h *= MURMUR2_M;
  }
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
 */
export function hash_keys_murmur2(keyOffs: usize, keyBytes: usize, n: u32, outHash: usize): void {
  let start = load<u32>(keyOffs);
  for (let i: u32 = 0; i < n; i++) {
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
