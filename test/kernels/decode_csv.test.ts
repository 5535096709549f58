// csv_decode (through DecodeJob) against the plain TypeScript reference, on random and hostile CSV.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeJob, type CsvDecodeOptions } from '../../src/codec/decode-job.js';
import { readCsvHeader, resolveCsvColumn } from '../../src/codec/csv-header.js';
import {
  BadReason, DecodeStatus, DJ_CONSUMED, DJ_DELIM, DJ_ERRORS, DJ_FINAL, DJ_FIRST_LINE, DJ_IN, DJ_IN_LEN, DJ_KEY_BYTES,
  DJ_KEY_BYTES_CAP, DJ_KEY_COL, DJ_KEY_OFFS, DJ_LINES, DJ_MAX_ERRORS, DJ_MAX_RECORDS, DJ_MAX_SLOW, DJ_RECORDS,
  DJ_SIZE, DJ_SLOW, DJ_STATUS, DJ_ERROR_COUNT, DJ_SLOW_COUNT, DJ_VAL_COL, DJ_VALUES,
} from '../../src/wasm/abi.js';
import type { ByteTableHash } from '../../src/state/shard-table.js';
import { decodeChunks, murmur2, murmur2IsReal, splitAt, type Decoded } from '../helpers/decode.js';
import { fastHash } from '../reference/fast-hash.js';
import { loadTestKernels, type TestKernels } from '../helpers/wasm.js';
import { decodeCsvReference, type RefResult } from '../reference/csv.js';

const enc = new TextEncoder();
const bytesOf = (s: string): Uint8Array => enc.encode(s);
const latin = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Kernel outputs and reference outputs in one comparable shape. */
function shapeDecoded(d: Decoded) {
  return {
    records: d.records.map((r) => [latin(r.key), r.value]),
    errors: d.errors.map((e) => [e.line, e.reason, latin(e.raw)]),
  };
}
function shapeRef(r: RefResult, input: Uint8Array) {
  return {
    records: r.records.map((x) => [latin(x.key), x.value]),
    errors: r.errors.map((e) => [e.line, e.reason, latin(input.subarray(e.start, e.end))]),
  };
}

// ---- generators -------------------------------------------------------------------------------------

const plainText = fc.stringMatching(/^[a-zA-Z0-9_ .\-]{0,8}$/);
const hostileChars = ['a', 'Z', ',', '"', '\n', '\r', '\r\n', ' ', 'é', '€', '😀', '\t', '1', '.', '-', 'e', ';'];
const hostileText = fc.array(fc.constantFrom(...hostileChars), { maxLength: 10 }).map((a) => a.join(''));
const quoted = (s: string): string => `"${s.replaceAll('"', '""')}"`;
const quoteIfNeeded = (s: string): string => (/[",\r\n]/.test(s) || s.startsWith('"') ? quoted(s) : s);

const decimalText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.tuple(fc.integer({ min: -999, max: 999 }), fc.integer({ min: -330, max: 330 })).map(([m, e]) => `${m}e${e}`),
  fc.constantFrom('.5', '1.', '+3.5', '-0', '1E-7', '0.1', '1.7976931348623157e308', '1.7976931348623159e308', '5e-324', '2e-324'),
  fc.stringMatching(/^[0-9]{20,30}$/),
  fc.constantFrom('1' + '0'.repeat(30) + '1e-30', '2.2250738585072011e-308', '9007199254740993.0000000000000000001'),
);
const badValueText = fc.constantFrom('abc', '0x10', 'NaN', 'Infinity', '1_000', ' 1', '1 ', '', '.', 'e5', '1e', '--1', '١٢');
const valueField = fc.oneof(
  { weight: 6, arbitrary: decimalText },
  { weight: 1, arbitrary: decimalText.map(quoted) },
  { weight: 1, arbitrary: badValueText.map(quoteIfNeeded) },
  { weight: 1, arbitrary: fc.constant('"1""2"') },
);
const keyField = fc.oneof(
  { weight: 5, arbitrary: plainText },
  { weight: 3, arbitrary: hostileText.map(quoteIfNeeded) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constant('""') },
  { weight: 1, arbitrary: fc.constant(`k${'é'.repeat(5000)}${'x'.repeat(240)}`) }, // a 10 KB key
);
const invalidUtf8 = fc.constantFrom([0xff], [0xc3], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0xf4, 0x90, 0x80, 0x80], [0xe0, 0x80, 0xaf]);

