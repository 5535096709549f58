// json_decode: validates JSON lines (RFC 8259) and emits each good line's key text, hash and value found by dotted path.
//
// Input: one JSON text per line. A line ends at LF (a CR right before it is dropped: JSON whitespace anyway)
// or, when DJ_FINAL = 1, at the end of the input; a blank line (nothing but JSON whitespace) is skipped.
// Every line is validated whole, as JSON.parse would: structure, strings (escapes, no raw control
// characters), numbers, literals. Nesting is tracked on an explicit stack of one byte per level in
// DJ_SCRATCH (never recursion), so the depth limit is DJ_SCRATCH_LEN levels.
//
// Key and value are found by paths (`m.v` = member v of the object that is member m of the top-level
// object) whose steps the host separates by 0xFF, a byte that no UTF-8 member name holds (so a name may
// hold a dot: src/codec/field-path.ts). Member names are compared by their decoded text, and when a name
// occurs twice in an object the last occurrence wins, as with JSON.parse: a later match of a path step
// forgets what an earlier one found.
//   key:   a string -> its decoded text as UTF-8 (\uXXXX, surrogate pairs -> 4 bytes); an unpaired surrogate
//          escape has no UTF-8 form, so the line is BadUtf8. A number -> its JSON text exactly; true/false ->
//          their text. null, an object or an array -> BadKeyType.
//          DJ_KEY_PATH = 0: the records have no key field; every good line gets the empty key.
//   value: a number -> the correctly rounded double (number.ts); a string whose raw content, without
//          escapes, is a decimal literal -> that number. Anything else -> BadNumber.
// A line is bad for the first of these that applies, in this order: BadUtf8 (invalid UTF-8 anywhere),
// BadJson | TooDeep (whichever the left-to-right scan meets first), NotObject, MissingKey, BadKeyType,
// BadUtf8 (unpaired surrogate in the key) (these three only with a key path), MissingValue, BadNumber.
//
// Stops, line counting and the output layout are as in csv_decode (see decode_job.ts); every line is one
// physical line, so a record's line is DJ_FIRST_LINE plus the LFs before it.

import { BITS_INVALID, BITS_SLOW, parseDecimalBits } from "./number";
import {
  BAD_JSON, BAD_KEY_TYPE, BAD_MISSING_KEY, BAD_MISSING_VALUE, BAD_NOT_OBJECT, BAD_NUMBER, BAD_TOO_DEEP, BAD_UTF8,
  CR, DJ_CONSUMED, DJ_ERROR_COUNT, DJ_ERRORS, DJ_FINAL, DJ_FIRST_LINE, DJ_HASH, DJ_HASHES, DJ_IN, DJ_IN_LEN, DJ_KEY_BYTES,
  DJ_KEY_BYTES_CAP, DJ_KEY_OFFS, DJ_KEY_PATH, DJ_KEY_PATH_LEN, DJ_LINES, DJ_MAX_ERRORS, DJ_MAX_RECORDS,
  DJ_MAX_SLOW, DJ_RECORDS, DJ_SCRATCH, DJ_SCRATCH_LEN, DJ_SLOW, DJ_SLOW_COUNT, DJ_STATUS, DJ_VAL_PATH,
  DJ_VAL_PATH_LEN, DJ_VALUES, LF, QUOTE, STATUS_DONE, STATUS_ERRORS_FULL, STATUS_KEY_BYTES_FULL,
  STATUS_RECORDS_FULL, STATUS_SLOW_FULL, keyHash, putError, putSlow, utf8Sequence,
} from "./decode_job";

// @ts-ignore: decorator
@inline const BACKSLASH: u32 = 0x5C;

// parser states
// @ts-ignore: decorator
@inline const ST_VALUE: u32 = 0; // a value must come
// @ts-ignore: decorator
@inline const ST_FIRST_ELEMENT: u32 = 1; // after '[': a value or ']'
// @ts-ignore: decorator
@inline const ST_FIRST_MEMBER: u32 = 2; // after '{': a member name or '}'
// @ts-ignore: decorator
@inline const ST_MEMBER: u32 = 3; // after ',' in an object: a member name
// @ts-ignore: decorator
@inline const ST_COLON: u32 = 4; // after a member name
// @ts-ignore: decorator
@inline const ST_AFTER: u32 = 5; // after a value: ',', a closing bracket, or the end

