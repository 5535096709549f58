// `npm run bench`: runs the suites, prints a table, writes bench/results/latest.json, and rebuilds
// the README's benchmark section and bench/results/chart.svg from that JSON.
//
//   --quick   ~1M rows / 1M lines / 200k messages, 3 runs (under two minutes)
//   --smoke   tiny sizes, 1 run, results not published (CI: the suite must not rot); uses Kafka only
//             when KAFKA_BOOTSTRAP is set (the tests' broker), never starts one
//   --out f   where to write the JSON (default bench/results/latest.json)

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFileJob } from './file-job.js';
import { KAFKA_RAW, KAFKA_SLUICE, runKafkaJob } from './kafka-job.js';
import { runKernelSuite } from './kernels.js';
import { runLatency } from './latency.js';
import type { Figure } from './measure.js';
import { renderChart, renderReadmeSection, replaceSection, type Results } from './report.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const args = process.argv.slice(2);
const mode = args.includes('--smoke') ? 'smoke' : args.includes('--quick') ? 'quick' : 'full';
const outIdx = args.indexOf('--out');
const outFile = outIdx >= 0 ? path.resolve(args[outIdx + 1]!) : path.join(ROOT, 'bench/results/latest.json');
const SIZES = {
  full: { rows: 10_000_000, iterations: 5, lines: 5_000_000, runs: 5, messages: 1_000_000, rate: 100_000, seconds: 30 },
  quick: { rows: 1_000_000, iterations: 3, lines: 1_000_000, runs: 3, messages: 200_000, rate: 100_000, seconds: 5 },
  smoke: { rows: 20_000, iterations: 1, lines: 20_000, runs: 1, messages: 2_000, rate: 10_000, seconds: 3 },
}[mode];
const log = (s: string): void => void process.stdout.write(`${s}\n`);
const BATCH_INTERVAL_MS = 100;

function version(cmd: string, argv: string[]): string {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch {
    return 'missing';
  }
}

const t0 = Date.now();
// the machine is shared: the load around the run says how far to trust its parallel figures
const loadBefore = os.loadavg()[0]!;
log(`sluice bench (${mode}) on ${os.availableParallelism()} cores, node ${process.version}, load average ${loadBefore.toFixed(2)}`);
log('Suite 1: count + sum per key over in-memory columns');
const kernels = await runKernelSuite({ rows: SIZES.rows, iterations: SIZES.iterations, log });
log('Suite 2: file job (whole process wall time, median)');
const fileJob = await runFileJob({ lines: SIZES.lines, distinct: 10_000, runs: SIZES.runs, log });
log('Suite 3: Kafka (whole process wall time, median)');
const kafka = await runKafkaJob({ messages: SIZES.messages, distinct: 10_000, runs: SIZES.runs, startBroker: mode !== 'smoke', log });
log(`Suite 4: batch latency at ${SIZES.rate.toLocaleString('en-US')} records/s (generator source, embedded API)`);
const latency = await runLatency({ rate: SIZES.rate, batchIntervalMs: BATCH_INTERVAL_MS, seconds: SIZES.seconds, log });

const pkg = (name: string): string => {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string;
  } catch {
    return 'missing';
  }
};
const results: Results = {
  generatedAt: new Date().toISOString(),
  mode,
  machine: {
    platform: `${os.platform()} ${os.release()}`, arch: os.arch(), cores: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? 'unknown', memoryBytes: os.totalmem(),
    loadAverage: { before: loadBefore, after: os.loadavg()[0]! },
  },
  versions: {
    node: process.version,
    sluice: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    '@duckdb/node-api': kernels.versions['@duckdb/node-api'] ?? 'missing',
    arquero: kernels.versions.arquero ?? 'missing',
    tinybench: pkg('tinybench'),
    piscina: pkg('piscina'),
    mawk: version('/usr/bin/mawk', ['-W', 'version']),
  },
  suites: {
    kernels: { rows: SIZES.rows, iterations: SIZES.iterations, workloads: kernels.workloads },
    fileJob: { lines: SIZES.lines, distinct: 10_000, bytes: fileJob.bytes, runs: SIZES.runs, figures: fileJob.figures },
    kafka,
    latency,
  },
  targets: [],
  agree: true,
  seconds: 0,
};

