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
