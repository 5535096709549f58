// `sluice demo`: checks the command's options, then runs the website monitor (src/cli/demo.ts), on Kafka with --kafka.

import { OptionError } from '../errors.js';
import { parseBrokerList } from '../plan/kafka-url.js';
import { runDemo } from './demo.js';

const DASHBOARD_PORT = 4040;

function positive(raw: string | undefined, option: string, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new OptionError(option, `${option} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  }
  return n;
}

/** The port of `--dashboard [port]`: Spark's UI port 4040 when none is given, 0 for a free one. */
function dashboardPort(raw: string | true): number {
  if (raw === true) return DASHBOARD_PORT;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    throw new OptionError('--dashboard', `--dashboard must be a port from 0 to 65535 (0: a free one), got "${raw}"`);
  }
  return Number(raw);
}

function onListening(url: string): void {
  process.stderr.write(`sluice demo: dashboard at ${url}\n`);
}

export async function runDemoCommand(opts: Record<string, string | undefined> & { dashboard?: string | true }): Promise<void> {
  const seconds = positive(opts.seconds, '--seconds', false);
  const ratePerSecond = positive(opts.rate, '--rate', true);
  let workers: number | undefined;
  if (opts.workers !== undefined) {
    if (!/^\d+$/.test(opts.workers) || Number(opts.workers) > 256) {
      throw new OptionError('--workers', `--workers must be an integer from 0 to 256, got "${opts.workers}"`);
    }
    workers = Number(opts.workers);
  }
  if (opts.out === '') throw new OptionError('--out', '--out must be a directory path');
  const kafka = opts.kafka === undefined ? undefined : { brokers: parseBrokerList(opts.kafka, '--kafka') };
  const dashboard = opts.dashboard === undefined ? undefined : { port: dashboardPort(opts.dashboard), onListening };
  const summary = await runDemo({ seconds, out: opts.out ?? './out', ratePerSecond, workers, kafka, dashboard });
  const produced = summary.produced ? [...summary.produced.values()].reduce((a, b) => a + b, 0) : undefined;
  process.stderr.write(
    `sluice demo: ${summary.batches} batches, ${summary.visits} visits, ${summary.pages} pages` +
      (produced === undefined ? '' : `; ${produced} visits produced to website_logs`) +
      `; saved under ${opts.out ?? './out'}\n`,
  );
}
