// File source: csv, jsonl or plain lines, read once or followed as it grows (like `tail -f`).

import { open, stat, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BadRecordError, IOError, OptionError, SluiceError } from '../errors.js';
import { Batch } from '../plan/batch.js';
import type { FileOffset, SourceOffset, SourceRange } from '../state/checkpoint-store.js';
import { sha256Hex } from '../state/durable-fs.js';
import type { Source } from './source.js';
import { takeCsvRecords, takeLines, type Taken } from './text-records.js';

export type FileFormat = 'csv' | 'jsonl' | 'lines';

export interface FileStreamOptions {
  /**
   * `lines`: each line is a string record. `jsonl`: each non-blank line is parsed with JSON.parse.
   * `csv`: RFC 4180 records; with `header` each record is an object keyed by the header's names,
   * otherwise an array of the fields. Fields stay strings.
   */
  format: FileFormat;
  /** csv: the first record names the fields (default false). */
  header?: boolean;
  /**
   * Keep reading what is appended to the file, never ending (default false: read it once, then the
   * source is exhausted). Only complete lines are read; a partly written last line waits for its
   * newline. A file that does not exist yet is waited for. A file that shrinks was truncated or
   * replaced: it is read again from its start.
   */
  follow?: boolean;
  /** csv: the field delimiter, one character (default `,`). */
  delimiter?: string;
  /**
   * A record that cannot be read (bad JSON, an unterminated quote, a wrong number of CSV fields):
   * `fail` (default) stops the job with a BadRecordError naming the file and line; `skip` counts it
   * in `skipped` and goes on.
   */
  onError?: 'fail' | 'skip';
}

const CHUNK_BYTES = 1 << 20;
const FORMATS: readonly FileFormat[] = ['csv', 'jsonl', 'lines'];
/** A position also holds the SHA-256 of the file's first bytes (at most this many): a resume notices a replaced file. */
const PREFIX_BYTES = 64 * 1024;

/**
 * A UTF-8 decoder for bytes from `at` on. Only the file's first bytes can be a byte order mark (dropped,
 * as the CLI drops it); a U+FEFF anywhere else is data, kept.
 */
const decoderAt = (at: number) => new TextDecoder('utf-8', { ignoreBOM: at > 0 });

