// Host side of csv_decode / json_decode: one job struct, its input region and its output columns in the shared arena.
//
//   write(bytes) ──► input region  [ consumed | pending ........ | free ]
//                                             │ prepare(final) + kernel(job.ptr) + settle()
//                                             ▼
//   output columns (records 0 .. records-1, appended to until the caller clears them)
//     keyOffs u32[maxRecords+1]   key i = keyBytes[keyOffs[i] .. keyOffs[i+1])
//     keyBytes u8[keyBytesCap]     grown here when a run stops with KeyBytesFull
//     values f64[maxRecords]       Slow values patched here with Number()
//     hashes u32[maxRecords]       the hash of each key: murmur2 (Kafka's partitioner hash), or fastHash
//   bad records                    drained after every run into small JS objects
//
// A run stops when the pending input holds no further complete record (Done), or when an output is
// full. settle() handles each stop: ErrorsFull and SlowFull are drained and the job runs again,
// KeyBytesFull grows the key bytes and runs again, RecordsFull hands the batch to the caller, who
// consumes the columns, calls clearRecords() and decodes again. No JS object or string is made per
// good record: only per bad record, and per value whose text needs Number() (more than 19 significant
// digits on a rounding boundary).

import { OptionError } from '../errors.js';
import type { SharedArena } from '../runtime/memory.js';
import { byteTableHash, type ByteTableHash } from '../state/shard-table.js';
import {
  BadReason, DecodeStatus, DJ_CONSUMED, DJ_DELIM, DJ_ERROR_COUNT, DJ_ERRORS, DJ_FINAL, DJ_FIRST_LINE, DJ_HASH, DJ_HASHES,
  DJ_IN, DJ_IN_LEN, DJ_KEY_BYTES, DJ_KEY_BYTES_CAP, DJ_KEY_COL, DJ_KEY_OFFS, DJ_KEY_PATH, DJ_KEY_PATH_LEN,
  DJ_LINES, DJ_MAX_ERRORS, DJ_MAX_RECORDS, DJ_MAX_SLOW, DJ_RECORDS, DJ_SCRATCH, DJ_SCRATCH_LEN, DJ_SIZE,
  DJ_NO_KEY_COLUMN, DJ_SLOW, DJ_SLOW_COUNT, DJ_STATUS, DJ_VAL_COL, DJ_VAL_PATH, DJ_VAL_PATH_LEN, DJ_VALUES, ERROR_ENTRY_SIZE,
  SLOW_ENTRY_SIZE, type KernelExports,
} from '../wasm/abi.js';
import { describeBadRecord, type BadRecordContext } from './bad-record.js';
import { delimiterByte } from './csv-header.js';
import { encodeFieldPath } from './field-path.js';

export type DecodeFormat = 'csv' | 'jsonl';

/** The name of a BadReason code, e.g. 'BadNumber'. */
export type BadReasonName = keyof typeof BadReason;

/** A record that could not be decoded. Made only for bad records. */
export interface BadRecord {
  /** 1-based physical line of the record's first byte. */
  line: number;
  code: BadReasonName;
  /** What was wrong, naming the column or field, e.g. `value "abc" in column 1 is not a decimal number`. */
  reason: string;
  /** The record's raw bytes, line terminator excluded. */
  raw: Uint8Array;
}

interface CommonOptions {
  /** Records one batch holds: the capacity of keyOffs, values and hashes. */
  maxRecords: number;
  /** Initial input region size in bytes (grown by write() when needed). Default 1 MiB. */
  inputBytes?: number;
  /** Initial key bytes capacity (grown when full). Default 16 bytes per record. */
  keyBytes?: number;
  /** Bad records one run may report before the host drains them. Default 64. */
  maxErrors?: number;
  /** Slow values one run may report before the host patches them. Default 64. */
  maxSlow?: number;
  /** Compute the hash of each key into hashes(). Default true. */
  hashKeys?: boolean;
  /**
   * Which hash hashes() holds: 'murmur2' (the default; Kafka's, what shards and checkpoints go by) or
   * 'fast' (fastHash, for state in ShardTables made with hash 'fast': ~2.3x cheaper a key).
   */
  hash?: ByteTableHash;
  /** 1-based line number of the first byte written. Default 1. */
  firstLine?: number;
}

