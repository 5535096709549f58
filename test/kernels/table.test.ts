// The key -> group id tables intern like a first-seen Map on random and hostile keys, stop exactly per the growth rule, and grow.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTestKernels, type TestKernels } from '../helpers/wasm.js';
import { putByteKeys, putU32, readU32 } from '../helpers/key-columns.js';
import { bytesKey } from '../reference/group-by.js';
import { murmur2, murmur2Collisions } from '../reference/murmur2.js';
import { ByteShardTable, U32ShardTable, type ShardTableOptions } from '../../src/state/shard-table.js';
import {
  BT_ARENA, BT_ARENA_CAP, BT_CAP, BT_COUNT, BT_GROUP_CAP, BT_HASHES, BT_KEY_OFFS, BT_SIZE, BT_SLOT_BYTES, BT_SLOTS,
} from '../../src/wasm/abi.js';

const enc = new TextEncoder();
const LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 100];

/** Keys of length `len` equal but for one byte (first, middle or last): only a full compare tells them apart. */
const twinOf = (len: number): fc.Arbitrary<Uint8Array> =>
  fc.tuple(fc.constantFrom<'first' | 'mid' | 'last'>('first', 'mid', 'last'), fc.integer({ min: 0, max: 3 })).map(([where, b]) => {
    const k = new Uint8Array(len);
    for (let i = 0; i < len; i++) k[i] = (i * 37 + len) & 0xff;
    const at = where === 'first' ? 0 : where === 'mid' ? len >> 1 : len - 1;
    k[at] = (k[at]! + b) & 0xff;
    return k;
  });
const nearTwin = fc.constantFrom(...LENGTHS).chain(twinOf);

/** Random and hostile byte keys: empty, tiny (many repeats), near twins, UTF-8 text, up to 10 KB. */
const byteKey = fc.oneof(
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 3, min: 97, max: 99 }) },
  { weight: 4, arbitrary: nearTwin },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => enc.encode(s)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 10_240 }).map((n) => new Uint8Array(n).fill(7)) },
);

const tiny: ShardTableOptions = { groups: 1, slots: 2, keyBytes: 1 };
const sizes = fc.constantFrom<ShardTableOptions>(tiny, { groups: 3, slots: 4, keyBytes: 5 }, {});

/** First-seen ids of keys visited in `order`. */
function firstSeen(keys: readonly Uint8Array[], order: readonly number[]): { gidOf: Map<string, number>; distinct: Uint8Array[] } {
  const gidOf = new Map<string, number>();
  const distinct: Uint8Array[] = [];
  for (const i of order) {
    const s = bytesKey(keys[i]!);
    if (!gidOf.has(s)) {
      gidOf.set(s, distinct.length);
      distinct.push(keys[i]!);
    }
  }
  return { gidOf, distinct };
}

/** Interns keys in `order` (perm) through a ByteShardTable; checks ids, stored keys and hashes against the reference. */
function checkByteIntern(
  t: TestKernels, keys: readonly Uint8Array[], options: ShardTableOptions, order?: number[], hashes?: number[], passHashes = true,
): ByteShardTable {
  const cols = putByteKeys(t, keys, undefined, hashes);
  const table = new ByteShardTable(t.arena, t.k, options);
  const ord = order ?? keys.map((_, i) => i);
  const perm = order ? putU32(t, order) : 0;
  const outGid = t.arena.alloc(Math.max(keys.length, 1) * 4);
  // two halves, to run from/to ranges that do not start at 0
  const half = ord.length >> 1;
  const input = { keyOffs: cols.keyOffs, keyBytes: cols.keyBytes, hashes: passHashes ? cols.hashes : 0, values: 0, perm };
  table.intern(input, 0, half, outGid);
  table.intern(input, half, ord.length, outGid);
  const { gidOf, distinct } = firstSeen(keys, ord);
  const gids = readU32(t, outGid, keys.length);
  for (const i of ord) expect(gids[i]).toBe(gidOf.get(bytesKey(keys[i]!)));
  expect(table.count).toBe(distinct.length);
  for (let g = 0; g < distinct.length; g++) {
    expect(Buffer.from(table.key(g)).equals(Buffer.from(distinct[g]!))).toBe(true);
    expect(table.keyHash(g)).toBe(hashes ? hashes[ord.find((i) => gidOf.get(bytesKey(keys[i]!)) === g)!]! >>> 0 : murmur2(distinct[g]!) >>> 0);
  }
  for (const r of [...cols.regions, outGid]) t.arena.release(r);
  if (perm) t.arena.release(perm);
  return table;
}

