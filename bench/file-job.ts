// Suite 2: the end-to-end file job — sum a value per URL key over a generated CSV — as whole
// processes: `sluice aggregate`, mawk, a Node readline + Map script and DuckDB read_csv. Each runs
// `runs` times; the figure is the median wall time from spawn to exit. Every output is parsed and
// digested so the four are known to agree.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { urlCsv } from './data-gen.js';
import { Digest, median, type Figure } from './measure.js';

export interface FileJobOptions {
  lines: number;
  distinct: number;
  runs: number;
  log: (line: string) => void;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const MAWK = '/usr/bin/mawk';

interface Command {
  impl: string;
  /** Why it cannot run here, if it cannot. */
  missing?: string;
  argv: (input: string, output: string) => string[];
  /** Output file has a header line. */
  header: boolean;
}

function commands(): Command[] {
  const node = process.execPath;
  const mawk = existsSync(MAWK) ? MAWK : undefined;
  let duckMissing: string | undefined;
  try {
    const r = spawnSync(node, ['-e', "import('@duckdb/node-api').then(() => process.exit(0), () => process.exit(1))"], { cwd: ROOT });
    if (r.status !== 0) duckMissing = '@duckdb/node-api cannot be loaded';
  } catch (err) {
    duckMissing = (err as Error).message;
  }
  return [
    { impl: 'sluice aggregate', header: true, argv: (i, o) => [node, path.join(ROOT, 'dist/bin/sluice.mjs'), 'aggregate', '--input', i, '--key', '0', '--value', '1', '--agg', 'sum', '--out', o] },
    {
      impl: 'mawk', header: false, missing: mawk ? undefined : `${MAWK} not found`,
      argv: (i, o) => ['/bin/sh', '-c', `${MAWK} -F, '{s[$1]+=$2} END{for (k in s) printf "%s,%.2f\\n", k, s[k]}' "$0" > "$1"`, i, o],
    },
    { impl: 'Node readline + Map', header: false, argv: (i, o) => [node, path.join(HERE, 'readline-map.js'), i, o] },
    { impl: 'DuckDB read_csv', header: false, missing: duckMissing, argv: (i, o) => [node, path.join(HERE, 'duckdb-csv.js'), i, o] },
  ];
}

/** Wall time of one process from spawn to exit, ms; rejects with the tail of its stderr if it fails. */
export function wall(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${path.basename(argv[0]!)} exited with ${code}: ${err.trim().slice(0, 300)}`));
    });
  });
}

/** Digest of a `key,sum` CSV result (sum only: count is not computed). */
export function digestCsv(file: string, header: boolean): Digest {
  const d = new Digest();
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = header ? 1 : 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const c = line.lastIndexOf(',');
    d.add(line.slice(0, c), -1, Number(line.slice(c + 1)));
  }
  return d;
}

export async function runFileJob(opts: FileJobOptions): Promise<{ file: string; bytes: number; figures: Figure[] }> {
  const file = await urlCsv(opts.lines, opts.distinct);
  const bytes = readFileSync(file).length;
  opts.log(`  ${opts.lines.toLocaleString('en-US')} lines, ${opts.distinct.toLocaleString('en-US')} URL keys, ${(bytes / 1e6).toFixed(0)} MB: ${file}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-out-'));
  const figures: Figure[] = [];
  try {
    for (const cmd of commands()) {
      if (cmd.missing) {
        figures.push({ impl: cmd.impl, status: 'missing', reason: cmd.missing });
        opts.log(`    ${cmd.impl.padEnd(22)} missing: ${cmd.missing}`);
        continue;
      }
      const out = path.join(dir, `${cmd.impl.replace(/\W+/g, '-')}.csv`);
      try {
        await wall(cmd.argv(file, out)); // one untimed run: page cache and code caches warm for everyone
        const samples: number[] = [];
        for (let r = 0; r < opts.runs; r++) samples.push(await wall(cmd.argv(file, out)));
        const medianMs = median(samples);
        const digest = digestCsv(out, cmd.header).toString();
        figures.push({ impl: cmd.impl, status: 'ok', medianMs, samplesMs: samples, rowsPerSec: opts.lines / (medianMs / 1000), digest });
        opts.log(`    ${cmd.impl.padEnd(22)} ${medianMs.toFixed(0).padStart(7)} ms  ${(opts.lines / medianMs / 1000).toFixed(2)} M lines/s  ${digest}`);
      } catch (err) {
        figures.push({ impl: cmd.impl, status: 'failed', reason: (err as Error).message });
        opts.log(`    ${cmd.impl.padEnd(22)} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { file, bytes, figures };
}