export interface CsvDecodeOptions extends CommonOptions {
  format: 'csv';
  /** 0-based key column; null: the records have no key field, every key is empty (the caller supplies keys). */
  keyColumn: number | null;
  /** 0-based value column; omit when only counting. */
  valueColumn?: number;
  /** One ASCII character other than '"', CR and LF. Default ','. */
  delimiter?: string;
  /** Header names, used only to name columns in bad-record reasons. */
  columnNames?: readonly string[];
}

export interface JsonlDecodeOptions extends CommonOptions {
  format: 'jsonl';
  /**
   * Dotted path of the key field (`m.k` = field k of object m; `` `a.b` `` = the field named a.b, see
   * field-path.ts); null: no key field, every key is empty.
   */
  keyPath: string | null;
  /** Dotted path of the value field; omit when only counting. */
  valuePath?: string;
  /** Deepest nesting of objects and arrays a line may have (TooDeep beyond). Default 1024. */
  maxDepth?: number;
}

export type DecodeJobOptions = CsvDecodeOptions | JsonlDecodeOptions;

/**
 * What a run left to do. `again`: run the kernel again (settle() made room); `full`: the record outputs
 * are full, consume them and call clearRecords(); `done`: every complete record of the pending input is decoded.
 */
export type DecodeStep = 'again' | 'full' | 'done';

const STATUS_NAMES = ['Done', 'RecordsFull', 'KeyBytesFull', 'ErrorsFull', 'SlowFull'] as const;
const REASON_NAMES = new Map<number, BadReasonName>(
  (Object.entries(BadReason) as Array<[BadReasonName, number]>).map(([name, code]) => [code, name]),
);
const LF = 0x0a;
/**
 * Room reserveAhead() keeps before the input it places, for what a split's tail leaves undecoded (a
 * partial record) to go right before it. A longer rest moves the input up behind it instead (a copy).
 */
const AHEAD_GAP = 64 * 1024;
/** Keys a batch holds before their mean length sizes the key bytes' growth. */
const GROWTH_SAMPLE_KEYS = 1024;
const latin1 = new TextDecoder('latin1');

function positiveInt(value: number, option: string, min = 1): number {
  if (!Number.isInteger(value) || value < min || value > 0x7fff_ffff) {
    throw new RangeError(`options.${option} must be an integer from ${min} to ${0x7fff_ffff}, got ${value}`);
  }
  return value;
}

/**
 * One decode job over a SharedArena: place input with write(), decode it (inline with decode(), or on
 * another thread with prepare() / kernel(ptr) / settle()), read the columns, clearRecords(), repeat.
 *
 * @example
 * const job = new DecodeJob(arena, { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 1 << 16 });
 * job.write(chunk);
 * while (job.decode(kernels, false) === 'full') { use(job); job.clearRecords(); }
 */
