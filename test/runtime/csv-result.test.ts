// The final CSV result (src/sinks/csv-result.ts): ResultRows with `whole` (the keys of a table decoded
// with one call when they are ASCII and none needs quotes) gives exactly the rows of the per-key path,
// and writeCsvResult's file holds one correctly quoted row per group.

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AggName } from '../../src/plan/aggregate-spec.js';
import { ColumnarAggregate } from '../../src/runtime/columnar-aggregate.js';
import { KernelRuntime } from '../../src/runtime/pool.js';
import { ResultRows, writeCsvResult } from '../../src/sinks/csv-result.js';

const AGGS: AggName[] = ['count', 'sum', 'min', 'max', 'avg'];

/** A CSV field holding `key` as the decoder reads it back: quoted, "" for a quote. */
const field = (key: string): string => `"${key.replaceAll('"', '""')}"`;

// plain ASCII keys (the fast path), and keys that need quotes or are not ASCII (the fallback)
const plainKey = fc.stringMatching(/^[a-z0-9/.:?=_-]{0,12}$/);
const oddKey = fc.oneof(
  fc.constantFrom('a"b', 'x,y', 'line\nbreak', 'cr\rhere', 'café', '日本', '😀', ''),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);

async function aggregate(rt: KernelRuntime, rows: Array<[string, number]>): Promise<ColumnarAggregate> {
  const agg = new ColumnarAggregate(rt, {
    decode: { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 1 << 12 },
    aggs: AGGS,
    onBadRecord: (bad) => {
      throw new Error(`unexpected bad record at line ${bad.line}: ${bad.reason}`);
    },
  });
  await agg.push(new TextEncoder().encode(rows.map(([k, v]) => `${field(k)},${v}\n`).join('')));
  await agg.finish();
  return agg;
}

/** RFC 4180 rows of a whole file (quoted fields may hold line breaks). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let f = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        f += '"';
        i++;
      } else if (c === '"') quoted = false;
      else f += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(f);
      f = '';
    } else if (c === '\n') {
      row.push(f);
      out.push(row);
      row = [];
      f = '';
    } else f += c;
  }
  return out;
}

describe('the CSV result', () => {
  let rt: KernelRuntime;
  const dir = path.join(tmpdir(), `sluice-csv-result-${process.pid}`);
  beforeAll(() => {
    rt = KernelRuntime.create({ workers: 0 });
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same rows whether a table decodes its keys at once or one by one, and writes each group once, quoted where needed', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: plainKey }, { weight: 1, arbitrary: oddKey }), fc.integer({ min: -1000, max: 1000 })), { minLength: 1, maxLength: 200 }),
        async (rows) => {
          // keys the CSV decoder keeps as they are (a lone CR at a record's end would be its terminator)
          const data = rows.map(([k, v]) => [k.replaceAll('\r', ''), v / 4] as [string, number]);
          const agg = await aggregate(rt, data);
          try {
            for (const table of agg.state.tables) {
              const whole = new ResultRows(table, AGGS, true);
              const each = new ResultRows(table, AGGS);
              for (let g = 0; g < table.count; g++) expect(whole.row(g)).toBe(each.row(g));
            }
            const expected = new Map<string, number[]>();
            for (const [k, v] of data) {
              const e = expected.get(k) ?? [0, 0, Infinity, -Infinity];
              expected.set(k, [e[0]! + 1, e[1]! + v, Math.min(e[2]!, v), Math.max(e[3]!, v)]);
            }
            const out = path.join(dir, `out-${run++}.csv`);
            const groups = await writeCsvResult(agg, { out, aggs: AGGS });
            expect(groups).toBe(expected.size);
            const [header, ...got] = parseCsv(readFileSync(out, 'utf8'));
            expect(header).toEqual(['key', ...AGGS]);
            expect(got).toHaveLength(expected.size);
            for (const [key, ...values] of got) {
              const e = expected.get(key!);
              expect(e, `row for key ${JSON.stringify(key)}`).toBeDefined();
              expect(values).toEqual([e![0], e![1], e![2], e![3], e![1]! / e![0]!].map(String));
            }
          } finally {
            agg.release();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
