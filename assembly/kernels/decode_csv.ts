// csv_decode: splits RFC 4180 CSV into records and emits each good record's key bytes, hash and value.
//
// Format (RFC 4180 section 2, with the usual relaxations):
//   - fields are separated by DJ_DELIM (an ASCII byte other than '"', CR, LF); records end at LF or CRLF,
//     and, when DJ_FINAL = 1, at the end of the input (a CR right before the end is the terminator too);
//     a CR anywhere else is an ordinary byte;
//   - a field that starts with '"' is quoted: it runs to the next lone '"', "" inside it stands for one '"',
//     and delimiters, CR and LF inside it are data. After the closing quote must come a delimiter or the
//     record's end: anything else makes the record BadQuote (the rest of that field is then read as
//     unquoted text, so the record still ends where a reader would expect);
//   - a '"' inside an unquoted field is an ordinary byte;
//   - a blank line (no bytes before its terminator) is not a record: it is skipped, and only counted as a line.
//
// Per good record: the key field's text (quotes removed, "" unescaped, otherwise byte for byte; empty is a
// valid key; with DJ_KEY_COL = NO_KEY_COLUMN the record has no key field and its key is empty), its hash
// (murmur2, or fastHash when DJ_HASH = 1), and the value field parsed as a decimal literal (number.ts).
// A record is bad, and only reported as an ErrorEntry, for the first of these that applies, in this order:
//   BadQuote | UnterminatedQuote (whichever comes first in the record), BadUtf8 (anywhere in the record),
//   MissingKey (not with NO_KEY_COLUMN), MissingValue (the record has too few fields), EmptyValue, BadNumber.
// A quoted value is parsed from its content; one that holds a "" escape is BadNumber.
//
// Lines: every LF counts, those inside quoted fields too; an error's line is the line of the record's first
// byte. The run stops before a record whose output does not fit (DJ_STATUS says which), or, when DJ_FINAL = 0,
// before an incomplete last record; DJ_CONSUMED and DJ_LINES then cover the whole records before it.
//
// Speed: the scan never looks at ordinary bytes one at a time. 64-byte blocks are classified with four v128
// compares into a u64 bitmask of the bytes that can matter (delimiter, '"', LF, and bytes >= 0x80, which
// start UTF-8 sequences to validate), and the parser jumps from one set bit to the next with ctz. ASCII
// text costs no validation; a non-ASCII sequence is checked where its lead byte is found.

import { BITS_INVALID, BITS_SLOW, parseDecimalBits, parsePlainDecimalBits } from "./number";
import {
  BAD_EMPTY_VALUE, BAD_MISSING_KEY, BAD_MISSING_VALUE, BAD_NUMBER, BAD_QUOTE, BAD_UNTERMINATED_QUOTE,
  BAD_UTF8, CR, DJ_CONSUMED, DJ_DELIM, DJ_ERROR_COUNT, DJ_ERRORS, DJ_FINAL, DJ_FIRST_LINE, DJ_HASHES, DJ_IN,
  DJ_IN_LEN, DJ_KEY_BYTES, DJ_KEY_BYTES_CAP, DJ_KEY_COL, DJ_KEY_OFFS, DJ_LINES, DJ_MAX_ERRORS,
  DJ_HASH, DJ_MAX_RECORDS, DJ_MAX_SLOW, DJ_RECORDS, DJ_SLOW, DJ_SLOW_COUNT, DJ_STATUS, DJ_VAL_COL, DJ_VALUES, LF,
  NO_KEY_COLUMN, QUOTE, STATUS_DONE, STATUS_ERRORS_FULL, STATUS_KEY_BYTES_FULL, STATUS_RECORDS_FULL, STATUS_SLOW_FULL,
  keyHash, putError, putSlow, utf8Sequence,
} from "./decode_job";

// @ts-ignore: decorator
@inline const BLOCK: usize = 64;
/** Records the general loop decodes after csvPlainRecords took none, before it tries again. */
// @ts-ignore: decorator
@inline const PLAIN_RETRY: u32 = 8;