export class DecodeJob {
  /** The job struct (DJ_* in src/wasm/abi.ts): pass it to csv_decode / json_decode on any thread. */
  readonly ptr: number;
  readonly format: DecodeFormat;
  readonly maxRecords: number;
  private readonly arena: SharedArena;
  private readonly context: BadRecordContext;
  private inPtr: number;
  private inCap: number;
  private inStart = 0;
  private inEnd = 0;
  private nextLine: number;
  private keyOffsPtr_: number;
  private keyBytesPtr_: number;
  private keyBytesCap: number;
  private valuesPtr_: number;
  private hashesPtr_: number;
  private errorsPtr: number;
  private slowPtr: number;
  private pathPtr = 0;
  private scratchPtr = 0;
  private records_ = 0;
  private limit: number;
  private bad: BadRecord[] = [];
  private badTotal = 0;
  private released = false;
  /** Set on the job that took a split's tail (splitTo), until joinSplit / undoSplit. */
  private split: { bytes: number; badTotal: number } | undefined;
  /**
   * A split's tail decodes its half where it lies, in the head's input region: [at, end) are the
   * absolute addresses of its pending input there, until joinSplit moves what is left into its own
   * region (or undoSplit hands it back).
   */
  private window: { at: number; end: number } | undefined;
  /**
   * Input placed ahead in this job's own region (reserveAhead) while it decodes a split's tail in the
   * head's: `bytes` of it at offset `at`, once committed (`room` is what the view held).
   */
  private ahead: { at: number; room: number; bytes: number } | undefined;

  constructor(arena: SharedArena, options: DecodeJobOptions) {
    this.arena = arena;
    this.format = options.format;
    this.maxRecords = positiveInt(options.maxRecords, 'maxRecords');
    this.limit = this.maxRecords;
    this.inCap = positiveInt(options.inputBytes ?? 1 << 20, 'inputBytes');
    this.keyBytesCap = positiveInt(options.keyBytes ?? Math.min(this.maxRecords * 16, 0x4000_0000), 'keyBytes');
    const maxErrors = positiveInt(options.maxErrors ?? 64, 'maxErrors');
    const maxSlow = positiveInt(options.maxSlow ?? 64, 'maxSlow');
    this.nextLine = positiveInt(options.firstLine ?? 1, 'firstLine');
    const hash = byteTableHash(options.hash);

    this.ptr = arena.alloc(DJ_SIZE, true);
    this.inPtr = arena.alloc(this.inCap);
    // only keyOffs[0] is read before the kernel writes it: zeroing the rest would only touch its pages
    this.keyOffsPtr_ = arena.alloc((this.maxRecords + 1) * 4);
    this.keyBytesPtr_ = arena.alloc(this.keyBytesCap);
    this.valuesPtr_ = arena.alloc(this.maxRecords * 8);
    this.hashesPtr_ = options.hashKeys === false ? 0 : arena.alloc(this.maxRecords * 4);
    this.errorsPtr = arena.alloc(maxErrors * ERROR_ENTRY_SIZE);
    this.slowPtr = arena.alloc(maxSlow * SLOW_ENTRY_SIZE);

    const u32 = arena.u32;
    const i32 = arena.i32;
    const j = this.ptr >>> 2;
    u32[j + DJ_KEY_OFFS / 4] = this.keyOffsPtr_;
    u32[this.keyOffsPtr_ >>> 2] = 0;
    u32[j + DJ_VALUES / 4] = this.valuesPtr_;
    u32[j + DJ_HASHES / 4] = this.hashesPtr_;
    u32[j + DJ_HASH / 4] = hash === 'fast' ? 1 : 0;
    u32[j + DJ_ERRORS / 4] = this.errorsPtr;
    u32[j + DJ_MAX_ERRORS / 4] = maxErrors;
    u32[j + DJ_SLOW / 4] = this.slowPtr;
    u32[j + DJ_MAX_SLOW / 4] = maxSlow;

    if (options.format === 'csv') {
      const keyColumn = options.keyColumn === null ? null : positiveInt(options.keyColumn, 'keyColumn', 0);
      const valueColumn = options.valueColumn === undefined ? -1 : positiveInt(options.valueColumn, 'valueColumn', 0);
      let delimiter: number;
      try {
        delimiter = delimiterByte(options.delimiter ?? ',');
      } catch (err) {
        throw new RangeError((err as OptionError).message.replace('the CSV delimiter', 'options.delimiter'));
      }
      u32[j + DJ_KEY_COL / 4] = keyColumn ?? DJ_NO_KEY_COLUMN;
      i32[j + DJ_VAL_COL / 4] = valueColumn;
      u32[j + DJ_DELIM / 4] = delimiter;
      this.context = { format: 'csv', keyColumn, valueColumn, delimiter, columnNames: options.columnNames };
    } else {
      if (options.keyPath !== null && (typeof options.keyPath !== 'string' || options.keyPath === '')) {
        throw new RangeError('options.keyPath must be a non-empty dotted field path, or null for no key field');
      }
      if (options.valuePath !== undefined && (typeof options.valuePath !== 'string' || options.valuePath === '')) {
        throw new RangeError('options.valuePath must be a non-empty dotted field path when given');
      }
      const maxDepth = positiveInt(options.maxDepth ?? 1024, 'maxDepth');
      const key = options.keyPath === null ? new Uint8Array(0) : encodeFieldPath(options.keyPath);
      const value = options.valuePath === undefined ? new Uint8Array(0) : encodeFieldPath(options.valuePath);
      this.pathPtr = arena.alloc(key.length + value.length + 1);
      this.scratchPtr = arena.alloc(maxDepth);
      arena.u8.set(key, this.pathPtr);
      arena.u8.set(value, this.pathPtr + key.length);
      u32[j + DJ_KEY_PATH / 4] = options.keyPath === null ? 0 : this.pathPtr;
      u32[j + DJ_KEY_PATH_LEN / 4] = key.length;
      u32[j + DJ_VAL_PATH / 4] = options.valuePath === undefined ? 0 : this.pathPtr + key.length;
      u32[j + DJ_VAL_PATH_LEN / 4] = value.length;
      u32[j + DJ_SCRATCH / 4] = this.scratchPtr;
      u32[j + DJ_SCRATCH_LEN / 4] = maxDepth;
      this.context = { format: 'jsonl', keyPath: options.keyPath, valuePath: options.valuePath, maxDepth };
    }
  }

