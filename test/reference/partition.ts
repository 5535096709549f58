// Plain TypeScript reference of the partition kernel: a stable sort of record indexes by Kafka's shard of their hash.

export interface Partitioned {
  starts: number[];
  perm: number[];
}

/** Buckets records 0..n-1 by (hashes[i] & 0x7fffffff) % shards, each bucket in input order. */
export function stablePartition(hashes: ArrayLike<number>, shards: number): Partitioned {
  const buckets: number[][] = Array.from({ length: shards }, () => []);
  for (let i = 0; i < hashes.length; i++) buckets[(hashes[i]! & 0x7fffffff) % shards]!.push(i);
  const starts = [0];
  const perm: number[] = [];
  for (const b of buckets) {
    for (const i of b) perm.push(i);
    starts.push(perm.length);
  }
  return { starts, perm };
}

/** stablePartition of rows [lo, hi) alone, rows and positions absolute: perm holds perm[lo, hi), starts[0] = lo. */
export function stableRangePartition(hashes: ArrayLike<number>, lo: number, hi: number, shards: number): Partitioned {
  const part = stablePartition(Array.prototype.slice.call(hashes, lo, hi) as number[], shards);
  return { starts: part.starts.map((x) => x + lo), perm: part.perm.map((x) => x + lo) };
}

export interface Scattered {
  starts: number[];
  keys: number[];
  values: number[];
}

/** The rows [lo, hi) themselves in stableRangePartition's order: keys[j] and values[j] are those of row perm[j]. */
export function stableRangeScatter(
  hashes: ArrayLike<number>, keys: ArrayLike<number>, values: ArrayLike<number>, lo: number, hi: number, shards: number,
): Scattered {
  const part = stableRangePartition(hashes, lo, hi, shards);
  return { starts: part.starts, keys: part.perm.map((i) => keys[i]!), values: part.perm.map((i) => values[i]!) };
}
