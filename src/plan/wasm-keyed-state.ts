// KeyedAccumulators over the wasm shard tables: what the built-in aggregations run on.
//
// One batch of pairs:
//
//   pair columns (JS) ──copy──▶ shared memory: keyOffs | keyBytes | values | hashes (murmur2)
//                                        │ partition by shard = (murmur2 & 0x7fffffff) % S
//                                        ▼
//               ┌───────────── one task per shard range (worker pool, or inline) ─────────────┐
//               │ agg_bytes: intern key -> group id, fold value into the group's accumulator │
//               └──────────────────────────────────────────────────────────────────────────────┘
//
// A kernel that finds a shard's table full stops and says where; the host grows that table (only
// the host allocates) and sends the rest of the range again. Tasks own disjoint shards, so growing
// one table while other tasks run on other shards is safe.

import type { KernelRuntime } from '../runtime/pool.js';
import { aggregateRouted } from '../runtime/route.js';
import type { OperatorState } from '../state/checkpoint-store.js';
import { restoreShard, restoreShards, snapshotShard, SnapshotError } from '../state/shard-snapshot.js';
import { ShardSet, type ByteShardTable, type ByteKeyInput } from '../state/shard-table.js';
import { AGG_COUNT, AGG_MAX, AGG_MIN, AGG_SUM } from '../wasm/abi.js';
import { PairColumnsBuilder, type PairColumns } from './columns.js';
import type { BuiltinAggregation, KeyedAccumulators } from './keyed-state.js';

const MASK: Record<BuiltinAggregation, number> = { count: AGG_COUNT, sum: AGG_SUM, min: AGG_MIN, max: AGG_MAX };

export interface WasmKeyedAccumulatorsOptions {
  /** Key shards S (default: 1 inline, else 2 per worker). */
  shards?: number;
  /**
   * Batches smaller than this run on the calling thread even with a pool: a pool round trip costs
   * more than aggregating a few thousand records (default 65536; 0 sends every batch to the pool).
   */
  minRecordsForPool?: number;
}

export class WasmKeyedAccumulators implements KeyedAccumulators {
  private readonly runtime: KernelRuntime;
  private readonly agg: BuiltinAggregation;
  private readonly shards: number;
  private readonly minForPool: number;
  private set: ShardSet<ByteShardTable>;

  constructor(runtime: KernelRuntime, agg: BuiltinAggregation, options: WasmKeyedAccumulatorsOptions = {}) {
    this.runtime = runtime;
    this.agg = agg;
    this.shards = options.shards ?? (runtime.workers === 0 ? 1 : 2 * runtime.workers);
    this.minForPool = options.minRecordsForPool ?? 1 << 16;
    this.set = ShardSet.bytes(runtime.arena, runtime.k, this.shards);
  }

  get size(): number {
    return this.set.count;
  }

  async add(pairs: PairColumns, stamp: number): Promise<void> {
    const n = pairs.length;
    if (n === 0) return;
    const { arena, k } = this.runtime;
    const base = pairs.keyOffsets[0]!;
    const byteLength = pairs.keyOffsets[n]! - base;
    const keyOffs = arena.alloc((n + 1) * 4);
    const keyBytes = arena.alloc(Math.max(byteLength, 1));
    const values = arena.alloc(n * 8);
    const hashes = arena.alloc(n * 4);
    try {
      arena.u8.set(pairs.keyBytes.subarray(base, base + byteLength), keyBytes);
      const offs = arena.u32.subarray(keyOffs >>> 2, (keyOffs >>> 2) + n + 1);
      offs.set(pairs.keyOffsets.subarray(0, n + 1));
      if (base !== 0) for (let i = 0; i <= n; i++) offs[i]! -= base;
      arena.f64.set(pairs.values.subarray(0, n), values >>> 3);
      k.hash_keys_murmur2(keyOffs, keyBytes, n, hashes);
      const input: ByteKeyInput = { keyOffs, keyBytes, hashes, values, perm: 0 };
      if (this.runtime.workers === 0 || n < this.minForPool) {
        this.set.aggregate(input, hashes, n, stamp, MASK[this.agg]);
      } else {
        await this.aggregateOnPool(input, n, stamp);
      }
    } finally {
      arena.release(hashes);
      arena.release(values);
      arena.release(keyBytes);
      arena.release(keyOffs);
    }
  }

  /** One routed task per shard range on the pool, growing tables as they fill. */
  private async aggregateOnPool(input: ByteKeyInput, n: number, stamp: number): Promise<void> {
    await aggregateRouted(this.runtime, this.set, input, n, stamp, MASK[this.agg]);
  }

  async read(which: 'all' | 'changed', stamp: number): Promise<PairColumns> {
    const out = new PairColumnsBuilder(which === 'all' ? this.set.count : 64);
    for (const table of this.set.tables) {
      const values = table.column(this.agg);
      if (which === 'all') {
        for (let g = 0; g < table.count; g++) {
          const key = table.key(g);
          out.addBytes(key, 0, key.length, values[g]!);
        }
      } else {
        for (const g of table.changed(stamp)) {
          const key = table.key(g);
          out.addBytes(key, 0, key.length, values[g]!);
        }
      }
    }
    return out.finish();
  }

  clear(): void {
    if (this.set.count === 0) return;
    this.set.free();
    this.set = ShardSet.bytes(this.runtime.arena, this.runtime.k, this.shards);
  }

  /**
   * A table cannot drop a group in place (its ids are dense), so a shard holding groups older than
   * `minStamp` is compacted: its other groups are copied out and interned into a new table with the
   * intern kernel, in their old order, and the new table takes the shard's place.
   */
  evictBefore(minStamp: number): number {
    const { arena, k } = this.runtime;
    let evicted = 0;
    this.set.tables.forEach((table, s) => {
      const stamps = table.stamps();
      let old = 0;
      for (let g = 0; g < stamps.length; g++) if (stamps[g]! < minStamp) old++;
      if (old === 0) return;
      this.set.replaceTable(s, restoreShard(arena, k, snapshotShard(table, MASK[this.agg], minStamp)));
      evicted += old;
    });
    return evicted;
  }

  snapshot(id: string): OperatorState {
    const mask = MASK[this.agg];
    return { kind: 'shards', id, mask, shards: this.set.tables.map((t) => snapshotShard(t, mask)) };
  }

  restore(state: OperatorState): void {
    const mask = MASK[this.agg];
    if (state.kind !== 'shards' || (state.mask & mask) !== mask) {
      throw new SnapshotError(`state ${state.id} does not hold the ${this.agg} column of a built-in aggregation`);
    }
    if (state.shards.length !== this.shards) {
      throw new SnapshotError(`state ${state.id} has ${state.shards.length} shards, the operator ${this.shards}`);
    }
    const { arena, k } = this.runtime;
    restoreShards(arena, k, state.shards).forEach((t, s) => this.set.replaceTable(s, t));
  }

  close(): void {
    this.set.free();
  }
}