// --- targets and the cross-check --------------------------------------------------------------------
const ok = (fs: Figure[], impl: string): Extract<Figure, { status: 'ok' }> | undefined => {
  const f = fs.find((x) => x.impl === impl);
  return f?.status === 'ok' ? f : undefined;
};
const ratio = (name: string, target: number, fs: Figure[], a: string, b: string): void => {
  const fa = ok(fs, a);
  const fb = ok(fs, b);
  const actual = fa && fb ? fb.medianMs / fa.medianMs : null;
  results.targets.push({ name, target, actual, met: actual === null ? null : actual >= target });
};
for (const w of kernels.workloads) {
  const best = [ok(w.figures, 'sluice 1 worker'), ok(w.figures, 'sluice 2 workers')].filter((f) => f).sort((x, y) => x!.medianMs - y!.medianMs)[0];
  const bestName = best?.impl ?? 'sluice 2 workers';
  const t = { K1: 1.5, K2: 2, K3: 2, S1: 1 }[w.name] ?? 1;
  ratio(`${w.name}: ${bestName} vs DuckDB threads=2`, t, w.figures, bestName, 'DuckDB threads=2');
  ratio(`${w.name}: ${bestName} vs JS Map`, 8, w.figures, bestName, 'JS Map');
}
ratio('File job: sluice vs mawk', 5, fileJob.figures, 'sluice aggregate', 'mawk');
ratio('File job: sluice vs DuckDB read_csv', 4, fileJob.figures, 'sluice aggregate', 'DuckDB read_csv');
const kafkaFigures = kafka.status === 'ok' ? kafka.figures : [];
ratio('Kafka job: sluice vs raw kafkajs consumer', 0.9, kafkaFigures, KAFKA_SLUICE, KAFKA_RAW);
// the raw consumer only counts; sluice's result is checked against the generator's rows
const kafkaSluice = ok(kafkaFigures, KAFKA_SLUICE);
if (kafka.status === 'ok' && (!kafkaSluice || kafkaSluice.digest !== kafka.expected)) results.agree = false;
for (const group of [...kernels.workloads.map((w) => w.figures), fileJob.figures]) {
  const digests = new Set(group.flatMap((f) => (f.status === 'ok' ? [f.digest] : [])));
  if (digests.size > 1) results.agree = false;
}
results.seconds = (Date.now() - t0) / 1000;

// --- table ----------------------------------------------------------------------------------------------
log('\nTargets (ratio = peer time / sluice time; higher is better for sluice)');
for (const t of results.targets) {
  const mark = t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS';
  log(`  ${mark} ${t.name.padEnd(48)} ${t.actual === null ? '   -' : `${t.actual.toFixed(2)}x`.padStart(7)}  (target >= ${t.target}x)`);
}
log(
  latency.status === 'ok'
    ? `Batch latency at ${latency.rate.toLocaleString('en-US')} records/s: p50 ${latency.p50Ms.toFixed(1)} ms, p99 ${latency.p99Ms.toFixed(1)} ms`
    : `Batch latency: failed: ${latency.reason}`,
);
if (kafka.status !== 'ok') log(`Kafka: missing: ${kafka.reason}`);
log(`All implementations agree on every result: ${results.agree ? 'yes' : 'NO'}`);

mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${path.relative(ROOT, outFile)} (${results.seconds.toFixed(0)} s)`);
if (mode !== 'smoke') {
  writeFileSync(path.join(ROOT, 'bench/results/chart.svg'), renderChart(results));
  const readme = path.join(ROOT, 'README.md');
  writeFileSync(readme, replaceSection(readFileSync(readme, 'utf8'), renderReadmeSection(results)));
  log('updated bench/results/chart.svg and the README benchmark section');
}
if (!results.agree) process.exitCode = 1;
