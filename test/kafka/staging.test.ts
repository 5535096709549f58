// The Kafka source's staging without a broker: how a message value becomes one record line (csv shape,
// JSON line flattening, rejections), the record map from good records back to messages, the message-key
// columns in shared memory, and purging a revoked partition. Properties against plain references.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvShape, KafkaStaging, trimmedLength } from '../../src/sources/kafka-staging.js';
import { KafkaRecordMap } from '../../src/sources/kafka-record-map.js';
import { MessageKeys } from '../../src/codec/message-keys.js';
import { DecodeJob } from '../../src/codec/decode-job.js';
import { loadTestKernels } from '../helpers/wasm.js';
import { murmur2 } from '../helpers/decode.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

/** Reference of csvShape: RFC 4180 as csv_decode reads it, one character at a time. */
function csvShapeReference(v: Uint8Array, end: number): 'one' | 'open' | number {
  let state: 'start' | 'unquoted' | 'quoted' | 'quote' = 'start';
  for (let i = 0; i < end; i++) {
    const c = v[i]!;
    switch (state) {
      case 'start':
        if (c === 0x22) state = 'quoted';
        else if (c === 0x0a) return i;
        else if (c !== 0x2c) state = 'unquoted';
        break;
      case 'unquoted':
        if (c === 0x2c) state = 'start';
        else if (c === 0x0a) return i;
        break;
      case 'quoted':
        if (c === 0x22) state = 'quote';
        break;
      case 'quote': // just after a '"' inside quotes: "" continues, anything else closes the field
        if (c === 0x22) state = 'quoted';
        else if (c === 0x2c) state = 'start';
        else if (c === 0x0a) return i;
        else state = 'unquoted';
        break;
    }
  }
  return state === 'quoted' ? 'open' : 'one';
}

const csvSoup = fc.array(fc.constantFrom(0x2c, 0x22, 0x0a, 0x0d, 0x61, 0x31, 0x2e), { maxLength: 24 }).map((a) => Uint8Array.from(a));

