// Keyed stages: reduceByKey (per batch) and updateStateByKey (across batches), built-in or JS.
//
// Built-in aggregations ('sum', 'count', 'min', 'max') take the batch as pair columns — UTF-8 key
// bytes and f64 values — and fold them in KeyedAccumulators (the wasm state tables); their keys
// are strings, numbers being turned into text with String(). JS functions group the rows in a Map
// by the key itself (SameValueZero) and fold in input order, so `(a, b) => a + b` gives exactly
// what 'sum' gives for the same input.

import { deserialize, serialize } from 'node:v8';
import { SluiceError } from '../errors.js';
import type { JsonObject, OperatorState } from '../state/checkpoint-store.js';
import { SnapshotError } from '../state/shard-snapshot.js';
import { Batch } from './batch.js';
import { PairColumnsBuilder, type PairColumns } from './columns.js';
import { notClonable } from './structured-clone.js';
import type { BuiltinAggregation, KeyedAccumulators } from './keyed-state.js';
import type { ReduceByKeyNode, UpdateStateByKeyNode } from './logical.js';

/** A keyed stage's operator; it keeps its state between batches. */
export interface KeyedOperator {
  /** Runs one batch; `stamp` (> 0, the batch id) is different for every batch and increases; `time` is the batch time, ms. */
  run(input: Batch<unknown>, stamp: number, time: number): Promise<Batch<unknown>>;
  close(): void;
  /** Whether the operator carries state from batch to batch (updateStateByKey). */
  readonly stateful: boolean;
  /** State carried from batch to batch, as a checkpoint holds it (undefined: the operator keeps none). */
  snapshot(id: string): OperatorState | undefined;
  /** Takes the state of a checkpoint; throws a SnapshotError (ERR_CHECKPOINT) when it does not fit. */
  restore(state: OperatorState): void;
}

/**
 * The batches of a TTL's window: (stamp, batch time) of each batch no older than `ttl`, so the oldest
 * stamp still inside the window is known. Stamps and times both increase, so a key whose stamp is below
 * that one got its last values more than `ttl` before the batch at hand.
 */
class TtlWindow {
  private readonly ttl: number;
  private batches: Array<[number, number]> = [];

  constructor(ttl: number) {
    this.ttl = ttl;
  }

  /** Records batch (stamp, time); returns the lowest stamp a key may have and stay. */
  advance(stamp: number, time: number): number {
    this.batches.push([stamp, time]);
    let drop = 0;
    while (this.batches[drop]![1] < time - this.ttl) drop++;
    if (drop > 0) this.batches = this.batches.slice(drop);
    return this.batches[0]![0];
  }

  toJson(): JsonObject {
    return { ttlWindow: this.batches };
  }

  restore(meta: JsonObject | undefined, id: string): void {
    const w = meta?.ttlWindow;
    const ok = Array.isArray(w) && w.every((e) => Array.isArray(e) && e.length === 2 && e.every((x) => typeof x === 'number'));
    if (!ok) throw new SnapshotError(`state ${id} has no TTL window`);
    this.batches = w as Array<[number, number]>;
  }
}

export type AccumulatorsFactory = (agg: BuiltinAggregation) => KeyedAccumulators;

/** Rows of [key, value] as pair columns, checking what a built-in aggregation needs of them. */
export function encodePairs(rows: readonly unknown[], agg: BuiltinAggregation, verb: string): PairColumns {
  const b = new PairColumnsBuilder(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [k, v] = rows[i] as [unknown, unknown];
    const key = typeof k === 'string' ? k : typeof k === 'number' ? String(k) : undefined;
    if (key === undefined) {
      throw new SluiceError('ERR_USAGE', `${verb}: keys of built-in aggregations must be strings or numbers, got ${k === null ? 'null' : typeof k}`);
    }
    if (agg !== 'count' && typeof v !== 'number') {
      throw new SluiceError('ERR_USAGE', `${verb}: values must be numbers, got ${v === null ? 'null' : typeof v} for key '${key}'`);
    }
    b.addText(key, agg === 'count' ? 0 : (v as number));
  }
  return b.finish();
}

