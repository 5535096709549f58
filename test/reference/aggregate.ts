// Plain TypeScript reference of `sluice aggregate`: input bytes + options -> the result a user must see.
//
//   input bytes ─► (a BOM at the start dropped) ─► (--header: the first non-blank record names the columns)
//               ─► decodeCsvReference / decodeJsonlReference   (records + bad records, in input order)
//               ─► error policy: fail -> the first bad record; skip / dead-letter -> all of them
//               ─► groupBy (a Map, values folded left to right)  ─► rows: key -> String(x) per --agg
//
// The CLI's output is read back with parseCsvOutput (RFC 4180) into the same shape, so a test compares
// two Maps: rows may come in any order, the header must be exact.

import { BadReason } from '../../src/wasm/abi.js';
import { decodeCsvReference, type RefResult } from './csv.js';
import { decodeJsonlReference } from './jsonl.js';
import { bytesKey, groupBy } from './group-by.js';

export type RefAgg = 'count' | 'sum' | 'min' | 'max' | 'avg';
export type RefReasonName = keyof typeof BadReason;

export interface RefAggregateOptions {
  format: 'csv' | 'jsonl';
  header?: boolean;
  /** csv: 0-based index, or a header name with `header`; jsonl: dotted path. */
  key: string;
  value?: string | undefined;
  aggs: readonly RefAgg[];
  onError: 'fail' | 'skip' | 'dead-letter';
}

/** One bad record as the dead-letter file shows it (the reason as its BadReason name). */
export interface RefBadRecord {
  line: number;
  code: RefReasonName;
  raw: Uint8Array;
}

export type RefAggregateResult =
  | { ok: false; bad: RefBadRecord }
  | {
      ok: true;
      /** `key,<aggs>` */
      header: string;
      /** decoded key -> the number texts of the row, in --agg order */
      rows: Map<string, string[]>;
      /** bad records under skip / dead-letter, in input order */
      bad: RefBadRecord[];
    };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const CODE_NAMES = new Map<number, RefReasonName>(Object.entries(BadReason).map(([k, v]) => [v, k as RefReasonName]));

/** The header record's column names and the bytes it takes (blank lines before it included). */
function csvHeader(input: Uint8Array): { names: string[]; consumed: number; lines: number } {
  let pos = 0;
  let lines = 0;
  for (;;) {
    const nl = input.indexOf(0x0a, pos);
    const end = nl < 0 ? input.length : nl;
    const blank = end === pos || (end === pos + 1 && input[pos] === 0x0d);
    if (!blank) break;
    if (nl < 0) throw new Error('reference: no header line');
    pos = nl + 1;
    lines++;
  }
  // the header ends at the first LF outside quotes ("" toggles twice, so parity is enough)
  let end = pos;
  let quoted = false;
  while (end < input.length && (quoted || input[end] !== 0x0a)) {
    if (input[end] === 0x22) quoted = !quoted;
    end++;
  }
  const slice = input.subarray(pos, end);
  const names = readRecord(utf8.decode(slice.at(-1) === 0x0d ? slice.subarray(0, -1) : slice), 0).fields;
  const newlines = slice.reduce((n, c) => n + (c === 0x0a ? 1 : 0), 0) + (end < input.length ? 1 : 0);
  return { names, consumed: Math.min(end + 1, input.length), lines: lines + newlines };
}

function column(spec: string, names: string[] | undefined): number {
  if (!names) return Number(spec);
  const i = names.indexOf(spec);
  if (i >= 0) return i;
  if (/^\d+$/.test(spec) && Number(spec) < names.length) return Number(spec);
  throw new Error(`reference: no column ${spec}`);
}

