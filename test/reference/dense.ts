// Plain TypeScript reference of the dense fold (agg_u32_dense, then dense_flush) over a table, batch by batch.

import type { GroupStats } from './group-by.js';

export interface DenseGroup extends GroupStats {
  /** Stamp of the last batch that touched the group. */
  stamp: number;
}

export interface DenseBatch {
  keys: number[];
  /** Row values; none: every value is 0 (a count-only fold). */
  values?: number[];
}

const fresh = (id: number): DenseGroup => ({ id, count: 0, sum: 0, min: Infinity, max: -Infinity, stamp: 0 });

/**
 * The table the dense fold leaves after `batches` (batch b has stamp b + 1), all columns folded: a key k
 * with (k - base) mod 2^32 < range folds into its batch's partial from (0, 0, +Inf, -Inf), row by row;
 * any other key folds row by row into the table, new groups taking the next id; after each batch, the
 * partials merge into the table in order of k - base (count + c, sum + s, Math.min, Math.max), new keys
 * taking the next ids.
 */
export function denseFold(batches: DenseBatch[], base: number, range: number): Map<number, DenseGroup> {
  const table = new Map<number, DenseGroup>();
  const put = (key: number, stamp: number): DenseGroup => {
    let g = table.get(key);
    if (!g) table.set(key, (g = fresh(table.size)));
    g.stamp = stamp;
    return g;
  };
  batches.forEach((batch, b) => {
    const stamp = b + 1;
    const partials = new Map<number, DenseGroup>();
    batch.keys.forEach((key, i) => {
      const v = batch.values ? batch.values[i]! : 0;
      const d = (key - base) >>> 0;
      let g: DenseGroup;
      if (d < range) {
        g = partials.get(d) ?? fresh(0);
        partials.set(d, g);
      } else g = put(key, stamp);
      g.count += 1;
      g.sum += v;
      g.min = Math.min(g.min, v);
      g.max = Math.max(g.max, v);
    });
    for (const d of [...partials.keys()].sort((x, y) => x - y)) {
      const p = partials.get(d)!;
      const g = put((base + d) >>> 0, stamp);
      g.count += p.count;
      g.sum += p.sum;
      g.min = Math.min(g.min, p.min);
      g.max = Math.max(g.max, p.max);
    }
  });
  return table;
}
