// reduceByKey: per batch, the values of each key folded into one, by a built-in name or a function.

import type { BuiltinAggregation, PlanNode, ReduceByKeyNode } from '../../plan/logical.js';
import { requireAggregation } from './arguments.js';

export function reduceByKey(
  parent: PlanNode,
  reduce: BuiltinAggregation | ((a: unknown, b: unknown) => unknown),
): ReduceByKeyNode {
  requireAggregation('reduceByKey(reduce)', 'reduce', reduce);
  const verb = typeof reduce === 'string' ? `reduceByKey('${reduce}')` : 'reduceByKey(fn)';
  return { kind: 'reduceByKey', parent, reduce, verb };
}
