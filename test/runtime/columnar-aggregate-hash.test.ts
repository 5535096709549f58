// ColumnarAggregate's `hash`: a plain file job's state keyed by fastHash instead of murmur2 holds the
// same groups with the same sums, each in the shard of its fastHash.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeJob } from '../../src/codec/decode-job.js';
import { ColumnarAggregate, type ColumnarAggregateOptions } from '../../src/runtime/columnar-aggregate.js';
import { KernelRuntime } from '../../src/runtime/pool.js';
import type { ByteTableHash } from '../../src/state/shard-table.js';
import { fastHash } from '../reference/fast-hash.js';
import { murmur2 } from '../reference/murmur2.js';

const enc = new TextEncoder();

/** key -> [count, sum] of the state, and whether every group sits in the shard of its hash. */
function groups(agg: ColumnarAggregate, hash: ByteTableHash): { groups: Map<string, [number, number]>; sharded: boolean } {
  const out = new Map<string, [number, number]>();
  let sharded = true;
  const ref = hash === 'fast' ? fastHash : murmur2;
  agg.state.tables.forEach((table, s) => {
    expect(table.hash).toBe(hash);
    const count = table.column('count');
    const sum = table.column('sum');
    for (let g = 0; g < table.count; g++) {
      const key = table.key(g);
      if (((ref(key) & 0x7fffffff) >>> 0) % agg.state.size !== s) sharded = false;
      out.set(Buffer.from(key).toString('latin1'), [count[g]!, sum[g]!]);
    }
  });
  return { groups: out, sharded };
}

async function run(rt: KernelRuntime, text: string, hash: ByteTableHash, chunk: number): Promise<ReturnType<typeof groups>> {
  const agg = new ColumnarAggregate(rt, {
    decode: { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 64 },
    aggs: ['count', 'sum'],
    onBadRecord: () => {},
    hash,
    splitBytes: 64,
  });
  try {
    const bytes = enc.encode(text);
    for (let at = 0; at < bytes.length; at += chunk) await agg.push(bytes.subarray(at, at + chunk));
    await agg.finish();
    return groups(agg, hash);
  } finally {
    agg.release();
  }
}

describe("ColumnarAggregate with hash 'fast'", () => {
  const key = fc.oneof(fc.constantFrom('a', 'b', 'ab', ''), fc.stringMatching(/^[a-z0-9/.:-]{1,70}$/));
  const line = fc.tuple(key, fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 99 })).map(([k, a, b]) => `${k},${a}.${b}\n`);
  const input = fc.array(line, { minLength: 1, maxLength: 300 }).map((ls) => ls.join(''));

  for (const workers of [0, 2]) {
    it(`holds the groups and sums of hash 'murmur2', each in the shard of its fastHash (${workers} workers)`, async () => {
      const rt = KernelRuntime.create({ workers });
      try {
        await fc.assert(
          fc.asyncProperty(input, fc.integer({ min: 1, max: 200 }), async (text, chunk) => {
            const slow = await run(rt, text, 'murmur2', chunk);
            const fast = await run(rt, text, 'fast', chunk);
            expect(slow.sharded).toBe(true);
            expect(fast.sharded).toBe(true);
            expect(new Map([...fast.groups].sort())).toEqual(new Map([...slow.groups].sort()));
          }),
          { numRuns: workers === 0 ? 150 : 40 },
        );
      } finally {
        await rt.close();
      }
    });
  }

  it('is refused with keysOf, whose columns hold murmur2, and a hash that is neither is refused by name', async () => {
    const rt = KernelRuntime.create({ workers: 0 });
    try {
      const options: ColumnarAggregateOptions = {
        decode: { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 64 },
        aggs: ['sum'],
        onBadRecord: () => {},
        hash: 'fast',
        keysOf: (_n, decoded) => decoded,
      };
      expect(() => new ColumnarAggregate(rt, options)).toThrow("ColumnarAggregate: hash 'fast' cannot fold keysOf's columns, which hold murmur2");
      expect(() => new DecodeJob(rt.arena, { format: 'csv', keyColumn: 0, maxRecords: 4, hash: 'xx' as ByteTableHash })).toThrow(
        "options.hash must be 'murmur2' or 'fast', not xx",
      );
    } finally {
      await rt.close();
    }
  });
});
