// What a Kafka source holds between two batches: message values as record lines, and where each came from.
//
//   stageBatch(partition, messages, ...) per fetched batch (stage() for one message), in fetch order:
//     bytes     value + '\n'  (one record line, or a blank line for a message without a record)
//     messages  partitionOf i32 | offsetOf f64 | lineOf u32 | byteOf u32   (typed arrays, no object per message)
//     keys      the message keys in the shared memory (--message-key jobs), one per message, null stored empty
//     skips     indexes of the messages that hold no record: empty or null value (blank line), or rejected here
//   take() ──► a KafkaChunk with all of it; staging starts over
//
// stageBatch copies the values of a run of up to RUN messages with one native copy each and a placeholder
// byte where each line feed goes, then looks for the bytes that could make a value other than one plain
// record line in the run's bytes at once (a native scan per byte kind, not a call per message):
//
//   buf  ... | a,1 ␀ | b,2 ␀ | c,3 ␀ |        scan [run start, len) for LF and '"' (csv) / LF and CR (jsonl)
//            none found ─► each ␀ becomes LF
//            found in message k ─► messages k.. of the run are staged again by stage()'s general path
//
// Most values hold none of them, so most messages cost one copy and a few typed-array stores; kafkajs
// already made a Buffer view and an offset string per message, and nothing here makes another.
//
// Every message is exactly one record line, so the decoders' good records are the messages in order, minus
// the skips and the bad records they report (KafkaRecordMap): that is how a record finds its message's key,
// partition and offset without a JS object per message.
//   - jsonl: a value's own line feeds and carriage returns are JSON whitespace and become spaces;
//   - csv: a value may hold line feeds inside quoted fields; one that holds a line break outside quotes
//     (several records) or leaves a quoted field open (it would swallow the messages after it) is rejected
//     here, as a bad record of its own, read the same way as csv_decode reads it (RFC 4180, a quote inside
//     an unquoted field is an ordinary byte);
//   - --message-key: a message with a value but a null key is rejected (there is nothing to group it by).

import { describeBadRecord, type BadRecordContext } from '../codec/bad-record.js';
import type { MessageKeys } from '../codec/message-keys.js';

export interface KafkaStagingOptions {
  format: 'csv' | 'jsonl';
  /** For the reasons of CSV values rejected here. */
  badRecordContext?: BadRecordContext;
  /** --message-key: a fresh set of key columns for each chunk. */
  messageKeys?: () => MessageKeys;
}

/** Where a message is. */
export interface KafkaMessagePosition {
  partition: number;
  offset: string;
}

/** A message rejected before decoding, with why. */
export interface RejectedMessage extends KafkaMessagePosition {
  reason: string;
  raw: Uint8Array;
}

/** The staged messages of one batch (see the header comment). */
export interface StagedMessages {
  /** One record line per message, each ending in a line feed. */
  bytes: Uint8Array;
  /** Messages staged. */
  messages: number;
  /** partitionOf[i]: the partition of message i. */
  partitionOf: Int32Array;
  /** offsetOf[i]: the offset of message i. */
  offsetOf: Float64Array;
  /** lineOf[i]: the 0-based line (within `bytes`) where message i's record starts. */
  lineOf: Uint32Array;
  /** byteOf[i]: the byte (within `bytes`) where message i's line starts. */
  byteOf: Uint32Array;
  /** Lines in `bytes`. */
  lineCount: number;
  /** Ascending indexes of the messages with no record line (blank or rejected). */
  skips: Uint32Array;
  rejected: RejectedMessage[];
  /** --message-key: key i is message i's key. */
  keys: MessageKeys | undefined;
}

/** The fields of a kafkajs message that staging reads (`batch.messages[i]` in eachBatch). */
export interface FetchedMessage {
  offset: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** Messages whose bytes stageBatch checks with one scan (see the header comment). */
const RUN = 512;
/** After a run held a value for the general path, stageBatch stages this many messages that way first. */
const GENERAL_AFTER_ODD = 8 * RUN;

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const SPACE = 0x20;
const BACKSLASH = 0x5c;
const EMPTY = new Uint8Array(0);

export class KafkaStaging {
  private readonly options: KafkaStagingOptions;
  private buf: Uint8Array = new Uint8Array(1 << 20);
  private len = 0;
  private lines = 0;
  private n = 0;
  /** Per-message columns, `cap` long (see StagedMessages). */
  private cap = 0;
  private nextCap = 0;
  private partitionOf = new Int32Array(0);
  private offsetOf = new Float64Array(0);
  private lineOf = new Uint32Array(0);
  private byteOf = new Uint32Array(0);
  private skips: number[] = [];
  private rejected: RejectedMessage[] = [];
  private keys: MessageKeys | undefined;
  private spare: Uint8Array | undefined;
  /** Messages stageBatch still stages by the general path (see GENERAL_AFTER_ODD). */
  private generalLeft = 0;

