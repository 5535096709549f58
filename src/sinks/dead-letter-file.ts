// The dead-letter file of a micro-batch job (`--on-error dead-letter:<path>` with --follow or --checkpoint).

import { open, truncate, type FileHandle } from 'node:fs/promises';
import { IOError } from '../errors.js';

/** Characters of dead letters buffered before they are written out. */
const DEAD_LETTER_BUFFER = 1 << 20;
const utf8 = new TextEncoder();

/**
 * The dead-letter file of a micro-batch job: lines are buffered and appended as the buffer fills (the
 * decoder waits meanwhile, so bad input stays in bounded memory) and at the end of each batch, fsynced
 * then when the job checkpoints. A restored job first cuts it back to the length its checkpoint
 * recorded (the replayed batches append those dead letters again); a fresh job starts it empty.
 */
export class DeadLetters {
  readonly path: string;
  /** Bytes in the file (flushed). */
  bytes: number;
  private readonly fh: FileHandle;
  private readonly durable: boolean;
  private pending: string[] = [];
  private pendingChars = 0;

  private constructor(path: string, bytes: number, fh: FileHandle, durable: boolean) {
    this.path = path;
    this.bytes = bytes;
    this.fh = fh;
    this.durable = durable;
  }

  /** Opens `path` cut to `keepBytes` (0: empty; undefined: as it is, appending). */
  static async open(path: string, keepBytes: number | undefined, durable: boolean): Promise<DeadLetters> {
    try {
      const fh = await open(path, 'a');
      try {
        let size = (await fh.stat()).size;
        if (keepBytes !== undefined && size > keepBytes) {
          await truncate(path, keepBytes);
          size = keepBytes;
        }
        return new DeadLetters(path, size, fh, durable);
      } catch (err) {
        await fh.close();
        throw err;
      }
    } catch (cause) {
      throw new IOError('ERR_OUTPUT', path, `cannot write the dead-letter file ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Buffers a line; when the buffer is full, returns the promise of its write (the caller waits). */
  add(line: string): Promise<void> | undefined {
    this.pending.push(line);
    this.pendingChars += line.length;
    return this.pendingChars >= DEAD_LETTER_BUFFER ? this.write() : undefined;
  }

  /** Writes what is buffered and, for a checkpointed job, waits until the file is on disk. */
  async flush(): Promise<void> {
    await this.write();
    if (this.durable) {
      try {
        await this.fh.sync();
      } catch (cause) {
        throw new IOError('ERR_OUTPUT', this.path, `cannot write the dead-letter file ${this.path}: ${(cause as Error).message}`, { cause });
      }
    }
  }

  private async write(): Promise<void> {
    if (this.pending.length === 0) return;
    const bytes = utf8.encode(this.pending.join(''));
    this.pending = [];
    this.pendingChars = 0;
    try {
      let at = 0;
      while (at < bytes.length) at += (await this.fh.write(bytes, at, bytes.length - at)).bytesWritten;
    } catch (cause) {
      throw new IOError('ERR_OUTPUT', this.path, `cannot write the dead-letter file ${this.path}: ${(cause as Error).message}`, { cause });
    }
    this.bytes += bytes.length;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
