// filter: keeps the records for which predicate(record) is truthy.

import type { PlanNode, NarrowNode } from '../../plan/logical.js';
import { requireFunction } from './arguments.js';

export function filter(parent: PlanNode, predicate: (x: unknown) => unknown): NarrowNode {
  requireFunction('filter(predicate)', 'predicate', predicate);
  return { kind: 'narrow', parent, step: { op: 'filter', fn: predicate } };
}
