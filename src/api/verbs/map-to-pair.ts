// mapToPair: each record becomes the [key, value] pair fn(record) returns.

import type { PlanNode, NarrowNode } from '../../plan/logical.js';
import { requireFunction } from './arguments.js';

export function mapToPair(parent: PlanNode, fn: (x: unknown) => readonly [unknown, unknown]): NarrowNode {
  requireFunction('mapToPair(fn)', 'fn', fn);
  return { kind: 'narrow', parent, step: { op: 'map', fn } };
}