// nesting stack entries
// @ts-ignore: decorator
@inline const IN_OBJECT: u8 = 1;
// @ts-ignore: decorator
@inline const IN_ARRAY: u8 = 2;

// what a path found
// @ts-ignore: decorator
@inline const K_MISSING: u32 = 0;
// @ts-ignore: decorator
@inline const K_STRING: u32 = 1;
// @ts-ignore: decorator
@inline const K_NUMBER: u32 = 2;
// @ts-ignore: decorator
@inline const K_BOOL: u32 = 3;
// @ts-ignore: decorator
@inline const K_OTHER: u32 = 4; // null, object, array

// @ts-ignore: decorator
@inline function isWs(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A;
}

// @ts-ignore: decorator
@inline function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

/** The four hex digits at p as a code unit, or -1. Reads [p, p+4): the caller checked the bound. */
// @ts-ignore: decorator
@inline function hex4(p: usize): i32 {
  const a = hexValue(load<u8>(p));
  const b = hexValue(load<u8>(p, 1));
  const c = hexValue(load<u8>(p, 2));
  const d = hexValue(load<u8>(p, 3));
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/**
 * Scans the string whose opening quote is at p (RFC 8259 section 7). Returns the position after the
 * closing quote, with bit 32 set when the string holds an escape; 0 when the string is invalid or
 * not closed before `end`. Bytes >= 0x80 were validated as UTF-8 with the whole line.
 */
function scanString(p: usize, end: usize): u64 {
  let s = p + 1;
  let escaped: u64 = 0;
  const vQuote = i8x16.splat(<i8>QUOTE);
  const vBackslash = i8x16.splat(<i8>BACKSLASH);
  const vSpace = i8x16.splat(0x20);
  while (true) {
    while (s + 16 <= end) {
      const v = v128.load(s);
      const m = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, vQuote), i8x16.eq(v, vBackslash)), i8x16.lt_u(v, vSpace)));
      if (m != 0) {
        s += <usize>ctz(m);
        break;
      }
      s += 16;
    }
    if (s >= end) return 0;
    const c = <u32>load<u8>(s);
    if (c == QUOTE) return <u64>(s + 1) | escaped;
    if (c == BACKSLASH) {
      escaped = <u64>1 << 32;
      if (s + 1 >= end) return 0;
      const e = <u32>load<u8>(s + 1);
      if (e == 0x75) { // \uXXXX
        if (s + 6 > end || hex4(s + 2) < 0) return 0;
        s += 6;
      } else if (e == QUOTE || e == BACKSLASH || e == 0x2F || e == 0x62 || e == 0x66 || e == 0x6E || e == 0x72 || e == 0x74) {
        s += 2;
      } else {
        return 0;
      }
      continue;
    }
    if (c < 0x20) return 0;
    s++;
  }
  return unreachable();
}

/** Scans a number (RFC 8259 section 6) at p: returns the position after it, or 0 when it is malformed. */
function scanNumber(p: usize, end: usize): usize {
  let s = p;
  if (load<u8>(s) == 0x2D) s++;
  if (s >= end) return 0;
  let c = <u32>load<u8>(s);
  if (c == 0x30) {
    s++;
  } else if (c - 0x31 < 9) {
    s++;
    while (s < end && <u32>load<u8>(s) - 0x30 < 10) s++;
  } else {
    return 0;
  }
  if (s < end && load<u8>(s) == 0x2E) {
    s++;
    if (s >= end || <u32>load<u8>(s) - 0x30 >= 10) return 0;
    while (s < end && <u32>load<u8>(s) - 0x30 < 10) s++;
  }
  if (s < end && (<u32>load<u8>(s) | 0x20) == 0x65) {
    s++;
    if (s < end && (load<u8>(s) == 0x2B || load<u8>(s) == 0x2D)) s++;
    if (s >= end || <u32>load<u8>(s) - 0x30 >= 10) return 0;
    while (s < end && <u32>load<u8>(s) - 0x30 < 10) s++;
  }
  return s;
}

