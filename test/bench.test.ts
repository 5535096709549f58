// The benchmark suite on tiny sizes, so it cannot rot: it must run end to end, report every figure
// and agree across implementations. No timing is asserted.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { kafkaBootstrap } from './helpers/kafka.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface FigureJson {
  impl: string;
  status: string;
  digest?: string;
  reason?: string;
}

describe('npm run bench -- --smoke', () => {
  it('runs every suite and every implementation computes the same groups, counts and sums', () => {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'bench/tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
    const out = path.join(dir, 'smoke.json');
    // the smoke run uses the tests' broker (test/global-setup.ts) and never starts one of its own
    const bootstrap = kafkaBootstrap();
    const env = { ...process.env, KAFKA_BOOTSTRAP: bootstrap ?? '' };
    execFileSync(process.execPath, ['--expose-gc', 'dist-bench/run.js', '--smoke', '--out', out], { cwd: ROOT, env, stdio: 'pipe', timeout: 150_000 });
    const r = JSON.parse(readFileSync(out, 'utf8'));

    expect(r.mode).toBe('smoke');
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(r.machine.memoryBytes).toBeGreaterThan(0);
    for (const name of ['node', 'sluice', '@duckdb/node-api', 'arquero', 'tinybench', 'mawk']) expect(r.versions[name]).toBeTypeOf('string');

    const kernelImpls = ['sluice 1 worker', 'sluice 2 workers', 'JS Map', 'JS typed-array table', 'arquero', 'DuckDB threads=1', 'DuckDB threads=2'];
    expect(r.suites.kernels.workloads.map((w: { name: string }) => w.name)).toEqual(['K1', 'K2', 'K3', 'S1']);
    for (const w of r.suites.kernels.workloads as Array<{ name: string; figures: FigureJson[] }>) {
      expect(w.figures.map((f) => f.impl)).toEqual(kernelImpls);
      // a missing peer is reported with its reason; sluice and the JS baselines must always run
      for (const f of w.figures) expect(f.status === 'ok' || (f.status === 'missing' && !!f.reason)).toBe(true);
      const digests = new Set(w.figures.filter((f) => f.status === 'ok').map((f) => f.digest));
      expect(digests.size, `${w.name}: ${[...digests].join(' / ')}`).toBe(1);
    }
    const job = r.suites.fileJob.figures as FigureJson[];
    expect(job.map((f) => f.impl)).toEqual(['sluice aggregate', 'mawk', 'Node readline + Map', 'DuckDB read_csv']);
    expect(job[0]!.status).toBe('ok');
    expect(new Set(job.filter((f) => f.status === 'ok').map((f) => f.digest)).size).toBe(1);

    const kafka = r.suites.kafka;
    if (bootstrap) {
      expect(kafka.status, kafka.reason).toBe('ok');
      expect(kafka.partitions).toBe(6);
      expect(kafka.figures.map((f: FigureJson) => [f.impl, f.status])).toEqual([
        ['sluice aggregate (bounded)', 'ok'],
        ['kafkajs eachBatch, no work', 'ok'],
      ]);
      expect(kafka.figures[0].digest).toBe(kafka.expected);
      expect(kafka.figures[1].digest).toBe(`${kafka.messages} messages`);
    } else {
      expect(kafka.status).toBe('missing');
      expect(kafka.reason).toMatch(/KAFKA_BOOTSTRAP/);
    }

    const lat = r.suites.latency;
    expect(lat.status, lat.reason).toBe('ok');
    expect(lat.batches).toBeGreaterThan(1);
    expect(lat.records).toBeGreaterThan(0);
    for (const k of ['p50Ms', 'p99Ms', 'maxMs', 'processingP50Ms', 'processingP99Ms']) expect(lat[k]).toBeGreaterThanOrEqual(0);
    expect(lat.p50Ms).toBeLessThanOrEqual(lat.p99Ms);

    expect(r.targets.map((t: { name: string }) => t.name).at(-1)).toBe('Kafka job: sluice vs raw kafkajs consumer');
    expect(r.targets.length).toBe(11);
    expect(r.agree).toBe(true);
  }, 180_000);

  it('the kernel suite\'s folds (u32: dense, direct or two-phase, scattered; bytes: continued, routed), on 1 and 2 workers, leave every sum bit for bit the left-to-right fold', async () => {
    // dist-bench was compiled by the smoke run above (tests in a file run in order)
    const { Piscina } = await import('piscina');
    const { KernelRuntime } = await import('../dist/runtime/pool.js');
    const { compileKernels } = await import('../dist/wasm/module.js');
    const { load, sluiceRun } = await import('../dist-bench/kernels.js');
    const { kernelWorkloads } = await import('../dist-bench/data-gen.js');
    const rt = KernelRuntime.create({ workers: 0 });
    const module = compileKernels('release');
    const pools = [1, 2].map((n) => new Piscina({
      filename: path.join(ROOT, 'dist-bench/kernel-worker.js'), minThreads: n, maxThreads: n, workerData: { module, memory: rt.arena.memory },
    }));
    const saved = { u32: process.env.SLUICE_BENCH_U32, bytes: process.env.SLUICE_BENCH_BYTES };
    /** Every shard's groups as key -> [count, sum]; frees the set. */
    const groups = <K>(set: { tables: Array<{ count: number; key(g: number): unknown; column(c: 'count' | 'sum'): Float64Array }>; free(): void }, keyOf: (key: unknown) => K): Map<K, [number, number]> => {
      const got = new Map<K, [number, number]>();
      for (const t of set.tables) {
        const count = t.column('count');
        const sum = t.column('sum');
        for (let g = 0; g < t.count; g++) got.set(keyOf(t.key(g)), [count[g]!, sum[g]!]);
      }
      set.free();
      return got;
    };
    try {
      // K1 (1,000 keys), K2 (keys up to 10^6) and K3 (Zipf) on 30,000 rows, with a few keys far outside K1's range
      for (const w of kernelWorkloads(30_000).filter((x) => x.kind === 'u32')) {
        if (w.kind !== 'u32') continue;
        if (w.name === 'K1') for (const i of [7, 20_000, 29_999]) w.keys[i] = 0xffffffff - i;
        const ref = new Map<number, [number, number]>();
        w.keys.forEach((k, i) => {
          const e = ref.get(k) ?? [0, 0];
          e[0] += 1;
          e[1] += w.values[i]!;
          ref.set(k, e);
        });
        const cols = load(rt, w);
        for (const pathName of ['dense', 'direct', 'scatter']) {
          process.env.SLUICE_BENCH_U32 = pathName;
          for (const [i, pool] of pools.entries()) {
            const got = groups(await sluiceRun(rt, pool, i + 1, w, cols), (key) => key as number);
            expect(got, `${w.name}, ${pathName}, ${i + 1} worker(s)`).toEqual(ref);
          }
        }
        cols.free();
      }
      // S1 (10,000 byte keys) on 30,000 rows: the continued fold (scratch tables, agg_groups) and the routed one
      const s1 = kernelWorkloads(30_000).find((x) => x.name === 'S1')!;
      if (s1.kind !== 'bytes') throw new Error('S1 has byte keys');
      const keyOf = (i: number): string => Buffer.from(s1.keys.bytes.subarray(s1.keys.offs[i]!, s1.keys.offs[i + 1]!)).toString('latin1');
      const ref = new Map<string, [number, number]>();
      for (let i = 0; i < s1.rows; i++) {
        const e = ref.get(keyOf(i)) ?? [0, 0];
        e[0] += 1;
        e[1] += s1.values[i]!;
        ref.set(keyOf(i), e);
      }
      const cols = load(rt, s1);
      for (const pathName of ['continued', 'routed']) {
        process.env.SLUICE_BENCH_BYTES = pathName;
        for (const [i, pool] of pools.entries()) {
          const got = groups(await sluiceRun(rt, pool, i + 1, s1, cols), (key) => Buffer.from(key as Uint8Array).toString('latin1'));
          expect(got, `S1, ${pathName}, ${i + 1} worker(s)`).toEqual(ref);
        }
      }
      cols.free();
    } finally {
      for (const [name, value] of [['SLUICE_BENCH_U32', saved.u32], ['SLUICE_BENCH_BYTES', saved.bytes]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await Promise.all(pools.map((p) => p.destroy()));
      await rt.close();
    }
  }, 120_000);
});
