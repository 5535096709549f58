// `sluice aggregate` against the plain reference (test/reference/aggregate.ts) on random, hostile CSV and JSONL.
//
// Most runs call runAggregate in this process (a spec from parseAggregateSpec, --out to a temp file);
// some go through the built binary, stdin and the worker pool included. Each run compares what a user
// sees: the output rows, the failing line and reason, the skip count, the dead-letter lines.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAggregate, type RunAggregateOptions } from '../../src/cli/aggregate.js';
import { describeBadRecord, type BadRecordContext } from '../../src/codec/bad-record.js';
import { BadRecordError } from '../../src/errors.js';
import { parseAggregateSpec } from '../../src/plan/aggregate-spec.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { aggregateReference, parseCsvOutput, readRecord, type RefAgg, type RefAggregateOptions } from '../reference/aggregate.js';

const enc = new TextEncoder();
const rawText = (b: Uint8Array): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(b);

let dir: string;
let remove: () => void;
beforeAll(() => ({ dir, remove } = tempDir('sluice-prop-')));
afterAll(() => remove());

function concat(parts: Array<Uint8Array | string>): Uint8Array {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p)));
}

// ---- one job: its input, its options ---------------------------------------------------------------

interface Job {
  input: Uint8Array;
  options: RefAggregateOptions;
  /** what --key / --value are given as (a header name or an index for CSV) */
  keyArg: string;
  valueArg: string | undefined;
  /** for bad-record reasons: header names */
  columnNames?: string[];
  keyColumn?: number;
  valueColumn?: number;
  batchSize: number;
}

// ---- shared pieces ---------------------------------------------------------------------------------

const LONG = 'K'.repeat(10 * 1024);
/** Keys: a skewed few, hostile bytes, random text, and 10 KB keys. */
const keyText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('hot', 'hot', 'hot', 'a', 'b') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '', ' ', ' a', 'a ', 'x,y', 'say "hi"', '"', '""', 'two\nlines', 'cr\rx', 'crlf\r\nx', 'é', 'ñandú', '€', '😀',
      '𝄞x', '\uFEFF', '\uFEFFa', '1.50', 'a\tb', ',', '\n', 'NaN', '-0',
    ),
  },
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom('a', '"', ',', '\n', '\r', 'é', '😀', ' ', '\u2028'), maxLength: 8 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.nat(3).map((i) => `${LONG}${i}`) },
);

const digits = (min: number, max: number): fc.Arbitrary<string> => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
/** Decimal literals of the contract: sign, digits, fraction, exponent, `.5`, `+3`, `1.`, long and extreme. */
const goodValue = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer({ min: -1e9, max: 1e9 }).map(String),
  fc.constantFrom(
    '.5', '+3', '1.', '-12', '+3.5', '1e3', '1E-3', '-.5e+2', '0', '-0', '00012', '0.1', '0.2', '0.3', '1.7976931348623157e308',
    '1e400', '-1e400', '4.9e-324', '2e-400', '123456789012345678901234567890', '9007199254740993', '2.5000000000000000000001',
  ),
  fc
    .tuple(fc.constantFrom('', '+', '-'), digits(0, 22), fc.constantFrom('', '.'), digits(0, 22), fc.constantFrom('', 'e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3))
    .map(([s, i, dot, f, e, es, x]) => `${s}${i}${dot}${dot ? f : ''}${e ? `${e}${es}${x}` : ''}`)
    .filter((t) => /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(t)),
);
const badValue = fc.constantFrom(
  'abc', '0x10', 'NaN', '1_000', 'Infinity', '-Infinity', '1e', '.', '-', '+', '1.2.3', ' 1', '1 ', 'e5', '++1', '1e+', '١', '１',
  '1,5', '1"', 'true',
);
/** Bytes that are not UTF-8: a stray continuation, a lone lead, an overlong NUL, a surrogate, past U+10FFFF. */
const invalidUtf8 = fc.constantFrom([0xff], [0x80], [0xc3], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]);
const terminator = fc.constantFrom('\n', '\n', '\r\n');
const aggList = fc.array(fc.constantFrom<RefAgg>('count', 'sum', 'min', 'max', 'avg'), { minLength: 1, maxLength: 5 });
const policy = fc.constantFrom<RefAggregateOptions['onError']>('fail', 'skip', 'skip', 'dead-letter', 'dead-letter');
const batchSize = fc.constantFrom(1, 2, 7, 100, 1 << 20);