  constructor(options: KafkaStagingOptions) {
    this.options = options;
    this.keys = options.messageKeys?.();
  }

  /** Bytes staged. */
  get bytes(): number {
    return this.len;
  }

  /** Messages staged. */
  get messages(): number {
    return this.n;
  }

  /** The offset of the message staged last (-1 when none is). */
  get lastOffset(): number {
    return this.n > 0 ? this.offsetOf[this.n - 1]! : -1;
  }

  /** Stages one message (see the header comment). */
  stage(partition: number, offset: number, value: Uint8Array | null, key: Uint8Array | null): void {
    this.addMessage(partition, offset, key);
    this.stageValue(this.n - 1, partition, offset, value ?? EMPTY, key);
  }

  /**
   * Stages `messages[start, stop)` of one fetched batch of `partition`, exactly as stage() would each of
   * them (see the header comment for how): a message whose offset is below `from` is passed over (it is
   * staged already: a batch fetched before a seek took effect), and staging stops at the first one at or
   * beyond `end` (bounded reading). Returns the index it stopped at: `stop`, or that of the message at `end`.
   */
  stageBatch(partition: number, messages: readonly FetchedMessage[], start: number, stop: number, from: number, end: number): number {
    if (start >= stop) return stop;
    const keys = this.keys;
    // The offsets of a fetched batch strictly increase (the partition's log order), so when the last is the
    // first plus the count less one they are consecutive: kafkajs's fresh offset strings are then not parsed
    // one by one (parsing them was the largest part of staging a message).
    const first = Number(messages[start]!.offset);
    const consecutive = Number(messages[stop - 1]!.offset) - first === stop - 1 - start;
    let run = -1; // messages[run ..] are the open run, copied and not checked yet
    let i = start;
    for (; i < stop; i++) {
      const m = messages[i]!;
      const offset = consecutive ? first + (i - start) : Number(m.offset);
      const v = m.value;
      const n = offset >= from && offset < end && this.generalLeft === 0 && (keys === undefined || m.key !== null) ? this.plainLength(v) : 0;
      if (run >= 0 && (n === 0 || i - run === RUN)) {
        this.checkRun(partition, messages, run, i);
        run = -1;
      }
      if (n === 0) {
        if (offset < from) continue;
        if (offset >= end) break;
        if (this.generalLeft > 0) this.generalLeft--;
        this.stage(partition, offset, v, m.key);
        continue;
      }
      if (run < 0) run = i;
      this.addMessage(partition, offset, m.key);
      if (this.len + n + 1 > this.buf.length) this.reserve(n + 1);
      this.buf.set(n === v!.length ? v! : v!.subarray(0, n), this.len);
      this.len += n;
      this.buf[this.len++] = 0; // the line feed, once the run is checked
      this.lines++;
    }
    if (run >= 0) this.checkRun(partition, messages, run, i);
    return i;
  }

  /**
   * How many bytes of `v` stageBatch copies before the line feed, if it may be one plain record line: all
   * of them, less a csv value's own final line feed (stage() keeps it as the line's terminator, which is
   * the same bytes). 0 when stage() makes something else of it for sure (no value, a blank line).
   */
  private plainLength(v: Uint8Array | null): number {
    if (v === null) return 0;
    let n = v.length;
    if (n > 0 && this.options.format === 'csv' && v[n - 1] === LF) n--;
    if (n === 0 || (n === 1 && v[0] === CR)) return 0;
    return n;
  }

  /**
   * Checks the run of messages[run, stop), the last messages staged: when no value holds a byte the
   * general path must see, their placeholders become line feeds; otherwise the run is staged again from
   * the first such message on by the general path (see the header comment).
   */
  private checkRun(partition: number, messages: readonly FetchedMessage[], run: number, stop: number): void {
    const first = this.n - (stop - run);
    const from = this.byteOf[first]!;
    const region = Buffer.from(this.buf.buffer, this.buf.byteOffset + from, this.len - from);
    const a = region.indexOf(LF);
    const b = region.indexOf(this.options.format === 'csv' ? QUOTE : CR);
    const odd = a < 0 ? b : b < 0 ? a : Math.min(a, b);
    let upTo = this.n;
    if (odd >= 0) {
      // the last message that starts at or before the odd byte holds it
      upTo = first;
      while (upTo + 1 < this.n && this.byteOf[upTo + 1]! <= from + odd) upTo++;
    }
    for (let j = first; j < upTo; j++) this.buf[(j + 1 < this.n ? this.byteOf[j + 1]! : this.len) - 1] = LF;
    if (odd < 0) return;
    // again from message upTo, by the general path (its key is in the key columns already)
    const staged = this.n;
    this.n = upTo;
    this.len = this.byteOf[upTo]!;
    this.lines = this.lineOf[upTo]!;
    for (let j = upTo; j < staged; j++) {
      const m = messages[run + (j - first)]!;
      this.n = j + 1;
      this.lineOf[j] = this.lines;
      this.byteOf[j] = this.len;
      this.stageValue(j, partition, this.offsetOf[j]!, m.value ?? EMPTY, m.key);
    }
    this.generalLeft = GENERAL_AFTER_ODD;
  }