/**
 * Bit i set when byte blockAt+i is a delimiter, '"', LF or >= 0x80. Reads only [blockAt, end): a block
 * cut by the end of the input is classified byte by byte, and its bits past the end stay clear.
 */
// @ts-ignore: decorator
@inline function classify(blockAt: usize, end: usize, delim: u32, vDelim: v128, vQuote: v128, vLf: v128): u64 {
  if (blockAt + BLOCK <= end) {
    // a lane's top bit is set by a match (0xFF) or by the byte itself when it is >= 0x80
    const a = v128.load(blockAt);
    const b = v128.load(blockAt, 16);
    const c = v128.load(blockAt, 32);
    const d = v128.load(blockAt, 48);
    const ma = v128.or(v128.or(i8x16.eq(a, vDelim), i8x16.eq(a, vQuote)), v128.or(i8x16.eq(a, vLf), a));
    const mb = v128.or(v128.or(i8x16.eq(b, vDelim), i8x16.eq(b, vQuote)), v128.or(i8x16.eq(b, vLf), b));
    const mc = v128.or(v128.or(i8x16.eq(c, vDelim), i8x16.eq(c, vQuote)), v128.or(i8x16.eq(c, vLf), c));
    const md = v128.or(v128.or(i8x16.eq(d, vDelim), i8x16.eq(d, vQuote)), v128.or(i8x16.eq(d, vLf), d));
    return <u64><u32>i8x16.bitmask(ma)
      | (<u64><u32>i8x16.bitmask(mb) << 16)
      | (<u64><u32>i8x16.bitmask(mc) << 32)
      | (<u64><u32>i8x16.bitmask(md) << 48);
  }
  let m: u64 = 0;
  const n = end - blockAt;
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(blockAt + i);
    if (c == delim || c == QUOTE || c == LF || c >= 0x80) m |= <u64>1 << <u64>i;
  }
  return m;
}

/**
 * Copies n bytes from src to dst (regions do not overlap). Keys are short, and a call to memory.copy
 * costs more than copying them with a few 8-byte moves; long keys still go to memory.copy.
 */
// @ts-ignore: decorator
@inline function copyBytes(dst: usize, src: usize, n: usize): void {
  if (n > 64) {
    memory.copy(dst, src, n);
    return;
  }
  while (n >= 8) {
    store<u64>(dst, load<u64>(src));
    dst += 8;
    src += 8;
    n -= 8;
  }
  if (n >= 4) {
    store<u32>(dst, load<u32>(src));
    dst += 4;
    src += 4;
    n -= 4;
  }
  while (n > 0) {
    store<u8>(dst, load<u8>(src));
    dst++;
    src++;
    n--;
  }
}

/** Copies a quoted field's content [src, srcEnd) to dst, turning each "" into ", and returns the bytes written. */
// @ts-ignore: decorator
@inline function copyUnescaped(dst: usize, src: usize, srcEnd: usize): u32 {
  let o = dst;
  while (src < srcEnd) {
    const c = load<u8>(src);
    store<u8>(o, c);
    o++;
    src += c == <u8>QUOTE ? 2 : 1; // content is well formed: every '"' in it is the first of a pair
  }
  return <u32>(o - dst);
}

/**
 * Copies a key of n bytes from the input at src to dst with 16-byte moves when both the input and the
 * key bytes reach 16-byte multiples past it (the bytes written after the key are later keys' room, still
 * inside [keyBytes, keyBytes + cap)); copyBytes otherwise.
 */
// @ts-ignore: decorator
@inline function copyKey(dst: usize, dstEnd: usize, src: usize, srcEnd: usize, n: usize): void {
  const span = (n + 15) & ~(<usize>15);
  if (n <= 64 && src + span <= srcEnd && dst + span <= dstEnd) {
    for (let o: usize = 0; o < n; o += 16) v128.store(dst + o, v128.load(src + o));
  } else {
    copyBytes(dst, src, n);
  }
}

/**
 * Appends a plain loop's good record as record `records`: key [key, key + keyLen) copied to keyPos,
 * its end offset, hash (keyHash) and value bits. Returns the key bytes' next free byte, or 0 when the key
 * does not fit (csv_decode then stops there with KeyBytesFull).
 */
