// A fused narrow stage: map / filter / flatMap / keyBy / mapValues as one pass over a batch.
//
// Each operator wraps the next into a push function, so a record goes through the whole chain
// before the next one starts and no intermediate array is made between operators (the "push"
// form of operator fusion, as in java.util.stream and most query compilers).

import { Batch } from './batch.js';
import type { NarrowOp } from './logical.js';

type Push = (x: unknown) => void;

function wrap(step: NarrowOp, next: Push): Push {
  const fn = step.fn;
  switch (step.op) {
    case 'map':
      return (x) => next(fn(x));
    case 'filter':
      return (x) => {
        if (fn(x)) next(x);
      };
    case 'flatMap':
      return (x) => {
        for (const y of (fn as (x: unknown) => Iterable<unknown>)(x)) next(y);
      };
    case 'keyBy':
      return (x) => next([fn(x), x]);
    case 'mapValues':
      return (x) => {
        const [k, v] = x as [unknown, unknown];
        next([k, fn(v)]);
      };
  }
}

export class NarrowOperator {
  private out: unknown[] = [];
  private readonly head: Push;

  constructor(ops: readonly NarrowOp[]) {
    let next: Push = (x) => {
      this.out.push(x);
    };
    for (let i = ops.length - 1; i >= 0; i--) next = wrap(ops[i]!, next);
    this.head = next;
  }

  run(input: Batch<unknown>): Batch<unknown> {
    this.out = [];
    const rows = input.rows();
    const head = this.head;
    for (let i = 0; i < rows.length; i++) head(rows[i]);
    const out = this.out;
    this.out = [];
    return Batch.ofRows(out);
  }
}
