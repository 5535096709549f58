// The aggregation path makes no JS object or string per record: the heap stays flat over 10M rows.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('columnar aggregate heap', () => {
  for (const workers of [0, 2]) {
    it(`keeps the JS heap flat over 10M CSV rows (workers=${workers})`, () => {
      const out = execFileSync(process.execPath, ['--expose-gc', 'test/helpers/heap-probe.mjs', '10000000', String(workers)], {
        encoding: 'utf8',
      });
      const { records, groups, heap } = JSON.parse(out) as { records: number; groups: number; heap: number[] };
      expect(records).toBe(10_000_000);
      expect(groups).toBe(1000);
      expect(heap).toHaveLength(10);
      // after warm-up (first million), 9M more rows may not add even one byte per record
      const growth = heap[9]! - heap[0]!;
      expect(growth).toBeLessThan(2_000_000);
    }, 120_000);
  }
});
