// murmur2 is Kafka's (same partition as kafkajs's DefaultPartitioner), hash_keys_murmur2, hash_keys_fast and hash_u32 match their references.

import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTestKernels } from '../helpers/wasm.js';
import { putByteKeys, putU32, readU32 } from '../helpers/key-columns.js';
import { fastHash } from '../reference/fast-hash.js';
import { hashU32, kafkaPartition, murmur2, murmur2Collisions } from '../reference/murmur2.js';

const require = createRequire(import.meta.url);
const { Partitioners } = require('kafkajs') as typeof import('kafkajs');
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

const enc = new TextEncoder();

/** Random bytes, mostly short, sometimes up to 10 KB. */
const keyBytes = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 10_240 }) },
);

describe.each(['debug', 'release'] as const)('murmur2 (%s build)', (build) => {
  const t = loadTestKernels(build);
  /** A hash_keys_* kernel over `keys`, in a column that starts `skip` keys in (keyOffs[0] > 0). */
  const hashColumn = (kernel: (offs: number, bytes: number, n: number, out: number) => void, keys: Uint8Array[], skip: number): number[] => {
    const cols = putByteKeys(t, [...Array.from({ length: skip }, (_, i) => enc.encode(`lead-${i}`)), ...keys]);
    const out = t.arena.alloc(Math.max(keys.length, 1) * 4);
    try {
      kernel(cols.keyOffs + skip * 4, cols.keyBytes, keys.length, out);
      return readU32(t, out, keys.length);
    } finally {
      for (const r of [...cols.regions, out]) t.arena.release(r);
    }
  };
  const wasmMurmur2 = (b: Uint8Array): number => {
    const p = t.put(b);
    try {
      return t.k.murmur2(p, b.length);
    } finally {
      t.arena.release(p);
    }
  };

  it("gives Kafka's Utils.murmur2 test vectors", () => {
    // clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of cases) expect(wasmMurmur2(enc.encode(s)), s).toBe(h);
  });

  it('matches the reference and kafkajs on random and hostile bytes', () => {
    fc.assert(
      fc.property(keyBytes, (b) => {
        const h = wasmMurmur2(b);
        expect(h).toBe(murmur2(b));
        expect(h).toBe(kafkajsMurmur2(Buffer.from(b)));
      }),
      { numRuns: 300 },
    );
    for (let len = 0; len <= 16; len++) {
      for (const fill of [0x00, 0x7f, 0x80, 0xff]) {
        const b = new Uint8Array(len).fill(fill);
        expect(wasmMurmur2(b)).toBe(kafkajsMurmur2(Buffer.from(b)));
      }
    }
  });

  it("puts random byte keys in the same partition as kafkajs's DefaultPartitioner", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(keyBytes, fc.integer({ min: 1, max: 1000 }), (b, partitions) => {
        const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
          partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0], offlineReplicas: [],
        }));
        const expected = partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from(b), value: null } });
        expect((wasmMurmur2(b) & 0x7fffffff) % partitions).toBe(expected);
        expect(kafkaPartition(b, partitions)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('hash_keys_murmur2 hashes every key of an offsets + bytes column', () => {
    fc.assert(
      fc.property(fc.array(keyBytes, { maxLength: 60 }), (keys) => {
        const cols = putByteKeys(t, keys);
        const out = t.arena.alloc(Math.max(keys.length, 1) * 4);
        t.k.hash_keys_murmur2(cols.keyOffs, cols.keyBytes, keys.length, out);
        expect(readU32(t, out, keys.length)).toEqual(keys.map((k) => murmur2(k) >>> 0));
        for (const r of [...cols.regions, out]) t.arena.release(r);
      }),
      { numRuns: 100 },
    );
  });

  it('hash_keys_murmur2 four keys at a time: every length 0..100 side by side, any count, offsets not from 0', () => {
    // lanes of one group of four with different lengths (and so block counts and tails), counts that
    // leave 0..3 keys for the one-by-one rest, and a column that starts inside a batch (keyOffs[0] > 0)
    const key = fc.integer({ min: 0, max: 100 }).chain((len) => fc.uint8Array({ minLength: len, maxLength: len }));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 23 }), fc.nat({ max: 5 }), (keys, skip) => {
        expect(hashColumn(t.k.hash_keys_murmur2, keys, skip)).toEqual(keys.map((k) => kafkajsMurmur2(Buffer.from(k)) >>> 0));
      }),
      { numRuns: build === 'debug' ? 300 : 100 },
    );
  });

  it('hash_keys_fast is the fastHash reference: every length 0..200 side by side, offsets not from 0', () => {
    // every branch: 0, 1..3, 4..7, 8..15, 16..64 (the four overlapping chunks), past 64 (the 16-byte steps);
    // keys lie back to back, so a read past a key's end would see its neighbour's bytes and differ
    const key = fc.integer({ min: 0, max: 200 }).chain((len) => fc.uint8Array({ minLength: len, maxLength: len }));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 12 }), fc.nat({ max: 3 }), (keys, skip) => {
        expect(hashColumn(t.k.hash_keys_fast, keys, skip)).toEqual(keys.map((k) => fastHash(k)));
      }),
      { numRuns: build === 'debug' ? 300 : 100 },
    );
    const lengths = Array.from({ length: 131 }, (_, len) => new Uint8Array(len).map((_, i) => (i * 37 + len) & 0xff));
    expect(hashColumn(t.k.hash_keys_fast, lengths, 0)).toEqual(lengths.map((k) => fastHash(k)));
  });

  it('fastHash spreads keys that differ little: shared prefixes, one byte apart, every length 1..80', () => {
    // 32 bits for 100,000 keys: about one collision expected by chance (n^2 / 2^33)
    const collisions = (keys: Uint8Array[]): number => keys.length - new Set(keys.map((k) => fastHash(k))).size;
    const urls = Array.from({ length: 100_000 }, (_, i) => enc.encode(`https://example.com/products/${i}/reviews`));
    expect(collisions(urls)).toBeLessThanOrEqual(4);
    for (let len = 1; len <= 80; len++) {
      const oneByte: Uint8Array[] = [];
      for (let at = 0; at < len; at++) {
        for (const v of [1, 2, 0x80, 0xff]) {
          const k = new Uint8Array(len).fill(0x61);
          k[at] = v;
          oneByte.push(k);
        }
      }
      expect(collisions(oneByte), `keys of ${len} bytes, one byte apart`).toBe(0);
    }
    // the bucket a table picks comes from the top bits (table.ts byteSlot): 100,000 keys over 4,096 buckets
    const buckets = new Uint32Array(4096);
    for (const k of urls) buckets[Math.imul(fastHash(k), 0x9e3779b9) >>> 20]!++;
    expect(Math.max(...buckets)).toBeLessThan(60); // mean 24.4
  });

  it('crafted keys collide: murmur2Collisions really gives one hash for distinct keys', () => {
    const keys = murmur2Collisions(64);
    const hashes = new Set(keys.map((k) => wasmMurmur2(k)));
    expect(hashes.size).toBe(1);
    expect(new Set(keys.map((k) => Buffer.from(k).toString('hex'))).size).toBe(64);
    expect(kafkajsMurmur2(Buffer.from(keys[0]!))).toBe(wasmMurmur2(keys[0]!));
  });

  it('hash_u32 is lowbias32 and a bijection on a sample', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (x) => {
        expect(t.k.hash_u32(x) >>> 0).toBe(hashU32(x));
      }),
      { numRuns: 1000 },
    );
    const p = putU32(t, [0, 1, 0xffffffff]);
    for (const x of [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff]) expect(t.k.hash_u32(x) >>> 0).toBe(hashU32(x));
    const seen = new Set<number>();
    for (let x = 0; x < 100_000; x++) seen.add(hashU32(x));
    expect(seen.size).toBe(100_000);
    t.arena.release(p);
  });
});