  /** Line number of the first pending (not yet decoded) input byte. */
  get line(): number {
    return this.nextLine;
  }

  /** Input bytes written and not yet decoded (at most a partial record after a `done` decode). */
  get pendingBytes(): number {
    return this.window ? this.window.end - this.window.at : this.inEnd - this.inStart;
  }

  /**
   * Good records a batch holds before a run stops with `full`: maxRecords unless lowered (a batch
   * replayed from its checkpoint intent keeps the size it was cut with).
   */
  get recordLimit(): number {
    return this.limit;
  }
  set recordLimit(n: number) {
    if (positiveInt(n, 'recordLimit') > this.maxRecords) throw new RangeError(`DecodeJob.recordLimit ${n} exceeds maxRecords ${this.maxRecords}`);
    this.limit = n;
  }

  /** Good records in the output columns. */
  get records(): number {
    return this.records_;
  }

  /** Bad records seen since the job was made (taken or not). */
  get badRecordCount(): number {
    return this.badTotal;
  }

  /** Appends input after the pending bytes, moving those to the front and growing the region when needed. */
  write(bytes: Uint8Array): void {
    this.reserve(bytes.length).set(bytes);
    this.commit(bytes.length);
  }

  /**
   * Room for `bytes` more input after the pending bytes, as a view into the shared memory: a reader can
   * fill it directly (no copy), then commit() what it wrote. The view is valid until the next call.
   */
  reserve(bytes: number): Uint8Array {
    this.checkLive();
    this.ownWindow();
    const pending = this.inEnd - this.inStart;
    if (pending + bytes > this.inCap) {
      const cap = Math.max(this.inCap * 2, pending + bytes);
      const ptr = this.arena.alloc(cap);
      this.arena.u8.copyWithin(ptr, this.inPtr + this.inStart, this.inPtr + this.inEnd);
      this.arena.release(this.inPtr);
      this.inPtr = ptr;
      this.inCap = cap;
      this.inStart = 0;
      this.inEnd = pending;
    } else if (this.inEnd + bytes > this.inCap) {
      this.arena.u8.copyWithin(this.inPtr, this.inPtr + this.inStart, this.inPtr + this.inEnd);
      this.inStart = 0;
      this.inEnd = pending;
    }
    return new Uint8Array(this.arena.memory.buffer, this.inPtr + this.inEnd, bytes);
  }