/** Whether the 4 or 5 bytes at p spell `true`, `false` or `null` (by first byte c); returns the end or 0. */
// @ts-ignore: decorator
@inline function scanLiteral(p: usize, end: usize, c: u32): usize {
  if (c == 0x74) return p + 4 <= end && load<u32>(p) == 0x65757274 ? p + 4 : 0; // "true"
  if (c == 0x6E) return p + 4 <= end && load<u32>(p) == 0x6C6C756E ? p + 4 : 0; // "null"
  if (c == 0x66) return p + 5 <= end && load<u32>(p, 1) == 0x65736C61 ? p + 5 : 0; // "false"
  return 0;
}

/** Writes code point cp as UTF-8 at o when `write`; returns its length. */
// @ts-ignore: decorator
@inline function putUtf8(o: usize, cp: u32, write: bool): u32 {
  if (cp < 0x80) {
    if (write) store<u8>(o, <u8>cp);
    return 1;
  }
  if (cp < 0x800) {
    if (write) {
      store<u8>(o, <u8>(0xC0 | (cp >> 6)));
      store<u8>(o, <u8>(0x80 | (cp & 0x3F)), 1);
    }
    return 2;
  }
  if (cp < 0x10000) {
    if (write) {
      store<u8>(o, <u8>(0xE0 | (cp >> 12)));
      store<u8>(o, <u8>(0x80 | ((cp >> 6) & 0x3F)), 1);
      store<u8>(o, <u8>(0x80 | (cp & 0x3F)), 2);
    }
    return 3;
  }
  if (write) {
    store<u8>(o, <u8>(0xF0 | (cp >> 18)));
    store<u8>(o, <u8>(0x80 | ((cp >> 12) & 0x3F)), 1);
    store<u8>(o, <u8>(0x80 | ((cp >> 6) & 0x3F)), 2);
    store<u8>(o, <u8>(0x80 | (cp & 0x3F)), 3);
  }
  return 4;
}

/**
 * Decodes the content [p, end) of a valid JSON string that holds escapes: writes its UTF-8 to dst when
 * `write`, and returns the byte length, or -1 when an unpaired surrogate escape leaves no UTF-8 form.
 */
function decodeString(p: usize, end: usize, dst: usize, write: bool): i32 {
  let n: u32 = 0;
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c != BACKSLASH) {
      if (write) store<u8>(dst + n, <u8>c);
      n++;
      p++;
      continue;
    }
    const e = <u32>load<u8>(p + 1);
    let cp: u32;
    if (e == 0x75) {
      cp = <u32>hex4(p + 2);
      p += 6;
      if (cp - 0xD800 < 0x800) {
        // a high surrogate must be followed by an escaped low one (RFC 8259 section 7)
        if (cp >= 0xDC00 || p + 6 > end || load<u8>(p) != <u8>BACKSLASH || load<u8>(p + 1) != 0x75) return -1;
        const lo = <u32>hex4(p + 2);
        if (lo - 0xDC00 >= 0x400) return -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      }
    } else {
      p += 2;
      if (e == 0x62) cp = 0x08;
      else if (e == 0x66) cp = 0x0C;
      else if (e == 0x6E) cp = 0x0A;
      else if (e == 0x72) cp = 0x0D;
      else if (e == 0x74) cp = 0x09;
      else cp = e; // \" \\ \/
    }
    n += putUtf8(dst + n, cp, write);
  }
  return <i32>n;
}

/**
 * Whether the JSON string content [p, end) decodes to exactly the bytes [seg, segEnd). Plain contents
 * compare byte for byte; contents with escapes are decoded code point by code point as they are compared.
 */