// ---- CSV -------------------------------------------------------------------------------------------

/** A CSV field: quoted (RFC 4180, "" escapes) when it must be, and sometimes when it need not. */
function csvField(s: string, quote: boolean): string {
  return quote || /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

type CsvRow =
  | { kind: 'good' | 'badNumber' | 'empty'; key: string; value: string; quote: [boolean, boolean]; filler: string[] }
  | { kind: 'short'; key: string; keep: number; filler: string[] }
  | { kind: 'utf8'; key: string; value: string; bytes: readonly number[]; where: number }
  | { kind: 'badQuote'; key: string; value: string; inKey: boolean }
  | { kind: 'blank'; text: '' | '\r' }
  | { kind: 'unterminated'; key: string };

const filler = fc.array(fc.constantFrom('', 'x', 'q,r', '"z"', 'é', '1'), { maxLength: 2 });
const csvRow: fc.Arbitrary<CsvRow> = fc.oneof(
  { weight: 60, arbitrary: fc.record({ kind: fc.constant('good' as const), key: keyText, value: goodValue, quote: fc.tuple(fc.boolean(), fc.boolean()), filler }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('badNumber' as const), key: keyText, value: badValue, quote: fc.tuple(fc.boolean(), fc.boolean()), filler }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('empty' as const), key: keyText, value: fc.constant(''), quote: fc.tuple(fc.boolean(), fc.boolean()), filler }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('short' as const), key: keyText, keep: fc.nat(3), filler }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('utf8' as const), key: keyText, value: goodValue, bytes: invalidUtf8, where: fc.nat(2) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('badQuote' as const), key: keyText, value: goodValue, inKey: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('blank' as const), text: fc.constantFrom('' as const, '\r' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unterminated' as const), key: keyText }) },
);

/** The bytes of one row, with `kc` the key column and `vc` the value column. */
function csvRowBytes(row: CsvRow, kc: number, vc: number): Uint8Array {
  const width = Math.max(kc, vc) + 1;
  const cells = (key: string, value: string, quote: [boolean, boolean], extra: string[]): string[] => {
    const out: string[] = [];
    for (let c = 0; c < width; c++) out.push(c === kc ? csvField(key, quote[0]) : c === vc ? csvField(value, quote[1]) : csvField(`f${c}`, false));
    return [...out, ...extra.map((f) => csvField(f, false))];
  };
  switch (row.kind) {
    case 'good':
    case 'badNumber':
    case 'empty':
      return enc.encode(cells(row.key, row.value, row.quote, row.filler).join(','));
    case 'short':
      return enc.encode(cells(row.key, '1', [false, false], []).slice(0, row.keep).join(','));
    case 'utf8': {
      const c = cells(row.key, row.value, [false, false], []);
      const at = row.where % c.length;
      const parts: Array<Uint8Array | string> = [];
      c.forEach((cell, i) => {
        if (i > 0) parts.push(',');
        // inside a field: after an opening quote, or at its start when unquoted
        if (i === at && cell.startsWith('"')) parts.push('"', Uint8Array.from(row.bytes), cell.slice(1));
        else if (i === at) parts.push(Uint8Array.from(row.bytes), cell);
        else parts.push(cell);
      });
      return concat(parts);
    }
    case 'badQuote': {
      const c = cells(row.key, row.value, [true, true], []);
      c[row.inKey ? kc : vc] += 'x';
      return enc.encode(c.join(','));
    }
    case 'blank':
      return enc.encode(row.text);
    case 'unterminated':
      return enc.encode(cells(row.key, '1', [false, false], []).join(',') + ',"open');
  }
}

const csvJob: fc.Arbitrary<Job> = fc
  .record({
    kc: fc.nat(2),
    vcOffset: fc.integer({ min: 1, max: 3 }),
    rows: fc.array(fc.tuple(csvRow, terminator), { maxLength: 40 }),
    finalTerminator: fc.boolean(),
    header: fc.option(fc.record({ names: fc.constantFrom('plain', 'hostile'), byIndex: fc.boolean(), blankBefore: fc.boolean() }), { nil: undefined }),
    aggs: aggList,
    withValue: fc.boolean(),
    onError: policy,
    batchSize,
  })
  .map(({ kc, vcOffset, rows, finalTerminator, header, aggs, withValue, onError, batchSize }) => {
    const vc = (kc + vcOffset) % 4;
    const width = Math.max(kc, vc) + 1;
    const hasValue = withValue || aggs.some((a) => a !== 'count');
    const parts: Array<Uint8Array | string> = [];
    let columnNames: string[] | undefined;
    if (header) {
      columnNames = [...Array(width).keys()].map((c) => (header.names === 'plain' ? `c${c}` : [`the "key", ${c}`, `é\n${c}`, `${c}`, `😀 ${c}`][c]!));
      if (header.blankBefore) parts.push('\r\n');
      parts.push(columnNames.map((n) => csvField(n, false)).join(','), '\r\n');
    }
    rows.forEach(([row, term], i) => {
      parts.push(csvRowBytes(row, kc, vc));
      if (i < rows.length - 1 || finalTerminator) parts.push(term);
    });
    const keyArg = columnNames && !header!.byIndex ? columnNames[kc]! : String(kc);
    const valueArg = !hasValue ? undefined : columnNames && !header!.byIndex ? columnNames[vc]! : String(vc);
    return {
      input: concat(parts),
      options: { format: 'csv' as const, header: header !== undefined, key: keyArg, value: valueArg, aggs, onError },
      keyArg,
      valueArg,
      columnNames,
      keyColumn: kc,
      valueColumn: hasValue ? vc : -1,
      batchSize,
    };
  });

// ---- JSONL -----------------------------------------------------------------------------------------

/** A JSON string for `s`, with some characters written as \uXXXX escapes (astral ones as surrogate pairs). */
function jsonString(s: string, escapes: boolean[]): string {
  let out = '';
  let i = 0;
  for (const ch of s) {
    const escape = escapes[i++ % Math.max(1, escapes.length)] ?? false;
    if (escape) {
      for (let u = 0; u < ch.length; u++) out += `\\u${ch.charCodeAt(u).toString(16).padStart(4, '0')}`;
    } else out += JSON.stringify(ch).slice(1, -1);
  }
  return `"${out}"`;
}

const jsonNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
  fc.constantFrom('1.50', '-0', '1e2', '100', '0.1', '-3.25E+2', '1E400', '12345678901234567890123', '0', '5e-324'),
);
const stringKey = fc.tuple(keyText, fc.array(fc.boolean(), { maxLength: 4 })).map(([s, e]) => jsonString(s, e));
const jsonKey = fc.oneof(
  { weight: 8, arbitrary: stringKey },
  { weight: 2, arbitrary: jsonNumber },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false') },
  { weight: 1, arbitrary: fc.constantFrom('null', '{}', '[1]', '{"a":1}', '"\\ud800"', '"x\\udc00"') },
);
const jsonValue = fc.oneof(
  { weight: 8, arbitrary: jsonNumber },
  { weight: 2, arbitrary: goodValue.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: badValue.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.constantFrom('null', 'true', '[]', '{}', '""') },
);
const ws = fc.constantFrom('', '', ' ', '\t');