// @ts-ignore: decorator
@inline function putPlainRecord(
  keyOffs: usize, keyBytes: usize, keyBytesEnd: usize, hashes: usize, fast: bool, values: usize, records: u32, keyPos: usize,
  key: usize, keyLen: usize, end: usize, value: u64,
): usize {
  if (keyPos + keyLen > keyBytesEnd) return 0;
  copyKey(keyPos, keyBytesEnd, key, end, keyLen);
  const next = keyPos + keyLen;
  store<u32>(keyOffs + (<usize>(records + 1) << 2), <u32>(next - keyBytes));
  if (hashes != 0) store<u32>(hashes + (<usize>records << 2), keyHash(fast, key, keyLen));
  if (values != 0) store<u64>(values + (<usize>records << 3), value);
  return next;
}

/**
 * The common case of csv_decode: records whose fields are all unquoted, ended by a LF, that decode to
 * a good record (key field present, value a decimal that needs no host parse) with room in the outputs.
 * Decodes such records from p on, with only a record's few values live (inlined into csv_decode, its
 * loop shared V8's registers with the quoted-field machinery and spilled them); stops at the first
 * record that is anything else, which csv_decode then decodes. The result of every record it takes
 * is the one csv_decode's general loop gives. Returns where it stopped; writes the good records taken
 * and their output to the job (DJ_RECORDS, keyOffs, key bytes, hashes, values) and the lines consumed
 * to DJ_LINES.
 */
function csvPlainRecords(
  job: usize, p: usize, end: usize, delim: u32, keyCol: u32, valCol: i32, maxRecords: u32, keyOffs: usize,
  keyBytes: usize, keyBytesEnd: usize, values: usize, hashes: usize,
): usize {
  const fast = load<u32>(job, DJ_HASH) != 0;
  let records = load<u32>(job, DJ_RECORDS);
  let keyPos = keyBytes + <usize>load<u32>(keyOffs + (<usize>records << 2));
  let lines: u32 = 0;

  const vDelim = i8x16.splat(<i8>delim);
  const vQuote = i8x16.splat(<i8>QUOTE);
  const vLf = i8x16.splat(<i8>LF);
  let blockAt = p;
  let bits = classify(blockAt, end, delim, vDelim, vQuote, vLf); // the interesting bytes not passed yet
  let skipTo: usize = 0; // the bytes before it are the rest of a UTF-8 sequence already checked

  while (true) {
    const recStart = p;
    let field: u32 = 0;
    let fieldStart = p;
    let keyStart: usize = 0;
    let keyEnd: usize = 0;
    let keyFound = false;
    let valStart: usize = 0;
    let valEnd: usize = 0;
    let s: usize = 0;
    let recEnd: usize = 0; // the record's bytes end here, its terminator excluded
    let plain = true;
    while (true) {
      // the next interesting byte (see classify)
      while (bits == 0 && blockAt + BLOCK < end) {
        blockAt += BLOCK;
        bits = classify(blockAt, end, delim, vDelim, vQuote, vLf);
      }
      if (bits == 0) {
        plain = false; // no LF before the end: csv_decode knows what `final` makes of it
        break;
      }
      s = blockAt + <usize>ctz(bits);
      bits &= bits - 1;
      if (s < skipTo) continue;
      const c = <u32>load<u8>(s);
      if (c == delim || c == LF) {
        let fieldEnd = s;
        // a CR right before the LF belongs to the terminator
        if (c == LF && fieldEnd > fieldStart && <u32>load<u8>(fieldEnd - 1) == CR) fieldEnd--;
        if (field == keyCol) {
          keyStart = fieldStart;
          keyEnd = fieldEnd;
          keyFound = true;
        }
        if (<i32>field == valCol) {
          valStart = fieldStart;
          valEnd = fieldEnd;
        }
        if (c == LF) {
          recEnd = fieldEnd;
          break;
        }
        field++;
        fieldStart = s + 1;
        continue;
      }
      if (c == QUOTE) {
        if (s == fieldStart) {
          plain = false; // a quoted field
          break;
        }
        continue; // a '"' inside an unquoted field is data
      }
      const n = utf8Sequence(s, end); // c >= 0x80
      if (n == 0) {
        plain = false; // BadUtf8
        break;
      }
      skipTo = s + <usize>n;
    }
    if (!plain) break;
    if (recEnd == recStart) {
      // a blank line (the LF at s ends it): not a record
      lines++;
      p = s + 1;
      continue;
    }
    if (!keyFound && keyCol != NO_KEY_COLUMN) break; // MissingKey
    let bits: u64 = 0;
    if (valCol >= 0) {
      if (valEnd == valStart) break; // MissingValue (or EmptyValue)
      bits = parsePlainDecimalBits(valStart, valEnd, end);
      if (bits >= BITS_SLOW) break; // BadNumber, or a value the host parses
    }
    if (records >= maxRecords) break;
    keyPos = putPlainRecord(keyOffs, keyBytes, keyBytesEnd, hashes, fast, values, records, keyPos, keyStart, keyEnd - keyStart, end, bits);
    if (keyPos == 0) break;
    records++;
    lines++;
    p = s + 1;
  }
  store<u32>(job, records, DJ_RECORDS);
  store<u32>(job, lines, DJ_LINES);
  return p;
}

