// Keyed stages: reduceByKey (per batch) and updateStateByKey (across batches), built-in or JS.
//
// Built-in aggregations ('sum', 'count', 'min', 'max') take the batch as pair columns — UTF-8 key
// bytes and f64 values — and fold them in KeyedAccumulators (the wasm state tables); their keys
// are strings, numbers being turned into text with String(). JS functions group the rows in a Map
// by the key itself (SameValueZero) and fold in input order, so `(a, b) => a + b` gives exactly
// what 'sum' gives for the same input.

import { SluiceError } from '../errors.js';
import { Batch } from './batch.js';
import { PairColumnsBuilder, type PairColumns } from './columns.js';
import type { BuiltinAggregation, KeyedAccumulators } from './keyed-state.js';
import type { ReduceByKeyNode, UpdateStateByKeyNode } from './logical.js';

/** A keyed stage's operator; it keeps its state between batches. */
export interface KeyedOperator {
  /** Runs one batch; `stamp` (> 0) is different for every batch and increases. */
  run(input: Batch<unknown>, stamp: number): Promise<Batch<unknown>>;
  close(): void;
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

  constructor(node: ReduceByKeyNode | UpdateStateByKeyNode, agg: BuiltinAggregation, create: AccumulatorsFactory) {
    this.agg = agg;
    this.verb = node.verb;
    this.perBatch = node.kind === 'reduceByKey';
    this.emit = node.kind === 'updateStateByKey' ? node.emit : 'all';
    this.state = create(agg);
  }

  async run(input: Batch<unknown>, stamp: number): Promise<Batch<unknown>> {
    const pairs = input.pairs ?? encodePairs(input.rows(), this.agg, this.verb);
    if (this.perBatch) this.state.clear();
    await this.state.add(pairs, stamp);
    return Batch.ofPairs(await this.state.read(this.emit, stamp));
  }

  close(): void {
    this.state.close();
  }
}

class ReduceFunctionOperator implements KeyedOperator {
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
}

/**
 * Spark's updateStateByKey: after each batch, every key that has state or got values is updated
 * with `update(values in input order, previous state)`; keys with state but no values get `[]`.
 * Returning undefined removes the key. Keys are visited in the order their state was created.
 */
class UpdateFunctionOperator implements KeyedOperator {
  private readonly update: (values: unknown[], state: unknown) => unknown;
  private readonly emit: 'all' | 'changed';
  private readonly state = new Map<unknown, unknown>();

  constructor(update: (values: unknown[], state: unknown) => unknown, emit: 'all' | 'changed') {
    this.update = update;
    this.emit = emit;
  }

  async run(input: Batch<unknown>): Promise<Batch<unknown>> {
    const groups = new Map<unknown, unknown[]>();
    for (const row of input.rows()) {
      const [k, v] = row as [unknown, unknown];
      const g = groups.get(k);
      if (g) g.push(v);
      else groups.set(k, [v]);
    }
    const changed: [unknown, unknown][] = [];
    // Deleting the entry being visited is safe in a Map iteration.
    for (const [k, s] of this.state) {
      const values = groups.get(k);
      const next = this.update(values ?? [], s);
      if (next === undefined) this.state.delete(k);
      else this.state.set(k, next);
      if (values) {
        groups.delete(k);
        if (next !== undefined) changed.push([k, next]);
      }
    }
    for (const [k, values] of groups) {
      const next = this.update(values, undefined);
      if (next === undefined) continue;
      this.state.set(k, next);
      changed.push([k, next]);
    }
    return Batch.ofRows(this.emit === 'changed' ? changed : [...this.state]);
  }

  close(): void {
    this.state.clear();
  }
}

export function createKeyedOperator(node: ReduceByKeyNode | UpdateStateByKeyNode, create: AccumulatorsFactory): KeyedOperator {
  if (node.kind === 'reduceByKey') {
    return typeof node.reduce === 'string'
      ? new BuiltinKeyedOperator(node, node.reduce, create)
      : new ReduceFunctionOperator(node.reduce);
  }
  return typeof node.update === 'string'
    ? new BuiltinKeyedOperator(node, node.update, create)
    : new UpdateFunctionOperator(node.update, node.emit);
}
