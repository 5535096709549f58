// saveAsTextFiles: one directory per batch in Spark's layout, each made visible atomically.
//
//     <prefix>-<batchTimeMs>.<suffix>/        (Spark: DStream.saveAsTextFiles, Hadoop's output layout)
//         part-00000                          one line per record
//         _SUCCESS                            empty: the directory is complete
//
// A batch is written into a hidden temporary directory beside the target, fsynced, and renamed
// to its final name in one step, so a reader never sees a partial batch directory: it either
// does not exist or holds every line and _SUCCESS. Running a batch time again (a replay after a
// restart) replaces that batch's directory with the same content.

import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { IOError } from '../errors.js';
import { fsyncPath } from '../state/durable-fs.js';
import type { Batch } from '../plan/batch.js';
import { recordLine } from './record-text.js';
import type { Sink } from './sink.js';

/** Formats one record as its line (without the newline). */
export type LineFormatter<T> = (record: T) => string;

/** Directory of the batch at `time`: `prefix-time` or `prefix-time.suffix`, as Spark names it. */
export function batchDirectory(prefix: string, suffix: string | undefined, time: number): string {
  return suffix ? `${prefix}-${time}.${suffix}` : `${prefix}-${time}`;
}

const WRITE_CHUNK = 1 << 20;

export class TextFilesSink<T> implements Sink<T> {
  private readonly prefix: string;
  private readonly suffix: string | undefined;
  private readonly format: LineFormatter<T>;

  constructor(prefix: string, suffix: string | undefined, format: LineFormatter<T> = recordLine) {
    this.prefix = prefix;
    this.suffix = suffix;
    this.format = format;
  }

  async write(batch: Batch<T>, time: number): Promise<void> {
    const target = batchDirectory(this.prefix, this.suffix, time);
    const parent = dirname(target);
    const temp = join(parent, `.${basename(target)}.${process.pid}.tmp`);
    try {
      await mkdir(parent, { recursive: true });
      await rm(temp, { recursive: true, force: true });
      await mkdir(temp);
      await this.writePart(join(temp, 'part-00000'), batch);
      await (await open(join(temp, '_SUCCESS'), 'w')).close();
      await fsyncPath(temp);
      // rename() cannot replace a non-empty directory: a replayed batch removes the old one first.
      await rm(target, { recursive: true, force: true });
      await rename(temp, target);
      await fsyncPath(parent);
    } catch (cause) {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
      throw new IOError('ERR_OUTPUT', target, `cannot write ${target}: ${(cause as Error).message}`, { cause });
    }
  }

  private async writePart(path: string, batch: Batch<T>): Promise<void> {
    const h = await open(path, 'w');
    try {
      const rows = batch.rows();
      let text = '';
      for (let i = 0; i < rows.length; i++) {
        text += `${this.format(rows[i]!)}\n`;
        if (text.length >= WRITE_CHUNK) {
          await h.write(text);
          text = '';
        }
      }
      if (text) await h.write(text);
      await h.sync();
    } finally {
      await h.close();
    }
  }
}