/**
 * The narrowest case, key column 0 and value column 1 of ASCII `key,value` records: the record's first
 * interesting byte must be the delimiter that ends the key and its second the LF that ends the value,
 * so a record costs two steps through the bitmask and little else is live. Stops, like csvPlainRecords,
 * at the first record that is anything else (a quote, a non-ASCII byte, a third field, a blank line,
 * a bad value, full outputs); csv_decode then hands it to csvPlainRecords or its general loop. Writes
 * DJ_RECORDS and DJ_LINES (one line a record) and returns where it stopped.
 */
function csvKeyValue(
  job: usize, p: usize, end: usize, delim: u32, maxRecords: u32, keyOffs: usize, keyBytes: usize,
  keyBytesEnd: usize, values: usize, hashes: usize,
): usize {
  const fast = load<u32>(job, DJ_HASH) != 0;
  const first = load<u32>(job, DJ_RECORDS);
  let records = first;
  let keyPos = keyBytes + <usize>load<u32>(keyOffs + (<usize>records << 2));

  const vDelim = i8x16.splat(<i8>delim);
  const vQuote = i8x16.splat(<i8>QUOTE);
  const vLf = i8x16.splat(<i8>LF);
  let blockAt = p;
  let bits = classify(blockAt, end, delim, vDelim, vQuote, vLf);
  let keyEnd: usize = 0; // 0 until the record's delimiter is passed

  while (true) {
    while (bits == 0 && blockAt + BLOCK < end) {
      blockAt += BLOCK;
      bits = classify(blockAt, end, delim, vDelim, vQuote, vLf);
    }
    if (bits == 0) break;
    const at = blockAt + <usize>ctz(bits);
    bits &= bits - 1;
    const c = <u32>load<u8>(at);
    if (keyEnd == 0) {
      if (c != delim) break;
      keyEnd = at;
      continue;
    }
    if (c != LF) break;
    const valStart = keyEnd + 1;
    let valEnd = at;
    if (valEnd > valStart && <u32>load<u8>(valEnd - 1) == CR) valEnd--;
    if (valEnd == valStart) break; // EmptyValue
    const value = parsePlainDecimalBits(valStart, valEnd, end);
    if (value >= BITS_SLOW) break; // BadNumber, or a value the host parses
    if (records >= maxRecords) break;
    keyPos = putPlainRecord(keyOffs, keyBytes, keyBytesEnd, hashes, fast, values, records, keyPos, p, keyEnd - p, end, value);
    if (keyPos == 0) break;
    records++;
    keyEnd = 0;
    p = at + 1;
  }
  store<u32>(job, records, DJ_RECORDS);
  store<u32>(job, records - first, DJ_LINES);
  return p;
}

