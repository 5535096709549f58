// print: an output that shows the first records of each batch on the console, as Spark's print().

import { OptionError } from '../../errors.js';
import type { OutputNode, PlanNode } from '../../plan/logical.js';
import { ConsoleSink, type TextOutput } from '../../sinks/console.js';

export interface PrintOptions {
  /** Where to write (default process.stdout). */
  output?: TextOutput;
}

export function print(parent: PlanNode, num = 10, options: PrintOptions = {}): OutputNode {
  if (!Number.isSafeInteger(num) || num < 0) throw new OptionError('num', 'print(num): num must be an integer >= 0');
  if (options.output !== undefined && typeof options.output?.write !== 'function') {
    throw new OptionError('output', 'print(num, options): options.output must have a write(text) method');
  }
  return { kind: 'output', parent, sink: new ConsoleSink(num, options.output) };
}