type JsonLine =
  | { kind: 'object'; key: string | undefined; value: string | undefined; extra: string[]; order: boolean; sp: string }
  | { kind: 'raw'; text: string }
  | { kind: 'cut'; at: number; key: string; value: string }
  | { kind: 'utf8'; key: string; bytes: readonly number[] }
  | { kind: 'deep' };

const jsonLine: fc.Arbitrary<JsonLine> = fc.oneof(
  {
    weight: 60,
    arbitrary: fc.record({
      kind: fc.constant('object' as const),
      key: fc.option(jsonKey, { nil: undefined, freq: 12 }),
      value: fc.option(jsonValue, { nil: undefined, freq: 12 }),
      extra: fc.array(fc.constantFrom('"x":1', '"s":"a,b"', '"n":null', '"arr":[1,{"k":2}]', '"o":{"v":"no"}'), { maxLength: 2 }),
      order: fc.boolean(),
      sp: ws,
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('raw' as const), text: fc.constantFrom('[1]', '3', '"s"', 'null', '{', '}', '{"k":1,}', "{'k':1}", '{"k":"a" "v":1}', '\r') }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat(30), key: stringKey, value: jsonNumber }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('utf8' as const), key: stringKey, bytes: invalidUtf8 }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'deep' as const }) },
);

