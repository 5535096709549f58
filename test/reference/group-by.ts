// Plain TypeScript reference of keyed aggregation: a Map-based group-by with count/sum/min/max, folded left to right.

export interface GroupStats {
  /** First-seen order of the key: the group id a table must give it. */
  id: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/**
 * Groups records (in the order of `order`, default 0..n-1) by keyOf(i), folding values[i] with
 * `sum += v`, Math.min, Math.max: what the accumulate kernels must reproduce bit for bit.
 */
export function groupBy<K>(
  n: number,
  keyOf: (i: number) => K,
  values: ArrayLike<number> | undefined,
  order?: ArrayLike<number>,
): Map<K, GroupStats> {
  const groups = new Map<K, GroupStats>();
  for (let j = 0; j < (order ? order.length : n); j++) {
    const i = order ? order[j]! : j;
    const key = keyOf(i);
    let g = groups.get(key);
    if (!g) {
      g = { id: groups.size, count: 0, sum: 0, min: Infinity, max: -Infinity };
      groups.set(key, g);
    }
    foldInto(g, values ? values[i]! : 0);
  }
  return groups;
}

/** One value into a group: count + 1, `sum += v`, Math.min, Math.max. */
function foldInto(g: GroupStats, v: number): void {
  g.count += 1;
  g.sum += v;
  g.min = Math.min(g.min, v);
  g.max = Math.max(g.max, v);
}

/** A byte key as a Map key: one char per byte. */
export const bytesKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/**
 * Folds rows j in [from, to) into groups[map ? map[gids[j]] : gids[j]] in row order (`sum += v`,
 * Math.min, Math.max), stopping at the first row whose gid is not below map.length (with a map) or
 * whose group is not below `limit`: what agg_groups
 * must do to the accumulators, bit for bit. Returns the row it stopped at (`to` when done).
 */
export function foldGroups(
  groups: GroupStats[], gids: ArrayLike<number>, map: ArrayLike<number> | undefined, values: ArrayLike<number> | undefined,
  from: number, to: number, limit: number,
): number {
  for (let j = from; j < to; j++) {
    if (map && gids[j]! >= map.length) return j;
    const g = map ? map[gids[j]!]! : gids[j]!;
    if (g >= limit) return j;
    foldInto(groups[g]!, values ? values[j]! : 0);
  }
  return to;
}