function decode(input: Uint8Array, o: RefAggregateOptions): { result: RefResult; body: Uint8Array } {
  if (o.format === 'jsonl') {
    return { result: decodeJsonlReference(input, { keyPath: o.key, valuePath: o.value, maxDepth: 1024 }), body: input };
  }
  let names: string[] | undefined;
  let firstLine = 1;
  let body = input;
  if (o.header) {
    const h = csvHeader(input);
    names = h.names;
    firstLine = 1 + h.lines;
    body = input.subarray(h.consumed);
  }
  const result = decodeCsvReference(body, {
    keyColumn: column(o.key, names),
    valueColumn: o.value === undefined ? -1 : column(o.value, names),
    firstLine,
  });
  return { result, body };
}

/** Computes what `sluice aggregate` must produce for `input` under `o`. */
export function aggregateReference(raw: Uint8Array, o: RefAggregateOptions): RefAggregateResult {
  // a byte order mark at the very start is an encoding signature, not data
  const input = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? raw.subarray(3) : raw;
  const { result, body } = decode(input, o);
  const bad = result.errors.map((e) => ({ line: e.line, code: CODE_NAMES.get(e.reason)!, raw: body.slice(e.start, e.end) }));
  if (o.onError === 'fail' && bad.length > 0) return { ok: false, bad: bad[0]! };
  const { records } = result;
  const groups = groupBy(
    records.length,
    (i) => bytesKey(records[i]!.key),
    records.map((r) => r.value),
  );
  const rows = new Map<string, string[]>();
  for (const [latinKey, g] of groups) {
    const key = utf8.decode(Buffer.from(latinKey, 'latin1'));
    rows.set(
      key,
      o.aggs.map((a) => String(a === 'count' ? g.count : a === 'sum' ? g.sum : a === 'min' ? g.min : a === 'max' ? g.max : g.sum / g.count)),
    );
  }
  return { ok: true, header: `key,${o.aggs.join(',')}`, rows, bad };
}

/** Reads one RFC 4180 record of `text` at `pos`: its fields and the index after its LF or CRLF. */
export function readRecord(text: string, pos: number): { fields: string[]; next: number } {
  const fields: string[] = [];
  let i = pos;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error(`RFC 4180: unterminated quoted field at ${pos}`);
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      const c = text[i];
      if (c !== undefined && c !== ',' && c !== '\n' && !(c === '\r' && text[i + 1] === '\n')) {
        throw new Error(`RFC 4180: text after a closing quote at ${i}`);
      }
    } else {
      UNQUOTED_END.lastIndex = i;
      const end = UNQUOTED_END.exec(text)?.index ?? text.length;
      field = text.slice(i, end);
      i = end;
      if (field.includes('"')) throw new Error(`RFC 4180: a quote inside an unquoted field at ${i}`);
      if (field.endsWith('\r') && text[i] !== ',') field = field.slice(0, -1);
      if (field.includes('\r')) throw new Error(`RFC 4180: a bare CR in an unquoted field at ${i}`);
    }
    fields.push(field);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r') i++;
    return { fields, next: i < text.length ? i + 1 : i };
  }
}

const UNQUOTED_END = /[,\n]/g;

/**
 * Parses the CLI's CSV output strictly (RFC 4180; every record ends with LF): the header line and
 * key -> remaining fields. Throws on malformed quoting, a ragged row or a key that appears twice.
 */
export function parseCsvOutput(text: string): { header: string; rows: Map<string, string[]> } {
  const nl = text.indexOf('\n');
  if (nl < 0) throw new Error('output has no header line');
  const header = text.slice(0, nl);
  const width = header.split(',').length;
  const rows = new Map<string, string[]>();
  let pos = nl + 1;
  while (pos < text.length) {
    const { fields, next } = readRecord(text, pos);
    if (text[next - 1] !== '\n') throw new Error(`output record at ${pos} does not end with LF`);
    if (fields.length !== width) throw new Error(`output record at ${pos} has ${fields.length} fields, header has ${width}`);
    const [key, ...values] = fields;
    if (rows.has(key!)) throw new Error(`output key ${JSON.stringify(key)} appears twice`);
    rows.set(key!, values);
    pos = next;
  }
  return { header, rows };
}
