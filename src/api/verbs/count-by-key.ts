// countByKey: per batch, the number of records of each key (the built-in 'count').

import type { PlanNode, ReduceByKeyNode } from '../../plan/logical.js';

export function countByKey(parent: PlanNode): ReduceByKeyNode {
  return { kind: 'reduceByKey', parent, reduce: 'count', verb: 'countByKey()' };
}
