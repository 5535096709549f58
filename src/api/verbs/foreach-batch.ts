// foreachBatch: an output that hands each batch's records and time to a function.

import type { OutputNode, PlanNode } from '../../plan/logical.js';
import { ForeachBatchSink, type ForeachBatchFunction } from '../../sinks/foreach.js';
import { requireFunction } from './arguments.js';

export function foreachBatch(parent: PlanNode, fn: ForeachBatchFunction<unknown>): OutputNode {
  requireFunction('foreachBatch(fn)', 'fn', fn);
  return { kind: 'output', parent, sink: new ForeachBatchSink(fn) };
}