/** One record (keyColumn 0/1, valueColumn 1/2 layouts mixed), as bytes, terminator excluded. */
const record = fc
  .tuple(
    fc.array(fc.oneof(keyField, valueField, hostileText), { minLength: 0, maxLength: 4 }),
    fc.option(fc.tuple(fc.nat(4), invalidUtf8), { nil: undefined, freq: 8 }),
    fc.option(fc.constantFrom('"a"b', '"x', 'a"b', '""x'), { nil: undefined, freq: 10 }),
  )
  .map(([fields, broken, badQuote]) => {
    const f = [...fields];
    if (badQuote !== undefined) f.splice(Math.min(f.length, 1), 0, badQuote);
    let bytes = bytesOf(f.join(','));
    if (broken) {
      const at = Math.min(broken[0], bytes.length);
      bytes = concat([bytes.subarray(0, at), Uint8Array.from(broken[1]), bytes.subarray(at)]);
    }
    return bytes;
  });
/** Records with their terminators, the last one's only when `lastTerminated`. */
function joinRecords(recs: Array<[Uint8Array, string]>, lastTerminated: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  recs.forEach(([r, t], i) => {
    parts.push(r);
    if (i < recs.length - 1 || lastTerminated) parts.push(bytesOf(t));
  });
  return concat(parts);
}
const wellFormedRecord = fc
  .tuple(keyField, valueField, fc.option(hostileText.map(quoteIfNeeded), { nil: undefined }))
  .map(([k, v, extra]) => bytesOf([k, v, ...(extra === undefined ? [] : [extra])].join(',')));
const terminator = fc.constantFrom('\n', '\n', '\r\n', '\n\n', '\r\n\r\n');
const csvInput = fc
  .tuple(
    fc.array(fc.tuple(fc.oneof({ weight: 3, arbitrary: wellFormedRecord }, { weight: 2, arbitrary: record }), terminator), { maxLength: 12 }),
    fc.boolean(),
  )
  .map(([recs, lastTerminated]) => joinRecords(recs, lastTerminated));
const byteSoup = fc
  .array(fc.constantFrom(0x2c, 0x22, 0x0a, 0x0d, 0x61, 0x31, 0x2e, 0x65, 0x2d, 0xc3, 0xa9, 0xff, 0xf0, 0x9f, 0x98, 0x80, 0x3b), { maxLength: 200 })
  .map((a) => Uint8Array.from(a));

const capacities = fc.record({
  maxRecords: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(4096)),
  keyBytes: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(1 << 16)),
  maxErrors: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(64)),
  maxSlow: fc.oneof(fc.integer({ min: 1, max: 2 }), fc.constant(64)),
  inputBytes: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(1 << 16)),

  // which hash the job writes to hashes(): murmur2 (Kafka's) or fastHash (a plain file job's state)
  hash: fc.constantFrom<ByteTableHash>('murmur2', 'fast'),
});
// null: no key field (the records of a Kafka message-key job)
const columns = fc.constantFrom<[number | null, number]>([0, 1], [0, 1], [1, 2], [0, -1], [2, 0], [1, 1], [null, 1], [null, -1]);

// The plain loop (plainRecords in decode_csv.ts) takes runs of unquoted, LF-ended, good records, 64-byte
// blocks at a time, and hands any other record to the general loop: long plain runs, broken anywhere by
// records it must not take, with keys of 0..100 bytes and plain decimals of every short shape.
const plainKeyChars = ['a', 'Z', '0', '/', '?', '=', '.', ' ', '-', '"', 'é', '€', '😀'];
const plainKey = fc
  .tuple(fc.array(fc.constantFrom(...plainKeyChars), { maxLength: 100 }), fc.boolean())
  .map(([cs, startQuoted]) => {
    const k = cs.join('');
    // a '"' starts a quoted field only as its first byte: inside, it is data the plain loop keeps
    return k.startsWith('"') && !startQuoted ? `x${k}` : k;
  });