function nameEquals(p: usize, end: usize, escaped: bool, seg: usize, segEnd: usize): bool {
  if (!escaped) {
    if (end - p != segEnd - seg) return false;
    return memory.compare(p, seg, end - p) == 0;
  }
  let s = seg;
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c != BACKSLASH) {
      if (s >= segEnd || <u32>load<u8>(s) != c) return false;
      s++;
      p++;
      continue;
    }
    const e = <u32>load<u8>(p + 1);
    let cp: u32;
    if (e == 0x75) {
      cp = <u32>hex4(p + 2);
      p += 6;
      if (cp - 0xD800 < 0x800) {
        if (cp >= 0xDC00 || p + 6 > end || load<u8>(p) != <u8>BACKSLASH || load<u8>(p + 1) != 0x75) return false;
        const lo = <u32>hex4(p + 2);
        if (lo - 0xDC00 >= 0x400) return false;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      }
    } else {
      p += 2;
      if (e == 0x62) cp = 0x08;
      else if (e == 0x66) cp = 0x0C;
      else if (e == 0x6E) cp = 0x0A;
      else if (e == 0x72) cp = 0x0D;
      else if (e == 0x74) cp = 0x09;
      else cp = e;
    }
    // compare the UTF-8 form of cp with the next bytes of the segment
    const len: usize = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (s + len > segEnd) return false;
    if (len == 1) {
      if (<u32>load<u8>(s) != cp) return false;
    } else if (len == 2) {
      if (<u32>load<u8>(s) != (0xC0 | (cp >> 6)) || <u32>load<u8>(s, 1) != (0x80 | (cp & 0x3F))) return false;
    } else if (len == 3) {
      if (<u32>load<u8>(s) != (0xE0 | (cp >> 12)) || <u32>load<u8>(s, 1) != (0x80 | ((cp >> 6) & 0x3F))
        || <u32>load<u8>(s, 2) != (0x80 | (cp & 0x3F))) return false;
    } else {
      if (<u32>load<u8>(s) != (0xF0 | (cp >> 18)) || <u32>load<u8>(s, 1) != (0x80 | ((cp >> 12) & 0x3F))
        || <u32>load<u8>(s, 2) != (0x80 | ((cp >> 6) & 0x3F)) || <u32>load<u8>(s, 3) != (0x80 | (cp & 0x3F))) return false;
    }
    s += len;
  }
  return s == segEnd;
}

// the separator of path steps: never part of well-formed UTF-8
// @ts-ignore: decorator
@inline const STEP_SEPARATOR: u8 = 0xFF;

/** End of the path step that starts at seg: the next separator or the end of the path. */
// @ts-ignore: decorator
@inline function stepEnd(seg: usize, pathEnd: usize): usize {
  while (seg < pathEnd && load<u8>(seg) != STEP_SEPARATOR) seg++;
  return seg;
}

/** Start of the path step that ends at stepEndPos (the one before the current step). */
// @ts-ignore: decorator
@inline function stepStart(path: usize, stepEndPos: usize): usize {
  let s = stepEndPos;
  while (s > path && load<u8>(s - 1) != STEP_SEPARATOR) s--;
  return s;
}

