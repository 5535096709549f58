// Suite 4: batch latency at a fixed input rate through the embedded API — the generator source at
// `rate` visits/s, the demo's pipeline (per-page sum of durations in the batch, then running totals
// with updateStateByKey, handed to foreachBatch) on a 2-worker pool.
//
// Per batch: latency = the moment its outputs are done - its batch time (the tick that cut it), as
// Spark's "total delay" (waiting + processing); processing = the pipeline's own time (BatchInfo).
// The first second is warm-up (V8 tiering, worker start) and is left out of the percentiles.

import { StreamingContext } from '../dist/index.js';
import { percentile } from './measure.js';

export interface LatencyOptions {
  /** Input records per second. */
  rate: number;
  batchIntervalMs: number;
  seconds: number;
  log: (line: string) => void;
}

export type LatencySuite =
  | {
      status: 'ok';
      rate: number;
      batchIntervalMs: number;
      seconds: number;
      workers: number;
      /** Batches measured (after the warm-up). */
      batches: number;
      /** Records in the measured batches, and the rate they came at. */
      records: number;
      achievedRate: number;
      p50Ms: number;
      p99Ms: number;
      maxMs: number;
      processingP50Ms: number;
      processingP99Ms: number;
    }
  | { status: 'failed'; reason: string };

const WARMUP_MS = 1000;
const WORKERS = 2;

export async function runLatency(opts: LatencyOptions): Promise<LatencySuite> {
  try {
    const ssc = new StreamingContext({ batchInterval: opts.batchIntervalMs, workers: WORKERS });
    const visits = ssc.generator({ ratePerSecond: opts.rate, seed: 7, pages: 1000 });
    let keys = 0;
    visits
      .pairs('page', 'durationMs')
      .reduceByKey('sum')
      .updateStateByKey('sum', { emit: 'changed' })
      .foreachBatch((rows) => void (keys = rows.length));
    const latency: number[] = [];
    const processing: number[] = [];
    let records = 0;
    let first = 0;
    let last = 0;
    ssc.addListener({
      onBatchCompleted: (b) => {
        const now = Date.now();
        first ||= b.time;
        if (b.time - first < WARMUP_MS) return;
        latency.push(now - b.time);
        processing.push(b.processingMs);
        records += b.records;
        last = b.time;
      },
    });
    await ssc.start();
    if (!(await ssc.awaitTerminationOrTimeout(opts.seconds * 1000))) await ssc.stop({ graceful: false });
    if (latency.length < 2) throw new Error(`only ${latency.length} batches completed in ${opts.seconds} s`);
    const spanMs = last - first - WARMUP_MS + opts.batchIntervalMs;
    const r: LatencySuite = {
      status: 'ok',
      rate: opts.rate,
      batchIntervalMs: opts.batchIntervalMs,
      seconds: opts.seconds,
      workers: WORKERS,
      batches: latency.length,
      records,
      achievedRate: records / (spanMs / 1000),
      p50Ms: percentile(latency, 50),
      p99Ms: percentile(latency, 99),
      maxMs: Math.max(...latency),
      processingP50Ms: percentile(processing, 50),
      processingP99Ms: percentile(processing, 99),
    };
    opts.log(
      `    ${opts.rate.toLocaleString('en-US')} records/s asked, ${Math.round(r.achievedRate).toLocaleString('en-US')} taken, ${r.batches} batches of ${opts.batchIntervalMs} ms, ` +
        `${keys} keys changed in the last: latency p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms ` +
        `(processing p50 ${r.processingP50Ms.toFixed(1)} ms, p99 ${r.processingP99Ms.toFixed(1)} ms)`,
    );
    return r;
  } catch (err) {
    const reason = (err as Error)?.message ?? String(err);
    opts.log(`    failed: ${reason}`);
    return { status: 'failed', reason };
  }
}
