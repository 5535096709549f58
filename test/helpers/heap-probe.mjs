// Streams generated CSV rows through the columnar aggregate and prints heap use after each million rows.
// Run by test/cli/heap.test.ts as: node --expose-gc test/helpers/heap-probe.mjs <rows> <workers>
import { KernelRuntime } from '../../dist/runtime/pool.js';
import { ColumnarAggregate } from '../../dist/runtime/columnar-aggregate.js';

const rows = Number(process.argv[2] ?? 10_000_000);
const workers = Number(process.argv[3] ?? 0);
const rt = KernelRuntime.create({ workers });
const agg = new ColumnarAggregate(rt, {
  decode: { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 1 << 18, inputBytes: 1 << 22 },
  aggs: ['count', 'sum'],
  onBadRecord: (bad) => {
    throw new Error(`unexpected bad record at line ${bad.line}`);
  },
});

// one reusable chunk buffer: 1,000 distinct keys, the same bytes every time
const perChunk = 100_000;
const enc = new TextEncoder();
let text = '';
for (let i = 0; i < perChunk; i++) text += `page/${(i * 7919) % 1000},${i % 100}\n`;
const chunk = enc.encode(text);

const samples = [];
for (let done = 0; done < rows; done += perChunk) {
  await agg.push(chunk);
  if ((done + perChunk) % 1_000_000 === 0) {
    globalThis.gc();
    samples.push(process.memoryUsage().heapUsed);
  }
}
await agg.finish();
console.log(JSON.stringify({ records: agg.records, groups: agg.state.count, heap: samples }));
agg.release();
await rt.close();
