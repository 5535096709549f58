// The reason message of a bad record: says what was wrong and where, naming the CSV column or the JSON field.
//
// The kernels report only a BadReason code and the record's bytes; the words are made here, in JS, once
// per bad record (bad records are rare, and the hot path makes no strings). Positions are 1-based byte
// offsets within the record ("at byte 5", "at column 5"); CSV columns are named by their 0-based index, as
// `--key` and `--value` take them, and by their header name when there is one.

import { readCsvRecord } from './csv-header.js';
import { fieldPathSteps } from './field-path.js';

export type BadRecordContext =
  | { format: 'csv'; keyColumn: number | null; valueColumn: number; delimiter: number; columnNames?: readonly string[] | undefined }
  | { format: 'jsonl'; keyPath: string | null; valuePath: string | undefined; maxDepth: number };

const utf8 = new TextDecoder('utf-8', { fatal: false });
/** The decimal grammar of a value (assembly/kernels/number.ts). */
const DECIMAL_LITERAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_SHOWN = 40;

/** A value shown inside a message: JSON-quoted (so control characters are visible) and shortened. */
function shown(text: string): string {
  return JSON.stringify(text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text);
}

/** Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + len > b.length) return i;
    const c1 = b[i + 1]!;
    if (c1 < lo || c1 > hi) return i;
    for (let k = 2; k < len; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    i += len;
  }
  return -1;
}

function csvColumn(ctx: { columnNames?: readonly string[] | undefined }, col: number): string {
  const name = ctx.columnNames?.[col];
  return name === undefined ? `column ${col}` : `column ${col} (${JSON.stringify(name)})`;
}

function describeCsv(ctx: Extract<BadRecordContext, { format: 'csv' }>, code: string, raw: Uint8Array): string {
  if (code === 'BadUtf8') return `invalid UTF-8 at byte ${firstInvalidUtf8(raw) + 1} of the record`;
  const rec = readCsvRecord(raw, 0, ctx.delimiter, true)!;
  const columns = `the record has ${rec.fields.length} column${rec.fields.length === 1 ? '' : 's'}`;
  switch (code) {
    case 'BadQuote':
      return `text after the closing quote of ${csvColumn(ctx, rec.quoteError?.column ?? 0)}`;
    case 'UnterminatedQuote':
      return `the quoted field in ${csvColumn(ctx, rec.quoteError?.column ?? 0)} is not closed before the end of the input`;
    case 'MissingKey':
      return `${csvColumn(ctx, ctx.keyColumn ?? -1)} is missing (${columns})`;
    case 'MissingValue':
      return `${csvColumn(ctx, ctx.valueColumn)} is missing (${columns})`;
    case 'EmptyValue':
      return `the value in ${csvColumn(ctx, ctx.valueColumn)} is empty`;
    case 'BadNumber': {
      const text = utf8.decode(rec.fields[ctx.valueColumn] ?? new Uint8Array());
      return `value ${shown(text)} in ${csvColumn(ctx, ctx.valueColumn)} is not a decimal number`;
    }
    default:
      return `bad record (${code})`;
  }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  return 'a boolean';
}

/** The value at a dotted path of parsed JSON, or undefined when a step is missing or not an object. */
function atPath(top: unknown, path: string): unknown {
  let v = top;
  for (const step of fieldPathSteps(path)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, step)) return undefined;
    v = (v as Record<string, unknown>)[step];
  }
  return v;
}

function describeJsonl(ctx: Extract<BadRecordContext, { format: 'jsonl' }>, code: string, raw: Uint8Array): string {
  const key = JSON.stringify(ctx.keyPath);
  const value = JSON.stringify(ctx.valuePath ?? '');
  switch (code) {
    case 'BadUtf8': {
      const at = firstInvalidUtf8(raw);
      if (at >= 0) return `invalid UTF-8 at byte ${at + 1} of the line`;
      return `field ${key} holds an unpaired surrogate escape (\\uD800-\\uDFFF), which has no UTF-8 form`;
    }
    case 'BadJson': {
      const err = jsonSyntaxError(raw);
      return err ? `invalid JSON: ${err.what} at column ${err.at + 1}` : 'invalid JSON';
    }
    case 'TooDeep':
      return `JSON nested deeper than ${ctx.maxDepth} levels`;
    case 'NotObject':
      return `the line is ${jsonType(JSON.parse(utf8.decode(raw)))}, not a JSON object`;
    case 'MissingKey':
      return `field ${key} is missing`;
    case 'MissingValue':
      return `field ${value} is missing`;
    case 'BadKeyType': {
      const v = atPath(JSON.parse(utf8.decode(raw)), ctx.keyPath ?? '');
      return `field ${key} is ${jsonType(v)}: a key must be a string, a number or a boolean`;
    }
    case 'BadNumber': {
      const v = atPath(JSON.parse(utf8.decode(raw)), ctx.valuePath ?? '');
      const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
      const shortened = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
      // a string that decodes to a decimal literal was refused for its escapes: the kernel reads the raw text
      if (typeof v === 'string' && DECIMAL_LITERAL.test(v)) {
        return `field ${value} is not a decimal number: ${shortened} is written with escapes; write a number in a string without them`;
      }
      return `field ${value} is not a decimal number: ${shortened}`;
    }
    default:
      return `bad record (${code})`;
  }
}

