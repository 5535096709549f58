// ColumnarAggregate.pushFrom on two workers: the next input is read beside each split decode, into the
// tail job's idle region, and a split does not wait for the fold before it (a third decode job). The
// result must be the one push() gives inline: the same groups with bit-identical sums (folded in input
// order), the same bad records in the same order with the same line numbers, the same record count.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BadRecord } from '../../src/codec/decode-job.js';
import { ColumnarAggregate } from '../../src/runtime/columnar-aggregate.js';
import { KernelRuntime } from '../../src/runtime/pool.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Outcome {
  groups: Array<[string, number, number]>;
  bad: Array<[number, string, string]>;
  records: number;
  line: number;
}

function make(rt: KernelRuntime, maxRecords: number, bad: BadRecord[], splitBytes?: number): ColumnarAggregate {
  return new ColumnarAggregate(rt, {
    decode: { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords },
    aggs: ['count', 'sum'],
    onBadRecord: (b) => {
      bad.push(b);
    },
    hash: 'fast',
    splitBytes,
  });
}

function outcome(agg: ColumnarAggregate, bad: BadRecord[]): Outcome {
  const groups: Array<[string, number, number]> = [];
  for (const table of agg.state.tables) {
    const count = table.column('count');
    const sum = table.column('sum');
    for (let g = 0; g < table.count; g++) groups.push([dec.decode(table.key(g)), count[g]!, sum[g]!]);
  }
  groups.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { groups, bad: bad.map((b) => [b.line, b.reason, dec.decode(b.raw)]), records: agg.records, line: agg.line };
}

// records that decode (some keys quoted, with line feeds inside: cuts there do not hold and are undone),
// bad records (text values, a missing column), blank lines and CRLF endings
const key = fc.oneof(fc.constantFrom('a', 'b', 'url/x', ''), fc.stringMatching(/^[a-z0-9/.:-]{1,40}$/));
const record = fc.oneof(
  // magnitudes far apart, so a sum folded in another order comes out different
  { weight: 8, arbitrary: fc.tuple(key, fc.integer({ min: -999, max: 999 }), fc.integer({ min: 0, max: 99 }), fc.constantFrom('', 'e8', 'e16')).map(([k, a, b, e]) => `${k},${a}.${b}${e}`) },
  { weight: 1, arbitrary: fc.tuple(key, fc.integer({ min: 0, max: 9 })).map(([k, v]) => `"${k}\n${k}",${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('k,abc', 'k', 'k,', '') },
);
const input = fc
  .tuple(fc.array(fc.tuple(record, fc.constantFrom('\n', '\n', '\r\n')), { minLength: 1, maxLength: 400 }), fc.boolean())
  .map(([rs, lastEnds]) => {
    const text = rs.map(([r, end]) => r + end).join('');
    return lastEnds ? text : text.replace(/\r?\n$/, '');
  });

describe('ColumnarAggregate.pushFrom, reading ahead beside split decodes', () => {
  let inline: KernelRuntime;
  let pooled: KernelRuntime;
  beforeAll(async () => {
    inline = KernelRuntime.create({ workers: 0 });
    pooled = KernelRuntime.create({ workers: 2 });
    // an event-loop turn, so the pool is up and the split decodes run on its two workers
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  afterAll(async () => {
    await inline.close();
    await pooled.close();
  });

  it('gives what push() gives inline, whatever the read sizes, batch sizes and split points', async () => {
    let aheads = 0;
    await fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 8, max: 64 }), async (text, readBytes, maxRecords, splitBytes) => {
        const bytes = enc.encode(text);
        const refBad: BadRecord[] = [];
        const ref = make(inline, maxRecords, refBad);
        let expected: Outcome;
        try {
          await ref.push(bytes);
          await ref.finish();
          expected = outcome(ref, refBad);
        } finally {
          await ref.close();
        }

        const bad: BadRecord[] = [];
        const agg = make(pooled, maxRecords, bad, splitBytes);
        try {
          let at = 0;
          let reads = 0;
          const read = async (into: Uint8Array): Promise<number> => {
            reads++;
            await new Promise((resolve) => setImmediate(resolve)); // as a file read: later, on another turn
            const n = Math.min(into.length, bytes.length - at);
            into.set(bytes.subarray(at, at + n));
            at += n;
            return n;
          };
          // a call that reads twice read the second time beside its split decode
          for (;;) {
            const before = reads;
            const n = await agg.pushFrom(read, readBytes);
            if (reads - before === 2) aheads++;
            if (n === 0) break;
          }
          await agg.finish();
          expect(outcome(agg, bad)).toEqual(expected);
          expect(at).toBe(bytes.length);
        } finally {
          await agg.close();
        }
      }),
      { numRuns: 120 },
    );
    // the property ran the read-ahead path, not only the plain one (counted where a call read twice)
    expect(aheads).toBeGreaterThan(40);
  });

  it('a failed read ends the job with its error, after the decodes beside it', async () => {
    const bytes = enc.encode('a,1\nb,2\nc,3\nd,4\n'.repeat(64));
    const agg = make(pooled, 1 << 10, [], 64);
    let reads = 0;
    const read = async (into: Uint8Array): Promise<number> => {
      if (++reads === 2) throw new Error('disk gone');
      into.set(bytes.subarray(0, Math.min(into.length, bytes.length)));
      return Math.min(into.length, bytes.length);
    };
    try {
      await expect(agg.pushFrom(read, bytes.length)).rejects.toThrow('disk gone');
    } finally {
      await agg.close();
    }
  });
});
