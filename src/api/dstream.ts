// DStream and PairDStream: the typed verbs of a streaming job. Each method only delegates to its
// verb in ./verbs/, which builds one plan node; nothing runs until the context starts.

import type { OutputNode, PlanNode } from '../plan/logical.js';
import type { BuiltinAggregation } from '../plan/keyed-state.js';
import type { ForeachBatchFunction } from '../sinks/foreach.js';
import { countByKey } from './verbs/count-by-key.js';
import { filter } from './verbs/filter.js';
import { flatMap } from './verbs/flat-map.js';
import { foreachBatch } from './verbs/foreach-batch.js';
import { keyBy } from './verbs/key-by.js';
import { map } from './verbs/map.js';
import { mapToPair } from './verbs/map-to-pair.js';
import { mapValues } from './verbs/map-values.js';
import { pairs } from './verbs/pairs.js';
import { print, type PrintOptions } from './verbs/print.js';
import { reduceByKey } from './verbs/reduce-by-key.js';
import { saveAsTextFiles, type SaveAsTextFilesOptions } from './verbs/save-as-text-files.js';
import { updateStateByKey, type UpdateStateOptions } from './verbs/update-state-by-key.js';

/** Where a stream's output operations are registered: its StreamingContext. */
export interface OutputRegistry {
  /** @internal */
  addOutput(output: OutputNode): void;
}

/** Fields of T holding strings or numbers: what `pairs` may key by. */
export type KeyField<T> = { [F in keyof T & string]: T[F] extends string | number ? F : never }[keyof T & string];
/** Fields of T holding numbers: what `pairs` may take values from. */
export type NumberField<T> = { [F in keyof T & string]: T[F] extends number ? F : never }[keyof T & string];

/**
 * A stream of records of type T, cut into micro-batches. Transformations return new streams and
 * change nothing; output operations (foreachBatch, saveAsTextFiles, print) register what runs on
 * each batch once the context starts.
 */
export class DStream<out T> {
  /** @internal */
  readonly registry: OutputRegistry;
  /** @internal */
  readonly node: PlanNode;

  /** @internal Streams come from a StreamingContext's sources and from verbs, never from `new`. */
  constructor(registry: OutputRegistry, node: PlanNode) {
    this.registry = registry;
    this.node = node;
  }

  /**
   * A stream of `fn(record)` for each record.
   *
   * @example
   * const lengths = lines.map((line) => line.length); // DStream<number>
   */
  map<U>(fn: (record: T) => U): DStream<U> {
    return new DStream<U>(this.registry, map(this.node, fn as (x: unknown) => unknown));
  }

  /**
   * The records for which `predicate` returns true.
   *
   * @example
   * const errors = lines.filter((line) => line.startsWith('ERROR'));
   */
  filter(predicate: (record: T) => boolean): DStream<T> {
    return new DStream<T>(this.registry, filter(this.node, predicate as (x: unknown) => unknown));
  }

  /**
   * Each record replaced by the zero or more records `fn` returns (an array or any iterable).
   *
   * @example
   * const words = lines.flatMap((line) => line.split(' ')); // DStream<string>
   */
  flatMap<U>(fn: (record: T) => Iterable<U>): DStream<U> {
    return new DStream<U>(this.registry, flatMap(this.node, fn as (x: unknown) => Iterable<unknown>));
  }

  /**
   * Pairs each record with a key: `[fn(record), record]`.
   *
   * @example
   * const byUser = visits.keyBy((v) => v.userId); // PairDStream<number, PageVisit>
   */
  keyBy<K>(fn: (record: T) => K): PairDStream<K, T> {
    return new PairDStream<K, T>(this.registry, keyBy(this.node, fn as (x: unknown) => unknown));
  }

  /**
   * Turns each record into the `[key, value]` pair `fn` returns.
   *
   * @example
   * const counts = words.mapToPair((w) => [w, 1]).reduceByKey('sum');
   */
  mapToPair<K, V>(fn: (record: T) => readonly [K, V]): PairDStream<K, V> {
    return new PairDStream<K, V>(this.registry, mapToPair(this.node, fn as (x: unknown) => readonly [unknown, unknown]));
  }

  /**
   * Pairs of `(record[keyField], record[valueField])` — or `(record[keyField], 1)` without a value
   * field — held as columns: UTF-8 key bytes plus offsets, and f64 values. On a columnar stream
   * (the generator, decoded files) no JS object or string is made per record, and the pairs feed the
   * wasm built-in aggregations directly. Keys are text: a number key becomes String(key).
   *
   * @example
   * // time spent on each page in each batch, with no per-record work in JavaScript
   * const perPage = visits.pairs('page', 'durationMs').reduceByKey('sum');
   * // views of each page
   * const views = visits.pairs('page').reduceByKey('count');
   */
  pairs<R>(this: DStream<R>, keyField: KeyField<R>, valueField?: NumberField<R>): PairDStream<string, number> {
    return new PairDStream<string, number>(this.registry, pairs(this.node, keyField, valueField));
  }

  /**
   * Runs `fn` on each batch's records (in order) and batch time (ms since the epoch). The next
   * batch waits for the promise `fn` returns; a throw or rejection stops the job with that error.
   *
   * @example
   * totals.foreachBatch(async (rows, time) => {
   *   await db.upsert(rows.map(([page, ms]) => ({ page, ms, at: new Date(time) })));
   * });
   */
  foreachBatch(fn: ForeachBatchFunction<T>): void {
    this.registry.addOutput(foreachBatch(this.node, fn as ForeachBatchFunction<unknown>));
  }