class BuiltinKeyedOperator implements KeyedOperator {
  private readonly state: KeyedAccumulators;
  private readonly agg: BuiltinAggregation;
  private readonly verb: string;
  private readonly perBatch: boolean;
  private readonly emit: 'all' | 'changed';
  private readonly ttl: TtlWindow | undefined;
  readonly stateful: boolean;

  constructor(node: ReduceByKeyNode | UpdateStateByKeyNode, agg: BuiltinAggregation, create: AccumulatorsFactory) {
    this.agg = agg;
    this.stateful = node.kind === 'updateStateByKey';
    this.verb = node.verb;
    this.perBatch = node.kind === 'reduceByKey';
    this.emit = node.kind === 'updateStateByKey' ? node.emit : 'all';
    this.ttl = node.kind === 'updateStateByKey' && node.ttl !== undefined ? new TtlWindow(node.ttl) : undefined;
    this.state = create(agg);
  }

  async run(input: Batch<unknown>, stamp: number, time: number): Promise<Batch<unknown>> {
    const pairs = input.pairs ?? encodePairs(input.rows(), this.agg, this.verb);
    if (this.perBatch) this.state.clear();
    await this.state.add(pairs, stamp);
    if (this.ttl) this.state.evictBefore(this.ttl.advance(stamp, time));
    return Batch.ofPairs(await this.state.read(this.emit, stamp));
  }

  close(): void {
    this.state.close();
  }

  snapshot(id: string): OperatorState | undefined {
    if (!this.stateful) return undefined;
    const state = this.state.snapshot(id);
    return this.ttl ? { ...state, meta: this.ttl.toJson() } : state;
  }

  restore(state: OperatorState): void {
    this.ttl?.restore(state.meta, state.id);
    this.state.restore(state);
  }
}

class ReduceFunctionOperator implements KeyedOperator {
  readonly stateful = false;
  private readonly reduce: (a: unknown, b: unknown) => unknown;

  constructor(reduce: (a: unknown, b: unknown) => unknown) {
    this.reduce = reduce;
  }

  async run(input: Batch<unknown>): Promise<Batch<unknown>> {
    const acc = new Map<unknown, unknown>();
    for (const row of input.rows()) {
      const [k, v] = row as [unknown, unknown];
      acc.set(k, acc.has(k) ? this.reduce(acc.get(k), v) : v);
    }
    return Batch.ofRows([...acc]);
  }

  close(): void {}

  snapshot(): undefined {
    return undefined;
  }

  restore(): void {}
}

/**
 * Spark's updateStateByKey: after each batch, every key that has state or got values is updated
 * with `update(values in input order, previous state)`; keys with state but no values get `[]`.
 * Returning undefined removes the key. Keys are visited in the order their state was created.
 */
class UpdateFunctionOperator implements KeyedOperator {
  readonly stateful = true;
  private readonly update: (values: unknown[], state: unknown) => unknown;
  private readonly emit: 'all' | 'changed';
  private readonly ttl: number | undefined;
  private state = new Map<unknown, unknown>();
  /** With a TTL: each key's last batch time with values. */
  private seen = new Map<unknown, number>();

  constructor(update: (values: unknown[], state: unknown) => unknown, emit: 'all' | 'changed', ttl: number | undefined) {
    this.update = update;
    this.emit = emit;
    this.ttl = ttl;
  }

