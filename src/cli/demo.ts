// The website monitor behind `sluice demo`: page views and time on page, live, from the generator.
//
//   visits ─▶ pairs('page')               ─▶ reduceByKey('sum') ─▶ updateStateByKey('sum') ─▶ page-totals-<t>.csv
//          └▶ pairs('page', 'durationMs') ─▶ reduceByKey('sum') ─▶ updateStateByKey('sum') ─▶ page-time-<t>.csv
//                                                                                          └─▶ top-10 table
//                                                                                          └─▶ dashboard (--dashboard)
//
//   visits = the generator, or with `kafka` the topic website_logs: the generator's visits are produced
//   into it (src/cli/demo-kafka.ts) and read back as JSON lines (src/sources/kafka-columns.ts).
//
// The visits' batches are columns and every keyed step is a built-in aggregation, so visits travel
// to the wasm state tables without a JS object per visit; JS strings are made only for the few dozen
// pages shown and saved (and, with Kafka, by kafkajs and the producer, per message).

import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { StreamingContext } from '../api/context.js';
import type { DStream } from '../api/dstream.js';
import { OptionError, type SluiceError } from '../errors.js';
import type { TextOutput } from '../sinks/console.js';
import { KafkaColumnSource, connectAdmin } from '../sources/kafka-columns.js';
import { Dashboard } from './dashboard.js';
import { VisitProducer, ensureTopic } from './demo-kafka.js';

export interface DemoOptions {
  /** Stop (gracefully) after this many seconds; default: run until Ctrl-C. */
  seconds?: number;
  /** Directory the batches are saved under (default `./out`). */
  out?: string;
  /** Redraw a live table in place with ANSI escapes (default: whether stdout is a terminal). */
  tty?: boolean;
  /** Where the table or the per-batch lines go (default process.stdout). */
  stdout?: TextOutput;
  /** Generated page visits per second (default 20,000). */
  ratePerSecond?: number;
  /** Worker threads of the wasm aggregations; 0 runs them on the main thread (default: cores). */
  workers?: number;
  /** Milliseconds between batches (default 1000). */
  batchInterval?: number;
  /** Run on Kafka: produce the visits into `topic` (default website_logs, made if missing) and read them back. */
  kafka?: { brokers: string[]; topic?: string };
  /** Also serve a live dashboard on 127.0.0.1:`port` (0: a free port); `onListening` gets its address. */
  dashboard?: { port: number; onListening?: (url: string) => void };
}

export interface DemoSummary {
  /** Batches run. */
  batches: number;
  /** Page visits processed. */
  visits: number;
  /** Distinct pages seen. */
  pages: number;
  /** With Kafka: visits produced into the topic, per page (the monitor read exactly these). */
  produced?: Map<string, number>;
}

const TOP = 10;
const ESC = '\x1b[';

function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = s / 60;
  if (m < 60) return `${m.toFixed(1)} min`;
  return `${(m / 60).toFixed(1)} h`;
}

function pad(text: string, width: number, right = false): string {
  if (text.length >= width) return text.slice(0, width);
  return right ? text.padStart(width) : text.padEnd(width);
}