function jsonLineBytes(line: JsonLine, nested: { key: boolean; value: boolean }): Uint8Array {
  switch (line.kind) {
    case 'object': {
      const top: string[] = [...line.extra];
      const inner: string[] = [];
      if (line.key !== undefined) (nested.key ? inner : top).push(`"k":${line.sp}${line.key}`);
      if (line.value !== undefined) (nested.value ? inner : top).push(`"v"${line.sp}:${line.value}`);
      if (nested.key || nested.value) top.push(`"m":{${(line.order ? inner : inner.reverse()).join(',')}}`);
      return enc.encode(`{${line.sp}${(line.order ? top : top.reverse()).join(`,${line.sp}`)}}`);
    }
    case 'raw':
      return enc.encode(line.text);
    case 'cut': {
      const text = `{"k":${line.key},"v":${line.value}}`;
      return enc.encode(text.slice(0, Math.min(line.at, text.length - 1)));
    }
    case 'utf8': {
      const k = enc.encode(line.key);
      return concat(['{"k":', k.subarray(0, 1), Uint8Array.from(line.bytes), k.subarray(1), ',"v":1}']);
    }
    case 'deep':
      return enc.encode(`{"k":"deep","v":1,"d":${'['.repeat(1100)}${']'.repeat(1100)}}`);
  }
}

const jsonlJob: fc.Arbitrary<Job> = fc
  .record({
    nestedKey: fc.boolean(),
    nestedValue: fc.boolean(),
    lines: fc.array(fc.tuple(jsonLine, terminator), { maxLength: 40 }),
    finalTerminator: fc.boolean(),
    aggs: aggList,
    withValue: fc.boolean(),
    onError: policy,
    batchSize,
  })
  .map(({ nestedKey, nestedValue, lines, finalTerminator, aggs, withValue, onError, batchSize }) => {
    const hasValue = withValue || aggs.some((a) => a !== 'count');
    const parts: Array<Uint8Array | string> = [];
    lines.forEach(([line, term], i) => {
      parts.push(jsonLineBytes(line, { key: nestedKey, value: nestedValue }));
      if (i < lines.length - 1 || finalTerminator) parts.push(term);
    });
    const keyArg = nestedKey ? 'm.k' : 'k';
    const valueArg = hasValue ? (nestedValue ? 'm.v' : 'v') : undefined;
    return {
      input: concat(parts),
      options: { format: 'jsonl' as const, key: keyArg, value: valueArg, aggs, onError },
      keyArg,
      valueArg,
      batchSize,
    };
  });

// ---- running and comparing -------------------------------------------------------------------------

function badContext(job: Job): BadRecordContext {
  return job.options.format === 'csv'
    ? { format: 'csv', keyColumn: job.keyColumn!, valueColumn: job.valueColumn!, delimiter: 0x2c, columnNames: job.columnNames }
    : { format: 'jsonl', keyPath: job.keyArg, valuePath: job.valueArg, maxDepth: 1024 };
}

/** The dead-letter lines the reference expects. */
function expectedDeadLetters(job: Job, bad: Array<{ line: number; code: string; raw: Uint8Array }>): unknown[] {
  const ctx = badContext(job);
  return bad.map((b) => ({ line: b.line, reason: describeBadRecord(ctx, b.code, b.raw), raw: rawText(b.raw) }));
}

function readDeadLetters(file: string): unknown[] {
  const text = readFileSync(file, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l));
}