const plainDecimal = fc
  .tuple(
    fc.constantFrom('', '', '', '-', '+'),
    fc.stringMatching(/^[0-9]{0,12}$/),
    fc.option(fc.stringMatching(/^[0-9]{0,12}$/), { nil: undefined }),
  )
  .map(([sign, int, frac]) => `${sign}${int}${frac === undefined ? '' : `.${frac}`}`);
const plainValue = fc.oneof(
  { weight: 8, arbitrary: plainDecimal },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '-0', '-0.0', '0.', '.0', '.', '-', '1e5', '00000000', '99999999', '12345678.', '.12345678', '999999999999999', '9999999999999999', '0.1', '1..2', '1.2.', '') },
);
const plainRecord = fc
  .tuple(plainKey, plainValue, fc.constantFrom('', '', '', ',extra', ',,', ',"q,uoted"'))
  .map(([k, v, extra]) => bytesOf(`${k},${v}${extra}`));
const plainRun = fc
  .array(
    fc.tuple(
      fc.oneof({ weight: 12, arbitrary: plainRecord }, { weight: 1, arbitrary: wellFormedRecord }, { weight: 1, arbitrary: record }),
      fc.constantFrom('\n', '\n', '\n', '\r\n', '\n\n', '\r\n\r\n', '\r\r\n'),
    ),
    { minLength: 1, maxLength: 60 },
  )
  .chain((recs) => fc.tuple(fc.constant(recs), fc.boolean()))
  .map(([recs, lastTerminated]) => joinRecords(recs, lastTerminated));

// ---- tests ------------------------------------------------------------------------------------------

