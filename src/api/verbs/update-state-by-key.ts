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
  /**
   * Milliseconds of batch time a key may go without values before its state is dropped: at a batch
   * whose time is more than `ttl` after the last batch that gave the key values, the key leaves the
   * state and is not emitted (a function is not called for it). Default: keys live forever. The idle
   * times are checkpointed, so an evicted key stays evicted after a restore.
   */
  ttl?: number;
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
  const ttl = options.ttl;
  if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
    throw new OptionError('ttl', 'updateStateByKey(update, options): options.ttl must be a positive number of milliseconds');
  }
  const verb = typeof update === 'string' ? `updateStateByKey('${update}')` : 'updateStateByKey(fn)';
  return { kind: 'updateStateByKey', parent, update, emit, verb, ttl };
}