let runs = 0;
/** One job through runAggregate in this process, compared with the reference. */
async function checkInProcess(
  job: Job,
  workers: number,
  expected = aggregateReference(job.input, job.options),
  run: RunAggregateOptions = {},
): Promise<void> {
  const n = ++runs;
  const ext = job.options.format === 'csv' ? 'csv' : 'jsonl';
  const input = path.join(dir, `in-${n}.${ext}`);
  const runDir = path.join(dir, `run-${n}`);
  const out = path.join(runDir, 'out.csv');
  const dead = path.join(runDir, 'dead.jsonl');
  writeFileSync(input, job.input);
  mkdirSync(runDir);
  try {
    const spec = parseAggregateSpec({
      input,
      header: job.options.header,
      key: job.keyArg,
      value: job.valueArg,
      agg: job.options.aggs.join(','),
      out,
      onError: job.options.onError === 'dead-letter' ? `dead-letter:${dead}` : job.options.onError,
      workers,
      batchSize: job.batchSize,
    });
    const got = await runAggregate(spec, run).then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    if (!expected.ok) {
      if (got.ok) throw new Error(`expected a failure at line ${expected.bad.line} (${expected.bad.code})`);
      expect(got.err).toBeInstanceOf(BadRecordError);
      const e = got.err as BadRecordError;
      expect({ line: e.line, reason: e.reason, message: e.message }).toEqual({
        line: expected.bad.line,
        reason: describeBadRecord(badContext(job), expected.bad.code, expected.bad.raw),
        message: `bad record at line ${expected.bad.line} of ${input}: ${e.reason}`,
      });
      expect(readdirSync(runDir)).toEqual([]); // no --out file, no temp file
      return;
    }
    if (!got.ok) throw got.err;
    expect(parseCsvOutput(readFileSync(out, 'utf8'))).toEqual({ header: expected.header, rows: expected.rows });
    expect(got.r.skipped).toBe(expected.bad.length);
    expect(got.r.groups).toBe(expected.rows.size);
    if (job.options.onError === 'dead-letter') expect(readDeadLetters(dead)).toEqual(expectedDeadLetters(job, expected.bad));
    expect(readdirSync(runDir).sort()).toEqual(job.options.onError === 'dead-letter' ? ['dead.jsonl', 'out.csv'] : ['out.csv']);
  } finally {
    rmSync(input, { force: true });
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** One job through the built binary: from a file or piecewise on stdin, to stdout. */
async function checkBinary(
  job: Job,
  workers: number,
  viaStdin: boolean,
  cuts: number[],
  expected = aggregateReference(job.input, job.options),
): Promise<void> {
  const n = ++runs;
  const ext = job.options.format === 'csv' ? 'csv' : 'jsonl';
  const input = path.join(dir, `bin-${n}.${ext}`);
  const dead = path.join(dir, `bin-${n}.dead.jsonl`);
  writeFileSync(input, job.input);
  try {
    const args = [
      'aggregate',
      '--input', viaStdin ? '-' : input,
      ...(viaStdin ? ['--format', job.options.format] : []),
      ...(job.options.header ? ['--header'] : []),
      '--key', job.keyArg,
      ...(job.valueArg === undefined ? [] : ['--value', job.valueArg]),
      '--agg', job.options.aggs.join(','),
      '--on-error', job.options.onError === 'dead-letter' ? `dead-letter:${dead}` : job.options.onError,
      '--workers', String(workers),
      '--batch-size', String(job.batchSize),
    ];
    const at = [...new Set(cuts.map((c) => c % (job.input.length + 1)))].sort((a, b) => a - b);
    const pieces = [0, ...at, job.input.length].slice(1).map((end, i, ends) => job.input.subarray(i === 0 ? 0 : ends[i - 1], end));
    const r = await runCli(args, viaStdin ? { stdin: pieces } : {});
    const source = viaStdin ? 'stdin' : input;
    if (!expected.ok) {
      const reason = describeBadRecord(badContext(job), expected.bad.code, expected.bad.raw);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout.length }).toEqual({
        code: 1,
        stderr: `sluice: bad record at line ${expected.bad.line} of ${source}: ${reason}\n`,
        stdout: 0,
      });
      return;
    }
    const k = expected.bad.length;
    const s = k === 1 ? '' : 's';
    const stderr =
      job.options.onError === 'fail' ? '' : job.options.onError === 'skip' ? `sluice: skipped ${k} bad record${s}\n` : `sluice: wrote ${k} bad record${s} to ${dead}\n`;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr });
    expect(parseCsvOutput(r.stdout.toString('utf8'))).toEqual({ header: expected.header, rows: expected.rows });
    if (job.options.onError === 'dead-letter') expect(readDeadLetters(dead)).toEqual(expectedDeadLetters(job, expected.bad));
  } finally {
    rmSync(input, { force: true });
    rmSync(dead, { force: true });
  }
}

