import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { BadRecordError } from '../../src/index.js';
import { takeCsvRecords } from '../../src/sources/text-records.js';
import { decodeCsvReference } from '../reference/csv.js';
import { advanceUntil, manualContext, settle } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function readAll<T>(make: (ssc: ReturnType<typeof manualContext>['ssc']) => { foreachBatch(fn: (r: T[]) => void): void }): Promise<T[]> {
  const { ssc } = manualContext();
  const rows: T[] = [];
  make(ssc).foreachBatch((r) => void rows.push(...r));
  await ssc.start();
  await ssc.awaitTermination();
  return rows;
}

describe('fileStream, read once', () => {
  it('lines: LF and CRLF, empty lines kept, a last line without a newline', async () => {
    const path = file('a.txt', 'one\r\ntwo\n\nthree');
    expect(await readAll((ssc) => ssc.fileStream(path, { format: 'lines' }))).toEqual(['one', 'two', '', 'three']);
  });

  it('jsonl: parsed values, blank lines skipped', async () => {
    const path = file('a.jsonl', '{"page":"/","ms":3}\n\n{"page":"/é","ms":1.5}\n');
    expect(await readAll((ssc) => ssc.fileStream(path, { format: 'jsonl' }))).toEqual([
      { page: '/', ms: 3 },
      { page: '/é', ms: 1.5 },
    ]);
  });

  it('csv with a header: objects; RFC 4180 quotes, commas, newlines and "" inside fields', async () => {
    const path = file('a.csv', 'page,note\r\n/a,"x, ""y"""\r\n"/b\nc",plain\n/d,\n');
    expect(await readAll((ssc) => ssc.fileStream(path, { format: 'csv', header: true }))).toEqual([
      { page: '/a', note: 'x, "y"' },
      { page: '/b\nc', note: 'plain' },
      { page: '/d', note: '' },
    ]);
  });

  it('csv without a header: arrays; another delimiter', async () => {
    const path = file('b.csv', 'a;b\n"c;d";e');
    expect(await readAll((ssc) => ssc.fileStream(path, { format: 'csv', delimiter: ';' }))).toEqual([
      ['a', 'b'],
      ['c;d', 'e'],
    ]);
  });

  it("a bad record fails the job with its line (onError 'fail')", async () => {
    const path = file('bad.jsonl', '{"a":1}\n{"a":\n{"a":3}\n');
    const { ssc } = manualContext();
    ssc.fileStream(path, { format: 'jsonl' }).foreachBatch(() => {});
    await ssc.start();
    const error = await ssc.awaitTermination().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRecordError);
    expect((error as BadRecordError).line).toBe(2);
    expect((error as BadRecordError).source).toBe(path);
  });

  it("onError 'skip' goes past bad records", async () => {
    const path = file('bad.csv', 'k,v\na,1\nb\n"c,3\n');
    const rows = await readAll((ssc) => ssc.fileStream(path, { format: 'csv', header: true, onError: 'skip' }));
    expect(rows).toEqual([{ k: 'a', v: '1' }]);
  });

  it('a missing file fails start() with the path', async () => {
    const { ssc } = manualContext();
    ssc.fileStream(join(dir, 'nope.txt'), { format: 'lines' }).foreachBatch(() => {});
    await expect(ssc.start()).rejects.toThrow(/cannot open .*nope\.txt/);
    expect(ssc.state).toBe('stopped');
  });

  it('takes at most maxBatchRecords records per batch', async () => {
    const path = file('many.txt', Array.from({ length: 25 }, (_, i) => `r${i}`).join('\n'));
    const { ssc } = manualContext({ maxBatchRecords: 10 });
    const sizes: number[] = [];
    ssc.fileStream(path, { format: 'lines' }).foreachBatch((r) => void sizes.push(r.length));
    await ssc.start();
    await ssc.awaitTermination();
    expect(sizes).toEqual([10, 10, 5]);
  });
});

