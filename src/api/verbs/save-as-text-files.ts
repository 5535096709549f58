// saveAsTextFiles: an output that writes each batch to `prefix-<batchTimeMs>.<suffix>/part-00000`.

import { OptionError } from '../../errors.js';
import type { OutputNode, PlanNode } from '../../plan/logical.js';
import { TextFilesSink, type LineFormatter } from '../../sinks/text-files.js';

export interface SaveAsTextFilesOptions<T> {
  /** The line of a record (default: strings as they are, pairs as CSV rows, objects as JSON). */
  format?: LineFormatter<T>;
}

export function saveAsTextFiles(
  parent: PlanNode,
  prefix: string,
  suffix?: string,
  options: SaveAsTextFilesOptions<unknown> = {},
): OutputNode {
  const verb = 'saveAsTextFiles(prefix, suffix)';
  if (typeof prefix !== 'string' || prefix === '') throw new OptionError('prefix', `${verb}: prefix must be a non-empty string`);
  if (suffix !== undefined && (typeof suffix !== 'string' || /[/\\]/.test(suffix))) {
    throw new OptionError('suffix', `${verb}: suffix must be a string without path separators`);
  }
  if (options.format !== undefined && typeof options.format !== 'function') {
    throw new OptionError('format', `${verb}: options.format must be a function`);
  }
  return { kind: 'output', parent, sink: new TextFilesSink(prefix, suffix, options.format) };
}
