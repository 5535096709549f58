// A slow dead-letter file holds decoding back: a promise from onBadRecord is awaited before the
// aggregate decodes on, so an input of bad records only cannot pile its dead letters up in memory.
import { describe, expect, it } from 'vitest';
import type { BadRecord } from '../../src/codec/decode-job.js';
import { ColumnarAggregate } from '../../src/runtime/columnar-aggregate.js';
import { KernelRuntime } from '../../src/runtime/pool.js';

describe('ColumnarAggregate bad records', () => {
  it('waits for the promise onBadRecord returns before it takes the next record', async () => {
    const rt = KernelRuntime.create({ workers: 0 });
    const seen: number[] = [];
    let release!: () => void;
    const agg = new ColumnarAggregate(rt, {
      decode: { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 16, maxErrors: 1 },
      aggs: ['sum'],
      onBadRecord: (bad: BadRecord) => {
        seen.push(bad.line);
        if (bad.line === 2) return new Promise<void>((resolve) => (release = resolve));
        return undefined;
      },
    });
    try {
      let pushed = false;
      const push = agg.push(new TextEncoder().encode('a,1\nb,x\nc,y\nd,2\ne,z\n')).then(() => (pushed = true));
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect([seen, pushed]).toEqual([[2], false]); // held at the first bad record
      release();
      await push;
      await agg.finish();
      expect(seen).toEqual([2, 3, 5]);
      expect(agg.records).toBe(2);
    } finally {
      await agg.close();
      await rt.close();
    }
  });
});
