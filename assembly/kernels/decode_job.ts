// The decode job struct shared by csv_decode and json_decode, and the helpers both decoders use.
//
// Field offsets mirror src/wasm/abi.ts (DJ_*, DecodeStatus, BadReason, ErrorEntry, SlowEntry); change
// both sides together and bump ABI_VERSION. A job may say its records have no key field (DJ_KEY_COL =
// NO_KEY_COLUMN for csv, DJ_KEY_PATH = 0 for json): every good record then gets the empty key, and the
// host supplies the real keys from elsewhere (a Kafka message's key). The outputs are appended to: a run starts at the
// DJ_RECORDS / DJ_ERROR_COUNT / DJ_SLOW_COUNT already there (0 for a fresh batch) and at key byte
// keyOffs[records], so the host can grow a full output, or drain the errors, and run the job again.

import { fastHashRange, murmur2Range } from "../hash";

// @ts-ignore: decorator
@inline export const DJ_IN: usize = 0;
// @ts-ignore: decorator
@inline export const DJ_IN_LEN: usize = 4;
// @ts-ignore: decorator
@inline export const DJ_FINAL: usize = 8;
// @ts-ignore: decorator
@inline export const DJ_FIRST_LINE: usize = 12;
// @ts-ignore: decorator
@inline export const DJ_KEY_COL: usize = 16;
// @ts-ignore: decorator
@inline export const DJ_VAL_COL: usize = 20;
/** DJ_KEY_COL value of a csv job whose records have no key field. */
// @ts-ignore: decorator
@inline export const NO_KEY_COLUMN: u32 = 0xFFFFFFFF;
// @ts-ignore: decorator
@inline export const DJ_KEY_PATH: usize = 24;
// @ts-ignore: decorator
@inline export const DJ_KEY_PATH_LEN: usize = 28;
// @ts-ignore: decorator
@inline export const DJ_VAL_PATH: usize = 32;
// @ts-ignore: decorator
@inline export const DJ_VAL_PATH_LEN: usize = 36;
// @ts-ignore: decorator
@inline export const DJ_MAX_RECORDS: usize = 40;
// @ts-ignore: decorator
@inline export const DJ_KEY_OFFS: usize = 44;
// @ts-ignore: decorator
@inline export const DJ_KEY_BYTES: usize = 48;
// @ts-ignore: decorator
@inline export const DJ_KEY_BYTES_CAP: usize = 52;
// @ts-ignore: decorator
@inline export const DJ_VALUES: usize = 56;
// @ts-ignore: decorator
@inline export const DJ_HASHES: usize = 60;
// @ts-ignore: decorator
@inline export const DJ_ERRORS: usize = 64;
// @ts-ignore: decorator
@inline export const DJ_MAX_ERRORS: usize = 68;
// @ts-ignore: decorator
@inline export const DJ_SLOW: usize = 72;
// @ts-ignore: decorator
@inline export const DJ_MAX_SLOW: usize = 76;
// @ts-ignore: decorator
@inline export const DJ_SCRATCH: usize = 80;
// @ts-ignore: decorator
@inline export const DJ_SCRATCH_LEN: usize = 84;
// @ts-ignore: decorator
@inline export const DJ_DELIM: usize = 88;
// @ts-ignore: decorator
@inline export const DJ_CONSUMED: usize = 92;
// @ts-ignore: decorator
@inline export const DJ_RECORDS: usize = 96;
// @ts-ignore: decorator
@inline export const DJ_ERROR_COUNT: usize = 100;
// @ts-ignore: decorator
@inline export const DJ_SLOW_COUNT: usize = 104;
// @ts-ignore: decorator
@inline export const DJ_LINES: usize = 108;
// @ts-ignore: decorator
@inline export const DJ_STATUS: usize = 112;
// @ts-ignore: decorator
@inline export const DJ_HASH: usize = 116;

/** The hash DJ_HASH asks for of key [p, p + n): 0 murmur2 (Kafka's, what shards and checkpoints go by), 1 fastHash. */
// @ts-ignore: decorator
@inline export function keyHash(fast: bool, p: usize, n: usize): u32 {
  return fast ? fastHashRange(p, n) : murmur2Range(p, n);
}

// DecodeStatus
// @ts-ignore: decorator
@inline export const STATUS_DONE: u32 = 0;
// @ts-ignore: decorator
@inline export const STATUS_RECORDS_FULL: u32 = 1;
// @ts-ignore: decorator
@inline export const STATUS_KEY_BYTES_FULL: u32 = 2;
// @ts-ignore: decorator
@inline export const STATUS_ERRORS_FULL: u32 = 3;
// @ts-ignore: decorator
@inline export const STATUS_SLOW_FULL: u32 = 4;