describe.each(['debug', 'release'] as const)('byte key table (%s build)', (build) => {
  const t = loadTestKernels(build);

  it('interns like a first-seen Map, from tiny and default capacities, with and without perm', () => {
    // hash modes: murmur2 column, no column (the kernel hashes), or one hash for every key (so every
    // probe reaches the byte compare, and near twins must be told apart by their bytes alone)
    const hashMode = fc.constantFrom<'column' | 'kernel' | 'equal' | 'zero' | 'ones'>('column', 'kernel', 'equal', 'zero', 'ones');
    fc.assert(
      fc.property(fc.array(byteKey, { maxLength: 120 }), sizes, fc.boolean(), hashMode, (keys, size, usePerm, mode) => {
        const order = usePerm ? keys.map((_, i) => i).sort((a, b) => ((a * 7919) % 13) - ((b * 7919) % 13) || b - a) : undefined;
        const used = t.arena.usedBytes;
        const forced: Record<string, number | undefined> = { equal: 0x5a5a5a5a, zero: 0, ones: 0xffffffff };
        const hashes = forced[mode] !== undefined ? keys.map(() => forced[mode]!) : undefined;
        checkByteIntern(t, keys, size, order, hashes, mode !== 'kernel').free();
        expect(t.arena.usedBytes).toBe(used);
      }),
      { numRuns: build === 'debug' ? 200 : 60 },
    );
  });

  it('tells near twins apart by their bytes when they share one hash, at every length class', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LENGTHS).chain((len) => fc.array(twinOf(len), { minLength: 2, maxLength: 24 })), (keys) => {
        checkByteIntern(t, keys, tiny, undefined, keys.map(() => 7)).free();
      }),
      { numRuns: 200 },
    );
  });

  it('stays correct when every key has the same hash (a forced hash column, and crafted murmur2 collisions)', () => {
    const keys = Array.from({ length: 600 }, (_, i) => enc.encode(`k${i % 400}`));
    checkByteIntern(t, keys, tiny, undefined, keys.map(() => 0xdeadbeef)).free();
    const crafted = murmur2Collisions(500);
    const twice = [...crafted, ...crafted.slice(0, 250)];
    expect(new Set(twice.map((k) => murmur2(k))).size).toBe(1);
    checkByteIntern(t, twice, {}).free();
    checkByteIntern(t, twice, tiny, undefined, undefined, false).free();
  });

  it('keeps skewed keys apart: one hot key among many cold ones', () => {
    const keys: Uint8Array[] = [];
    for (let i = 0; i < 5000; i++) keys.push(enc.encode(i % 3 === 0 ? 'hot' : `cold-${(i * 2654435761) % 1500}`));
    checkByteIntern(t, keys, tiny).free();
  });

  it('stops at the first record whose new group does not fit, per the growth rule', () => {
    // a raw header: groupCap 2, cap 4 (room for 3 by load), arena 5 bytes
    const { arena, k } = t;
    const header = arena.alloc(BT_SIZE, true);
    const slots = arena.alloc(4 * BT_SLOT_BYTES, true);
    const offs = arena.alloc(3 * 4, true);
    const bytes = arena.alloc(5);
    const hashes = arena.alloc(2 * 4);
    const set = (f: number, v: number): void => void (arena.u32[(header + f) >>> 2] = v);
    set(BT_SLOTS, slots); set(BT_CAP, 4); set(BT_COUNT, 0); set(BT_KEY_OFFS, offs);
    set(BT_ARENA, bytes); set(BT_ARENA_CAP, 5); set(BT_GROUP_CAP, 2); set(BT_HASHES, hashes);
    const keys = ['a', 'bb', 'a', 'ccc', 'bb'].map((s) => enc.encode(s));
    const cols = putByteKeys(t, keys);
    const out = arena.alloc(5 * 4);
    // group cap: 'ccc' would be group 2
    expect(k.table_bytes_intern(header, cols.keyOffs, cols.keyBytes, cols.hashes, 0, 0, 5, out) >>> 0).toBe(3);
    expect(arena.u32[(header + BT_COUNT) >>> 2]).toBe(2);
    expect(readU32(t, out, 3)).toEqual([0, 1, 0]);
    // known keys still go through after a stop
    expect(k.table_bytes_intern(header, cols.keyOffs, cols.keyBytes, cols.hashes, 0, 4, 5, out) >>> 0).toBe(5);
    // arena: with groupCap 2 -> 3 (offsets have room), 'ccc' needs 3 + 3 > 5 bytes
    set(BT_GROUP_CAP, 3);
    const offs2 = arena.alloc(4 * 4, true);
    arena.u32.copyWithin(offs2 >>> 2, offs >>> 2, (offs >>> 2) + 3);
    set(BT_KEY_OFFS, offs2);
    const hashes2 = arena.alloc(3 * 4);
    arena.u32.copyWithin(hashes2 >>> 2, hashes >>> 2, (hashes >>> 2) + 2);
    set(BT_HASHES, hashes2);
    expect(k.table_bytes_intern(header, cols.keyOffs, cols.keyBytes, cols.hashes, 0, 3, 5, out) >>> 0).toBe(3);
    // load: arena 6 bytes fits 'ccc', and cap 4 allows (2 + 1) * 4 <= 12
    set(BT_ARENA_CAP, 6);
    expect(k.table_bytes_intern(header, cols.keyOffs, cols.keyBytes, cols.hashes, 0, 3, 5, out) >>> 0).toBe(5);
    expect(readU32(t, out, 5)).toEqual([0, 1, 0, 2, 1]);
    // cap 2 is less than one bucket and holds no group: a fresh table stops at the first record
    set(BT_COUNT, 0); arena.u32.fill(0, slots >>> 2, (slots >>> 2) + 16); set(BT_CAP, 2);
    expect(k.table_bytes_intern(header, cols.keyOffs, cols.keyBytes, cols.hashes, 0, 0, 5, out) >>> 0).toBe(0);
    expect(arena.u32[(header + BT_COUNT) >>> 2]).toBe(0);
    // cap 4 (one bucket) again, first two records only; then a rehash into a bigger slot array keeps
    // every group findable, and a rehash below one bucket is refused
    set(BT_CAP, 4);
    expect(k.table_bytes_intern(header, cols.keyOffs, cols.keyBytes, cols.hashes, 0, 0, 2, out) >>> 0).toBe(2);
    if (build === 'release') {
      const slots2 = arena.alloc(2 * BT_SLOT_BYTES, true);
      k.table_bytes_rehash(header, slots2, 2);
      expect(arena.u32[(header + BT_SLOTS) >>> 2]).toBe(slots);
    }
    const slots8 = arena.alloc(8 * BT_SLOT_BYTES, true);
    k.table_bytes_rehash(header, slots8, 8);
    expect(arena.u32[(header + BT_SLOTS) >>> 2]).toBe(slots8);
    expect(k.table_bytes_intern(header, cols.keyOffs, cols.keyBytes, cols.hashes, 0, 0, 5, out) >>> 0).toBe(5);
    expect(readU32(t, out, 5)).toEqual([0, 1, 0, 2, 1]);
  });

  it('grows through every path from groupCap 1, 2 slots and a 1-byte arena, up to 10 KB keys', () => {
    const keys = [new Uint8Array(0), enc.encode('x'), new Uint8Array(10_240).fill(1), enc.encode('x'), new Uint8Array(10_240).fill(1)];
    const table = checkByteIntern(t, keys, tiny);
    expect(table.count).toBe(3);
    expect(table.keyBytesUsed).toBe(1 + 10_240);
    expect(table.keyString(1)).toBe('x');
    expect(table.key(0).length).toBe(0);
    table.free();
  });
});