  /**
   * While this job decodes a split's tail where it lies (in the head's input region), its own region is
   * idle: room there for the input that comes next, as a view to fill (a file read, beside the two
   * decodes), then commitAhead(). It is not pending input until joinSplit, which puts what the tail
   * leaves undecoded right before it, so the next decode reads it in place; undoSplit hands it to the
   * head instead. The view stays valid until then.
   */
  reserveAhead(bytes: number): Uint8Array {
    this.checkLive();
    if (!this.split || this.ahead || this.inEnd !== this.inStart) {
      throw new Error('DecodeJob.reserveAhead: only a split tail with no input of its own can take input ahead');
    }
    const need = AHEAD_GAP + positiveInt(bytes, 'bytes');
    if (need > this.inCap) {
      // nothing of this job's own is pending: a fresh region needs no copy
      const cap = Math.max(this.inCap * 2, need);
      const ptr = this.arena.alloc(cap);
      this.arena.release(this.inPtr);
      this.inPtr = ptr;
      this.inCap = cap;
    }
    this.inStart = 0;
    this.inEnd = 0;
    this.ahead = { at: AHEAD_GAP, room: bytes, bytes: -1 };
    return new Uint8Array(this.arena.memory.buffer, this.inPtr + AHEAD_GAP, bytes);
  }

  /** How many bytes of the reserveAhead() view were written. */
  commitAhead(bytes: number): void {
    this.checkLive();
    const a = this.ahead;
    if (!a || a.bytes >= 0 || !Number.isInteger(bytes) || bytes < 0 || bytes > a.room) {
      throw new RangeError(`DecodeJob.commitAhead: ${bytes} bytes do not fit the input reserved ahead`);
    }
    a.bytes = bytes;
  }

  /** Adds `bytes` written into the last reserve() view to the pending input. */
  commit(bytes: number): void {
    this.checkLive();
    if (!Number.isInteger(bytes) || bytes < 0 || this.inEnd + bytes > this.inCap) {
      throw new RangeError(`DecodeJob.commit: ${bytes} bytes do not fit the reserved input`);
    }
    this.inEnd += bytes;
  }

  /**
   * Decodes the pending input on this thread until every complete record is decoded (`done`) or the
   * record outputs are full (`full`: consume them, clearRecords(), and call decode again). With `final`,
   * the input ends here: a last record without a line terminator is complete.
   */
  decode(kernels: KernelExports, final = false): 'full' | 'done' {
    for (;;) {
      this.prepare(final);
      if (this.format === 'csv') kernels.csv_decode(this.ptr);
      else kernels.json_decode(this.ptr);
      const step = this.settle();
      if (step !== 'again') return step;
    }
  }

  /** Writes the job struct for a run over the pending input; then run the kernel on `ptr`, then settle(). */
  prepare(final: boolean): void {
    this.checkLive();
    const u32 = this.arena.u32;
    const j = this.ptr >>> 2;
    u32[j + DJ_IN / 4] = this.inputAt();
    u32[j + DJ_IN_LEN / 4] = this.pendingBytes;
    u32[j + DJ_FINAL / 4] = final ? 1 : 0;
    u32[j + DJ_FIRST_LINE / 4] = this.nextLine;
    u32[j + DJ_KEY_BYTES / 4] = this.keyBytesPtr_;
    u32[j + DJ_KEY_BYTES_CAP / 4] = this.keyBytesCap;
    u32[j + DJ_RECORDS / 4] = this.records_;
    u32[j + DJ_MAX_RECORDS / 4] = this.limit;
    u32[j + DJ_ERROR_COUNT / 4] = 0;
    u32[j + DJ_SLOW_COUNT / 4] = 0;
    u32[j + DJ_STATUS / 4] = 0xffff_ffff;
  }

