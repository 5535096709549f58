// mapValues: each pair [k, v] becomes [k, fn(v)].

import type { PlanNode, NarrowNode } from '../../plan/logical.js';
import { requireFunction } from './arguments.js';

export function mapValues(parent: PlanNode, fn: (v: unknown) => unknown): NarrowNode {
  requireFunction('mapValues(fn)', 'fn', fn);
  return { kind: 'narrow', parent, step: { op: 'mapValues', fn } };
}
