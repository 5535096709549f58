// json_decode (through DecodeJob) against the plain TypeScript reference, on random and hostile JSON lines.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeJob, type JsonlDecodeOptions } from '../../src/codec/decode-job.js';
import { jsonSyntaxError } from '../../src/codec/bad-record.js';
import { parseFieldPath } from '../../src/codec/field-path.js';
import { BadReason, DJ_CONSUMED, DJ_ERROR_COUNT, DJ_IN, DJ_IN_LEN, DJ_RECORDS } from '../../src/wasm/abi.js';
import type { ByteTableHash } from '../../src/state/shard-table.js';
import { decodeChunks, murmur2, murmur2IsReal, splitAt, type Decoded } from '../helpers/decode.js';
import { fastHash } from '../reference/fast-hash.js';
import { loadTestKernels } from '../helpers/wasm.js';
import type { RefResult } from '../reference/csv.js';
import { decodeJsonlReference } from '../reference/jsonl.js';

const enc = new TextEncoder();
const latin = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

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

// ---- generators: JSON text written piece by piece, so escapes, spacing and duplicates vary ----------

const ws = fc.constantFrom('', '', '', ' ', '\t', ' \r ');
const names = fc.constantFrom('k', 'v', 'm', 'x', '', 'a.b', '\\u006b', 'k\\u0000', '\\u0076', 'é', '\\u00e9', '😀', '\\ud83d\\ude00');
const stringPiece = fc.constantFrom(
  'a', 'Z', ' ', 'é', '€', '😀', '\\n', '\\"', '\\\\', '\\/', '\\b', '\\f', '\\r', '\\t', '\\u0041', '\\u00e9', '\\u20ac',
  '\\ud83d\\ude00', '\\uD83D\\uDE00', '\\ud800', '\\udc00x', '.', '1', '5', 'e', '-',
);
const stringText = fc.array(stringPiece, { maxLength: 6 }).map((a) => `"${a.join('')}"`);
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.constantFrom('-0', '0.5', '1E5', '1e-7', '0.1e+2', '123456789012345678901234', '9007199254740993.0000000000000000001', '1e400', '-2e-400'),
);
const decimalString = fc.oneof(numberText, fc.constantFrom('.5', '+3', '1.', 'abc', '', '0x10', ' 1')).map((s) => `"${s}"`);
const scalarText = fc.oneof(
  { weight: 3, arbitrary: numberText },
  { weight: 2, arbitrary: stringText },
  { weight: 2, arbitrary: decimalString },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null') },
);
const { value: valueText } = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarText, tie('object'), tie('array')),
  object: fc
    .array(fc.tuple(ws, names, ws, ws, tie('value'), ws), { maxLength: 5 })
    .map((ms) => `{${ms.map(([a, n, b, c, v, d]) => `${a}"${n}"${b}:${c}${v}${d}`).join(',')}}`),
  array: fc.array(fc.tuple(ws, tie('value')), { maxLength: 3 }).map((es) => `[${es.map(([a, v]) => a + v).join(',')}]`),
}));
/** A top-level object that often holds the paths the tests ask for. */
const lineText = fc
  .array(
    fc.tuple(
      fc.constantFrom('k', 'v', 'm', 'x', 'a', '\\u006b', 'k'),
      fc.oneof(valueText, scalarText, scalarText.chain((k) => scalarText.map((v) => `{"k":${k},"v":${v},"b":${v}}`))),
    ),
    { maxLength: 5 },
  )
  .map((ms) => `{${ms.map(([n, v]) => `"${n}":${v}`).join(',')}}`);
/** Mostly good lines for the paths k/v and m.k/m.v, with every kind of key and value text. */
const goodLine = fc
  .tuple(fc.oneof(stringText, numberText, fc.constantFrom('true', 'false')), fc.oneof(numberText, decimalString), ws, fc.boolean())
  .map(([k, v, w, dup]) => `{${w}"m":{"k":${k},"v":${v}},${dup ? '"k":"first",' : ''}"k"${w}:${w}${k},"v":${v}${w}}`);