/** Decodes the JSON lines of the job at `job` (DJ_* fields, see decode_job.ts). Returns DJ_STATUS. */
export function json_decode(job: usize): u32 {
  const input = <usize>load<u32>(job, DJ_IN);
  const end = input + <usize>load<u32>(job, DJ_IN_LEN);
  const final = load<u32>(job, DJ_FINAL) != 0;
  const firstLine = load<u32>(job, DJ_FIRST_LINE);
  const kPath = <usize>load<u32>(job, DJ_KEY_PATH);
  const kPathEnd = kPath + <usize>load<u32>(job, DJ_KEY_PATH_LEN);
  const hasKey = kPath != 0; // 0: no key field (the path below is then empty and its matches are ignored)
  const hasValue = load<u32>(job, DJ_VAL_PATH) != 0;
  const vPath = <usize>load<u32>(job, DJ_VAL_PATH);
  const vPathEnd = vPath + <usize>load<u32>(job, DJ_VAL_PATH_LEN);
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
  const stack = <usize>load<u32>(job, DJ_SCRATCH);
  const maxDepth = load<u32>(job, DJ_SCRATCH_LEN);
  let records = load<u32>(job, DJ_RECORDS);
  let errorCount = load<u32>(job, DJ_ERROR_COUNT);
  let slowCount = load<u32>(job, DJ_SLOW_COUNT);
  let keyPos = load<u32>(keyOffs + (<usize>records << 2));

  const vLf = i8x16.splat(<i8>LF);
  let p = input;
  let lines: u32 = 0;
  let status = STATUS_DONE;

  while (p < end) {
    // ---- find the line's end, noting whether it holds any byte >= 0x80
    let s = p;
    let high: u32 = 0;
    let found = false;
    while (s + 16 <= end) {
      const v = v128.load(s);
      const m = i8x16.bitmask(i8x16.eq(v, vLf));
      if (m != 0) {
        const i = ctz(m);
        high |= i8x16.bitmask(v) & ((1 << i) - 1);
        s += <usize>i;
        found = true;
        break;
      }
      high |= i8x16.bitmask(v);
      s += 16;
    }
    if (!found) {
      while (s < end) {
        const c = <u32>load<u8>(s);
        if (c == LF) {
          found = true;
          break;
        }
        high |= c & 0x80;
        s++;
      }
    }
    if (!found && !final) break; // an incomplete last line
    const lineStart = p;
    let lineEnd = s;
    const next = found ? s + 1 : end;
    if (lineEnd > lineStart && <u32>load<u8>(lineEnd - 1) == CR) lineEnd--;
    if (lineEnd == lineStart) {
      p = next;
      if (found) lines++;
      continue;
    }

    // ---- validate
    let bad: u32 = 0;
    if (high != 0) {
      let u = lineStart;
      while (u < lineEnd) {
        if (<u32>load<u8>(u) < 0x80) {
          u++;
          continue;
        }
        const n = utf8Sequence(u, lineEnd);
        if (n == 0) {
          bad = BAD_UTF8;
          break;
        }
        u += <usize>n;
      }
    }

    let kKind = K_MISSING;
    let kStart: usize = 0;
    let kEnd: usize = 0;
    let kEscaped = false;
    let vKind = K_MISSING;
    let vStart: usize = 0;
    let vEnd: usize = 0;
    let vEscaped = false;
    let topIsObject = false;
    let blank = false; // only whitespace: no record, as an empty line

    if (bad == 0) {
      // Path tracking: objects at depths 1..kLevel are the ones the key path runs through; the current
      // step [kSeg, kSegEnd) is compared with member names of the object at depth kLevel.
      let kLevel: u32 = 0;
      let kSeg = kPath;
      let kSegEnd = stepEnd(kPath, kPathEnd);
      let kPending = false; // the next value is what the key path names
      let kEnter = false; // the next value, if an object, continues the key path
      let vLevel: u32 = 0;
      let vSeg = vPath;
      let vSegEnd = hasValue ? stepEnd(vPath, vPathEnd) : vPath;
      let vPending = false;
      let vEnter = false;

      let q = lineStart;
      let depth: u32 = 0;
      let state = ST_VALUE;
      while (true) {
        while (q < lineEnd && isWs(<u32>load<u8>(q))) q++;
        const atEnd = q >= lineEnd;
        const c: u32 = atEnd ? 0 : <u32>load<u8>(q);

        if (state == ST_AFTER) {
          if (depth == 0) {
            if (!atEnd) bad = BAD_JSON;
            break;
          }
          const top = load<u8>(stack + <usize>depth - 1);
          if (c == 0x2C) { // ','
            state = top == IN_OBJECT ? ST_MEMBER : ST_VALUE;
            q++;
            continue;
          }
          if ((c == 0x7D && top == IN_OBJECT) || (c == 0x5D && top == IN_ARRAY)) {
            if (top == IN_OBJECT) {
              // leaving an object on a path steps back one step
              if (depth == kLevel) {
                kLevel--;
                if (kLevel > 0) {
                  kSegEnd = kSeg - 1;
                  kSeg = stepStart(kPath, kSegEnd);
                }
              }
              if (depth == vLevel) {
                vLevel--;
                if (vLevel > 0) {
                  vSegEnd = vSeg - 1;
                  vSeg = stepStart(vPath, vSegEnd);
                }
              }
            }
            depth--;
            q++;
            continue;
          }
          bad = BAD_JSON;
          break;
        }

        if (state == ST_FIRST_MEMBER || state == ST_MEMBER) {
          if (state == ST_FIRST_MEMBER && c == 0x7D) {
            state = ST_AFTER;
            continue; // ST_AFTER closes the object
          }
          if (atEnd || c != QUOTE) {
            bad = BAD_JSON;
            break;
          }
          const r = scanString(q, lineEnd);
          if (r == 0) {
            bad = BAD_JSON;
            break;
          }
          const nameEnd = <usize>(r & 0xFFFF_FFFF);
          const escaped = (r >> 32) != 0;
          if (depth == kLevel && nameEquals(q + 1, nameEnd - 1, escaped, kSeg, kSegEnd)) {
            if (kSegEnd == kPathEnd) {
              kPending = true;
            } else {
              kKind = K_MISSING; // a later occurrence of this step replaces what an earlier one held
              kEnter = true;
            }
          }
          if (hasValue && depth == vLevel && nameEquals(q + 1, nameEnd - 1, escaped, vSeg, vSegEnd)) {
            if (vSegEnd == vPathEnd) {
              vPending = true;
            } else {
              vKind = K_MISSING;
              vEnter = true;
            }
          }
          q = nameEnd;
          state = ST_COLON;
          continue;
        }

        if (state == ST_COLON) {
          if (c != 0x3A) {
            bad = BAD_JSON;
            break;
          }
          q++;
          state = ST_VALUE;
          continue;
        }

        // ST_VALUE or ST_FIRST_ELEMENT
        if (state == ST_FIRST_ELEMENT && c == 0x5D) {
          state = ST_AFTER;
          continue; // ST_AFTER closes the array
        }
        if (atEnd) {
          if (depth == 0) blank = true; // nothing before the end but whitespace
          else bad = BAD_JSON;
          break;
        }
        if (c == 0x7B || c == 0x5B) {
          if (depth >= maxDepth) {
            bad = BAD_TOO_DEEP;
            break;
          }
          store<u8>(stack + <usize>depth, c == 0x7B ? IN_OBJECT : IN_ARRAY);
          depth++;
          if (depth == 1) topIsObject = c == 0x7B;
          if (c == 0x7B) {
            if (depth == 1) {
              kLevel = 1;
              vLevel = 1;
            } else {
              if (kEnter) {
                kLevel++;
                kSeg = kSegEnd + 1;
                kSegEnd = stepEnd(kSeg, kPathEnd);
              }
              if (vEnter) {
                vLevel++;
                vSeg = vSegEnd + 1;
                vSegEnd = stepEnd(vSeg, vPathEnd);
              }
            }
            state = ST_FIRST_MEMBER;
          } else {
            state = ST_FIRST_ELEMENT;
          }
          if (kPending) kKind = K_OTHER;
          if (vPending) vKind = K_OTHER;
          kPending = false;
          kEnter = false;
          vPending = false;
          vEnter = false;
          q++;
          continue;
        }
        let kind: u32;
        let tokenEnd: usize;
        let escaped = false;
        if (c == QUOTE) {
          const r = scanString(q, lineEnd);
          tokenEnd = <usize>(r & 0xFFFF_FFFF);
          escaped = (r >> 32) != 0;
          kind = K_STRING;
        } else if (c == 0x2D || c - 0x30 < 10) {
          tokenEnd = scanNumber(q, lineEnd);
          kind = K_NUMBER;
        } else {
          tokenEnd = scanLiteral(q, lineEnd, c);
          kind = c == 0x6E ? K_OTHER : K_BOOL;
        }
        if (tokenEnd == 0) {
          bad = BAD_JSON;
          break;
        }
        if (kPending) {
          kKind = kind;
          kStart = kind == K_STRING ? q + 1 : q;
          kEnd = kind == K_STRING ? tokenEnd - 1 : tokenEnd;
          kEscaped = escaped;
        }
        if (vPending) {
          vKind = kind;
          vStart = kind == K_STRING ? q + 1 : q;
          vEnd = kind == K_STRING ? tokenEnd - 1 : tokenEnd;
          vEscaped = escaped;
        }
        kPending = false;
        kEnter = false;
        vPending = false;
        vEnter = false;
        q = tokenEnd;
        state = ST_AFTER;
      }
    }

    if (blank) {
      p = next;
      if (found) lines++;
      continue;
    }

    // ---- judge the line
    let keyLen: u32 = 0;
    let bits: u64 = 0;
    if (bad == 0 && !topIsObject) bad = BAD_NOT_OBJECT;
    if (bad == 0) {
      if (!hasKey) {
        kEscaped = false; // the empty key
      } else if (kKind == K_MISSING) {
        bad = BAD_MISSING_KEY;
      } else if (kKind == K_OTHER) {
        bad = BAD_KEY_TYPE;
      } else if (kEscaped) {
        const n = decodeString(kStart, kEnd, 0, false);
        if (n < 0) bad = BAD_UTF8;
        else keyLen = <u32>n;
      } else {
        keyLen = <u32>(kEnd - kStart);
      }
    }
    if (bad == 0 && hasValue) {
      if (vKind == K_MISSING) {
        bad = BAD_MISSING_VALUE;
      } else if (vKind == K_NUMBER || (vKind == K_STRING && !vEscaped)) {
        bits = parseDecimalBits(vStart, vEnd);
        if (bits == BITS_INVALID) bad = BAD_NUMBER;
      } else {
        bad = BAD_NUMBER;
      }
    }

    // ---- emit
    if (bad != 0) {
      if (errorCount >= maxErrors) {
        status = STATUS_ERRORS_FULL;
        break;
      }
      putError(errors, errorCount, firstLine + lines, bad, <u32>(lineStart - input), <u32>(lineEnd - input));
      errorCount++;
    } else {
      if (records >= maxRecords) {
        status = STATUS_RECORDS_FULL;
        break;
      }
      if (<u64>keyPos + <u64>keyLen > <u64>keyBytesCap) {
        status = STATUS_KEY_BYTES_FULL;
        break;
      }
      if (bits == BITS_SLOW && slowCount >= maxSlow) {
        status = STATUS_SLOW_FULL;
        break;
      }
      const dst = keyBytes + <usize>keyPos;
      if (kEscaped) decodeString(kStart, kEnd, dst, true);
      else memory.copy(dst, kStart, <usize>keyLen);
      keyPos += keyLen;
      store<u32>(keyOffs + (<usize>(records + 1) << 2), keyPos);
      if (hashes != 0) store<u32>(hashes + (<usize>records << 2), keyHash(fast, dst, <usize>keyLen));
      if (values != 0) {
        if (bits == BITS_SLOW) {
          putSlow(slow, slowCount, records, <u32>(vStart - input), <u32>(vEnd - input));
          slowCount++;
          bits = 0;
        }
        store<u64>(values + (<usize>records << 3), bits);
      }
      records++;
    }
    p = next;
    if (found) lines++;
  }

  store<u32>(job, <u32>(p - input), DJ_CONSUMED);
  store<u32>(job, records, DJ_RECORDS);
  store<u32>(job, errorCount, DJ_ERROR_COUNT);
  store<u32>(job, slowCount, DJ_SLOW_COUNT);
  store<u32>(job, lines, DJ_LINES);
  store<u32>(job, status, DJ_STATUS);
  return status;
}
