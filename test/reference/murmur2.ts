// Plain TypeScript references for assembly/hash.ts: Kafka's murmur2, the u32 finaliser, and murmur2 collisions.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's Utils.murmur2 (clients/src/main/java/org/apache/kafka/common/utils/Utils.java): signed 32-bit. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // the tail, as Kafka's switch (length % 4) with its fall-through
  const tail = length & ~3;
  const rest = length & 3;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's default partitioner for a keyed record: toPositive(murmur2(key)) % numPartitions. */
export function kafkaPartition(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** lowbias32 (hash-prospector), unsigned: the reference of hash_u32. */
export function hashU32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Multiplicative inverse of an odd number mod 2^32 (Newton's iteration: each step doubles the correct bits). */
function inverseOdd(a: number): number {
  let x = a;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(a, x));
  return x | 0;
}

const M_INV = inverseOdd(M);

/**
 * n distinct 8-byte keys that all have the same murmur2. One block's mixing
 * k -> ((k*m) ^ (k*m >>> 24)) * m is a bijection, so for any first block the second can be solved
 * for so that the state after both blocks is a fixed value; same length, same finalisation, same hash.
 */
export function murmur2Collisions(n: number, target = 0x1234567): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const first = Math.imul(i + 1, 0x9e3779b1) | 0;
    let k = Math.imul(first, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    const h1 = Math.imul((SEED ^ 8) | 0, M) ^ k; // state after block 1
    // want Math.imul(h1, M) ^ mix(k2) === target
    let y = Math.imul(h1, M) ^ target; // = mix(k2)
    y = Math.imul(y, M_INV);
    y ^= y >>> 24; // x ^ (x >>> 24) is its own inverse on 32 bits
    const k2 = Math.imul(y, M_INV);
    const key = new Uint8Array(8);
    const dv = new DataView(key.buffer);
    dv.setInt32(0, first, true);
    dv.setInt32(4, k2, true);
    keys.push(key);
  }
  return keys;
}