const mutation = fc.oneof(
  { weight: 6, arbitrary: fc.constant<((s: Uint8Array) => Uint8Array) | undefined>(undefined) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '0', 'x', ' ', '\u0001', '\r')).map(
      ([at, ch]) => (s: Uint8Array) => {
        const i = at % (s.length + 1);
        return Uint8Array.from([...s.subarray(0, i), ...enc.encode(ch), ...s.subarray(i)]);
      },
    ),
  },
  { weight: 1, arbitrary: fc.nat().map((at) => (s: Uint8Array) => s.subarray(0, at % (s.length + 1))) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0xc0, 0xaf])).map(
      ([at, bad]) => (s: Uint8Array) => {
        const i = at % (s.length + 1);
        return Uint8Array.from([...s.subarray(0, i), ...bad, ...s.subarray(i)]);
      },
    ),
  },
);
const otherLine = fc.oneof(
  valueText,
  fc.integer({ min: 1, max: 12 }).map((n) => `{"k":${'['.repeat(n)}1${']'.repeat(n)}}`),
  fc.integer({ min: 1, max: 12 }).map((n) => `{"m":${'{"m":'.repeat(n)}{"k":1}${'}'.repeat(n + 1)}`),
  fc.constantFrom('', ' ', '{}', '[]', '{"k":1}x', '{"k":01}', '{"k":1,}', '{"k" 1}', '{"k":"a\tb"}', '{"k":tru}'),
);
const terminator = fc.constantFrom('\n', '\n', '\r\n', '\n\n');
const jsonlInput = fc
  .tuple(fc.array(fc.tuple(fc.oneof({ weight: 3, arbitrary: lineText }, { weight: 3, arbitrary: goodLine }, { weight: 1, arbitrary: otherLine }), mutation, terminator), { maxLength: 10 }), fc.boolean())
  .map(([lines, lastTerminated]) => {
    const parts: number[] = [];
    lines.forEach(([text, mutate, t], i) => {
      const bytes = enc.encode(text);
      parts.push(...(mutate ? mutate(bytes) : bytes));
      if (i < lines.length - 1 || lastTerminated) parts.push(...enc.encode(t));
    });
    return Uint8Array.from(parts);
  });
// null: no key field (the records of a Kafka message-key job)
const paths = fc.constantFrom<[string | null, string | undefined]>(
  ['k', 'v'], ['k', 'v'], ['m.k', 'm.v'], ['k', undefined], ['v', 'k'], ['m.m.k', 'b'], ['a.b', 'x'], [null, 'v'], [null, undefined],
  ['`a.b`', 'm.`k`'], ['m.``', '`v`'],
);
const capacities = fc.record({
  maxRecords: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(4096)),
  keyBytes: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(1 << 16)),
  maxErrors: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(64)),
  maxSlow: fc.oneof(fc.integer({ min: 1, max: 2 }), fc.constant(64)),
  maxDepth: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(1024)),

  // which hash the job writes to hashes(): murmur2 (Kafka's) or fastHash (a plain file job's state)
  hash: fc.constantFrom<ByteTableHash>('murmur2', 'fast'),
});