describe('sluice aggregate vs the reference: random hostile input', () => {
  it('CSV, in process, inline', async () => {
    await fc.assert(fc.asyncProperty(csvJob, (job) => checkInProcess(job, 0)), { numRuns: 500 });
  });

  it('JSONL, in process, inline', async () => {
    await fc.assert(fc.asyncProperty(jsonlJob, (job) => checkInProcess(job, 0)), { numRuns: 500 });
  });

  it('CSV and JSONL, in process, through 2 workers', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(csvJob, jsonlJob), (job) => checkInProcess(job, 2)), { numRuns: 40 });
  });

  it('CSV and JSONL, in process, 2 workers, each decode split in two halves decoded at once', async () => {
    // the cut lands anywhere: inside quotes (undone), before bad records, inside full batches
    await fc.assert(
      fc.asyncProperty(fc.oneof(csvJob, jsonlJob), (job) => checkInProcess(job, 2, undefined, { splitBytes: 1 })),
      { numRuns: 80 },
    );
  }, 240_000);

  it('a split decode: a cut inside a quoted key is undone; bad records on both sides keep their lines and order', async () => {
    const job = (text: string, onError: 'fail' | 'dead-letter', batchSize: number): Job => ({
      input: enc.encode(text),
      options: { format: 'csv', header: false, key: '0', value: '1', aggs: ['count', 'sum'], onError },
      keyArg: '0',
      valueArg: '1',
      keyColumn: 0,
      valueColumn: 1,
      batchSize,
    });
    const quoted = 'a,1\n"x\ny\nz\nw\nv\nu\nt",2\nb,zz\nc,3\n'; // the middle is inside the quotes
    const both = 'a,1\nb,x\nc,3\nd,4\ne,y\nf,6\na,7\n'; // bad records before and after the cut
    for (const text of [quoted, both]) {
      for (const batchSize of [1, 2, 100]) {
        await checkInProcess(job(text, 'dead-letter', batchSize), 2, undefined, { splitBytes: 1 });
        await checkInProcess(job(text, 'fail', batchSize), 2, undefined, { splitBytes: 1 });
      }
    }
  });

  it('CSV and JSONL through the binary, from a file or split across stdin reads', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(csvJob, jsonlJob), fc.constantFrom(0, 2), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), (job, w, stdin, cuts) =>
        checkBinary(job, w, stdin, cuts),
      ),
      { numRuns: 20 },
    );
  });
});

describe('sluice aggregate vs the reference: big cases', () => {
  it('1M distinct keys', async () => {
    const N = 1_000_000;
    const parts: string[] = [];
    for (let i = 0; i < N; i++) parts.push(`k${i},${i}.5\n`);
    parts.push('k7,1e6\nk999999,-0.5\n');
    const input = path.join(dir, 'million.csv');
    writeFileSync(input, parts.join(''));
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'count,sum']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const text = r.stdout.toString('utf8');
    expect(text.startsWith('key,count,sum\n')).toBe(true);
    const rows = new Map<string, string>();
    for (let pos = text.indexOf('\n') + 1; pos < text.length; ) {
      const nl = text.indexOf('\n', pos);
      const line = text.slice(pos, nl);
      const comma = line.indexOf(',');
      rows.set(line.slice(0, comma), line.slice(comma + 1));
      pos = nl + 1;
    }
    expect(rows.size).toBe(N);
    expect(rows.get('k0')).toBe('1,0.5');
    expect(rows.get('k7')).toBe('2,1000007.5');
    expect(rows.get('k123456')).toBe('1,123456.5');
    expect(rows.get('k999999')).toBe('2,999999');
    expect(rows.has('k1000000')).toBe(false);
  }, 60_000);

  it('10 KB keys x 1000', async () => {
    // 1000 distinct keys of 10,250 bytes (commas, quotes, LF, 2- and 4-byte UTF-8 up front), half of them twice
    const lines: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const k = i % 1000;
      const key = `${String(k).padStart(4, '0')}é,"\n😀${'x'.repeat(10_237)}`;
      lines.push(`${csvField(key, false)},${i % 3 === 0 ? `.${k}` : `${k}e-2`}${i % 2 ? '\r\n' : '\n'}`);
    }
    const bytes = enc.encode(lines.join(''));
    expect(Buffer.byteLength(readRecord(lines[0]!, 0).fields[0]!)).toBe(10_250);
    const job: Job = {
      input: bytes,
      options: { format: 'csv', key: '0', value: '1', aggs: ['count', 'sum', 'min', 'max', 'avg'], onError: 'fail' },
      keyArg: '0',
      valueArg: '1',
      keyColumn: 0,
      valueColumn: 1,
      batchSize: 300,
    };
    const expected = aggregateReference(bytes, job.options);
    expect(expected.ok && expected.rows.size).toBe(1000);
    await checkInProcess(job, 0, expected);
    await checkBinary(job, 2, false, [], expected);
  }, 60_000);
});