  /** Writes the columns of the next message and appends its key. */
  private addMessage(partition: number, offset: number, key: Uint8Array | null): void {
    const i = this.n++;
    if (i >= this.cap) this.growMessages();
    this.partitionOf[i] = partition;
    this.offsetOf[i] = offset;
    this.lineOf[i] = this.lines;
    this.byteOf[i] = this.len;
    this.keys?.append(key);
  }

  /** The value of message i, whose columns are written: a record line, a blank line, or a rejection. */
  private stageValue(i: number, partition: number, offset: number, v: Uint8Array, key: Uint8Array | null): void {
    const end = trimmedLength(v);
    if (end === 0) {
      this.blankLine(i); // an empty or null value: no record
      return;
    }
    if (this.keys && key === null) {
      this.reject(i, partition, offset, v, end, 'the message has a null key, and --message-key groups records by the message key');
      return;
    }
    // csv: only a line feed or a quote can make a value other than one record (two native scans)
    const lf = this.options.format === 'csv' ? v.indexOf(LF) : -1;
    const innerLf = lf >= 0 && lf < end;
    if (this.options.format === 'csv' && (innerLf || v.indexOf(QUOTE) >= 0)) {
      const shape = csvShape(v, end);
      if (shape !== 'one') {
        const raw = v.subarray(0, end);
        const ctx = this.options.badRecordContext;
        const reason =
          shape === 'open'
            ? ctx
              ? describeBadRecord(ctx, 'UnterminatedQuote', raw)
              : 'a quoted field is not closed'
            : `the message holds more than one CSV record (a line break outside quotes at byte ${shape + 1}); each message must be one record`;
        this.reject(i, partition, offset, v, end, reason);
        return;
      }
    }
    this.reserve(v.length + 1);
    this.buf.set(v, this.len);
    if (this.options.format === 'jsonl') {
      if (v.indexOf(LF) >= 0 || v.indexOf(CR) >= 0) flattenJsonLine(this.buf, this.len, this.len + v.length);
      this.len += v.length;
    } else {
      this.len += v.length;
      // quoted line feeds are data but still count as lines; a value's own final LF is its terminator
      if (innerLf) for (let p = lf; p >= 0 && p < end; p = v.indexOf(LF, p + 1)) this.lines++;
      if (v[v.length - 1] === LF) {
        this.lines++;
        return;
      }
    }
    this.buf[this.len++] = LF;
    this.lines++;
  }

  private blankLine(i: number): void {
    this.skips.push(i);
    this.reserve(1);
    this.buf[this.len++] = LF;
    this.lines++;
  }

  private reject(i: number, partition: number, offset: number, v: Uint8Array, end: number, reason: string): void {
    this.rejected.push({ partition, offset: String(offset), reason, raw: Uint8Array.prototype.slice.call(v, 0, end) });
    this.blankLine(i); // keeps the line numbering
  }

  /** Drops every staged message of `partitions` (they were revoked): what remains is as if they never came. */
  purge(partitions: ReadonlySet<number>): void {
    if (this.n === 0) return;
    const old = this.take();
    const skip = new Set(old.skips);
    for (let i = 0; i < old.messages; i++) {
      if (partitions.has(old.partitionOf[i]!)) continue;
      const last = i + 1 === old.messages;
      const from = old.byteOf[i]!;
      const to = last ? old.bytes.length : old.byteOf[i + 1]!;
      const j = this.n++;
      if (j >= this.cap) this.growMessages();
      this.partitionOf[j] = old.partitionOf[i]!;
      this.offsetOf[j] = old.offsetOf[i]!;
      this.lineOf[j] = this.lines;
      this.byteOf[j] = this.len;
      this.keys?.append(old.keys ? Uint8Array.prototype.slice.call(old.keys.key(i)) : null);
      if (skip.has(i)) this.skips.push(j);
      this.reserve(to - from);
      this.buf.set(old.bytes.subarray(from, to), this.len);
      this.len += to - from;
      this.lines += (last ? old.lineCount : old.lineOf[i + 1]!) - old.lineOf[i]!;
    }
    this.rejected = old.rejected.filter((r) => !partitions.has(r.partition));
    old.keys?.release();
  }

