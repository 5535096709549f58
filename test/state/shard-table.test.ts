// The host side of shard state: options are checked, growth after a kernel stop on another thread, reads, and free.

import { describe, expect, it } from 'vitest';
import { loadTestKernels } from '../helpers/wasm.js';
import { putByteKeys } from '../helpers/key-columns.js';
import { ByteShardTable, ShardSet, U32ShardTable } from '../../src/state/shard-table.js';
import { OptionError, SluiceError } from '../../src/errors.js';
import { AGG_COUNT, AGG_SUM, NT_CAP, NT_COUNT, NT_GROUP_CAP } from '../../src/wasm/abi.js';

const enc = new TextEncoder();

describe('ByteShardTable / U32ShardTable / ShardSet', () => {
  const t = loadTestKernels('debug');

  it('rejects bad options with messages that name them', () => {
    expect(() => new ByteShardTable(t.arena, t.k, { groups: 0 })).toThrow(new OptionError('groups', 'options.groups must be an integer from 1 to 1073741824'));
    expect(() => new ByteShardTable(t.arena, t.k, { slots: 1.5 })).toThrow('options.slots must be an integer from 1 to 1073741824');
    expect(() => new ByteShardTable(t.arena, t.k, { keyBytes: -1 })).toThrow('options.keyBytes must be an integer from 1 to 1073741824');
    expect(() => ShardSet.u32(t.arena, t.k, 0)).toThrow('options.shards must be an integer from 1 to 65536');
    const table = new U32ShardTable(t.arena, t.k);
    expect(() => table.aggregate({ keys: 0, values: 0, perm: 0 }, 2, 1, 1, AGG_COUNT)).toThrow(RangeError);
    expect(() => table.aggregate({ keys: 0, values: 0, perm: 0 }, 0, 0, 0, AGG_COUNT)).toThrow('stamp must be an integer from 1');
    expect(() => table.aggregate({ keys: 0, values: 0, perm: 0 }, 0, 0, 1, 16)).toThrow('mask must be');
    expect(() => table.key(0)).toThrow('group id 0 is not in [0, 0)');
    table.free();
  });

  it('grows after a kernel stop reported from elsewhere (growFor), then the re-submitted rest completes', () => {
    const keys = ['α', 'β', 'γ', 'α', 'δδδδδδδδδδδδδδδδδδδδ'].map((s) => enc.encode(s));
    const cols = putByteKeys(t, keys, [1, 2, 3, 4, 5]);
    const table = new ByteShardTable(t.arena, t.k, { groups: 1, slots: 2, keyBytes: 1 });
    const input = { ...cols, perm: 0 };
    let j = 0;
    let stops = 0;
    // what a worker does: run the kernel, hand back where it stopped; the host grows and re-submits
    while ((j = t.k.agg_bytes(table.header, table.acc, cols.keyOffs, cols.keyBytes, cols.hashes, cols.values, 0, j, keys.length, 1, AGG_COUNT | AGG_SUM) >>> 0) < keys.length) {
      table.growFor(input, j);
      stops++;
    }
    expect(stops).toBeGreaterThanOrEqual(3);
    expect(table.count).toBe(4);
    expect([0, 1, 2, 3].map((g) => table.keyString(g))).toEqual(['α', 'β', 'γ', 'δδδδδδδδδδδδδδδδδδδδ']);
    expect(Array.from(table.column('sum'))).toEqual([5, 2, 3, 5]);
    expect(Array.from(table.column('count'))).toEqual([2, 1, 1, 1]);
    expect(table.groupCapacity).toBeGreaterThanOrEqual(4);
    expect(table.slotCapacity).toBe(8); // 4 groups need (4 * 4) <= cap * 3
    expect(table.keyBytesUsed).toBe(2 + 2 + 2 + 40);
    table.free();
    // growFor on a table with room for the record is a bug, not a reason to loop
    const roomy = new ByteShardTable(t.arena, t.k);
    expect(() => roomy.growFor(input, 0)).toThrow(SluiceError);
    roomy.free();
    for (const r of cols.regions) t.arena.release(r);
  });

  it('keeps the headers in place across growth, so the shard pointer arrays stay valid', () => {
    const set = ShardSet.u32(t.arena, t.k, 3, { groups: 1, slots: 2 });
    const headers = set.tables.map((x) => x.header);
    const n = 5000;
    const keys = t.arena.alloc(n * 4);
    const hashes = t.arena.alloc(n * 4);
    for (let i = 0; i < n; i++) {
      t.arena.u32[(keys >>> 2) + i] = i;
      t.arena.u32[(hashes >>> 2) + i] = t.k.hash_u32(i) >>> 0;
    }
    set.aggregate({ keys, values: 0, perm: 0 }, hashes, n, 1, AGG_COUNT);
    expect(set.count).toBe(n);
    expect(set.tables.map((x) => x.header)).toEqual(headers);
    const u32 = t.arena.u32;
    for (let s = 0; s < 3; s++) {
      const h = u32[(set.tablePtrs >>> 2) + s]!;
      expect(h).toBe(headers[s]);
      expect(u32[(h + NT_COUNT) >>> 2]).toBe(set.tables[s]!.count);
      expect(u32[(h + NT_CAP) >>> 2]).toBe(set.tables[s]!.slotCapacity);
      expect(u32[(h + NT_GROUP_CAP) >>> 2]).toBe(set.tables[s]!.groupCapacity);
    }
    set.free();
    t.arena.release(keys);
    t.arena.release(hashes);
  });

  it('returns every byte to the arena on free, and refuses use after free', () => {
    const before = t.arena.usedBytes;
    const table = new ByteShardTable(t.arena, t.k, { groups: 2, slots: 2, keyBytes: 1 });
    const cols = putByteKeys(t, Array.from({ length: 100 }, (_, i) => enc.encode(`k${i}`)));
    table.intern({ ...cols, perm: 0 }, 0, 100, cols.values);
    expect(table.count).toBe(100);
    for (const r of cols.regions) t.arena.release(r);
    table.free();
    table.free();
    expect(t.arena.usedBytes).toBe(before);
    expect(() => table.column('sum')).toThrow('shard table used after free()');
  });
});