/**
 * Runs the website monitor: a synthetic stream of page visits, per-batch and running totals of
 * views and time on page, every batch saved under `out` (page-totals-<t>.csv: page,views;
 * page-time-<t>.csv: page,milliseconds), and the top 10 pages shown after each batch. Ctrl-C (or
 * `seconds`) stops it gracefully: the batch in progress still completes and is saved.
 *
 * @example
 * await runDemo({ seconds: 10, out: './out' });
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const { seconds, out = './out', ratePerSecond = 20_000, batchInterval = 1000 } = options;
  const stdout = options.stdout ?? process.stdout;
  const tty = options.tty ?? process.stdout.isTTY === true;
  if (seconds !== undefined && !(typeof seconds === 'number' && seconds > 0 && Number.isFinite(seconds))) {
    throw new OptionError('seconds', 'options.seconds must be a positive number');
  }
  if (typeof out !== 'string' || out === '') throw new OptionError('out', 'options.out must be a non-empty path');

  const { port } = options.dashboard ?? {};
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new OptionError('dashboard.port', 'options.dashboard.port must be an integer from 0 to 65535');
  }

  const topic = options.kafka?.topic ?? 'website_logs';
  let dashboard: Dashboard | undefined;
  const ssc = new StreamingContext({ batchInterval, workers: options.workers });
  let admin: Admin | undefined;
  let feed: VisitProducer | undefined;
  let fromKafka: KafkaColumnSource<{ page: string; durationMs: number }> | undefined;
  let failure: SluiceError | undefined;
  let visits: DStream<{ page: string; durationMs: number }>;
  if (options.kafka) {
    const brokers = options.kafka.brokers;
    admin = await connectAdmin(brokers);
    await ensureTopic(admin, topic);
    fromKafka = new KafkaColumnSource({ brokers, topic, keyField: 'page', valueField: 'durationMs' });
    visits = ssc.sourceStream(fromKafka);
    feed = new VisitProducer({
      brokers, topic, ratePerSecond, pages: 60, seed: 7,
      onError: (err) => {
        failure ??= err;
        void ssc.stop().catch(() => undefined);
      },
    });
  } else {
    visits = ssc.generator({ ratePerSecond, pages: 60, seed: 7 });
  }

  const views = visits.pairs('page').reduceByKey('sum');
  const viewTotals = views.updateStateByKey('sum');
  const timeTotals = visits.pairs('page', 'durationMs').reduceByKey('sum').updateStateByKey('sum');
  viewTotals.saveAsTextFiles(join(out, 'page-totals'), 'csv');
  timeTotals.saveAsTextFiles(join(out, 'page-time'), 'csv');

  // The outputs of one batch run in order, so by onBatchCompleted all three have been seen.
  let batchViews = new Map<string, number>();
  let totalViews = new Map<string, number>();
  let totalTime = new Map<string, number>();
  views.foreachBatch((rows) => void (batchViews = new Map(rows)));
  viewTotals.foreachBatch((rows) => void (totalViews = new Map(rows)));
  timeTotals.foreachBatch((rows) => void (totalTime = new Map(rows)));

  const summary: DemoSummary = { batches: 0, visits: 0, pages: 0 };
  ssc.addListener({
    onBatchCompleted(info) {
      summary.batches++;
      summary.visits += info.records;
      summary.pages = totalViews.size;
      const top = [...totalViews].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP);
      const time = new Date(info.time).toISOString().slice(11, 19);
      dashboard?.publish({
        batches: summary.batches,
        time: info.time,
        records: info.records,
        processingMs: info.processingMs,
        visits: summary.visits,
        pages: summary.pages,
        source: options.kafka ? `Kafka topic ${topic}` : 'generator',
        out,
        top: top.map(([page, views]) => ({ page, views, batchViews: batchViews.get(page) ?? 0, avgMs: (totalTime.get(page) ?? 0) / views })),
      });
      if (!tty) {
        const list = top.slice(0, 3).map(([page, n]) => `${page}=${n}`).join(' ');
        stdout.write(
          `batch ${info.time} ${time}: ${info.records} visits, ${summary.visits} total, ${totalViews.size} pages, ` +
            `top ${list} (${info.processingMs.toFixed(1)} ms)\n`,
        );
        return;
      }
      const lines = [
        `sluice website monitor${options.kafka ? ` · Kafka topic ${topic}` : ''} · batch ${time} · ${info.records} visits in ${info.processingMs.toFixed(1)} ms · ` +
          `${summary.visits} visits total · saved to ${out}`,
        '',
        `${pad('#', 3, true)}  ${pad('page', 24)} ${pad('views', 10, true)} ${pad('this batch', 10, true)} ${pad('avg time', 10, true)}`,
      ];
      top.forEach(([page, n], i) => {
        const avg = formatDuration((totalTime.get(page) ?? 0) / n);
        lines.push(
          `${pad(String(i + 1), 3, true)}  ${pad(page, 24)} ${pad(String(n), 10, true)} ` +
            `${pad(String(batchViews.get(page) ?? 0), 10, true)} ${pad(avg, 10, true)}`,
        );
      });
      lines.push('', 'Ctrl-C stops');
      // Home, each line cleared to its end, then everything below cleared: redraws without flicker.
      stdout.write(`${ESC}H${lines.map((l) => `${l}${ESC}K`).join('\n')}\n${ESC}J`);
    },
  });

  // Stopping: the generator's batch in progress completes; on Kafka, producing stops first and the
  // monitor then reads the topic up to where the producer got, so it has counted every visit sent.
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!feed) return ssc.stop({ graceful: true });
      await feed.stop();
      await fromKafka!.drain(admin!);
    })().catch((err: SluiceError) => {
      failure ??= err;
      return ssc.stop();
    }));
  const onSigint = (): void => void stop();
  process.once('SIGINT', onSigint);
  if (tty) stdout.write(`${ESC}?25l${ESC}H${ESC}2J`);
  try {
    if (port !== undefined) {
      dashboard = await Dashboard.start(port);
      options.dashboard?.onListening?.(dashboard.url);
    }
    await ssc.start();
    await feed?.start();
    if (seconds !== undefined && !(await ssc.awaitTerminationOrTimeout(seconds * 1000))) await stop();
    await ssc.awaitTermination();
    await stopping;
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (tty) stdout.write(`${ESC}?25h`);
    await feed?.stop().catch(() => undefined);
    await ssc.stop().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await dashboard?.close();
  }
  if (failure) throw failure;
  if (feed) summary.produced = feed.sentByPage;
  return summary;
}