for (const build of ['debug', 'release'] as const) {
  describe(`json_decode (${build})`, () => {
    const t = loadTestKernels(build);
    const hashesReal = murmur2IsReal(t);

    function check(input: Uint8Array, [keyPath, valuePath]: [string | null, string | undefined], caps: Partial<JsonlDecodeOptions>, cuts: number[] = []): void {
      const opts: JsonlDecodeOptions = { format: 'jsonl', keyPath, valuePath, maxRecords: 4096, ...caps };
      const got = decodeChunks(t, opts, splitAt(input, cuts));
      const ref = decodeJsonlReference(input, { keyPath, valuePath, maxDepth: opts.maxDepth ?? 1024 });
      expect(shapeDecoded(got)).toEqual(shapeRef(ref, input));
      expect(got.line).toBe(1 + ref.lines);
      if (caps.hash === 'fast') for (const r of got.records) expect(r.hash).toBe(fastHash(r.key));
      else if (hashesReal) for (const r of got.records) expect(r.hash).toBe(murmur2(r.key));
    }

    it('decodes the contract examples', () => {
      const text = [
        '{"k":"a","v":1}',
        '{"k":"\\u00e9\\ud83d\\ude00","v":"2.5"}',
        '{"m":{"v":1},"k":12.50,"v":3}',
        '{"k":true,"v":-1e3}\r',
        '',
        '{"k":"dup","k":"last","v":1,"v":2}',
        '{"k":null,"v":1}',
        '{"v":1}',
        '{"k":"x"}',
        '{"k":"x","v":"abc"}',
        '{"k":"x","v":"\\u0031"}',
        '[1,2]',
        '{"k":"x","v":1',
        '{"k":"\\ud800","v":1}',
        '{"\\u006b":"esc-name","v":0.1}',
      ].join('\n');
      const got = decodeChunks(t, { format: 'jsonl', keyPath: 'k', valuePath: 'v', maxRecords: 100 }, [enc.encode(text)]);
      expect(got.records.map((r) => [Buffer.from(r.key).toString(), r.value])).toEqual([
        ['a', 1], ['é😀', 2.5], ['12.50', 3], ['true', -1000], ['last', 2], ['esc-name', 0.1],
      ]);
      expect(got.errors.map((e) => [e.line, e.reason, e.message])).toEqual([
        [7, BadReason.BadKeyType, 'field "k" is null: a key must be a string, a number or a boolean'],
        [8, BadReason.MissingKey, 'field "k" is missing'],
        [9, BadReason.MissingValue, 'field "v" is missing'],
        [10, BadReason.BadNumber, 'field "v" is not a decimal number: "abc"'],
        [11, BadReason.BadNumber, 'field "v" is not a decimal number: "1" is written with escapes; write a number in a string without them'],
        [12, BadReason.NotObject, 'the line is an array, not a JSON object'],
        [13, BadReason.BadJson, "invalid JSON: the line ends, expected ',' or '}' at column 15"],
        [14, BadReason.BadUtf8, 'field "k" holds an unpaired surrogate escape (\\uD800-\\uDFFF), which has no UTF-8 form'],
      ]);
      const nested = decodeChunks(t, { format: 'jsonl', keyPath: 'm.k', valuePath: 'm.v', maxRecords: 10, maxDepth: 3 }, [
        enc.encode('{"m":{"k":"a","v":1},"m":{"k":"b"}}\n{"m":{"k":"c","v":[2]}}\n{"m":{"k":{"x":[1]}}}\n{"m":{"v":{}}}'),
      ]);
      expect(nested.errors.map((e) => [e.line, e.reason, e.message])).toEqual([
        [1, BadReason.MissingValue, 'field "m.v" is missing'],
        [2, BadReason.BadNumber, 'field "m.v" is not a decimal number: [2]'],
        [3, BadReason.TooDeep, 'JSON nested deeper than 3 levels'],
        [4, BadReason.MissingKey, 'field "m.k" is missing'],
      ]);
    });

    it('without a key path, gives every good line the empty key and never a key error', () => {
      const text = ['{"v":1}', '{"k":null,"v":2}', '{"":{"x":"\\u0041"},"v":3}', '{"k":1}', '[1]', '{"v":"x"}'].join('\n');
      const got = decodeChunks(t, { format: 'jsonl', keyPath: null, valuePath: 'v', maxRecords: 10 }, [enc.encode(text)]);
      expect(got.records.map((r) => [r.key.length, r.value])).toEqual([[0, 1], [0, 2], [0, 3]]);
      expect(got.errors.map((e) => [e.line, e.reason])).toEqual([
        [4, BadReason.MissingValue],
        [5, BadReason.NotObject],
        [6, BadReason.BadNumber],
      ]);
      check(enc.encode(text), [null, 'v'], {});
      check(enc.encode(text), [null, undefined], {});
    });

    it('skips a line of nothing but whitespace, as an empty line (JSON.parse would refuse it; jq and DuckDB skip it)', () => {
      const text = '{"k":"a","v":1}\n  \n\t\r\n \r \r\n{"k":"b","v":2}\n \nx\n';
      const got = decodeChunks(t, { format: 'jsonl', keyPath: 'k', valuePath: 'v', maxRecords: 10 }, [enc.encode(text)]);
      expect(got.records.map((r) => [Buffer.from(r.key).toString(), r.value])).toEqual([['a', 1], ['b', 2]]);
      expect(got.errors.map((e) => [e.line, e.reason])).toEqual([[7, BadReason.BadJson]]);
      expect(got.line).toBe(8);
    });

    it('takes a name that holds a dot in backticks, as Spark does: `a.b` is the field a.b, a.b is b inside a', () => {
      const text = '{"a.b":"dot","a":{"b":"nested","c.d":{"e`f":"deep"}},"v":1}';
      const key = (keyPath: string) =>
        decodeChunks(t, { format: 'jsonl', keyPath, valuePath: 'v', maxRecords: 4 }, [enc.encode(text)]).records.map((r) => Buffer.from(r.key).toString());
      expect(key('a.b')).toEqual(['nested']);
      expect(key('`a.b`')).toEqual(['dot']);
      expect(key('a.`c.d`.e`f')).toEqual(['deep']);
      expect(key('a.`c.d`.`e``f`')).toEqual(['deep']);
    });

    it('agrees with the reference on random and hostile lines, chunked anywhere, with tiny outputs', () => {
      fc.assert(
        fc.property(jsonlInput, paths, capacities, fc.array(fc.nat(), { maxLength: 3 }), (input, p, caps, cuts) =>
          check(input, p, caps, cuts.map((c) => c % (input.length + 1))),
        ),
        { numRuns: build === 'debug' ? 1500 : 3000 },
      );
    });

    it('gives the one-shot result for every split point (final=0 then final=1)', () => {
      const input = enc.encode('{"k":"a\\n","v":1}\r\n\n{"k":1e5,"v":"2"}\n[1]\n{"k":"😀","v":9007199254740993.0000000000000000001}\n{"k":"x"');
      const opts: JsonlDecodeOptions = { format: 'jsonl', keyPath: 'k', valuePath: 'v', maxRecords: 100 };
      const one = decodeChunks(t, opts, [input]);
      expect(one.records.length).toBe(3);
      for (let cut = 0; cut <= input.length; cut++) {
        const two = decodeChunks(t, { ...opts, maxRecords: 1, maxErrors: 1, keyBytes: 1, maxSlow: 1 }, splitAt(input, [cut]));
        expect(shapeDecoded(two)).toEqual(shapeDecoded(one));
      }
    });

    it('stops at the last complete line when the input is not final', () => {
      fc.assert(
        fc.property(jsonlInput, (input) => {
          const got = decodeChunks(t, { format: 'jsonl', keyPath: 'k', valuePath: 'v', maxRecords: 2 }, [input], false);
          const ref = decodeJsonlReference(input, { keyPath: 'k', valuePath: 'v', maxDepth: 1024, final: false });
          expect(shapeDecoded(got)).toEqual(shapeRef(ref, input));
          expect(got.pending).toBe(input.length - ref.consumed);
        }),
        { numRuns: 300 },
      );
    });

    it('never reads outside [in, in + inLen)', () => {
      // the bytes after the input would close strings, objects and lines if read
      fc.assert(
        fc.property(jsonlInput, fc.boolean(), (input, final) => {
          const poison = enc.encode('"}]}\n{"k":"p","v":7}\n'.repeat(8));
          const at = t.arena.alloc(input.length + poison.length + 64);
          t.arena.u8.set(input, at);
          t.arena.u8.set(poison, at + input.length);
          const job = new DecodeJob(t.arena, { format: 'jsonl', keyPath: 'k', valuePath: 'v', maxRecords: 4096, maxSlow: 4096, maxErrors: 4096 });
          job.prepare(final);
          const u32 = t.arena.u32;
          u32[(job.ptr + DJ_IN) >>> 2] = at;
          u32[(job.ptr + DJ_IN_LEN) >>> 2] = input.length;
          t.k.json_decode(job.ptr);
          const ref = decodeJsonlReference(input, { keyPath: 'k', valuePath: 'v', maxDepth: 1024, final });
          expect([u32[(job.ptr + DJ_CONSUMED) >>> 2], u32[(job.ptr + DJ_RECORDS) >>> 2], u32[(job.ptr + DJ_ERROR_COUNT) >>> 2]]).toEqual([
            ref.consumed, ref.records.length, ref.errors.length,
          ]);
          job.release();
          t.arena.release(at);
        }),
        { numRuns: 300 },
      );
    });

    it('handles nesting far deeper than the limit without recursion', () => {
      const deep = `{"k":"a","v":1,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      const got = decodeChunks(t, { format: 'jsonl', keyPath: 'k', valuePath: 'v', maxRecords: 4, maxDepth: 64 }, [enc.encode(deep)]);
      expect(got.errors.map((e) => e.reason)).toEqual([BadReason.TooDeep]);
      const ok = decodeChunks(t, { format: 'jsonl', keyPath: 'k', valuePath: 'v', maxRecords: 4, maxDepth: 200_001 }, [enc.encode(deep)]);
      expect(ok.records.length).toBe(1);
    });
  });
}

describe('field paths', () => {
  it('split at dots, with names in backticks whole', () => {
    expect(parseFieldPath('m.v')).toEqual({ steps: ['m', 'v'] });
    expect(parseFieldPath('`a.b`')).toEqual({ steps: ['a.b'] });
    expect(parseFieldPath('x.`a.b`.c')).toEqual({ steps: ['x', 'a.b', 'c'] });
    expect(parseFieldPath('`a``b`.c`d')).toEqual({ steps: ['a`b', 'c`d'] });
    expect(parseFieldPath('a..b.')).toEqual({ steps: ['a', '', 'b', ''] });
    expect(parseFieldPath('``')).toEqual({ steps: [''] });
    expect(parseFieldPath('`a')).toEqual({ error: 'the backtick at character 1 is not closed' });
    expect(parseFieldPath('m.`a`b')).toEqual({ error: "a backtick-quoted name must be followed by '.' or the end, not 'b' (character 6)" });
  });
});

describe('JSON syntax messages', () => {
  it('names what is wrong and where', () => {
    const at = (s: string) => jsonSyntaxError(enc.encode(s));
    expect(at('{"a":1}')).toBeUndefined();
    expect(at('{"a":}')).toEqual({ what: "unexpected '}', expected a value", at: 5 });
    expect(at('{"a" 1}')).toEqual({ what: "expected ':' after a member name", at: 5 });
    expect(at('{"a":01}')).toEqual({ what: "unexpected '1', expected ',' or '}'", at: 6 });
    expect(at('{"a":"x\ty"}')).toEqual({ what: 'unescaped control character in a string', at: 7 });
    expect(at('{"a":1}x')).toEqual({ what: "unexpected 'x' after the JSON value", at: 7 });
    expect(at('[1,]')).toEqual({ what: "unexpected ']', expected a value", at: 3 });
  });
});
