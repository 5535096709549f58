// Reads one CSV record in JavaScript (RFC 4180): the header line, and the fields of a bad record for its message.
//
// The hot path splits records in wasm (assembly/kernels/decode_csv.ts); this is the same grammar for the
// few records the host looks at itself. Quoted fields may hold delimiters, CR, LF and "" escapes; a record
// ends at LF, CRLF or (when the input is final) its end; a '"' inside an unquoted field is data.

import { BadRecordError, OptionError } from '../errors.js';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Where a record's quoting went wrong: the field index and what was wrong. */
export interface CsvQuoteError {
  column: number;
  kind: 'text-after-quote' | 'unterminated';
}

/** One record: its fields' bytes (quotes removed, "" unescaped) and where it ends. */
export interface CsvRecord {
  fields: Uint8Array[];
  /** Whether each field held a "" escape. */
  escaped: boolean[];
  /** End of the record's bytes, terminator excluded. */
  end: number;
  /** First byte after the terminator. */
  next: number;
  /** LF bytes in [start, next). */
  newlines: number;
  /** The first quoting error, if any (the record is then bad). */
  quoteError: CsvQuoteError | undefined;
}

/**
 * Reads the record that starts at `start`. Returns undefined when `final` is false and the record may
 * continue past the end of `bytes`. After a closing quote, text other than a delimiter or the terminator
 * is a quoting error; the rest of that field is then read as unquoted text.
 */
export function readCsvRecord(bytes: Uint8Array, start: number, delimiter: number, final: boolean): CsvRecord | undefined {
  const fields: Uint8Array[] = [];
  const escaped: boolean[] = [];
  let quoteError: CsvQuoteError | undefined;
  let newlines = 0;
  let i = start;
  const n = bytes.length;
  for (;;) {
    const out: number[] = [];
    let esc = false;
    let unquotedFrom = i;
    if (i < n && bytes[i] === QUOTE) {
      i++;
      let closed = false;
      while (!closed) {
        if (i >= n) {
          if (!final) return undefined;
          quoteError ??= { column: fields.length, kind: 'unterminated' };
          fields.push(Uint8Array.from(out));
          escaped.push(esc);
          return { fields, escaped, end: n, next: n, newlines, quoteError };
        }
        const c = bytes[i]!;
        if (c === QUOTE) {
          if (i + 1 >= n && !final) return undefined;
          if (bytes[i + 1] === QUOTE) {
            out.push(QUOTE);
            esc = true;
            i += 2;
          } else {
            i++;
            closed = true;
          }
        } else {
          if (c === LF) newlines++;
          out.push(c);
          i++;
        }
      }
      // after the closing quote: a delimiter, the terminator, or the end of the input
      if (i >= n) {
        fields.push(Uint8Array.from(out));
        escaped.push(esc);
        return { fields, escaped, end: n, next: n, newlines, quoteError };
      }
      const c = bytes[i]!;
      if (c === delimiter) {
        fields.push(Uint8Array.from(out));
        escaped.push(esc);
        i++;
        continue;
      }
      // the terminator: LF, CRLF, or (final input) a CR that ends the input
      const crlf = c === CR && bytes[i + 1] === LF;
      const crAtEnd = c === CR && i + 1 >= n;
      if (c === LF || crlf || crAtEnd) {
        if (crAtEnd && !final) return undefined;
        fields.push(Uint8Array.from(out));
        escaped.push(esc);
        const next = c === LF ? i + 1 : crlf ? i + 2 : n;
        return { fields, escaped, end: i, next, newlines: newlines + (crAtEnd ? 0 : 1), quoteError };
      }
      quoteError ??= { column: fields.length, kind: 'text-after-quote' };
      unquotedFrom = i;
    }
    // unquoted text up to the next delimiter, LF or the end
    while (i < n && bytes[i] !== delimiter && bytes[i] !== LF) i++;
    if (i >= n && !final) return undefined;
    let fieldEnd = i;
    const endsRecord = i >= n || bytes[i] === LF;
    if (endsRecord && fieldEnd > unquotedFrom && bytes[fieldEnd - 1] === CR) fieldEnd--;
    for (let j = unquotedFrom; j < fieldEnd; j++) out.push(bytes[j]!);
    fields.push(Uint8Array.from(out));
    escaped.push(esc);
    if (endsRecord) {
      if (i < n) newlines++;
      return { fields, escaped, end: fieldEnd, next: i < n ? i + 1 : n, newlines, quoteError };
    }
    i++;
  }
}

