// map: each record becomes fn(record).

import type { PlanNode, NarrowNode } from '../../plan/logical.js';
import { requireFunction } from './arguments.js';

export function map(parent: PlanNode, fn: (x: unknown) => unknown): NarrowNode {
  requireFunction('map(fn)', 'fn', fn);
  return { kind: 'narrow', parent, step: { op: 'map', fn } };
}