/** Decodes the CSV records of the job at `job` (DJ_* fields, see decode_job.ts). Returns DJ_STATUS. */
export function csv_decode(job: usize): u32 {
  const input = <usize>load<u32>(job, DJ_IN);
  const end = input + <usize>load<u32>(job, DJ_IN_LEN);
  const final = load<u32>(job, DJ_FINAL) != 0;
  const firstLine = load<u32>(job, DJ_FIRST_LINE);
  const keyCol = load<u32>(job, DJ_KEY_COL);
  const valCol = load<i32>(job, DJ_VAL_COL); // -1: no value column
  const maxRecords = load<u32>(job, DJ_MAX_RECORDS);
  const keyOffs = <usize>load<u32>(job, DJ_KEY_OFFS);
  const keyBytes = <usize>load<u32>(job, DJ_KEY_BYTES);
  const keyBytesCap = load<u32>(job, DJ_KEY_BYTES_CAP);
  const values = <usize>load<u32>(job, DJ_VALUES);
  const hashes = <usize>load<u32>(job, DJ_HASHES);
  const fast = load<u32>(job, DJ_HASH) != 0;
  const errors = <usize>load<u32>(job, DJ_ERRORS);
  const maxErrors = load<u32>(job, DJ_MAX_ERRORS);
  const slow = <usize>load<u32>(job, DJ_SLOW);
  const maxSlow = load<u32>(job, DJ_MAX_SLOW);
  const delim = load<u32>(job, DJ_DELIM) & 0xFF;
  let records = load<u32>(job, DJ_RECORDS);
  let errorCount = load<u32>(job, DJ_ERROR_COUNT);
  let slowCount = load<u32>(job, DJ_SLOW_COUNT);
  let keyPos = load<u32>(keyOffs + (<usize>records << 2));

  const vDelim = i8x16.splat(<i8>delim);
  const vQuote = i8x16.splat(<i8>QUOTE);
  const vLf = i8x16.splat(<i8>LF);
  let blockAt = input;
  let mask = classify(blockAt, end, delim, vDelim, vQuote, vLf);

  let p = input; // first byte of the next record
  let lines: u32 = 0; // LFs in [input, p)
  let status = STATUS_DONE;
  const layout01 = keyCol == 0 && valCol == 1;
  let plainAfter: u32 = 0; // records this loop decodes before it tries the plain loops again

  while (p < end) {
    if (plainAfter == 0) {
      store<u32>(job, records, DJ_RECORDS);
      const keyBytesEnd = keyBytes + <usize>keyBytesCap;
      let q = layout01 ? csvKeyValue(job, p, end, delim, maxRecords, keyOffs, keyBytes, keyBytesEnd, values, hashes) : p;
      if (q == p) q = csvPlainRecords(job, p, end, delim, keyCol, valCol, maxRecords, keyOffs, keyBytes, keyBytesEnd, values, hashes);
      if (q != p) {
        records = load<u32>(job, DJ_RECORDS);
        keyPos = load<u32>(keyOffs + (<usize>records << 2));
        lines += load<u32>(job, DJ_LINES);
        p = q;
        if (p >= end) break;
        blockAt = p;
        mask = classify(blockAt, end, delim, vDelim, vQuote, vLf);
      } else {
        plainAfter = PLAIN_RETRY; // a file of quoted records pays one failed try per PLAIN_RETRY records
      }
    } else {
      plainAfter--;
    }
    const recStart = p;
    const recLines = lines;
    let reason: u32 = 0; // BadQuote or UnterminatedQuote, the first one met
    let badUtf8 = false;
    let field: u32 = 0;
    let keyStart: usize = 0;
    let keyEnd: usize = 0;
    let keyEscaped = false;
    let keyFound = false;
    let valStart: usize = 0;
    let valEnd: usize = 0;
    let valEscaped = false;
    let valFound = false;
    let recEnd: usize = 0; // end of the record's bytes, terminator excluded
    let next: usize = 0; // first byte after the terminator
    let incomplete = false;
    let fieldStart = p;

    // One iteration per field: `continue` moves to the next field, `break` ends the record.
    while (true) {
      let cs = fieldStart; // content start
      let ce: usize = 0; // content end
      let escaped = false;
      let s = fieldStart; // where the search for the next interesting byte starts
      let fieldDone = false; // set with `endsRecord` when the quoted branch finished the field
      let endsRecord = false;

      if (fieldStart < end && <u32>load<u8>(fieldStart) == QUOTE) {
        cs = fieldStart + 1;
        s = cs;
        while (true) {
          // next interesting byte at or after s (see classify)
          while (true) {
            if (s < blockAt + BLOCK) {
              const m = mask & (<u64>-1 << <u64>(s - blockAt));
              if (m != 0) {
                s = blockAt + <usize>ctz(m);
                break;
              }
            }
            if (blockAt + BLOCK >= end) {
              s = end;
              break;
            }
            blockAt += BLOCK;
            mask = classify(blockAt, end, delim, vDelim, vQuote, vLf);
            if (s < blockAt) s = blockAt;
          }
          if (s >= end) {
            // the input ends inside the quotes
            if (!final) {
              incomplete = true;
            } else {
              if (reason == 0) reason = BAD_UNTERMINATED_QUOTE;
              ce = end;
              recEnd = end;
              next = end;
            }
            fieldDone = true;
            endsRecord = true;
            break;
          }
          const c = <u32>load<u8>(s);
          if (c == QUOTE) {
            if (s + 1 >= end) {
              // closing quote at the end of the input, unless more input brings a second '"'
              if (!final) {
                incomplete = true;
              } else {
                ce = s;
                recEnd = end;
                next = end;
              }
              fieldDone = true;
              endsRecord = true;
              break;
            }
            const c1 = <u32>load<u8>(s + 1);
            if (c1 == QUOTE) {
              escaped = true;
              s += 2;
              continue;
            }
            ce = s;
            if (c1 == delim) {
              next = s + 2;
              fieldDone = true;
              break;
            }
            if (c1 == LF) {
              recEnd = s + 1;
              next = s + 2;
              lines++;
              fieldDone = true;
              endsRecord = true;
              break;
            }
            if (c1 == CR) {
              if (s + 2 >= end) {
                if (!final) {
                  incomplete = true;
                } else {
                  recEnd = s + 1;
                  next = end;
                }
                fieldDone = true;
                endsRecord = true;
                break;
              }
              if (<u32>load<u8>(s + 2) == LF) {
                recEnd = s + 1;
                next = s + 3;
                lines++;
                fieldDone = true;
                endsRecord = true;
                break;
              }
            }
            // text after the closing quote: the rest of the field is read as unquoted text
            if (reason == 0) reason = BAD_QUOTE;
            s++;
            break;
          }
          if (c == LF) {
            lines++;
            s++;
          } else if (c >= 0x80) {
            const n = utf8Sequence(s, end);
            if (n == 0) {
              badUtf8 = true;
              s++;
            } else {
              s += <usize>n;
            }
          } else {
            s++; // a delimiter inside the quotes
          }
        }
      }

      if (!fieldDone) {
        // unquoted text from s to the next delimiter or LF
        while (true) {
          while (true) {
            if (s < blockAt + BLOCK) {
              const m = mask & (<u64>-1 << <u64>(s - blockAt));
              if (m != 0) {
                s = blockAt + <usize>ctz(m);
                break;
              }
            }
            if (blockAt + BLOCK >= end) {
              s = end;
              break;
            }
            blockAt += BLOCK;
            mask = classify(blockAt, end, delim, vDelim, vQuote, vLf);
            if (s < blockAt) s = blockAt;
          }
          if (s >= end) {
            if (!final) {
              incomplete = true;
            } else {
              ce = end;
              if (ce > cs && <u32>load<u8>(ce - 1) == CR) ce--;
              recEnd = ce;
              next = end;
            }
            endsRecord = true;
            break;
          }
          const c = <u32>load<u8>(s);
          if (c == delim) {
            ce = s;
            next = s + 1;
            break;
          }
          if (c == LF) {
            ce = s;
            if (ce > cs && <u32>load<u8>(ce - 1) == CR) ce--;
            recEnd = ce;
            next = s + 1;
            lines++;
            endsRecord = true;
            break;
          }
          if (c >= 0x80) {
            const n = utf8Sequence(s, end);
            if (n == 0) {
              badUtf8 = true;
              s++;
            } else {
              s += <usize>n;
            }
          } else {
            s++; // a '"' inside an unquoted field is data
          }
        }
      }

      if (incomplete) break;
      if (field == keyCol) {
        keyStart = cs;
        keyEnd = ce;
        keyEscaped = escaped;
        keyFound = true;
      }
      if (<i32>field == valCol) {
        valStart = cs;
        valEnd = ce;
        valEscaped = escaped;
        valFound = true;
      }
      if (endsRecord) break;
      field++;
      fieldStart = next;
    }

    if (incomplete) {
      lines = recLines;
      break;
    }
    if (recEnd == recStart) {
      // a blank line: not a record
      p = next;
      continue;
    }

    let bad = reason;
    if (bad == 0 && badUtf8) bad = BAD_UTF8;
    if (bad == 0 && !keyFound && keyCol != NO_KEY_COLUMN) bad = BAD_MISSING_KEY; // no key field: the empty key
    let bits: u64 = 0;
    if (bad == 0 && valCol >= 0) {
      if (!valFound) {
        bad = BAD_MISSING_VALUE;
      } else if (valEnd == valStart) {
        bad = BAD_EMPTY_VALUE;
      } else if (valEscaped) {
        bad = BAD_NUMBER;
      } else {
        bits = parseDecimalBits(valStart, valEnd);
        if (bits == BITS_INVALID) bad = BAD_NUMBER;
      }
    }

    if (bad != 0) {
      if (errorCount >= maxErrors) {
        status = STATUS_ERRORS_FULL;
        lines = recLines;
        break;
      }
      putError(errors, errorCount, firstLine + recLines, bad, <u32>(recStart - input), <u32>(recEnd - input));
      errorCount++;
    } else {
      if (records >= maxRecords) {
        status = STATUS_RECORDS_FULL;
        lines = recLines;
        break;
      }
      let keyLen = <u32>(keyEnd - keyStart);
      if (keyEscaped) {
        // each "" pair stands for one byte
        let quotes: u32 = 0;
        for (let q = keyStart; q < keyEnd; q++) quotes += <u32>(<u32>load<u8>(q) == QUOTE);
        keyLen -= quotes >> 1;
      }
      if (<u64>keyPos + <u64>keyLen > <u64>keyBytesCap) {
        status = STATUS_KEY_BYTES_FULL;
        lines = recLines;
        break;
      }
      if (bits == BITS_SLOW && slowCount >= maxSlow) {
        status = STATUS_SLOW_FULL;
        lines = recLines;
        break;
      }
      const dst = keyBytes + <usize>keyPos;
      if (keyEscaped) copyUnescaped(dst, keyStart, keyEnd);
      else copyBytes(dst, keyStart, <usize>keyLen);
      keyPos += keyLen;
      store<u32>(keyOffs + (<usize>(records + 1) << 2), keyPos);
      if (hashes != 0) store<u32>(hashes + (<usize>records << 2), keyHash(fast, dst, <usize>keyLen));
      if (values != 0) {
        if (bits == BITS_SLOW) {
          putSlow(slow, slowCount, records, <u32>(valStart - input), <u32>(valEnd - input));
          slowCount++;
          bits = 0;
        }
        store<u64>(values + (<usize>records << 3), bits);
      }
      records++;
    }
    p = next;
  }

  store<u32>(job, <u32>(p - input), DJ_CONSUMED);
  store<u32>(job, records, DJ_RECORDS);
  store<u32>(job, errorCount, DJ_ERROR_COUNT);
  store<u32>(job, slowCount, DJ_SLOW_COUNT);
  store<u32>(job, lines, DJ_LINES);
  store<u32>(job, status, DJ_STATUS);
  return status;
}
