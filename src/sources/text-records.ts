// Splits text into records for the file source: lines (LF or CRLF), and CSV records per RFC 4180.
//
// Both work on a growing text buffer and take only complete records: a line is complete at its
// LF, a CSV record at an LF outside quotes. At the end of input (`final`) a last record without a
// terminator is complete too. What is not taken stays for the next call, with the count of
// physical lines consumed, so errors can name the line a record starts on.

/** Records taken from `text`, how many characters they used, and the line each starts on. */
export interface Taken<R> {
  records: R[];
  /** 1-based physical line of each record's first character. */
  lines: number[];
  /** Characters consumed (whole records and their terminators). */
  consumed: number;
  /** Physical lines consumed. */
  linesConsumed: number;
  /** Records that could not be read: line and reason. */
  errors: Array<{ line: number; reason: string }>;
}

/** Takes up to `max` complete lines (without their LF or CRLF) from `text`. */
export function takeLines(text: string, firstLine: number, final: boolean, max: number): Taken<string> {
  const records: string[] = [];
  const lines: number[] = [];
  let at = 0;
  while (records.length < max && at < text.length) {
    let end = text.indexOf('\n', at);
    let next: number;
    if (end < 0) {
      if (!final) break;
      end = text.length;
      next = end;
    } else {
      next = end + 1;
    }
    const stop = end > at && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    lines.push(firstLine + records.length);
    records.push(text.slice(at, stop));
    at = next;
  }
  return { records, lines, consumed: at, linesConsumed: records.length, errors: [] };
}

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Takes up to `max` complete CSV records (RFC 4180: fields in double quotes may hold the
 * delimiter, CR, LF and `""` for a quote; records end with LF or CRLF). A quote inside an unquoted
 * field is kept as text; text after a closing quote, or a quote left open at the end of input, is
 * an error for that record. A CR that is not part of a CRLF is data, except as the last character of
 * the input, where it ends the record: the rules of the CLI's decoder (test/reference/csv.ts).
 */
export function takeCsvRecords(
  text: string,
  firstLine: number,
  final: boolean,
  max: number,
  delimiter: number,
): Taken<string[]> {
  const out: Taken<string[]> = { records: [], lines: [], consumed: 0, linesConsumed: 0, errors: [] };
  let at = 0;
  let line = firstLine;
  const n = text.length;
  while (out.records.length + out.errors.length < max && at < n) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let i = at;
    let error: string | undefined;
    let complete = false;
    for (;;) {
      if (i >= n) {
        // end of the text inside a record
        if (final) {
          fields.push(field);
          complete = true;
        }
        break;
      }
      let c = text.charCodeAt(i);
      if (c === QUOTE && field === '' && (i === at || text.charCodeAt(i - 1) === delimiter)) {
        // quoted field
        let j = i + 1;
        let closed = false;
        let value = '';
        let runStart = j;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === QUOTE) {
            if (j + 1 < n && text.charCodeAt(j + 1) === QUOTE) {
              value += text.slice(runStart, j + 1);
              j += 2;
              runStart = j;
              continue;
            }
            if (j + 1 >= n && !final) break; // cannot tell `"` from `""` yet
            value += text.slice(runStart, j);
            closed = true;
            j++;
            break;
          }
          if (d === LF) line++;
          j++;
        }
        if (!closed) {
          if (!final) break; // the record continues in text not read yet
          error ??= 'unterminated quoted field';
          i = n;
          line = startLine + countLf(text, at, n);
          fields.push(value + text.slice(runStart, n));
          complete = true;
          break;
        }
        field = value;
        i = j;
        if (i < n) {
          // after a closing quote: the delimiter or the record's end (LF, CRLF, or a CR ending the input)
          c = text.charCodeAt(i);
          const end = c === LF || (c === CR && (i + 1 >= n || text.charCodeAt(i + 1) === LF));
          if (c !== delimiter && !end) error ??= 'unexpected text after a closing quote';
        }
        continue;
      }
      if (c === delimiter) {
        fields.push(field);
        field = '';
        i++;
        continue;
      }
      if (c === LF || (c === CR && i + 1 < n && text.charCodeAt(i + 1) === LF)) {
        fields.push(field);
        i += c === CR ? 2 : 1;
        line++;
        complete = true;
        break;
      }
      if (c === CR && i + 1 >= n) {
        // a CR at the end: maybe the first half of a CRLF; at the end of the input, the record's end
        if (!final) break;
        fields.push(field);
        i++;
        complete = true;
        break;
      }
      // an unquoted run up to the next delimiter, quote or line end
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === delimiter || d === LF || d === CR) break;
        j++;
      }
      field += text.slice(i, j);
      i = j;
    }
    if (!complete) break;
    const blank = fields.length === 1 && i - at <= 2 && !isQuoteAt(text, at);
    at = i;
    out.consumed = at;
    out.linesConsumed = line - firstLine;
    if (error !== undefined) out.errors.push({ line: startLine, reason: error });
    else if (!blank || fields[0] !== '') {
      // an empty line is no record (RFC 4180 has none; most writers never emit one)
      out.records.push(fields);
      out.lines.push(startLine);
    }
  }
  return out;
}

function isQuoteAt(text: string, i: number): boolean {
  return i < text.length && text.charCodeAt(i) === QUOTE;
}

function countLf(text: string, from: number, to: number): number {
  let k = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === LF) k++;
  return k;
}
