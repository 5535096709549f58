// FileSource.position(): the byte and line of the first record not returned, exact whatever the bytes
// (multi-byte and invalid UTF-8, CRLF, quoted line feeds), so a source resumed there continues exactly.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, type FileFormat } from '../../src/sources/file.js';
import type { FileOffset } from '../../src/state/checkpoint-store.js';
import { sha256Hex } from '../../src/state/durable-fs.js';
import { tempDir } from '../helpers/cli.js';

let root: string;
let remove: () => void;
beforeAll(() => ({ dir: root, remove } = tempDir('sluice-position-')));
afterAll(() => remove());
let files = 0;

/** Every record of `file`, taken `max` at a time, restarting a new source at each position() after `restartEvery` polls. */
async function readInSteps(file: string, format: FileFormat, max: number, restartEvery: number): Promise<unknown[]> {
  const records: unknown[] = [];
  let at: FileOffset | undefined;
  for (;;) {
    const source = new FileSource<unknown>(file, { format, onError: 'skip' });
    if (at) source.resumeFrom(at);
    await source.open();
    let polls = 0;
    let done = false;
    while (polls++ < restartEvery) {
      const batch = await source.poll(max);
      if (!batch) {
        done = true;
        break;
      }
      records.push(...batch.rows());
    }
    at = source.position();
    await source.close();
    if (done) return records;
  }
}

async function readOnce(file: string, format: FileFormat): Promise<unknown[]> {
  const source = new FileSource<unknown>(file, { format, onError: 'skip' });
  await source.open();
  const out: unknown[] = [];
  for (let b = await source.poll(1 << 20); b; b = await source.poll(1 << 20)) out.push(...b.rows());
  await source.close();
  return out;
}

const piece = fc.oneof(
  fc.constantFrom('a', 'b,c', '"q,\nuoted"', '\r\n', '\n', '\n', 'é', '😀', '"', ',', ' ', '\ufeff'),
  fc.string({ maxLength: 4 }),
);
const content = fc.tuple(fc.array(piece, { maxLength: 40 }), fc.array(fc.uint8Array({ minLength: 1, maxLength: 2 }), { maxLength: 2 })).map(([ps, junk]) => {
  const text = Buffer.from(ps.join(''));
  // invalid UTF-8 bytes spliced in: a line feed is still one byte, so positions stay exact
  return Buffer.concat([text, ...junk.map((j) => Buffer.from(j.map((x) => (x === 10 ? 0xff : x | 0x80))))]);
});

describe('FileSource positions', () => {
  for (const format of ['lines', 'csv'] as const) {
    it(`${format}: resuming at position() after any poll reads exactly the rest`, async () => {
      await fc.assert(
        fc.asyncProperty(content, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), async (bytes, max, restartEvery) => {
          const file = path.join(root, `f${++files}.${format}`);
          writeFileSync(file, bytes);
          const whole = await readOnce(file, format);
          const stepped = await readInSteps(file, format, max, restartEvery);
          expect(stepped).toEqual(whole);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('names the byte and line of the next record: after "é\\r\\n", a quoted line feed, and a 4-byte character', async () => {
    const file = path.join(root, 'exact.csv');
    const bytes = Buffer.from('é,1\r\n"a\nb",2\n😀,3\n');
    writeFileSync(file, bytes);
    // with the SHA-256 of the bytes before the position, so a resume notices a replaced file
    const at = (byte: number, line: number): FileOffset => ({
      kind: 'file', path: file, byte, line, prefix: { bytes: byte, sha256: sha256Hex(bytes.subarray(0, byte)) },
    });
    const source = new FileSource<string[]>(file, { format: 'csv' });
    await source.open();
    expect(source.position()).toEqual(at(0, 1));
    expect((await source.poll(1))!.rows()).toEqual([['é', '1']]);
    expect(source.position()).toEqual(at(6, 2));
    expect((await source.poll(1))!.rows()).toEqual([['a\nb', '2']]);
    expect(source.position()).toEqual(at(14, 4));
    expect((await source.poll(5))!.rows()).toEqual([['😀', '3']]);
    expect(source.position()).toEqual(at(21, 5));
    await source.close();
  });
});
