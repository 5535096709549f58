// The argument checks the verbs share: a wrong argument throws an OptionError naming the verb.

import { OptionError } from '../../errors.js';
import { BUILTIN_AGGREGATIONS, isBuiltinAggregation } from '../../plan/keyed-state.js';

export function requireFunction(verb: string, name: string, fn: unknown): void {
  if (typeof fn !== 'function') throw new OptionError(name, `${verb}: ${name} must be a function`);
}

/** A built-in aggregation name or a function; anything else names the choices. */
export function requireAggregation(verb: string, name: string, agg: unknown): void {
  if (typeof agg === 'function' || isBuiltinAggregation(agg)) return;
  const names = BUILTIN_AGGREGATIONS.map((a) => `'${a}'`).join(', ');
  throw new OptionError(name, `${verb}: ${name} must be one of ${names} or a function`);
}

export function requireField(verb: string, name: string, field: unknown): void {
  if (typeof field !== 'string' || field === '') throw new OptionError(name, `${verb}: ${name} must be a non-empty field name`);
}