for (const build of ['debug', 'release'] as const) {
  describe(`csv_decode (${build})`, () => {
    const t = loadTestKernels(build);
    const hashesReal = murmur2IsReal(t);

    function check(input: Uint8Array, cols: [number | null, number], caps: Partial<CsvDecodeOptions>, cuts: number[] = [], delimiter = ','): void {
      const opts: CsvDecodeOptions = { format: 'csv', keyColumn: cols[0], valueColumn: cols[1] < 0 ? undefined : cols[1], maxRecords: 4096, delimiter, ...caps };
      const got = decodeChunks(t, opts, splitAt(input, cuts));
      const ref = decodeCsvReference(input, { keyColumn: cols[0], valueColumn: cols[1], delimiter: delimiter.charCodeAt(0) });
      expect(shapeDecoded(got)).toEqual(shapeRef(ref, input));
      expect(got.line).toBe(1 + ref.lines);
      expect(got.pending).toBe(0);
      if (caps.hash === 'fast') for (const r of got.records) expect(r.hash).toBe(fastHash(r.key));
      else if (hashesReal) for (const r of got.records) expect(r.hash).toBe(murmur2(r.key));
    }

    it('decodes the contract examples', () => {
      const input = bytesOf('a,1\n"b,""x""\n",+3.5\r\n\n\r\nc,1e3\n,.5\n"",1.\nd\ne,\nf,abc\ng,0x10\n"h"x,1\n"\xe9",2\nlast,-12');
      const got = decodeChunks(t, { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 100 }, [input]);
      expect(got.records.map((r) => [Buffer.from(r.key).toString(), r.value])).toEqual([
        ['a', 1], ['b,"x"\n', 3.5], ['c', 1000], ['', 0.5], ['', 1], ['é', 2], ['last', -12],
      ]);
      expect(got.errors.map((e) => [e.line, e.reason, e.message])).toEqual([
        [9, BadReason.MissingValue, 'column 1 is missing (the record has 1 column)'],
        [10, BadReason.EmptyValue, 'the value in column 1 is empty'],
        [11, BadReason.BadNumber, 'value "abc" in column 1 is not a decimal number'],
        [12, BadReason.BadNumber, 'value "0x10" in column 1 is not a decimal number'],
        [13, BadReason.BadQuote, 'text after the closing quote of column 0'],
      ]);
      check(input, [0, 1], {});
    });

    it('without a key column, gives every good record the empty key and never MissingKey', () => {
      const input = bytesOf('7\n"2",x\n\n,\nabc\n"open');
      const got = decodeChunks(t, { format: 'csv', keyColumn: null, valueColumn: 0, maxRecords: 10 }, [input]);
      expect(got.records.map((r) => [r.key.length, r.value])).toEqual([[0, 7], [0, 2]]);
      expect(got.errors.map((e) => [e.line, e.reason])).toEqual([
        [4, BadReason.EmptyValue],
        [5, BadReason.BadNumber],
        [6, BadReason.UnterminatedQuote],
      ]);
      if (hashesReal) for (const r of got.records) expect(r.hash).toBe(murmur2(new Uint8Array(0)));
      const counted = decodeChunks(t, { format: 'csv', keyColumn: null, maxRecords: 10 }, [bytesOf('a\n\nb,c\n')]);
      expect(counted.records).toHaveLength(2);
      check(input, [null, 0], {});
    });

    it('reports invalid UTF-8 and quoting errors with their position', () => {
      const input = concat([bytesOf('ok,1\nk'), Uint8Array.from([0xc3, 0x28]), bytesOf(',2\n"open,3')]);
      const got = decodeChunks(t, { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 10 }, [input]);
      expect(got.errors.map((e) => [e.line, e.reason, e.message])).toEqual([
        [2, BadReason.BadUtf8, 'invalid UTF-8 at byte 2 of the record'],
        [3, BadReason.UnterminatedQuote, 'the quoted field in column 0 is not closed before the end of the input'],
      ]);
      const named = decodeChunks(
        t,
        { format: 'csv', keyColumn: 0, valueColumn: 2, maxRecords: 10, columnNames: ['user', 'page', 'ms'] },
        [bytesOf('a,b\n')],
      );
      expect(named.errors[0]!.message).toBe('column 2 ("ms") is missing (the record has 2 columns)');
    });

    /** check() on `inputs` with any of `layouts`, any capacities, cut into up to `maxCuts` + 1 chunks anywhere. */
    function agreesChunked(inputs: fc.Arbitrary<Uint8Array>, layouts: fc.Arbitrary<[number | null, number]>, maxCuts: number, numRuns: number): void {
      fc.assert(
        fc.property(inputs, layouts, capacities, fc.array(fc.nat(), { maxLength: maxCuts }), (input, cols, caps, cuts) =>
          check(input, cols, caps, cuts.map((c) => c % (input.length + 1))),
        ),
        { numRuns },
      );
    }

    it('agrees with the reference on random and hostile CSV, chunked anywhere, with tiny outputs', () => {
      agreesChunked(fc.oneof({ weight: 4, arbitrary: csvInput }, { weight: 1, arbitrary: byteSoup }), columns, 4, build === 'debug' ? 1500 : 3000);
    });

    it('takes long plain runs as the reference does, broken by any record, in any chunks, with tiny outputs', () => {
      const layouts = fc.constantFrom<[number | null, number]>([0, 1], [0, 1], [0, 1], [1, 2], [1, 0], [0, -1], [null, 1], [1, 1]);
      agreesChunked(plainRun, layouts, 3, build === 'debug' ? 600 : 1500);
    });

    it('parses plain decimals in the plain loop as Number() does', () => {
      fc.assert(
        fc.property(fc.array(plainValue, { minLength: 1, maxLength: 40 }), (vals) => {
          const text = vals.map((v, i) => `k${i},${v}\n`).join('');
          check(bytesOf(text), [0, 1], {});
          // the same values at the very end of the input, where fewer than 8 bytes follow them
          check(bytesOf(`${text}k,${vals[0]}`), [0, 1], {});
        }),
        { numRuns: build === 'debug' ? 300 : 1000 },
      );
    });

    it('gives the one-shot result for every split point (final=0 then final=1)', () => {
      const samples = [
        'k,1\r\n"a,""b""\r\nc",2.5\n\n"x"y,3\n\xc3\xa9,4\r\n"un"',
        '"",1\n,2\r\n"""",3\n"\r\n",4\r\n a ,5\n\r\nz,6\r',
        'a,1\nb,2',
        '"a\nb\nc",1e400\n"d",-1e-400\n\xf0\x9f\x98\x80,99999999999999999999999\n',
      ];
      for (const s of samples) {
        const input = Uint8Array.from(s, (c) => c.charCodeAt(0));
        const one = decodeChunks(t, { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 100 }, [input]);
        for (let cut = 0; cut <= input.length; cut++) {
          const two = decodeChunks(t, { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 2, maxErrors: 1, keyBytes: 1 }, splitAt(input, [cut]));
          expect(shapeDecoded(two)).toEqual(shapeDecoded(one));
        }
        check(input, [0, 1], {});
      }
    });

    it('stops at the last complete record when the input is not final', () => {
      fc.assert(
        fc.property(csvInput, columns, (input, cols) => {
          const got = decodeChunks(t, { format: 'csv', keyColumn: cols[0], valueColumn: cols[1] < 0 ? undefined : cols[1], maxRecords: 3 }, [input], false);
          const ref = decodeCsvReference(input, { keyColumn: cols[0], valueColumn: cols[1], final: false });
          expect(shapeDecoded(got)).toEqual(shapeRef(ref, input));
          expect(got.pending).toBe(input.length - ref.consumed);
          expect(got.line).toBe(1 + ref.lines);
        }),
        { numRuns: 500 },
      );
    });

    it('reads other delimiters', () => {
      fc.assert(
        fc.property(csvInput, fc.constantFrom(';', '\t', '|'), (input, d) => {
          check(input, [0, 1], {}, [], d);
        }),
        { numRuns: 300 },
      );
    });

    it('stops with each DecodeStatus when an output fills, after the last whole record', () => {
      // S has 36 significant digits and sits on a rounding boundary at 19: the host must parse it
      const S = '9007199254740993.0000000000000000001';
      const text = `a,1\nbb,2\nx\ny\n1,${S}\n2,${S}\n`;
      const input = t.put(bytesOf(text));
      const job = t.arena.alloc(DJ_SIZE, true);
      const keyOffs = t.arena.alloc(64, true);
      const errors = t.arena.alloc(256);
      const u32 = t.arena.u32;
      const set = (field: number, v: number): void => {
        u32[(job + field) >>> 2] = v;
      };
      const get = (field: number): number => u32[(job + field) >>> 2]!;
      set(DJ_IN, input); set(DJ_IN_LEN, text.length); set(DJ_FINAL, 1); set(DJ_FIRST_LINE, 1);
      set(DJ_KEY_COL, 0); set(DJ_VAL_COL, 1); set(DJ_DELIM, 0x2c);
      set(DJ_KEY_OFFS, keyOffs); set(DJ_KEY_BYTES, t.arena.alloc(64)); set(DJ_VALUES, t.arena.alloc(64));
      set(DJ_ERRORS, errors); set(DJ_SLOW, t.arena.alloc(256));
      set(DJ_MAX_RECORDS, 1); set(DJ_KEY_BYTES_CAP, 1); set(DJ_MAX_ERRORS, 1); set(DJ_MAX_SLOW, 1);
      /** Runs the kernel, then does what the host does: moves past what was consumed, drains errors and slow values. */
      const run = (): number[] => {
        const status = t.k.csv_decode(job) >>> 0;
        const out = [status, get(DJ_RECORDS), get(DJ_CONSUMED), get(DJ_LINES), get(DJ_ERROR_COUNT), get(DJ_SLOW_COUNT)];
        expect(get(DJ_STATUS)).toBe(status);
        set(DJ_IN, get(DJ_IN) + get(DJ_CONSUMED));
        set(DJ_IN_LEN, get(DJ_IN_LEN) - get(DJ_CONSUMED));
        set(DJ_FIRST_LINE, get(DJ_FIRST_LINE) + get(DJ_LINES));
        set(DJ_ERROR_COUNT, 0);
        set(DJ_SLOW_COUNT, 0);
        return out;
      };
      // [status, records, consumed, lines, errors, slow]
      expect(run()).toEqual([DecodeStatus.RecordsFull, 1, 4, 1, 0, 0]); // "a" fits, "bb" does not
      set(DJ_MAX_RECORDS, 8);
      expect(run()).toEqual([DecodeStatus.KeyBytesFull, 1, 0, 0, 0, 0]); // "bb" needs key bytes 1..3
      set(DJ_KEY_BYTES_CAP, 64);
      expect(run()).toEqual([DecodeStatus.ErrorsFull, 2, 7, 2, 1, 0]); // "bb", then "x" reported, no room for "y"
      expect([u32[errors >>> 2], u32[(errors >>> 2) + 1]]).toEqual([3, BadReason.MissingValue]);
      set(DJ_MAX_ERRORS, 8);
      expect(run()).toEqual([DecodeStatus.SlowFull, 3, 2 + 3 + S.length, 2, 1, 1]); // "y", then one slow value
      expect(u32[errors >>> 2]).toBe(4);
      set(DJ_MAX_SLOW, 8);
      expect(run()).toEqual([DecodeStatus.Done, 4, 3 + S.length, 1, 0, 1]);
      expect(new Uint8Array(t.arena.memory.buffer, get(DJ_KEY_BYTES), 5)).toEqual(bytesOf('abb12'));
      expect(Array.from(new Uint32Array(t.arena.memory.buffer, keyOffs, 5))).toEqual([0, 1, 3, 4, 5]);
    });

    it('never reads outside [in, in + inLen)', () => {
      // the bytes after the input would end the record, close the quote or extend the number if read
      fc.assert(
        fc.property(csvInput, fc.boolean(), (input, final) => {
          const poison = bytesOf('"\n9"\n,7\n'.repeat(20));
          const at = t.arena.alloc(input.length + poison.length + 64);
          t.arena.u8.set(input, at);
          t.arena.u8.set(poison, at + input.length);
          const job = new DecodeJob(t.arena, { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 4096, maxSlow: 4096 });
          const jp = job.ptr;
          job.prepare(final);
          const u32 = t.arena.u32;
          u32[(jp + DJ_IN) >>> 2] = at;
          u32[(jp + DJ_IN_LEN) >>> 2] = input.length;
          t.k.csv_decode(jp);
          const ref = decodeCsvReference(input, { keyColumn: 0, valueColumn: 1, final });
          expect(u32[(jp + DJ_CONSUMED) >>> 2]).toBe(ref.consumed);
          expect(u32[(jp + DJ_RECORDS) >>> 2]).toBe(ref.records.length);
          const values = new Float64Array(t.arena.memory.buffer, job.valuesPtr, ref.records.length);
          const slow = new Set<number>();
          for (let i = 0; i < u32[(jp + DJ_SLOW_COUNT) >>> 2]!; i++) slow.add(u32[(u32[(jp + DJ_SLOW) >>> 2]! >>> 2) + i * 4]!);
          ref.records.forEach((r, i) => {
            if (!slow.has(i)) expect(values[i]).toBe(r.value);
          });
          job.release();
          t.arena.release(at);
        }),
        { numRuns: 300 },
      );
    });
  });
}