  /** Reads the outcome of a run: takes its bad records, patches Slow values, advances the input. */
  settle(): DecodeStep {
    this.checkLive();
    const u32 = this.arena.u32;
    const j = this.ptr >>> 2;
    const status = u32[j + DJ_STATUS / 4]!;
    if (status > DecodeStatus.SlowFull) throw new Error(`DecodeJob.settle: the kernel did not run (status ${status})`);
    const input = this.inputAt();

    const errorCount = u32[j + DJ_ERROR_COUNT / 4]!;
    for (let e = 0; e < errorCount; e++) {
      const at = (this.errorsPtr >>> 2) + e * (ERROR_ENTRY_SIZE / 4);
      const code = REASON_NAMES.get(u32[at + 1]!);
      if (code === undefined) throw new Error(`DecodeJob.settle: unknown bad-record reason ${u32[at + 1]}`);
      const raw = this.arena.u8.slice(input + u32[at + 2]!, input + u32[at + 3]!);
      this.bad.push({ line: u32[at]!, code, reason: describeBadRecord(this.context, code, raw), raw });
    }
    this.badTotal += errorCount;

    const slowCount = u32[j + DJ_SLOW_COUNT / 4]!;
    if (slowCount > 0) {
      const f64 = this.arena.f64;
      const u8 = this.arena.u8;
      for (let s = 0; s < slowCount; s++) {
        const at = (this.slowPtr >>> 2) + s * (SLOW_ENTRY_SIZE / 4);
        // the text matched the decimal grammar, a subset of what Number() reads, and Number() rounds correctly
        const text = latin1.decode(u8.subarray(input + u32[at + 1]!, input + u32[at + 2]!));
        f64[(this.valuesPtr_ >>> 3) + u32[at]!] = Number(text);
      }
    }

    this.records_ = u32[j + DJ_RECORDS / 4]!;
    if (this.window) this.window.at += u32[j + DJ_CONSUMED / 4]!;
    else this.inStart += u32[j + DJ_CONSUMED / 4]!;
    this.nextLine += u32[j + DJ_LINES / 4]!;
    if (this.inStart === this.inEnd) {
      this.inStart = 0;
      this.inEnd = 0;
    }

    switch (STATUS_NAMES[status]) {
      case 'Done':
        return 'done';
      case 'RecordsFull':
        return 'full';
      case 'KeyBytesFull':
        this.growKeyBytes();
        return 'again';
      default:
        return 'again'; // errors taken, slow values patched: room again
    }
  }

  /**
   * Moves the input not yet decoded (a partial record at most, after a `done` run; more after a
   * `full` one) and the line count to `next`, a job made with the same options, so decoding goes on
   * there while this job's columns are still being consumed.
   */
  moveUnreadTo(next: DecodeJob): void {
    this.checkLive();
    next.checkLive();
    if (next.pendingBytes !== 0) throw new Error('DecodeJob.moveUnreadTo: the next job still holds input');
    this.ownWindow();
    next.nextLine = this.nextLine;
    if (this.inEnd > this.inStart) next.write(this.arena.u8.subarray(this.inPtr + this.inStart, this.inPtr + this.inEnd));
    this.inStart = 0;
    this.inEnd = 0;
  }

