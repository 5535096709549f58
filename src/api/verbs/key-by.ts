// keyBy: each record becomes the pair [fn(record), record].

import type { PlanNode, NarrowNode } from '../../plan/logical.js';
import { requireFunction } from './arguments.js';

export function keyBy(parent: PlanNode, fn: (x: unknown) => unknown): NarrowNode {
  requireFunction('keyBy(fn)', 'fn', fn);
  return { kind: 'narrow', parent, step: { op: 'keyBy', fn } };
}
