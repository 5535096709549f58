// flatMap: each record becomes the zero or more records fn(record) yields.

import type { PlanNode, NarrowNode } from '../../plan/logical.js';
import { requireFunction } from './arguments.js';

export function flatMap(parent: PlanNode, fn: (x: unknown) => Iterable<unknown>): NarrowNode {
  requireFunction('flatMap(fn)', 'fn', fn);
  return { kind: 'narrow', parent, step: { op: 'flatMap', fn } };
}