  /**
   * Hands the second half of the pending input to `tail` (an empty job made with the same options) so
   * the two halves decode at once, on two threads. The cut is just after the first line feed at or
   * past the middle: only a guess at a record boundary, since a line feed may sit inside a quoted CSV
   * field. The guess was right exactly when this job, decoding its half, consumes all of it (its last
   * record ends at the cut: decoding runs left to right and needs no byte past a line feed to end a
   * record there). So once this job's half is decoded, `tail.splitHolds(this)` tells, and then
   * `tail.joinSplit(this)` rebases the tail's line numbers onto this job's, or `tail.undoSplit(this)`
   * drops what the tail decoded and gives its input back. Until then the tail's bad records carry
   * provisional line numbers: take them only after joinSplit. The tail decodes its half where it lies,
   * in this job's input region (no copy): give this job no input until then. Returns false (nothing
   * moved) when the second half holds no line feed.
   */
  splitTo(tail: DecodeJob): boolean {
    this.checkLive();
    tail.checkLive();
    if (tail.pendingBytes !== 0 || tail.records_ !== 0 || tail.split || this.split) {
      throw new Error('DecodeJob.splitTo: the tail job must be empty and neither job in a split');
    }
    const start = this.inPtr + this.inStart;
    const end = this.inPtr + this.inEnd;
    const mid = start + ((end - start) >>> 1);
    const u8 = this.arena.u8;
    const lf = u8.subarray(mid, end).indexOf(LF);
    if (lf < 0 || mid + lf + 1 >= end) return false;
    const cut = mid + lf + 1;
    tail.window = { at: cut, end };
    tail.nextLine = 1;
    tail.split = { bytes: end - cut, badTotal: tail.badTotal };
    this.inEnd = cut - this.inPtr;
    return true;
  }

  /** After `head` decoded every complete record of its half: whether the cut was a record boundary. */
  splitHolds(head: DecodeJob): boolean {
    if (!this.split) throw new Error('DecodeJob.splitHolds: this job holds no split tail');
    return head.pendingBytes === 0;
  }

  /** The split held: line numbers continue from `head`'s. */
  joinSplit(head: DecodeJob): void {
    if (!this.split) throw new Error('DecodeJob.joinSplit: this job holds no split tail');
    const delta = head.nextLine - 1;
    for (const b of this.bad) b.line += delta;
    this.nextLine += delta;
    this.split = undefined;
    this.ownWindow(); // the head's region is the head's again: keep what is left of this half
  }

  /** The split did not hold: forgets what this job decoded and appends its input back to `head`'s. */
  undoSplit(head: DecodeJob): void {
    const split = this.split;
    if (!split) throw new Error('DecodeJob.undoSplit: this job holds no split tail');
    if (this.splitHolds(head)) throw new Error('DecodeJob.undoSplit: the split held (use joinSplit)');
    // the head did not decode to its cut (its last record runs on past it), so its region still holds
    // its pending bytes with the tail's half right after them: taking the half back is moving its end
    head.inEnd += split.bytes;
    this.window = undefined;
    const ahead = this.takeAhead();
    if (ahead) head.write(ahead);
    this.bad = [];
    this.badTotal = split.badTotal;
    this.inStart = 0;
    this.inEnd = 0;
    this.clearRecords();
    this.split = undefined;
  }

  /** Address of the first pending input byte. */
  private inputAt(): number {
    return this.window ? this.window.at : this.inPtr + this.inStart;
  }

  /**
   * Moves a split tail's pending input from the head's region into this job's own: right before the
   * input placed ahead, if any (it then needs no copy), else after what is there.
   */
  private ownWindow(): void {
    const w = this.window;
    if (!w) return;
    this.window = undefined;
    const rest = w.end - w.at;
    const a = this.ahead;
    if (a && a.bytes >= 0 && rest <= a.at) {
      this.ahead = undefined;
      this.arena.u8.copyWithin(this.inPtr + a.at - rest, w.at, w.end);
      this.inStart = a.at - rest;
      this.inEnd = a.at + a.bytes;
      return;
    }
    const ahead = this.takeAhead();
    if (rest > 0) this.write(this.arena.u8.subarray(w.at, w.end));
    if (ahead) this.write(ahead);
  }

  /** The committed input placed ahead, copied out (a rare path), and forgets it; undefined when none. */
  private takeAhead(): Uint8Array | undefined {
    const a = this.ahead;
    this.ahead = undefined;
    if (!a || a.bytes <= 0) return undefined;
    return this.arena.u8.slice(this.inPtr + a.at, this.inPtr + a.at + a.bytes);
  }

