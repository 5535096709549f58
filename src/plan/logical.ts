// The logical plan: the DAG of plan nodes that the verbs build, from sources to outputs.
//
// Nodes are immutable and point at their parent; a verb makes one node and changes nothing else,
// so a stream can be branched (two verbs on one node) freely. The physical planner
// (physical.ts) turns the nodes reachable from the outputs into stages.

import type { Sink } from '../sinks/sink.js';
import type { Source } from '../sources/source.js';
import type { BuiltinAggregation } from './keyed-state.js';

export type { BuiltinAggregation } from './keyed-state.js';

/** A record-at-a-time operator: the ones that fuse into one pass over a batch. */
export type NarrowOp =
  | { readonly op: 'map'; readonly fn: (x: unknown) => unknown }
  | { readonly op: 'filter'; readonly fn: (x: unknown) => unknown }
  | { readonly op: 'flatMap'; readonly fn: (x: unknown) => Iterable<unknown> }
  /** x -> [fn(x), x] */
  | { readonly op: 'keyBy'; readonly fn: (x: unknown) => unknown }
  /** [k, v] -> [k, fn(v)] */
  | { readonly op: 'mapValues'; readonly fn: (v: unknown) => unknown };

export interface SourceNode {
  readonly kind: 'source';
  readonly source: Source<unknown>;
}

export interface NarrowNode {
  readonly kind: 'narrow';
  readonly parent: PlanNode;
  readonly step: NarrowOp;
}

/** Projects two fields of each record into pair columns: (String(record[keyField]), record[valueField] or 1). */
export interface PairsNode {
  readonly kind: 'pairs';
  readonly parent: PlanNode;
  readonly keyField: string;
  readonly valueField: string | undefined;
}

/** Per batch: the values of each key folded into one. */
export interface ReduceByKeyNode {
  readonly kind: 'reduceByKey';
  readonly parent: PlanNode;
  readonly reduce: BuiltinAggregation | ((a: unknown, b: unknown) => unknown);
  /** The verb as the user wrote it, for error messages: `reduceByKey('sum')`, `countByKey()`. */
  readonly verb: string;
}

/** Across batches: each key's state, updated by the batch's values for that key. */
export interface UpdateStateByKeyNode {
  readonly kind: 'updateStateByKey';
  readonly parent: PlanNode;
  readonly update: BuiltinAggregation | ((values: unknown[], state: unknown) => unknown);
  /** `all`: every key's state after each batch (as Spark); `changed`: only keys that got values in it. */
  readonly emit: 'all' | 'changed';
  readonly verb: string;
  /** Milliseconds of batch time a key may go without values before it is evicted; undefined: never. */
  readonly ttl: number | undefined;
}

export interface OutputNode {
  readonly kind: 'output';
  readonly parent: PlanNode;
  readonly sink: Sink<unknown>;
}

export type PlanNode = SourceNode | NarrowNode | PairsNode | ReduceByKeyNode | UpdateStateByKeyNode;