describe.each(['debug', 'release'] as const)('u32 key table (%s build)', (build) => {
  const t = loadTestKernels(build);
  const u32Key = fc.oneof(
    fc.integer({ min: 0, max: 20 }),
    fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0, max: 255 }).map((i) => (i << 24) >>> 0), // differ only in the top byte
  );

  it('interns like a first-seen Map from tiny and default capacities', () => {
    fc.assert(
      fc.property(fc.array(u32Key, { maxLength: 300 }), sizes, fc.boolean(), (keys, size, usePerm) => {
        const kp = putU32(t, keys);
        const order = usePerm ? keys.map((_, i) => keys.length - 1 - i) : keys.map((_, i) => i);
        const perm = usePerm ? putU32(t, order) : 0;
        const out = t.arena.alloc(Math.max(keys.length, 1) * 4);
        const table = new U32ShardTable(t.arena, t.k, size);
        table.intern({ keys: kp, values: 0, perm }, 0, keys.length, out);
        const ids = new Map<number, number>();
        for (const i of order) if (!ids.has(keys[i]!)) ids.set(keys[i]!, ids.size);
        const gids = readU32(t, out, keys.length);
        for (const i of order) expect(gids[i]).toBe(ids.get(keys[i]!));
        expect(table.count).toBe(ids.size);
        for (const [key, g] of ids) expect(table.key(g)).toBe(key);
        table.free();
        for (const r of [kp, out]) t.arena.release(r);
        if (perm) t.arena.release(perm);
      }),
      { numRuns: build === 'debug' ? 200 : 60 },
    );
  });
});

