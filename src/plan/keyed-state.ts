// Keyed accumulators of the built-in aggregations (sum, count, min, max) behind one small interface.
//
// The keyed stage hands it a batch of (UTF-8 key, f64 value) pairs and reads back (key, value)
// pairs; it does not know where the state lives. Two implementations with identical semantics:
// the wasm state tables over shared memory (wasm-keyed-state.ts, what jobs run) and the JS Map
// below (the reference the property tests compare it with).
//
// Semantics, for the values v1..vn of one key in input order, folded into the previous state s
// (no previous state: count 0, sum 0, min +Infinity, max -Infinity):
//   count = s + n            sum = ((s + v1) + v2) ... + vn
//   min   = min(s, v1..vn)   max = max(s, v1..vn)      (as Math.min / Math.max: NaN wins)
// So a sum is never -0, and the JS-function form `(a, b) => a + b` gives the same doubles.

import { deserialize, serialize } from 'node:v8';
import type { OperatorState } from '../state/checkpoint-store.js';
import { SnapshotError } from '../state/shard-snapshot.js';
import { PairColumnsBuilder, type PairColumns } from './columns.js';

/** The aggregations that run in wasm when given by name. */
export type BuiltinAggregation = 'sum' | 'count' | 'min' | 'max';

export const BUILTIN_AGGREGATIONS: readonly BuiltinAggregation[] = ['sum', 'count', 'min', 'max'];

export function isBuiltinAggregation(x: unknown): x is BuiltinAggregation {
  return typeof x === 'string' && (BUILTIN_AGGREGATIONS as readonly string[]).includes(x);
}

/** State of one built-in aggregation per key. */
export interface KeyedAccumulators {
  /** Folds `pairs` into the state of their keys, marking each key it touches with `stamp` (> 0). */
  add(pairs: PairColumns, stamp: number): Promise<void>;
  /** The keys held and their values: every key, or only those last touched at `stamp`. */
  read(which: 'all' | 'changed', stamp: number): Promise<PairColumns>;
  /** Number of keys held. */
  readonly size: number;
  /** Forgets every key. */
  clear(): void;
  /** Releases what the state holds (memory regions); the object is unusable afterwards. */
  close(): void;
  /** Drops every key last touched at a stamp below `minStamp` (a TTL's eviction); returns how many. */
  evictBefore(minStamp: number): number;
  /** The state as a checkpoint holds it, under `id`. */
  snapshot(id: string): OperatorState;
  /** Replaces the state with a checkpointed one; throws a SnapshotError (ERR_CHECKPOINT) when it does not fit. */
  restore(state: OperatorState): void;
}

const INITIAL: Record<BuiltinAggregation, number> = {
  count: 0,
  sum: 0,
  min: Number.POSITIVE_INFINITY,
  max: Number.NEGATIVE_INFINITY,
};

export function foldValue(agg: BuiltinAggregation, state: number, value: number): number {
  switch (agg) {
    case 'count':
      return state + 1;
    case 'sum':
      return state + value;
    case 'min':
      return Math.min(state, value);
    case 'max':
      return Math.max(state, value);
  }
}

export function initialValue(agg: BuiltinAggregation): number {
  return INITIAL[agg];
}

/**
 * The JS Map form. Keys are held as latin1 text of their UTF-8 bytes: a one-to-one map from byte
 * strings to JS strings, so invalid UTF-8 keys stay distinct and come back byte for byte.
 */
export class MapKeyedAccumulators implements KeyedAccumulators {
  private readonly agg: BuiltinAggregation;
  private readonly state = new Map<string, { value: number; stamp: number }>();

  constructor(agg: BuiltinAggregation) {
    this.agg = agg;
  }

  get size(): number {
    return this.state.size;
  }

  async add(pairs: PairColumns, stamp: number): Promise<void> {
    const bytes = Buffer.from(pairs.keyBytes.buffer, pairs.keyBytes.byteOffset, pairs.keyBytes.byteLength);
    for (let i = 0; i < pairs.length; i++) {
      const key = bytes.toString('latin1', pairs.keyOffsets[i]!, pairs.keyOffsets[i + 1]!);
      let entry = this.state.get(key);
      if (entry === undefined) {
        entry = { value: INITIAL[this.agg], stamp };
        this.state.set(key, entry);
      }
      entry.value = foldValue(this.agg, entry.value, pairs.values[i]!);
      entry.stamp = stamp;
    }
  }

  async read(which: 'all' | 'changed', stamp: number): Promise<PairColumns> {
    const out = new PairColumnsBuilder(this.state.size);
    for (const [key, entry] of this.state) {
      if (which === 'changed' && entry.stamp !== stamp) continue;
      const bytes = Buffer.from(key, 'latin1');
      out.addBytes(bytes, 0, bytes.length, entry.value);
    }
    return out.finish();
  }

  clear(): void {
    this.state.clear();
  }

  close(): void {
    this.state.clear();
  }

  evictBefore(minStamp: number): number {
    let n = 0;
    for (const [key, entry] of this.state) {
      if (entry.stamp < minStamp) {
        this.state.delete(key);
        n++;
      }
    }
    return n;
  }

  snapshot(id: string): OperatorState {
    return { kind: 'blob', id, encoding: 'v8', bytes: serialize([...this.state]) };
  }

  restore(state: OperatorState): void {
    if (state.kind !== 'blob' || state.encoding !== 'v8') throw new SnapshotError(`state ${state.id} is not a v8 blob`);
    this.state.clear();
    for (const [k, v] of deserialize(state.bytes) as Array<[string, { value: number; stamp: number }]>) this.state.set(k, v);
  }
}