// BadReason
// @ts-ignore: decorator
@inline export const BAD_MISSING_KEY: u32 = 1;
// @ts-ignore: decorator
@inline export const BAD_MISSING_VALUE: u32 = 2;
// @ts-ignore: decorator
@inline export const BAD_EMPTY_VALUE: u32 = 3;
// @ts-ignore: decorator
@inline export const BAD_NUMBER: u32 = 4;
// @ts-ignore: decorator
@inline export const BAD_UTF8: u32 = 5;
// @ts-ignore: decorator
@inline export const BAD_QUOTE: u32 = 6;
// @ts-ignore: decorator
@inline export const BAD_UNTERMINATED_QUOTE: u32 = 7;
// @ts-ignore: decorator
@inline export const BAD_JSON: u32 = 8;
// @ts-ignore: decorator
@inline export const BAD_NOT_OBJECT: u32 = 9;
// @ts-ignore: decorator
@inline export const BAD_KEY_TYPE: u32 = 10;
// @ts-ignore: decorator
@inline export const BAD_TOO_DEEP: u32 = 11;

// @ts-ignore: decorator
@inline export const ERROR_ENTRY_SIZE: usize = 16;
// @ts-ignore: decorator
@inline export const SLOW_ENTRY_SIZE: usize = 16;

// @ts-ignore: decorator
@inline export const LF: u32 = 0x0A;
// @ts-ignore: decorator
@inline export const CR: u32 = 0x0D;
// @ts-ignore: decorator
@inline export const QUOTE: u32 = 0x22;

/** Writes ErrorEntry `index`: line, reason, and the raw record [start, end) relative to the input. */
// @ts-ignore: decorator
@inline export function putError(errors: usize, index: u32, line: u32, reason: u32, start: u32, end: u32): void {
  const e = errors + <usize>index * ERROR_ENTRY_SIZE;
  store<u32>(e, line);
  store<u32>(e, reason, 4);
  store<u32>(e, start, 8);
  store<u32>(e, end, 12);
}

/** Writes SlowEntry `index`: the record whose value the host parses, and its text relative to the input. */
// @ts-ignore: decorator
@inline export function putSlow(slow: usize, index: u32, record: u32, start: u32, end: u32): void {
  const e = slow + <usize>index * SLOW_ENTRY_SIZE;
  store<u32>(e, record);
  store<u32>(e, start, 4);
  store<u32>(e, end, 8);
  store<u32>(e, 0, 12);
}

/**
 * Length (2-4) of the well-formed UTF-8 sequence whose lead byte (>= 0x80) is at p, or 0 when it is
 * ill-formed or cut by `end`. Well-formed = RFC 3629 section 4: no overlong forms, no surrogates
 * (U+D800..DFFF), nothing above U+10FFFF. Reads only [p, end).
 */
// @ts-ignore: decorator
@inline export function utf8Sequence(p: usize, end: usize): u32 {
  const b0 = <u32>load<u8>(p);
  if (b0 < 0xC2) return 0; // a continuation byte, or an overlong 2-byte lead
  if (b0 < 0xE0) {
    if (p + 1 >= end) return 0;
    return (<u32>load<u8>(p, 1) & 0xC0) == 0x80 ? 2 : 0;
  }
  if (b0 < 0xF0) {
    if (p + 2 >= end) return 0;
    const b1 = <u32>load<u8>(p, 1);
    // E0 needs A0..BF (no overlong), ED needs 80..9F (no surrogates)
    const lo: u32 = b0 == 0xE0 ? 0xA0 : 0x80;
    const hi: u32 = b0 == 0xED ? 0x9F : 0xBF;
    if (b1 < lo || b1 > hi) return 0;
    return (<u32>load<u8>(p, 2) & 0xC0) == 0x80 ? 3 : 0;
  }
  if (b0 < 0xF5) {
    if (p + 3 >= end) return 0;
    const b1 = <u32>load<u8>(p, 1);
    // F0 needs 90..BF (no overlong), F4 needs 80..8F (nothing above U+10FFFF)
    const lo: u32 = b0 == 0xF0 ? 0x90 : 0x80;
    const hi: u32 = b0 == 0xF4 ? 0x8F : 0xBF;
    if (b1 < lo || b1 > hi) return 0;
    if ((<u32>load<u8>(p, 2) & 0xC0) != 0x80) return 0;
    return (<u32>load<u8>(p, 3) & 0xC0) == 0x80 ? 4 : 0;
  }
  return 0;
}