  /** Empties the output columns after the caller consumed them. */
  clearRecords(): void {
    this.checkLive();
    this.records_ = 0;
    this.arena.u32[this.keyOffsPtr_ >>> 2] = 0;
  }

  /** Returns the bad records seen since the last call, in input order, and forgets them. */
  takeBadRecords(): BadRecord[] {
    const out = this.bad;
    this.bad = [];
    return out;
  }

  /** Pointer of keyOffs u32[records + 1]. */
  get keyOffsPtr(): number {
    return this.keyOffsPtr_;
  }
  /** Pointer of the key bytes (may move when grown). */
  get keyBytesPtr(): number {
    return this.keyBytesPtr_;
  }
  /** Pointer of values f64[records]. */
  get valuesPtr(): number {
    return this.valuesPtr_;
  }
  /** Pointer of hashes u32[records]; 0 when made with hashKeys: false. */
  get hashesPtr(): number {
    return this.hashesPtr_;
  }

  /** keyOffs[0 .. records]: key i is keyBytes()[keyOffs[i] .. keyOffs[i+1]). A view: valid until the memory grows. */
  keyOffsets(): Uint32Array {
    return new Uint32Array(this.arena.memory.buffer, this.keyOffsPtr_, this.records_ + 1);
  }
  /** All key bytes of the batch. A view: valid until the memory grows or the key bytes move. */
  keyBytes(): Uint8Array {
    const used = this.arena.u32[(this.keyOffsPtr_ >>> 2) + this.records_]!;
    return new Uint8Array(this.arena.memory.buffer, this.keyBytesPtr_, used);
  }
  /** Values of the batch (0 where the job has no value column). A view. */
  values(): Float64Array {
    return new Float64Array(this.arena.memory.buffer, this.valuesPtr_, this.records_);
  }
  /** The hash of each key as u32 (options.hash; murmur2 gives Kafka's partition = (h & 0x7fffffff) % n). A view. */
  hashes(): Uint32Array {
    if (this.hashesPtr_ === 0) throw new Error('DecodeJob.hashes: the job was made with hashKeys: false');
    return new Uint32Array(this.arena.memory.buffer, this.hashesPtr_, this.records_);
  }

  /** Returns every region to the arena; the job cannot be used afterwards. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const p of [
      this.ptr, this.inPtr, this.keyOffsPtr_, this.keyBytesPtr_, this.valuesPtr_, this.hashesPtr_,
      this.errorsPtr, this.slowPtr, this.pathPtr, this.scratchPtr,
    ]) {
      if (p !== 0) this.arena.release(p);
    }
  }

  private growKeyBytes(): void {
    const used = this.arena.u32[(this.keyOffsPtr_ >>> 2) + this.records_]!;
    // twice the room, or, once the batch holds enough keys to tell their size, room for a whole batch
    // of such keys (up to 8 times the room): a batch of long keys then grows once, not at every doubling,
    // each of which copies the keys so far and touches fresh pages
    let cap = this.keyBytesCap * 2;
    if (this.records_ >= GROWTH_SAMPLE_KEYS) {
      const batch = Math.ceil((used / this.records_) * this.limit * 1.125);
      cap = Math.max(cap, Math.min(batch, this.keyBytesCap * 8, 0xffff_ffff));
    }
    if (cap > 0xffff_ffff) throw new RangeError('DecodeJob: one batch holds more than 4 GiB of keys');
    const ptr = this.arena.alloc(cap);
    this.arena.u8.copyWithin(ptr, this.keyBytesPtr_, this.keyBytesPtr_ + used);
    this.arena.release(this.keyBytesPtr_);
    this.keyBytesPtr_ = ptr;
    this.keyBytesCap = cap;
  }

  private checkLive(): void {
    if (this.released) throw new Error('DecodeJob used after release()');
  }
}