  async run(input: Batch<unknown>, _stamp: number, time: number): Promise<Batch<unknown>> {
    const groups = new Map<unknown, unknown[]>();
    for (const row of input.rows()) {
      const [k, v] = row as [unknown, unknown];
      const g = groups.get(k);
      if (g) g.push(v);
      else groups.set(k, [v]);
    }
    const changed: [unknown, unknown][] = [];
    const ttl = this.ttl;
    // Deleting the entry being visited is safe in a Map iteration.
    for (const [k, s] of this.state) {
      const values = groups.get(k);
      if (ttl !== undefined && !values && this.seen.get(k)! < time - ttl) {
        // idle longer than the TTL: evicted, not updated, not emitted
        this.state.delete(k);
        this.seen.delete(k);
        continue;
      }
      const next = this.update(values ?? [], s);
      if (next === undefined) {
        this.state.delete(k);
        this.seen.delete(k);
      } else {
        this.state.set(k, next);
      }
      if (values) {
        groups.delete(k);
        if (next !== undefined) {
          changed.push([k, next]);
          if (ttl !== undefined) this.seen.set(k, time);
        }
      }
    }
    for (const [k, values] of groups) {
      const next = this.update(values, undefined);
      if (next === undefined) continue;
      this.state.set(k, next);
      if (ttl !== undefined) this.seen.set(k, time);
      changed.push([k, next]);
    }
    return Batch.ofRows(this.emit === 'changed' ? changed : [...this.state]);
  }

  close(): void {
    this.state.clear();
    this.seen.clear();
  }

  /**
   * The keys and states through node:v8's serializer (the structured clone algorithm): plain values,
   * arrays, Maps, Sets, Dates and typed arrays survive; functions, symbols and class instances (which
   * would come back as plain objects) cannot be checkpointed, and an object key comes back as an equal
   * object, not the same one.
   */
  snapshot(id: string): OperatorState {
    const refuse = (what: string, cause?: unknown): SluiceError =>
      new SluiceError(
        'ERR_CHECKPOINT',
        `updateStateByKey(fn) of ${id.replace('-', ' ')}: the state cannot be checkpointed: ${what}. Keys and states must be values ` +
          'node:v8 serialize gives back as they are: primitives, plain objects, arrays, Maps, Sets, Dates, RegExps, typed arrays ' +
          '(a class instance would come back as a plain object)',
        { cause },
      );
    const where = (bad: { what: string; at: string }): string => (bad.at === '' ? `is ${bad.what}` : `holds ${bad.what} at ${bad.at}`);
    for (const [k, s] of this.state) {
      const key = notClonable(k);
      if (key) throw refuse(`a key ${where(key)}`);
      const state = notClonable(s);
      if (state) throw refuse(`the state of key ${keyText(k)} ${where(state)}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = serialize({ state: [...this.state], seen: [...this.seen] });
    } catch (cause) {
      throw refuse((cause as Error).message, cause);
    }
    return { kind: 'blob', id, encoding: 'v8', bytes };
  }

  restore(state: OperatorState): void {
    if (state.kind !== 'blob' || state.encoding !== 'v8') throw new SnapshotError(`state ${state.id} is not a v8 blob`);
    let value: { state: Array<[unknown, unknown]>; seen: Array<[unknown, number]> };
    try {
      value = deserialize(state.bytes) as typeof value;
      this.state = new Map(value.state);
      this.seen = new Map(value.seen);
    } catch (err) {
      throw new SnapshotError(`state ${state.id} cannot be read: ${(err as Error).message}`);
    }
  }
}

/** A key as an error message shows it. */
function keyText(k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k.length > 60 ? `${k.slice(0, 60)}…` : k);
  if (typeof k === 'object' && k !== null) return `of type ${Array.isArray(k) ? 'array' : (Object.getPrototypeOf(k)?.constructor?.name ?? 'object')}`;
  return String(k);
}

export function createKeyedOperator(node: ReduceByKeyNode | UpdateStateByKeyNode, create: AccumulatorsFactory): KeyedOperator {
  if (node.kind === 'reduceByKey') {
    return typeof node.reduce === 'string'
      ? new BuiltinKeyedOperator(node, node.reduce, create)
      : new ReduceFunctionOperator(node.reduce);
  }
  return typeof node.update === 'string'
    ? new BuiltinKeyedOperator(node, node.update, create)
    : new UpdateFunctionOperator(node.update, node.emit, node.ttl);
}
