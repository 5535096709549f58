// updateStateByKey: across batches, each key's state updated by the batch's values for that key.

import { OptionError } from '../../errors.js';
import type { BuiltinAggregation, PlanNode, UpdateStateByKeyNode } from '../../plan/logical.js';
import { requireAggregation } from './arguments.js';

export interface UpdateStateOptions {
  /**
   * `all` (default, as Spark): every batch emits the state of every key. `changed`: only the keys
   * that received values in that batch (and still have state).
   */
  emit?: 'all' | 'changed';
}

export function updateStateByKey(
  parent: PlanNode,
  update: BuiltinAggregation | ((values: unknown[], state: unknown) => unknown),
  options: UpdateStateOptions = {},
): UpdateStateByKeyNode {
  requireAggregation('updateStateByKey(update)', 'update', update);
  const emit = options.emit ?? 'all';
  if (emit !== 'all' && emit !== 'changed') {
    throw new OptionError('emit', "updateStateByKey(update, options): options.emit must be 'all' or 'changed'");
  }
  const verb = typeof update === 'string' ? `updateStateByKey('${update}')` : 'updateStateByKey(fn)';
  return { kind: 'updateStateByKey', parent, update, emit, verb };
}