  /** Everything staged, as one batch; staging starts over (in fresh buffers: the chunk keeps these). */
  take(): StagedMessages {
    const out: StagedMessages = {
      bytes: this.buf.subarray(0, this.len),
      messages: this.n,
      partitionOf: this.partitionOf.subarray(0, this.n),
      offsetOf: this.offsetOf.subarray(0, this.n),
      lineOf: this.lineOf.subarray(0, this.n),
      byteOf: this.byteOf.subarray(0, this.n),
      lineCount: this.lines,
      skips: Uint32Array.from(this.skips),
      rejected: this.rejected,
      keys: this.keys,
    };
    const size = Math.max(1 << 20, Math.min(this.buf.length, 32 << 20));
    this.buf = this.spare && this.spare.length >= size ? this.spare : new Uint8Array(size);
    this.spare = undefined;
    this.len = 0;
    this.lines = 0;
    this.n = 0;
    // the chunk keeps the columns: the next ones start as large as these were
    this.cap = 0;
    this.nextCap = Math.max(this.nextCap, out.messages);
    this.skips = [];
    this.rejected = [];
    this.keys = this.options.messageKeys?.();
    return out;
  }

  private growMessages(): void {
    const cap = Math.max(1024, this.nextCap, this.cap * 2);
    const grow = <T extends Int32Array | Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(0, this.n - 1) as never);
      return b;
    };
    this.partitionOf = grow(this.partitionOf, (n) => new Int32Array(n));
    this.offsetOf = grow(this.offsetOf, (n) => new Float64Array(n));
    this.lineOf = grow(this.lineOf, (n) => new Uint32Array(n));
    this.byteOf = grow(this.byteOf, (n) => new Uint32Array(n));
    this.cap = cap;
  }

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /**
   * Gives back the byte buffer of a chunk that was fully processed, for a later take() to stage into
   * (a 16 MiB buffer per chunk would otherwise be allocated and zeroed, and be garbage, every time).
   */
  recycle(bytes: Uint8Array): void {
    if (bytes.buffer !== this.buf.buffer && bytes.byteOffset === 0) this.spare = new Uint8Array(bytes.buffer, 0, bytes.buffer.byteLength);
  }

  /** Frees the key columns of what is staged. */
  release(): void {
    this.keys?.release();
    this.keys = undefined;
  }
}

/**
 * Makes one line of a JSON value [from, to) in place: a line feed or carriage return between tokens is
 * whitespace and becomes a space; inside a string (where JSON forbids a raw control character) it becomes
 * U+001F, which is just as invalid there, so the line is bad exactly when the value is.
 */
function flattenJsonLine(b: Uint8Array, from: number, to: number): void {
  let inString = false;
  let escaped = false;
  for (let p = from; p < to; p++) {
    const c = b[p]!;
    if (inString) {
      if (c === LF || c === CR) b[p] = 0x1f;
      if (escaped) escaped = false;
      else if (c === BACKSLASH) escaped = true;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === LF || c === CR) b[p] = SPACE;
  }
}

/** Length without one trailing line terminator (LF, CRLF or a lone CR). */
export function trimmedLength(v: Uint8Array): number {
  let n = v.length;
  if (n > 0 && v[n - 1] === LF) n--;
  if (n > 0 && v[n - 1] === CR) n--;
  return n;
}

/**
 * How csv_decode reads a message value [0, end) as records: 'one' record, 'open' (a quoted field is not
 * closed by the end), or the byte index of a line feed outside quotes (the value holds several records).
 */
export function csvShape(v: Uint8Array, end: number): 'one' | 'open' | number {
  const firstQuote = v.indexOf(QUOTE);
  if (firstQuote < 0 || firstQuote >= end) {
    const lf = v.indexOf(LF);
    return lf >= 0 && lf < end ? lf : 'one';
  }
  let p = 0;
  for (;;) {
    // start of a field
    if (p < end && v[p] === QUOTE) {
      p++;
      for (;;) {
        const q = v.indexOf(QUOTE, p);
        if (q < 0 || q >= end) return 'open';
        if (q + 1 < end && v[q + 1] === QUOTE) {
          p = q + 2; // "" inside quotes
          continue;
        }
        p = q + 1;
        break;
      }
    }
    // the rest of the field is unquoted text (after a closing quote it makes the record bad, but still ends it)
    while (p < end && v[p] !== COMMA && v[p] !== LF) p++;
    if (p >= end) return 'one';
    if (v[p] === LF) return p;
    p++; // the comma: next field
  }
}
