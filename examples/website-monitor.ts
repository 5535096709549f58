// The website monitor, as an application embeds it: page views per batch and running totals
// from the built-in page-visit generator, printed and saved every second.
//
// Build once (npm install does), then:
//   npx tsc -p examples && node dist-examples/website-monitor.js [seconds]

import { StreamingContext } from 'sluice';

const seconds = Number(process.argv[2] ?? 10);

const ssc = new StreamingContext({ batchInterval: 1000 });

// 5,000 synthetic visits a second: { page, userId, durationMs, timestamp }
const visits = ssc.generator({ ratePerSecond: 5000, seed: 42 });

// Views of each page in this batch (pairs are columns: no JS object per visit), then running totals.
const views = visits.pairs('page').reduceByKey('sum');
const totals = views.updateStateByKey('sum');

// Time on page: the longest visit to each page in this batch, with a plain JS function.
const longest = visits
  .filter((v) => v.durationMs > 1000)
  .mapToPair((v) => [v.page, v.durationMs])
  .reduceByKey((a, b) => Math.max(a, b));

totals.saveAsTextFiles('out/page-totals', 'csv'); // out/page-totals-<batchTimeMs>.csv/part-00000
longest.print(3);
totals.foreachBatch((rows, time) => {
  const top = rows.sort((a, b) => b[1] - a[1]).slice(0, 5);
  console.log(`${new Date(time).toISOString()} top pages:`, top.map(([page, n]) => `${page} ${n}`).join(', '));
});

process.once('SIGINT', () => void ssc.stop({ graceful: true }));
await ssc.start();
if (!(await ssc.awaitTerminationOrTimeout(seconds * 1000))) await ssc.stop({ graceful: true });
