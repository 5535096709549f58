// print(): the first records of each batch on the console, in the layout of Spark's DStream.print.

import type { Batch } from '../plan/batch.js';
import { recordDisplay } from './record-text.js';
import type { Sink } from './sink.js';

/** Where print() writes: process.stdout, or anything with a write(string) method. */
export interface TextOutput {
  write(text: string): unknown;
}

const RULE = '-------------------------------------------';

/**
 * Writes, per batch (as Spark's DStream.print does):
 *
 *     -------------------------------------------
 *     Time: 1700000001000 ms
 *     -------------------------------------------
 *     (/,12)
 *     (/pricing,7)
 *     ...
 *
 * with at most `num` records, `...` when the batch holds more, and an empty line after.
 */
export class ConsoleSink<T> implements Sink<T> {
  private readonly num: number;
  private readonly output: TextOutput;

  constructor(num: number, output: TextOutput = process.stdout) {
    this.num = num;
    this.output = output;
  }

  async write(batch: Batch<T>, time: number): Promise<void> {
    let text = `${RULE}\nTime: ${time} ms\n${RULE}\n`;
    for (const record of batch.head(this.num)) text += `${recordDisplay(record)}\n`;
    if (batch.length > this.num) text += '...\n';
    this.output.write(`${text}\n`);
  }
}