describe('csv header', () => {
  it('maps header names to columns, skipping blank lines and reading quoted names', () => {
    const h = readCsvHeader(bytesOf('\r\n"user id",page,"ms\n(total)"\r\nx,y,1\n'), { final: false })!;
    expect(h.columns).toEqual(['user id', 'page', 'ms\n(total)']);
    expect(h.consumed).toBe('\r\n"user id",page,"ms\n(total)"\r\n'.length);
    expect(h.lines).toBe(3);
    expect(resolveCsvColumn(h.columns, 'page', '--key')).toBe(1);
    expect(resolveCsvColumn(h.columns, '2', '--value')).toBe(2);
    expect(() => resolveCsvColumn(h.columns, 'nope', '--key')).toThrow('--key "nope" is not a column of the header');
    expect(readCsvHeader(bytesOf('a,"b'), { final: false })).toBeUndefined();
    expect(readCsvHeader(bytesOf('a,b'), { final: true })!.columns).toEqual(['a', 'b']);
    expect(readCsvHeader(bytesOf('a;b\n'), { delimiter: ';' })!.columns).toEqual(['a', 'b']);
    expect(() => readCsvHeader(bytesOf('"a"x,b\n'))).toThrow('quoting error in column 0');
  });

  it('checks DecodeJob options at the boundary', () => {
    const t = loadTestKernels('debug');
    expect(() => new DecodeJob(t.arena, { format: 'csv', keyColumn: -1, maxRecords: 1 })).toThrow('options.keyColumn must be an integer');
    expect(() => new DecodeJob(t.arena, { format: 'csv', keyColumn: 0, maxRecords: 0 })).toThrow('options.maxRecords must be an integer');
    expect(() => new DecodeJob(t.arena, { format: 'csv', keyColumn: 0, maxRecords: 1, delimiter: '"' })).toThrow(RangeError);
    expect(() => new DecodeJob(t.arena, { format: 'jsonl', keyPath: '', maxRecords: 1 })).toThrow('options.keyPath');
  });
});