describe('csvShape', () => {
  it('reads a value as csv_decode does: one record, a quoted field left open, or a line break outside quotes', () => {
    expect(csvShape(bytes('a,1'), 3)).toBe('one');
    expect(csvShape(bytes('"a\nb",1'), 7)).toBe('one');
    expect(csvShape(bytes('"a""b",1'), 8)).toBe('one');
    expect(csvShape(bytes('a"b,1'), 5)).toBe('one'); // a quote inside an unquoted field is data
    expect(csvShape(bytes('"open,1'), 7)).toBe('open');
    expect(csvShape(bytes('a,1\nb,2'), 7)).toBe(3);
    expect(csvShape(bytes('x,a"b\n"c'), 8)).toBe(5); // parity would call this quoted
    fc.assert(
      fc.property(csvSoup, (v) => {
        const end = trimmedLength(v);
        expect(csvShape(v, end)).toEqual(csvShapeReference(v, end));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('KafkaRecordMap', () => {
  it('gives the message ranges of the good records: messages minus skips and bad ones, in order', () => {
    const m = new KafkaRecordMap(10, Uint32Array.from([2, 6]));
    m.addBad(5);
    expect(m.take(3)).toEqual([[0, 2], [3, 4]]);
    expect(m.take(4)).toEqual([[4, 5], [7, 10]]);
    expect(() => m.take(1)).toThrow(/more records than messages/);
  });

  it('agrees with filtering the message list, for any batch sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.subarray(Array.from({ length: n }, (_, i) => i)), fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 30 })),
        ),
        ([n, noRecord, sizes]) => {
          const skips = noRecord.filter((_, i) => i % 2 === 0);
          const bad = noRecord.filter((_, i) => i % 2 === 1);
          const good = Array.from({ length: n }, (_, i) => i).filter((i) => !noRecord.includes(i));
          const map = new KafkaRecordMap(n, Uint32Array.from(skips));
          const taken: number[] = [];
          let reported = 0;
          for (const size of sizes) {
            const want = Math.min(size, good.length - taken.length);
            if (want <= 0) break;
            // the decoder reports the bad records before the good ones after them
            const lastGood = good[taken.length + want - 1]!;
            while (reported < bad.length && bad[reported]! < lastGood) map.addBad(bad[reported++]!);
            for (const [a, b] of map.take(want)) for (let i = a; i < b; i++) taken.push(i);
          }
          expect(taken).toEqual(good.slice(0, taken.length));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('KafkaStaging', () => {
  const t = loadTestKernels('debug');

  it('stages one record line per message; blank, rejected and null-key messages are skips', () => {
    const s = new KafkaStaging({ format: 'csv', messageKeys: () => new MessageKeys(t.arena, t.k) });
    s.stage(0, 10, bytes('a,1'), bytes('a'));
    s.stage(1, 20, bytes('"x\ny",2\n'), bytes('x'));
    s.stage(0, 11, null, bytes('tomb')); // a tombstone: no record
    s.stage(1, 21, bytes('b,1\nc,2'), bytes('b')); // several records
    s.stage(0, 12, bytes('"open'), bytes('o'));
    s.stage(0, 13, bytes('n,3'), null); // --message-key: a null key
    s.stage(1, 22, bytes('\r\n'), bytes('e')); // blank
    s.stage(1, 23, bytes('z,9\r'), Uint8Array.from([0xff, 0x00]));
    const c = s.take();
    expect(dec.decode(c.bytes)).toBe('a,1\n"x\ny",2\n\n\n\n\n\nz,9\r\n');
    expect([...c.partitionOf]).toEqual([0, 1, 0, 1, 0, 0, 1, 1]);
    expect([...c.offsetOf]).toEqual([10, 20, 11, 21, 12, 13, 22, 23]);
    expect([...c.lineOf]).toEqual([0, 1, 3, 4, 5, 6, 7, 8]);
    expect([...c.skips]).toEqual([2, 3, 4, 5, 6]);
    expect(c.rejected.map((r) => [r.partition, r.offset, dec.decode(r.raw)])).toEqual([
      [1, '21', 'b,1\nc,2'],
      [0, '12', '"open'],
      [0, '13', 'n,3'],
    ]);
    expect(c.rejected[0]!.reason).toMatch(/more than one CSV record \(a line break outside quotes at byte 4\)/);
    expect(c.rejected[1]!.reason).toBe('a quoted field is not closed');
    expect(c.rejected[2]!.reason).toMatch(/null key/);
    expect(c.keys!.count).toBe(8);
    expect([...c.keys!.key(7)]).toEqual([0xff, 0x00]);
    c.keys!.release();
    s.release();
  });

  it('makes one JSON line of a value: line breaks between tokens become spaces, inside strings they stay invalid', () => {
    const s = new KafkaStaging({ format: 'jsonl' });
    s.stage(0, 0, bytes('{"k":\n"a",\r\n"v":1}\n'), null);
    s.stage(0, 1, bytes('{"k":"a\nb","v":1}'), null);
    const c = s.take();
    const lines = dec.decode(c.bytes).split('\n');
    expect(lines[0]).toBe('{"k": "a",  "v":1} ');
    expect(JSON.parse(lines[0]!)).toEqual({ k: 'a', v: 1 });
    expect(lines[1]).toBe('{"k":"a\x1fb","v":1}');
    expect(() => JSON.parse(lines[1]!)).toThrow(); // as the original value
    // and the decoder agrees
    const job = new DecodeJob(t.arena, { format: 'jsonl', keyPath: 'k', valuePath: 'v', maxRecords: 10 });
    job.write(c.bytes);
    job.decode(t.k, true);
    expect(job.records).toBe(1);
    expect(job.takeBadRecords().map((b) => b.code)).toEqual(['BadJson']);
    job.release();
  });

  it('purges the messages of revoked partitions as if they never came', () => {
    const staged = (s: KafkaStaging, skip: Set<number>) => {
      const msgs: Array<[number, number, string | null, string]> = [
        [0, 1, 'a,1', 'a'], [1, 1, '"q\nr",2', 'q'], [2, 5, null, 't'], [1, 2, 'b,1\nx', 'b'], [0, 2, 'c,3', 'c'], [2, 6, 'd,4', 'd'],
      ];
      for (const [p, o, v, k] of msgs) if (!skip.has(p)) s.stage(p, o, v === null ? null : bytes(v), bytes(k));
    };
    const purged = new KafkaStaging({ format: 'csv', messageKeys: () => new MessageKeys(t.arena, t.k) });
    staged(purged, new Set());
    purged.purge(new Set([1]));
    const fresh = new KafkaStaging({ format: 'csv', messageKeys: () => new MessageKeys(t.arena, t.k) });
    staged(fresh, new Set([1]));
    const a = purged.take();
    const b = fresh.take();
    const plain = (c: typeof a) => ({
      bytes: dec.decode(c.bytes), partitionOf: [...c.partitionOf], offsetOf: [...c.offsetOf], lineOf: [...c.lineOf], byteOf: [...c.byteOf],
      lineCount: c.lineCount, skips: [...c.skips], rejected: c.rejected.map((r) => r.offset),
      keys: Array.from({ length: c.keys!.count }, (_, i) => dec.decode(c.keys!.key(i))),
    });
    expect(plain(a)).toEqual(plain(b));
    for (const c of [a, b]) c.keys!.release();
    purged.release();
    fresh.release();
  });
});

describe('KafkaStaging.stageBatch', () => {
  const t = loadTestKernels('debug');

  /** One message of a generated batch: offset gap from the previous one, value and key (null: none). */
  type Gen = { gap: number; value: Uint8Array | null; key: Uint8Array | null };
  // Mostly plain `key,value` records, with every byte that sends a value to the general path mixed in
  // (line feeds, carriage returns, quotes, blank and null values, null keys), sometimes in long plain runs.
  const plainValue = fc.stringMatching(/^[a-z0-9.:/]{1,12},[0-9.]{1,6}$/).map((v) => enc.encode(v));
  const oddValue = fc.oneof(
    csvSoup,
    fc.constantFrom('', '\n', '\r', '\r\n', 'a,1\n', 'a,1\r\n', 'a,1\r', '"q",2', '"x\ny",3', 'b,1\nc,2', '"open', '{"k":\n"a"}').map((v) => enc.encode(v)),
  );
  const message = (value: fc.Arbitrary<Uint8Array | null>): fc.Arbitrary<Gen> =>
    fc.record({
      gap: fc.constantFrom(1, 1, 1, 1, 2, 7),
      value,
      key: fc.option(fc.uint8Array({ maxLength: 6 }), { nil: null, freq: 12 }),
    });
  const segment = fc.oneof(
    fc.array(message(plainValue), { maxLength: 1400 }),
    fc.array(message(fc.option(oddValue, { nil: null, freq: 6 })), { maxLength: 8 }),
  );
  const batch = fc.array(segment, { maxLength: 6 }).map((segs) => segs.flat());

  /** The messages as kafkajs hands them: offset strings, values and keys as Buffer views into one fetch buffer. */
  function fetched(gens: Gen[], first: number): Array<{ offset: string; key: Buffer | null; value: Buffer | null }> {
    const parts: Uint8Array[] = [];
    for (const g of gens) parts.push(Uint8Array.of(0xee, 0x0a, 0x22), g.key ?? new Uint8Array(0), g.value ?? new Uint8Array(0));
    const all = Buffer.concat(parts);
    let at = 0;
    let offset = first;
    return gens.map((g) => {
      at += 3;
      const key = g.key === null ? null : all.subarray(at, at + g.key.length);
      at += g.key?.length ?? 0;
      const value = g.value === null ? null : all.subarray(at, at + g.value.length);
      at += g.value?.length ?? 0;
      offset += g.gap;
      return { offset: String(offset), key, value };
    });
  }

  const plain = (c: ReturnType<KafkaStaging['take']>) => ({
    bytes: [...c.bytes], messages: c.messages, partitionOf: [...c.partitionOf], offsetOf: [...c.offsetOf], lineOf: [...c.lineOf],
    byteOf: [...c.byteOf], lineCount: c.lineCount, skips: [...c.skips],
    rejected: c.rejected.map((r) => [r.partition, r.offset, r.reason, [...r.raw]]),
    keys: c.keys ? Array.from({ length: c.keys.count }, (_, i) => [...c.keys!.key(i)]) : null,
  });

  it('stages a fetched batch exactly as stage() does each of its messages, from `from` and up to `end`', () => {
    fc.assert(
      fc.property(
        batch,
        fc.constantFrom('csv' as const, 'jsonl' as const),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 4 }),
        fc.nat(40),
        fc.option(fc.nat(8000), { nil: undefined }),
        (gens, format, withKeys, slices, fromAt, endAt) => {
          const messageKeys = withKeys ? () => new MessageKeys(t.arena, t.k) : undefined;
          const a = new KafkaStaging({ format, messageKeys });
          const b = new KafkaStaging({ format, messageKeys });
          const ms = fetched(gens, 100);
          const from = 100 + fromAt;
          const end = endAt === undefined ? Number.POSITIVE_INFINITY : 100 + endAt;
          // the reference: stage() per message, as the source did it
          let refStop = ms.length;
          for (let i = 0; i < ms.length; i++) {
            const o = Number(ms[i]!.offset);
            if (o < from) continue;
            if (o >= end) {
              refStop = i;
              break;
            }
            a.stage(3, o, ms[i]!.value, ms[i]!.key);
          }
          // stageBatch over consecutive slices, stopping where it says
          let i = 0;
          let stop = ms.length;
          for (let k = 0; i < ms.length; k++) {
            const to = Math.min(ms.length, i + slices[k % slices.length]!);
            const at = b.stageBatch(3, ms, i, to, from, end);
            if (at < to) {
              stop = at;
              break;
            }
            i = to;
          }
          expect(stop).toBe(refStop);
          expect(b.lastOffset).toBe(a.lastOffset);
          const ca = a.take();
          const cb = b.take();
          expect(plain(cb)).toEqual(plain(ca));
          // and the staging goes on the same after take()
          a.stage(4, 1, enc.encode('z,1'), enc.encode('z'));
          b.stageBatch(4, [{ offset: '1', value: Buffer.from('z,1'), key: Buffer.from('z') }], 0, 1, 0, 2);
          expect(plain(b.take())).toEqual(plain(a.take()));
          for (const s of [a, b]) s.release();
          for (const c of [ca, cb]) c.keys?.release();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stages hostile batches the same way too: empty, one message, all blank, a line feed at every place', () => {
    const cases: Array<Array<string | null>> = [
      [],
      ['a,1'],
      [null],
      [''],
      ['\n', '\r\n', '\r', null, ''],
      ['a,1\n', 'b,2\n', 'c,3\r\n'],
      Array.from({ length: 1500 }, (_, i) => (i === 700 ? '"q\n",1' : `k${i},${i}`)),
      Array.from({ length: 6000 }, (_, i) => (i % 997 === 3 ? 'x\ny' : `k${i % 13},${i}`)),
      Array.from({ length: 30 }, (_, i) => 'abcdefghij'.slice(0, i % 10) + '\n' + 'xyz'.slice(0, i % 3)),
    ];
    for (const format of ['csv', 'jsonl'] as const) {
      for (const values of cases) {
        const a = new KafkaStaging({ format });
        const b = new KafkaStaging({ format });
        const ms = values.map((v, i) => ({ offset: String(i), key: null, value: v === null ? null : Buffer.from(v) }));
        ms.forEach((m, i) => a.stage(0, i, m.value, m.key));
        expect(b.stageBatch(0, ms, 0, ms.length, 0, Number.POSITIVE_INFINITY)).toBe(ms.length);
        expect(plain(b.take())).toEqual(plain(a.take()));
      }
    }
  });
});

describe('MessageKeys', () => {
  const t = loadTestKernels('debug');

  it('holds keys byte for byte with their murmur2, as one view or gathered from ranges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }), { minLength: 1, maxLength: 80 }),
        fc.array(fc.boolean(), { maxLength: 80 }),
        (keys, dropped) => {
          const mk = new MessageKeys(t.arena, t.k, 2);
          for (const k of keys) mk.append(k);
          const keep = keys.map((_, i) => !dropped[i]);
          const ranges: Array<[number, number]> = [];
          keys.forEach((_, i) => {
            if (!keep[i]) return;
            const last = ranges[ranges.length - 1];
            if (last && last[1] === i) last[1] = i + 1;
            else ranges.push([i, i + 1]);
          });
          const want = keys.filter((_, i) => keep[i]).map((k) => k ?? new Uint8Array(0));
          if (ranges.length > 0) {
            const cols = mk.columns(ranges);
            const u32 = t.arena.u32;
            const u8 = t.arena.u8;
            want.forEach((k, i) => {
              const from = u32[(cols.keyOffs >>> 2) + i]!;
              const to = u32[(cols.keyOffs >>> 2) + i + 1]!;
              expect([...u8.subarray(cols.keyBytes + from, cols.keyBytes + to)]).toEqual([...k]);
              expect(u32[(cols.hashes >>> 2) + i]).toBe(murmur2(k));
            });
          }
          mk.release();
        },
      ),
      { numRuns: 500 },
    );
  });
});