/** Checks file source options at the public boundary. */
export function validateFileOptions(path: unknown, options: FileStreamOptions): void {
  if (typeof path !== 'string' || path === '') throw new OptionError('path', 'fileStream(path): path must be a non-empty string');
  if (typeof options !== 'object' || options === null) {
    throw new OptionError('options', 'fileStream(path, options): options must be an object with a format');
  }
  if (!FORMATS.includes(options.format)) {
    throw new OptionError('format', `options.format must be one of ${FORMATS.join(', ')}`);
  }
  for (const name of ['header', 'follow'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new OptionError(name, `options.${name} must be a boolean`);
    }
  }
  if (options.delimiter !== undefined && (typeof options.delimiter !== 'string' || options.delimiter.length !== 1 || /["\r\n]/.test(options.delimiter))) {
    throw new OptionError('delimiter', 'options.delimiter must be one character other than a quote, CR or LF');
  }
  if (options.onError !== undefined && options.onError !== 'fail' && options.onError !== 'skip') {
    throw new OptionError('onError', "options.onError must be 'fail' or 'skip'");
  }
}

export class FileSource<T> implements Source<T> {
  readonly name: string;
  private readonly path: string;
  private readonly format: FileFormat;
  private readonly header: boolean;
  private readonly follow: boolean;
  private readonly delimiter: number;
  private readonly failOnError: boolean;
  private handle: FileHandle | undefined;
  private decoder = decoderAt(0);
  /** The file's first bytes as read (at most PREFIX_BYTES), and the hash of the prefix last asked for. */
  private head: Buffer = Buffer.alloc(0);
  private headHash: { bytes: number; sha256: string } | undefined;
  private readonly chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  /** Decoded text not yet taken as records. */
  private text = '';
  /** Byte position of the next read. */
  private readAt = 0;
  /**
   * The bytes read and not yet taken as records (`text` is their decoding): [textByte, readAt). Taken
   * records always end at a line feed, and a line feed is one byte whatever the bytes around it, so
   * counting line feeds here finds the byte position of the first untaken record exactly.
   */
  private raw: Buffer = Buffer.alloc(0);
  /** Byte position of the first character of `text`. */
  private textByte = 0;
  /** 1-based physical line of the first character of `text`. */
  private line = 1;
  private resumeAt: FileOffset | undefined;
  /** While a range is replayed: its end, a record boundary that nothing is read past. */
  private limit: number | undefined;
  private names: string[] | undefined;
  private eof = false;
  /** Records skipped under `onError: 'skip'`. */
  skipped = 0;

  constructor(path: string, options: FileStreamOptions) {
    validateFileOptions(path, options);
    this.path = path;
    this.name = `file:${path}`;
    this.format = options.format;
    this.header = options.header ?? false;
    this.follow = options.follow ?? false;
    this.delimiter = (options.delimiter ?? ',').charCodeAt(0);
    this.failOnError = (options.onError ?? 'fail') === 'fail';
  }

  get exhausted(): boolean {
    return !this.follow && this.eof && this.text.length === 0;
  }

  async open(): Promise<void> {
    await this.tryOpen();
  }

  /** Opens the file (checking a resumed one against its checkpoint); false when a followed file does not exist yet. */
  private async tryOpen(): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (cause) {
      if (this.follow && (cause as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new IOError('ERR_INPUT', this.path, `cannot open ${this.path}: ${(cause as Error).message}`, { cause });
    }
    try {
      const size = (await handle.stat()).size;
      const head = Buffer.alloc(Math.min(size, PREFIX_BYTES));
      this.head = head.subarray(0, (await handle.read(head, 0, head.length, 0)).bytesRead);
      const at = this.resumeAt;
      if (at) {
        const cannot = `cannot resume ${this.path} at byte ${at.byte} of the checkpoint`;
        if (size < at.byte) throw new IOError('ERR_INPUT', this.path, `${cannot}: the file has ${size} bytes (truncated or replaced since)`);
        const prefix = at.prefix;
        if (prefix && (prefix.bytes > this.head.length || sha256Hex(this.head.subarray(0, prefix.bytes)) !== prefix.sha256)) {
          throw new IOError('ERR_INPUT', this.path, `${cannot}: its first ${prefix.bytes} bytes are not those the checkpoint read (the file was replaced since)`);
        }
      }
    } catch (err) {
      await handle.close();
      throw err;
    }
    this.handle = handle;
    return true;
  }

  describe(): string {
    const options = [this.format, ...(this.header ? ['header'] : []), ...(this.delimiter !== 44 ? [`delimiter ${JSON.stringify(String.fromCharCode(this.delimiter))}`] : [])];
    return `fileStream(${resolve(this.path)}, ${options.join(', ')})`;
  }

  /**
   * The byte and line of the first record not returned yet, the SHA-256 of the file's bytes before it
   * (at most 64 KiB of them), and the CSV header's names, once read.
   */
  position(): FileOffset {
    const bytes = Math.min(this.textByte, PREFIX_BYTES, this.head.length);
    if (this.headHash?.bytes !== bytes) this.headHash = { bytes, sha256: sha256Hex(this.head.subarray(0, bytes)) };
    return {
      kind: 'file',
      path: resolve(this.path),
      byte: this.textByte,
      line: this.line,
      prefix: this.headHash,
      ...(this.names ? { header: this.names } : {}),
    };
  }

  resumeFrom(offset: SourceOffset): void {
    if (offset.kind !== 'file' || !Number.isSafeInteger(offset.byte) || offset.byte < 0 || !Number.isSafeInteger(offset.line) || offset.line < 1) {
      throw new SluiceError('ERR_CHECKPOINT', `the checkpoint holds no file position for ${this.name}`);
    }
    this.resumeAt = offset;
    this.readAt = this.textByte = offset.byte;
    this.line = offset.line;
    this.names = offset.header;
    this.decoder = decoderAt(offset.byte);
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  /**
   * The records in bytes [range.from, range.to) — whole records, as position() marks them — read again
   * for a batch cut before a restart; this source must stand at range.from and have read nothing yet.
   */
  async replay(range: SourceRange): Promise<Batch<T>> {
    const cannot = (why: string): SluiceError => new SluiceError('ERR_CHECKPOINT', `cannot replay a batch of ${this.name}: ${why}`);
    if (range.kind !== 'file') throw cannot(`the batch intent holds a ${range.kind} range`);
    if (range.from.byte !== this.textByte || range.from.line !== this.line || this.raw.length > 0) {
      throw cannot(`it took bytes from ${range.from.byte} (line ${range.from.line}), and the checkpoint is at byte ${this.textByte} (line ${this.line})`);
    }
    // a batch that took nothing (a followed file that did not exist yet, or had nothing new)
    if (range.to === range.from.byte && range.maxRecords === 0) return Batch.empty;
    if (!this.handle && !(await this.tryOpen())) throw cannot('the file does not exist');
    const size = (await this.handle!.stat()).size;
    if (range.to < range.from.byte || size < range.to) {
      throw cannot(`it took bytes ${range.from.byte}..${range.to}, and the file has ${size} bytes (truncated or replaced since)`);
    }
    this.limit = range.to;
    try {
      const batch = await this.poll(Number.POSITIVE_INFINITY);
      const records = batch?.length ?? 0;
      if (this.textByte !== range.to || records !== range.maxRecords) {
        throw cannot(`bytes ${range.from.byte}..${range.to} now hold ${records} records, the batch took ${range.maxRecords} (the file was changed since)`);
      }
      return batch ?? Batch.empty;
    } finally {
      this.limit = undefined;
    }
  }

  async poll(max: number): Promise<Batch<T> | undefined> {
    if (!this.handle && !(this.follow && (await this.tryOpen()))) return undefined;
    const records: T[] = [];
    for (;;) {
      // a file read once ends at its end; a replayed range at its limit, after whole records
      const final = (this.eof && !this.follow) || (this.limit !== undefined && this.readAt === this.limit);
      const taken = this.take(final, max - records.length);
      this.text = this.text.slice(taken.consumed);
      this.line += taken.linesConsumed;
      this.advance(taken.linesConsumed);
      if (final && this.text.length === 0) {
        // the end of a file read once: its last record may have had no line feed to count
        this.textByte = this.readAt;
        this.raw = Buffer.alloc(0);
      }
      this.convert(taken, records);
      if (records.length >= max || final) break;
      if (!(await this.read())) break;
    }
    return records.length > 0 ? Batch.ofRows(records) : undefined;
  }

  /** Moves textByte past `lines` line feeds of `raw`: the bytes of the records just taken (all of `raw` at its end). */
  private advance(lines: number): void {
    let at = 0;
    for (let i = 0; i < lines; i++) {
      const nl = this.raw.indexOf(10, at);
      if (nl < 0) {
        at = this.raw.length; // the last record of a file read once, without a line feed
        break;
      }
      at = nl + 1;
    }
    this.textByte += at;
    this.raw = this.raw.subarray(at);
  }

  /** Reads the next chunk; false when there is nothing more now. */
  private async read(): Promise<boolean> {
    const want = this.limit === undefined ? CHUNK_BYTES : Math.min(CHUNK_BYTES, this.limit - this.readAt);
    if (want <= 0) return false;
    let n: number;
    try {
      ({ bytesRead: n } = await this.handle!.read(this.chunk, 0, want, this.readAt));
    } catch (cause) {
      throw new IOError('ERR_INPUT', this.path, `cannot read ${this.path}: ${(cause as Error).message}`, { cause });
    }
    if (n > 0) {
      if (this.head.length < PREFIX_BYTES && this.readAt <= this.head.length && this.readAt + n > this.head.length) {
        const more = this.chunk.subarray(this.head.length - this.readAt, Math.min(n, PREFIX_BYTES - this.readAt));
        this.head = Buffer.concat([this.head, more]);
      }
      this.readAt += n;
      this.raw = Buffer.concat([this.raw, this.chunk.subarray(0, n)]);
      // a replayed range ends after a whole record: what the decoder holds is complete (a last record
      // without a line feed was flushed the same way when first read); reading goes on with a fresh one
      const atLimit = this.readAt === this.limit;
      this.text += this.decoder.decode(this.chunk.subarray(0, n), { stream: !atLimit });
      if (atLimit) this.decoder = decoderAt(this.readAt);
      return true;
    }
    if (!this.follow) {
      this.eof = true;
      this.text += this.decoder.decode();
      return this.text.length > 0;
    }
    // Following: a file shorter than what was read was truncated or replaced; start over.
    const size = (await stat(this.path).catch(() => undefined))?.size;
    if (size !== undefined && size < this.readAt) {
      await this.handle?.close();
      this.handle = await open(this.path, 'r');
      this.readAt = 0;
      this.textByte = 0;
      this.raw = Buffer.alloc(0);
      this.head = Buffer.alloc(0);
      this.text = '';
      this.line = 1;
      this.names = undefined;
      this.decoder = decoderAt(0);
    }
    return false;
  }

  private take(final: boolean, max: number): Taken<string | string[]> {
    return this.format === 'csv'
      ? takeCsvRecords(this.text, this.line, final, max, this.delimiter)
      : takeLines(this.text, this.line, final, max);
  }

  private bad(line: number, reason: string): void {
    if (this.failOnError) throw new BadRecordError(this.path, line, reason);
    this.skipped++;
  }

  private convert(taken: Taken<string | string[]>, out: T[]): void {
    for (const e of taken.errors) this.bad(e.line, e.reason);
    for (let i = 0; i < taken.records.length; i++) {
      const r = taken.records[i]!;
      const line = taken.lines[i]!;
      if (this.format === 'lines') {
        out.push(r as T);
      } else if (this.format === 'jsonl') {
        const text = r as string;
        if (text.trim() === '') continue;
        try {
          out.push(JSON.parse(text) as T);
        } catch (e) {
          this.bad(line, `invalid JSON: ${(e as Error).message}`);
        }
      } else if (!this.header) {
        out.push(r as T);
      } else if (this.names === undefined) {
        this.names = r as string[];
      } else {
        const fields = r as string[];
        if (fields.length !== this.names.length) {
          this.bad(line, `expected ${this.names.length} fields as in the header, found ${fields.length}`);
          continue;
        }
        const obj: Record<string, string> = {};
        for (let k = 0; k < fields.length; k++) obj[this.names[k]!] = fields[k]!;
        out.push(obj as T);
      }
    }
  }
}
