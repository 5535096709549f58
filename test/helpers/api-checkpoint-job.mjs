// A StreamingContext job with checkpointDir, run as a child process (and killed) by test/checkpoint/api-kill.test.ts:
//   node test/helpers/api-checkpoint-job.mjs file <input.csv> <checkpointDir> <outDir>
//   node test/helpers/api-checkpoint-job.mjs generator <visits> <checkpointDir> <outDir>
// SIGTERM stops it gracefully; it prints `job: started` once running.
import { StreamingContext } from '../../dist/index.js';

const [kind, source, checkpointDir, out] = process.argv.slice(2);
const ssc = new StreamingContext({ batchInterval: 60, inline: true, checkpointDir });
if (kind === 'file') {
  // per-batch sums (a reader adds them up) and running counts
  const pairs = ssc.fileStream(source, { format: 'csv', header: true, follow: true }).mapToPair((r) => [r.key, Number(r.v)]);
  pairs.reduceByKey('sum').saveAsTextFiles(`${out}/sums`, 'csv');
  pairs.updateStateByKey('count').saveAsTextFiles(`${out}/counts`, 'csv');
} else {
  // the raw visits, timestamps included
  ssc.generator({ ratePerSecond: 2000, limit: Number(source), seed: 7, pages: 20 }).saveAsTextFiles(`${out}/visits`, 'jsonl');
}
process.once('SIGTERM', () => void ssc.stop({ graceful: true }));
await ssc.start();
process.stderr.write('job: started\n');
await ssc.awaitTermination();
