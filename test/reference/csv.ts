// Plain TypeScript reference of csv_decode: the same contract, written for clarity rather than speed.
//
// A record-at-a-time RFC 4180 reader over the bytes, then the checks in the contract's order: quoting
// (BadQuote / UnterminatedQuote, the first one met), invalid UTF-8 (TextDecoder fatal), MissingKey (unless
// there is no key column: then every key is empty),
// MissingValue, EmptyValue, BadNumber (a regex for the decimal grammar, then Number()).

import { BadReason } from '../../src/wasm/abi.js';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** The decimal literal grammar of the CLI contract. */
export const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface RefCsvOptions {
  /** null: the records have no key field, every key is empty. */
  keyColumn: number | null;
  /** -1: no value column. */
  valueColumn: number;
  delimiter?: number;
  /** false: stop before a last record that more input could extend. */
  final?: boolean;
  firstLine?: number;
}

export interface RefRecord {
  key: Uint8Array;
  value: number;
}

export interface RefError {
  line: number;
  reason: number;
  /** raw record bytes [start, end), terminator excluded */
  start: number;
  end: number;
}

export interface RefResult {
  records: RefRecord[];
  errors: RefError[];
  /** bytes of whole records (and blank lines) decoded */
  consumed: number;
  /** LFs in those bytes */
  lines: number;
}

interface Field {
  bytes: number[];
  escaped: boolean;
}

interface Rec {
  fields: Field[];
  end: number;
  next: number;
  newlines: number;
  quoteReason: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(b: Uint8Array): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Reads the record at `i`; undefined when it is not complete and the input is not final. */
function readRecord(b: Uint8Array, i: number, delim: number, final: boolean): Rec | undefined {
  const n = b.length;
  const fields: Field[] = [];
  let newlines = 0;
  let quoteReason = 0;
  for (;;) {
    const field: Field = { bytes: [], escaped: false };
    fields.push(field);
    let rawFrom = i; // where unquoted bytes of this field start
    if (b[i] === QUOTE) {
      i++;
      for (;;) {
        if (i >= n) {
          if (!final) return undefined;
          if (quoteReason === 0) quoteReason = BadReason.UnterminatedQuote;
          return { fields, end: n, next: n, newlines, quoteReason };
        }
        if (b[i] === QUOTE) {
          if (i + 1 >= n) {
            if (!final) return undefined;
            return { fields, end: n, next: n, newlines, quoteReason };
          }
          if (b[i + 1] === QUOTE) {
            field.bytes.push(QUOTE);
            field.escaped = true;
            i += 2;
            continue;
          }
          i++; // closing quote
          break;
        }
        if (b[i] === LF) newlines++;
        field.bytes.push(b[i]!);
        i++;
      }
      if (b[i] === delim) {
        i++;
        continue;
      }
      if (b[i] === LF) return { fields, end: i, next: i + 1, newlines: newlines + 1, quoteReason };
      if (b[i] === CR && i + 1 >= n) {
        if (!final) return undefined;
        return { fields, end: i, next: n, newlines, quoteReason };
      }
      if (b[i] === CR && b[i + 1] === LF) return { fields, end: i, next: i + 2, newlines: newlines + 1, quoteReason };
      if (quoteReason === 0) quoteReason = BadReason.BadQuote;
      rawFrom = i;
    }
    while (i < n && b[i] !== delim && b[i] !== LF) {
      field.bytes.push(b[i]!);
      i++;
    }
    if (i < n && b[i] === delim) {
      i++;
      continue;
    }
    if (i >= n && !final) return undefined;
    // the record ends here: a CR right before LF (or before the end of the input) is the terminator
    let end = i;
    if (end > rawFrom && b[end - 1] === CR) {
      end--;
      field.bytes.pop();
    }
    return { fields, end, next: i < n ? i + 1 : n, newlines: newlines + (i < n ? 1 : 0), quoteReason };
  }
}

/** Decodes `input` per the csv_decode contract. */
export function decodeCsvReference(input: Uint8Array, o: RefCsvOptions): RefResult {
  const delim = o.delimiter ?? 0x2c;
  const final = o.final ?? true;
  const firstLine = o.firstLine ?? 1;
  const records: RefRecord[] = [];
  const errors: RefError[] = [];
  let pos = 0;
  let lines = 0;
  while (pos < input.length) {
    const rec = readRecord(input, pos, delim, final);
    if (rec === undefined) break;
    const start = pos;
    const line = firstLine + lines;
    pos = rec.next;
    lines += rec.newlines;
    if (rec.end === start) continue; // blank line
    let reason = rec.quoteReason;
    if (reason === 0 && !validUtf8(input.subarray(start, rec.end))) reason = BadReason.BadUtf8;
    if (reason === 0 && o.keyColumn !== null && rec.fields.length <= o.keyColumn) reason = BadReason.MissingKey;
    let value = 0;
    if (reason === 0 && o.valueColumn >= 0) {
      const f = rec.fields[o.valueColumn];
      const text = f === undefined ? '' : String.fromCharCode(...f.bytes);
      if (f === undefined) reason = BadReason.MissingValue;
      else if (f.bytes.length === 0) reason = BadReason.EmptyValue;
      else if (f.escaped || !DECIMAL.test(text)) reason = BadReason.BadNumber;
      else value = Number(text);
    }
    if (reason !== 0) errors.push({ line, reason, start, end: rec.end });
    else records.push({ key: o.keyColumn === null ? new Uint8Array(0) : Uint8Array.from(rec.fields[o.keyColumn]!.bytes), value });
  }
  return { records, errors, consumed: pos, lines };
}