describe('fileStream, follow', () => {
  it('reads what is appended while the job runs; a partial last line waits for its newline', async () => {
    const path = file('grow.txt', 'a\nb\nc-');
    const { ssc, clock } = manualContext();
    const seen: string[] = [];
    ssc.fileStream(path, { format: 'lines', follow: true }).foreachBatch((r) => void seen.push(...r));
    await ssc.start();
    await advanceUntil(clock, () => seen.length >= 2, 1000);
    expect(seen).toEqual(['a', 'b']);
    appendFileSync(path, 'rest\nd\n');
    await advanceUntil(clock, () => seen.length >= 4, 1000);
    appendFileSync(path, 'e');
    await clock.advance(1000);
    await settle();
    expect(seen).toEqual(['a', 'b', 'c-rest', 'd']);
    appendFileSync(path, '\n');
    await advanceUntil(clock, () => seen.length >= 5, 1000);
    expect(seen).toEqual(['a', 'b', 'c-rest', 'd', 'e']);
    expect(ssc.state).toBe('active'); // a followed file never ends the job
    await ssc.stop({ graceful: true });
  });

  it('waits for a followed file that does not exist yet (a file read once must exist)', async () => {
    const path = join(dir, 'created-later.txt');
    const { ssc, clock } = manualContext();
    const seen: string[] = [];
    ssc.fileStream(path, { format: 'lines', follow: true }).foreachBatch((r) => void seen.push(...r));
    await ssc.start();
    await clock.advance(1000);
    await settle();
    expect(ssc.state).toBe('active');
    writeFileSync(path, 'x\ny\n');
    await advanceUntil(clock, () => seen.length >= 2, 1000);
    expect(seen).toEqual(['x', 'y']);
    await ssc.stop({ graceful: true });
  });

  it('follows a jsonl file as it grows', async () => {
    const path = file('grow.jsonl', '');
    const { ssc, clock } = manualContext();
    const seen: unknown[] = [];
    ssc.fileStream(path, { format: 'jsonl', follow: true }).foreachBatch((r) => void seen.push(...r));
    await ssc.start();
    for (let i = 0; i < 3; i++) {
      appendFileSync(path, `{"i":${i}}\n`);
      await advanceUntil(clock, () => seen.length === i + 1, 1000);
    }
    await ssc.stop();
    expect(seen).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
  });
});

describe('takeCsvRecords', () => {
  it('leaves an incomplete record for later and names the line each record starts on', () => {
    const t = takeCsvRecords('a,"b\nc"\nd,"e', 1, false, 10, 44);
    expect(t.records).toEqual([['a', 'b\nc']]);
    expect(t.lines).toEqual([1]);
    expect(t.linesConsumed).toBe(2);
    const rest = takeCsvRecords('d,"e', 3, true, 10, 44);
    expect(rest.errors).toEqual([{ line: 3, reason: 'unterminated quoted field' }]);
  });

  it('a CR after a closing quote ends the record only before a LF or at the end of the input, as the CLI decoder has it', () => {
    const at = (text: string) => {
      const t = takeCsvRecords(text, 1, true, 10, 44);
      return { records: t.records, errors: t.errors };
    };
    expect(at('"a"\r')).toEqual({ records: [['a']], errors: [] });
    expect(at('a,b\r')).toEqual({ records: [['a', 'b']], errors: [] });
    expect(at('"a"\r\nb\n')).toEqual({ records: [['a'], ['b']], errors: [] });
    expect(at('"a"\rb\nc\n')).toEqual({ records: [['c']], errors: [{ line: 1, reason: 'unexpected text after a closing quote' }] });
    expect(at('a\rb\n')).toEqual({ records: [['a\rb']], errors: [] }); // a lone CR inside a record is data
    // not final: a CR at the end may be the first half of a CRLF, so the record waits
    expect(takeCsvRecords('"a"\r', 1, false, 10, 44).consumed).toBe(0);
    expect(takeCsvRecords('a\r', 1, false, 10, 44).consumed).toBe(0);
  });

  it('takes the same records and finds the same bad ones as the CLI decoder, on random and hostile CSV', () => {
    const token = fc.constantFrom('a', 'é', '😀', ' ', ',', '"', '""', '\r', '\n', '\r\n', 'x"y');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) => {
        const text = tokens.join('');
        const api = takeCsvRecords(text, 1, true, Number.MAX_SAFE_INTEGER, 44);
        const cli = decodeCsvReference(new TextEncoder().encode(text), { keyColumn: 0, valueColumn: -1, final: true });
        expect(api.records.map((r) => r[0])).toEqual(cli.records.map((r) => new TextDecoder().decode(r.key)));
        expect(api.errors.map((e) => e.line)).toEqual(cli.errors.map((e) => e.line));
        expect(api.consumed).toBe(text.length);
      }),
      { numRuns: 3000 },
    );
  });
});