/** A header record: its column names, and the bytes and lines it took (blank lines before it included). */
export interface CsvHeader {
  /** The header's names; undefined when the input ended before any record (empty, or blank lines only). */
  columns: string[] | undefined;
  /** Bytes from the start of the input to the first byte after the header's terminator. */
  consumed: number;
  /** LF bytes in those bytes: the first data byte is on line 1 + lines. */
  lines: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the header record at the start of `bytes`, skipping blank lines as the decoder does. Returns
 * undefined when more input is needed (`final` false and no complete record yet), and no columns when
 * the input holds no record at all. Throws BadRecordError (naming `source` and the header's line) when
 * the header is malformed or not UTF-8.
 */
export function readCsvHeader(
  bytes: Uint8Array,
  options: { delimiter?: string; final?: boolean; source?: string } = {},
): CsvHeader | undefined {
  const delimiter = delimiterByte(options.delimiter ?? ',');
  const final = options.final ?? false;
  let start = 0;
  let lines = 0;
  for (;;) {
    const rec = readCsvRecord(bytes, start, delimiter, final);
    if (rec === undefined) return undefined;
    if (rec.end === start && rec.next > start) {
      // a blank line
      start = rec.next;
      lines += rec.newlines;
      continue;
    }
    if (rec.end === start) return { columns: undefined, consumed: bytes.length, lines };
    const source = options.source ?? 'the input';
    if (rec.quoteError) {
      throw new BadRecordError(source, 1 + lines, `the header line has a quoting error in column ${rec.quoteError.column}`);
    }
    let columns: string[];
    try {
      columns = rec.fields.map((f) => utf8.decode(f));
    } catch {
      throw new BadRecordError(source, 1 + lines, 'the header line is not valid UTF-8');
    }
    return { columns, consumed: rec.next, lines: lines + rec.newlines };
  }
}

/**
 * Resolves a `--key`/`--value` argument against header columns: an exact column name first, else a
 * 0-based index. Throws OptionError naming the option when neither matches, or when the name is that
 * of several columns (as Spark refuses an ambiguous column reference).
 */
export function resolveCsvColumn(columns: readonly string[], spec: string, option: string): number {
  const byName = columns.indexOf(spec);
  if (byName >= 0) {
    const all = columns.flatMap((c, i) => (c === spec ? [i] : []));
    if (all.length > 1) {
      throw new OptionError(
        option,
        `${option} "${spec}" is ambiguous: columns ${all.slice(0, -1).join(', ')} and ${all.at(-1)} of the header have that name (give the 0-based index of one)`,
      );
    }
    return byName;
  }
  if (/^\d+$/.test(spec) && Number(spec) < columns.length) return Number(spec);
  throw new OptionError(
    option,
    `${option} "${spec}" is not a column of the header (columns: ${columns.map((c) => JSON.stringify(c)).join(', ')})`,
  );
}

/** The delimiter as a byte: one ASCII character other than '"', CR and LF. */
export function delimiterByte(delimiter: string): number {
  const c = delimiter.length === 1 ? delimiter.charCodeAt(0) : -1;
  if (c < 0 || c > 0x7f || c === QUOTE || c === CR || c === LF) {
    throw new OptionError('delimiter', `the CSV delimiter must be one ASCII character other than '"', CR and LF, got ${JSON.stringify(delimiter)}`);
  }
  return c;
}