  /**
   * Saves each batch as a directory `prefix-<batchTimeMs>.<suffix>` (no `.suffix` when omitted)
   * holding `part-00000`, one line per record, and an empty `_SUCCESS`, as Spark's
   * saveAsTextFiles does. Each directory is written under a temporary name and renamed when
   * complete, so a reader never sees a partial batch. Lines: strings as they are, numbers as
   * String(x), [key, value] pairs as CSV rows (RFC 4180 quoting), other objects as JSON; or
   * `options.format(record)`.
   *
   * @example
   * totals.saveAsTextFiles('out/page-totals', 'csv'); // out/page-totals-1700000001000.csv/part-00000
   */
  saveAsTextFiles(prefix: string, suffix?: string, options: SaveAsTextFilesOptions<T> = {}): void {
    this.registry.addOutput(saveAsTextFiles(this.node, prefix, suffix, options as SaveAsTextFilesOptions<unknown>));
  }

  /**
   * Prints the first `num` records of each batch under a header with the batch time, as Spark's
   * print() does; pairs print as `(key,value)`.
   *
   * @example
   * counts.print(5);
   * // -------------------------------------------
   * // Time: 1700000001000 ms
   * // -------------------------------------------
   * // (/,120)
   * // ...
   */
  print(num = 10, options: PrintOptions = {}): void {
    this.registry.addOutput(print(this.node, num, options));
  }
}

/**
 * A stream of `[key, value]` pairs, with the keyed verbs. Built-in aggregations ('sum', 'count',
 * 'min', 'max') run in the wasm state tables; their keys are strings (a number key becomes
 * String(key), so 1 and '1' are one key). Function aggregations run in JavaScript with the same
 * semantics, keys compared as a Map compares them.
 */
export class PairDStream<K, V> extends DStream<[K, V]> {
  /**
   * The pairs for which `predicate` returns true, still a PairDStream.
   *
   * @example
   * const busy = totals.filter(([, ms]) => ms > 60_000);
   */
  override filter(predicate: (pair: [K, V]) => boolean): PairDStream<K, V> {
    return new PairDStream<K, V>(this.registry, filter(this.node, predicate as (x: unknown) => unknown));
  }

  /**
   * Each pair's value replaced by `fn(value)`, keeping the key.
   *
   * @example
   * const seconds = totals.mapValues((ms) => ms / 1000);
   */
  mapValues<U>(fn: (value: V) => U): PairDStream<K, U> {
    return new PairDStream<K, U>(this.registry, mapValues(this.node, fn as (v: unknown) => unknown));
  }

  /**
   * Per batch, one pair per key with its values combined: by a built-in aggregation, run in wasm —
   * 'sum' (starting from 0), 'min', 'max' of number values, or 'count' of records — or by a
   * function `(a, b) => c` folding the values in arrival order. Each batch starts from nothing;
   * see updateStateByKey for running totals. Pairs come out in no particular order.
   *
   * @example
   * const perBatch = visits.pairs('page', 'durationMs').reduceByKey('sum');
   * const longest = visits.mapToPair((v) => [v.page, v.durationMs]).reduceByKey((a, b) => Math.max(a, b));
   */
  reduceByKey(this: PairDStream<K, number>, reduce: BuiltinAggregation): PairDStream<string, number>;
  reduceByKey(reduce: 'count'): PairDStream<string, number>;
  reduceByKey(reduce: (a: V, b: V) => V): PairDStream<K, V>;
  reduceByKey(reduce: BuiltinAggregation | ((a: V, b: V) => V)): PairDStream<unknown, unknown> {
    return new PairDStream(this.registry, reduceByKey(this.node, reduce as BuiltinAggregation));
  }

  /**
   * Per batch, the number of pairs of each key: `reduceByKey('count')`. Keys are strings.
   *
   * @example
   * const viewsPerPage = visits.keyBy((v) => v.page).countByKey();
   */
  countByKey(): PairDStream<string, number> {
    return new PairDStream<string, number>(this.registry, countByKey(this.node));
  }

  /**
   * Running state per key across batches. With a built-in aggregation (run in wasm) each key's
   * state is that aggregation over every value it ever received: `updateStateByKey('sum')` gives
   * running totals. With a function, as in Spark, after each batch `update(values, state)` is
   * called for every key that has state or received values — `values` holds the key's values of
   * this batch in arrival order (empty when it got none), `state` is undefined for a new key — and
   * its result is the key's new state; returning undefined removes the key.
   *
   * Each batch emits the state of every key (as Spark), or with `{ emit: 'changed' }` only the
   * keys that received values in that batch.
   *
   * @example
   * const totals = perBatch.updateStateByKey('sum');
   * // a session that ends after a batch without visits
   * const active = visits
   *   .mapToPair((v) => [v.userId, 1])
   *   .updateStateByKey((values: number[], seen: number | undefined) =>
   *     values.length === 0 ? undefined : (seen ?? 0) + values.length);
   */
  updateStateByKey(
    this: PairDStream<K, number>,
    update: BuiltinAggregation,
    options?: UpdateStateOptions,
  ): PairDStream<string, number>;
  updateStateByKey(update: 'count', options?: UpdateStateOptions): PairDStream<string, number>;
  updateStateByKey<S>(
    update: (values: V[], state: S | undefined) => S | undefined,
    options?: UpdateStateOptions,
  ): PairDStream<K, S>;
  updateStateByKey(
    update: BuiltinAggregation | ((values: V[], state: unknown) => unknown),
    options: UpdateStateOptions = {},
  ): PairDStream<unknown, unknown> {
    return new PairDStream(
      this.registry,
      updateStateByKey(this.node, update as (values: unknown[], state: unknown) => unknown, options),
    );
  }
}
