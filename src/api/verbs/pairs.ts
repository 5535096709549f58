// pairs: each record becomes the pair (String(record[keyField]), record[valueField] or 1), as columns.

import type { PairsNode, PlanNode } from '../../plan/logical.js';
import { requireField } from './arguments.js';

export function pairs(parent: PlanNode, keyField: string, valueField?: string): PairsNode {
  requireField('pairs(keyField, valueField)', 'keyField', keyField);
  if (valueField !== undefined) requireField('pairs(keyField, valueField)', 'valueField', valueField);
  return { kind: 'pairs', parent, keyField, valueField };
}