/** The message of a bad record with reason `code` (a BadReason name) and raw bytes `raw`. */
export function describeBadRecord(ctx: BadRecordContext, code: string, raw: Uint8Array): string {
  return ctx.format === 'csv' ? describeCsv(ctx, code, raw) : describeJsonl(ctx, code, raw);
}

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));

/**
 * The first syntax error of one JSON text (RFC 8259) and its byte offset, or undefined when it is valid.
 * An explicit stack, never recursion, so no line can overflow the JS stack.
 */
export function jsonSyntaxError(b: Uint8Array): { what: string; at: number } | undefined {
  const n = b.length;
  const stack: number[] = [];
  let i = 0;
  let state: 'value' | 'firstMember' | 'member' | 'colon' | 'after' = 'value';
  const ch = (c: number): string => (c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16)}`);
  const string = (): string | undefined => {
    i++;
    for (;;) {
      if (i >= n) return 'unterminated string';
      const c = b[i]!;
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return 'unescaped control character in a string';
      if (c === 0x5c) {
        const e = b[i + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            if (!isHex(b[i + k])) return 'bad \\u escape in a string';
          }
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(String.fromCharCode(e))) return 'bad escape in a string';
        i += 2;
        continue;
      }
      i++;
    }
  };
  const number = (): string | undefined => {
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++;
    else if (isDigit(b[i])) while (isDigit(b[i])) i++;
    else return 'bad number';
    if (b[i] === 0x2e) {
      i++;
      if (!isDigit(b[i])) return 'bad number: no digit after the decimal point';
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit(b[i])) return 'bad number: no digit in the exponent';
      while (isDigit(b[i])) i++;
    }
    return undefined;
  };
  for (;;) {
    while (isWs(b[i])) i++;
    const c = b[i];
    if (state === 'value') {
      if (c === undefined) return { what: 'the line ends where a value is expected', at: i };
      if (c === 0x7b) {
        stack.push(0x7d);
        i++;
        state = 'firstMember';
      } else if (c === 0x5b) {
        stack.push(0x5d);
        i++;
        while (isWs(b[i])) i++;
        if (b[i] === 0x5d) {
          stack.pop();
          i++;
          state = 'after';
        }
      } else if (c === 0x22) {
        const err = string();
        if (err) return { what: err, at: i };
        state = 'after';
      } else if (c === 0x2d || isDigit(c)) {
        const err = number();
        if (err) return { what: err, at: i };
        state = 'after';
      } else {
        const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : c === 0x6e ? 'null' : '';
        let k = 0;
        while (k < word.length && b[i + k] === word.charCodeAt(k)) k++;
        if (word === '' || k < word.length) return { what: `unexpected ${ch(b[i + k] ?? c)}, expected a value`, at: i + k };
        i += k;
        state = 'after';
      }
    } else if (state === 'firstMember' || state === 'member') {
      if (state === 'firstMember' && c === 0x7d) {
        stack.pop();
        i++;
        state = 'after';
      } else if (c === 0x22) {
        const err = string();
        if (err) return { what: err, at: i };
        state = 'colon';
      } else {
        return { what: c === undefined ? 'the line ends inside an object' : `unexpected ${ch(c)}, expected a member name in double quotes`, at: i };
      }
    } else if (state === 'colon') {
      if (c !== 0x3a) return { what: `expected ':' after a member name`, at: i };
      i++;
      state = 'value';
    } else {
      const close = stack[stack.length - 1];
      if (close === undefined) return c === undefined ? undefined : { what: `unexpected ${ch(c)} after the JSON value`, at: i };
      if (c === 0x2c) {
        i++;
        state = close === 0x7d ? 'member' : 'value';
      } else if (c === close) {
        stack.pop();
        i++;
      } else {
        const what = `expected ',' or '${String.fromCharCode(close)}'`;
        return { what: c === undefined ? `the line ends, ${what}` : `unexpected ${ch(c)}, ${what}`, at: i };
      }
    }
  }
}