describe('1M distinct keys (release build)', () => {
  const t = loadTestKernels('release');

  it('interns 1M distinct byte keys and 1M distinct u32 keys, then finds them all again', () => {
    const n = 1_000_000;
    const keys = Array.from({ length: n }, (_, i) => enc.encode(`user-${(i * 2654435761) >>> 0}-${i}`));
    const cols = putByteKeys(t, keys);
    const out = t.arena.alloc(n * 4);
    const table = new ByteShardTable(t.arena, t.k, { groups: 1024 });
    const input = { keyOffs: cols.keyOffs, keyBytes: cols.keyBytes, hashes: cols.hashes, values: 0, perm: 0 };
    table.intern(input, 0, n, out);
    expect(table.count).toBe(n);
    const ids = t.arena.u32.subarray(out >>> 2, (out >>> 2) + n);
    for (let i = 0; i < n; i++) if (ids[i] !== i) expect(ids[i]).toBe(i);
    t.arena.u32.fill(0, out >>> 2, (out >>> 2) + n);
    table.intern(input, 0, n, out);
    expect(table.count).toBe(n);
    const again = t.arena.u32.subarray(out >>> 2, (out >>> 2) + n);
    for (let i = 0; i < n; i++) if (again[i] !== i) expect(again[i]).toBe(i);
    expect(table.keyString(n - 1)).toBe(`user-${((n - 1) * 2654435761) >>> 0}-${n - 1}`);
    table.free();

    const nums = new Uint32Array(n);
    for (let i = 0; i < n; i++) nums[i] = Math.imul(i, 0x9e3779b1) >>> 0; // a bijection: all distinct
    const kp = putU32(t, nums);
    const ut = new U32ShardTable(t.arena, t.k, tiny);
    ut.intern({ keys: kp, values: 0, perm: 0 }, 0, n, out);
    expect(ut.count).toBe(n);
    const uids = t.arena.u32.subarray(out >>> 2, (out >>> 2) + n);
    for (let i = 0; i < n; i++) if (uids[i] !== i) expect(uids[i]).toBe(i);
    ut.free();
    for (const r of [...cols.regions, out, kp]) t.arena.release(r);
  });
});
