// How a record becomes text in the text sinks: one line per record.

import { csvField } from '../codec/csv-encode.js';

function scalarText(x: unknown): string {
  if (x === null || x === undefined) return '';
  if (typeof x === 'string') return x;
  if (typeof x === 'object') return JSON.stringify(x);
  return String(x);
}

/**
 * The line saveAsTextFiles writes for a record: a string as it is; a number as String(x), the
 * shortest text that reads back as the same double; an array (a [key, value] pair) as a CSV row
 * with RFC 4180 quoting; any other object as JSON.
 */
export function recordLine(x: unknown): string {
  if (Array.isArray(x)) return x.map((f) => csvField(scalarText(f))).join(',');
  return scalarText(x);
}

/** The text print() shows for a record: as recordLine, but a pair reads `(key,value)` as in Spark. */
export function recordDisplay(x: unknown): string {
  if (Array.isArray(x)) return `(${x.map(scalarText).join(',')})`;
  return scalarText(x);
}
