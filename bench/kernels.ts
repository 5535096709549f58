// Suite 1: count + sum per key over in-memory columns (K1, K2, K3, S1) — sluice on 1 and 2 workers
// against a JS Map, a typed-array hash table in JS, arquero and DuckDB (threads=1, threads=2).
//
// Loading is excluded for everyone: the columns are copied into the wasm memory, into DuckDB (by
// appender) and into arquero's table before the clock starts. Each timed run builds its result
// from scratch (fresh tables) and leaves it where the engine keeps it (wasm tables, a DuckDB
// temp table, a Map); results are read back outside the clock for the cross-check. The implementations
// of a workload take turns, one timed run each per round (interleave), so load that comes and goes on
// this shared machine falls on all of them alike.

import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Bench } from 'tinybench';
import { KernelRuntime } from '../dist/runtime/pool.js';
import { ByteShardTable, DenseSlots, ShardSet, type U32ShardTable } from '../dist/state/shard-table.js';
import { compileKernels } from '../dist/wasm/module.js';
import { AGG_COUNT, AGG_SUM } from '../dist/wasm/abi.js';
import { kernelWorkloads, type KernelWorkload } from './data-gen.js';
import type { BenchTask } from './kernel-worker.js';
import { Digest, guarded, median, type Figure } from './measure.js';

export interface KernelSuiteOptions {
  rows: number;
  /** Timed iterations per implementation (after warm-up). */
  iterations: number;
  log: (line: string) => void;
}

export interface KernelWorkloadResult {
  name: string;
  describe: string;
  rows: number;
  figures: Figure[];
}

/** Times `fn` with tinybench: `warmups` untimed calls (V8 tiers wasm up between calls), then `iterations`. */
async function time(name: string, fn: () => Promise<unknown> | unknown, iterations: number, warmups = 2): Promise<number[]> {
  const bench = new Bench({ time: 0, iterations, warmupTime: 0, warmupIterations: warmups, throws: true });
  bench.add(name, async () => {
    await fn();
  });
  await bench.warmup();
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (!r || r.error) throw r?.error ?? new Error(`${name}: no result`);
  return r.samples.slice();
}

function okFigure(impl: string, samplesMs: number[], rows: number, digest: Digest): Figure {
  const medianMs = median(samplesMs);
  return { impl, status: 'ok', medianMs, samplesMs, rowsPerSec: rows / (medianMs / 1000), digest: digest.toString() };
}

/** One implementation of a workload, ready to time: its state is loaded, `run` is one aggregation. */
interface Contender {
  impl: string;
  /** Untimed calls before its first timed one. */
  warmups: number;
  /** Untimed, before each timed call (DuckDB's thread count: the two DuckDB contenders share a connection). */
  setup?: () => Promise<void>;
  run: () => Promise<unknown> | unknown;
  /** The result of one more run, for the cross-check. */
  digest: () => Promise<Digest> | Digest;
}

/**
 * Lets what the last call left behind finish off the clock before the next timed one: V8 sweeps
 * concurrently after gc(), and a peer's threads may linger. Measured on 10M rows, three rounds: the
 * two-worker and threads=2 figures gained most (S1, sluice 2 workers: 65M rows/s without, 72M with).
 */
const SETTLE_MS = 150;
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/**
 * Times the contenders round by round, each once per round (after its warm-ups in the first), so a
 * burst of load on this shared machine falls on all of them alike instead of on whichever ran in a
 * block at that moment. Before every timed call the heap is collected and the machine left to
 * settle. Entries that are figures already (missing peers) stay as they are, in place; a contender
 * that throws becomes a failed figure.
 */
async function interleave(entries: ReadonlyArray<Contender | Figure>, rounds: number, rows: number): Promise<Figure[]> {
  const samples = new Map<Contender, number[]>();
  const failed = new Map<Contender, string>();
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let round = 0; round < rounds; round++) {
    for (const c of entries) {
      if ('status' in c || failed.has(c)) continue;
      try {
        await c.setup?.();
        gc?.();
        await settle();
        const s = await time(c.impl, c.run, 1, round === 0 ? c.warmups : 0);
        samples.set(c, [...(samples.get(c) ?? []), ...s]);
      } catch (err) {
        failed.set(c, (err as Error)?.message ?? String(err));
      }
    }
  }
  const out: Figure[] = [];
  for (const c of entries) {
    if ('status' in c) {
      out.push(c);
      continue;
    }
    const reason = failed.get(c);
    if (reason !== undefined) {
      out.push({ impl: c.impl, status: 'failed', reason });
      continue;
    }
    out.push(await guarded(c.impl, async () => okFigure(c.impl, samples.get(c)!, rows, await c.digest())));
  }
  return out;
}

// --- sluice -------------------------------------------------------------------------------------------

/** The workload's columns in the shared memory. */
interface Loaded {
  keys: number;
  keyBytes: number;
  hashes: number;
  values: number;
  free(): void;
}

export function load(rt: KernelRuntime, w: KernelWorkload): Loaded {
  const a = rt.arena;
  const n = w.rows;
  const values = a.alloc(n * 8);
  a.f64.set(w.values, values >>> 3);
  const hashes = a.alloc(n * 4);
  let keys: number;
  let keyBytes = 0;
  if (w.kind === 'u32') {
    keys = a.alloc(n * 4);
    a.u32.set(w.keys, keys >>> 2);
  } else {
    keys = a.alloc((n + 1) * 4);
    keyBytes = a.alloc(w.keys.bytes.length);
    a.u32.set(w.keys.offs, keys >>> 2);
    a.u8.set(w.keys.bytes, keyBytes);
  }
  return {
    keys, keyBytes, hashes, values,
    free: () => {
      for (const p of [keys, keyBytes, hashes, values]) if (p !== 0) a.release(p);
    },
  };
}

/**
 * Rows per partition block of the two-phase fold: a block's keys, values and perm stay in cache
 * while the shards take their turns gathering from it.
 */
const BLOCK_ROWS = 16_384;

/**
 * One aggregation of the loaded columns on `workers` workers, into S shards (S = workers unless said
 * otherwise below; byte keys by their murmur2, u32 keys by their own value: the table remixes them
 * internally). Each key folds in input order, so the sums are those of one worker, bit for bit.
 *
 * - u32 keys on one worker: the single-shard fold over all rows (agg_u32_shards with S = 1: the
 *   inlined first probe, no routing).
 * - u32 keys on two or more: the two-phase fold. Phase 1, task p per row range: a stable partition of
 *   each of its blocks of BLOCK_ROWS rows by shard (partition_blocks, one perm column for all).
 *   Phase 2, task s per shard: block 0's rows of shard s, then block 1's, ... (agg_u32_parts).
 * - Byte keys, on any number of workers: the continued fold (continuedRun), into one shard. Task 0
 *   folds the first range of rows into a scratch table while the others intern theirs; table 0 then
 *   takes their keys and folds their rows on, in order, and merges into the shard's state.
 *   SLUICE_BENCH_BYTES=routed forces the routed fold instead: every row hashed with murmur2 (by row
 *   range in parallel), then task s reads every row and folds those of shard s (agg_bytes_shards, the
 *   64-row bit-block route; with S = 1, no routing).
 *
 * - u32 keys whose sample spans a narrow range (K1, K3), on any number of workers: the dense fold,
 *   one task (denseRun).
 * - u32 keys whose sample says the state outgrows the caches (K2), on any number of workers: the
 *   scattered fold over SCATTER_SHARDS shards (scatteredRun).
 *
 * When a table is full the kernel stops, the host grows that shard and the worker resumes.
 */
/** Posts a task with the memory's size here, which the worker's view must reach (syncMemoryView). */
function post(pool: Piscina, rt: KernelRuntime, task: BenchTask): Promise<unknown> {
  return pool.run({ ...task, memoryBytes: rt.arena.u8.length });
}

export async function sluiceRun(rt: KernelRuntime, pool: Piscina, workers: number, w: KernelWorkload, c: Loaded): Promise<ShardSet<U32ShardTable> | ShardSet<ByteShardTable>> {
  const n = w.rows;
  const mask = AGG_COUNT | AGG_SUM;
  if (w.kind === 'u32') {
    const path = u32Path(rt, c.keys, n);
    if (path.kind === 'dense') return denseRun(rt, pool, c, n, mask, path.base, path.range);
    if (path.kind === 'scatter') return scatteredRun(rt, pool, workers, c, n, mask);
  }
  if (w.kind === 'bytes' && process.env.SLUICE_BENCH_BYTES !== 'routed') return continuedRun(rt, pool, workers, c, n, mask);
  let hashes = c.keys;
  if (w.kind === 'bytes') {
    hashes = c.hashes;
    const parts: Promise<unknown>[] = [];
    for (let p = 0; p < workers; p++) {
      const task: BenchTask = {
        op: 'hash', keyOffs: c.keys, keyBytes: c.keyBytes, out: hashes,
        from: Math.floor((p * n) / workers), to: Math.floor(((p + 1) * n) / workers),
      };
      parts.push(post(pool, rt, task));
    }
    await Promise.all(parts);
  }
  const set = w.kind === 'u32' ? ShardSet.u32(rt.arena, rt.k, workers) : ShardSet.bytes(rt.arena, rt.k, workers);
  const input = w.kind === 'u32'
    ? { keys: c.keys, values: c.values, perm: 0 }
    : { keyOffs: c.keys, keyBytes: c.keyBytes, hashes, values: c.values, perm: 0 };
  let shard = async (s: number): Promise<void> => {
    let from = 0;
    for (;;) {
      const task: BenchTask = {
        op: w.kind, tables: set.tablePtrs, accs: set.accPtrs, shards: workers, lo: s, hi: s + 1,
        keys: c.keys, keyBytes: c.keyBytes, hashes, values: c.values, from, to: n, mask,
      };
      const stop = (await post(pool, rt, task)) as number;
      if (stop >= n) return;
      (set as ShardSet<U32ShardTable>).growShardFor(input as never, hashes, stop);
      from = stop;
    }
  };
  if (w.kind === 'u32' && workers > 1) {
    const part = set.rangePartition(n, BLOCK_ROWS);
    const sorts: Promise<unknown>[] = [];
    for (const slice of set.partitionSlices(part, n, workers)) {
      const task: BenchTask = {
        op: 'partition', hashes, from: slice.lo, to: slice.hi, block: BLOCK_ROWS, shards: workers, starts: slice.starts, perm: part.perm,
      };
      sorts.push(post(pool, rt, task));
    }
    await Promise.all(sorts);
    shard = async (s: number): Promise<void> => {
      const total = set.partsTotal(part, s, s + 1);
      let from = 0;
      while (from < total) {
        const task: BenchTask = {
          op: 'u32-parts', tables: set.tablePtrs, accs: set.accPtrs, shards: workers, lo: s, hi: s + 1,
          keys: c.keys, values: c.values, starts: part.starts, parts: part.parts, perm: part.perm, from, mask,
        };
        from = (await post(pool, rt, task)) as number;
        if (from < total) (set as ShardSet<U32ShardTable>).growPartFor(input as never, part, s, s + 1, from);
      }
    };
  }
  const runs: Promise<void>[] = [];
  for (let s = 0; s < workers; s++) runs.push(shard(s));
  await Promise.all(runs);
  return set;
}

/**
 * The continued fold of byte keys on W workers. Rows split into W ranges; task 0 folds range 0 into a
 * scratch table (agg_bytes_fast) while task p interns range p into a scratch table of its own, writing
 * each row's group there (table_bytes_intern_fast). Then, for p = 1 .. W-1 in order, table 0 interns
 * table p's keys (groupMap: ~10,000 keys, not rows) and folds range p's rows into the mapped groups in
 * row order (agg_groups: no hash, no probe, no key bytes). Each key folds in input order, so the sums
 * are those of one worker, bit for bit, and each row's key bytes are read once, where the routed fold
 * makes every task scan every row. The scratch tables hash with fastHash, in the same read of a key as
 * its probe and compare; the shard state they merge into at the end (mergeFrom) hashes its ~10,000
 * keys with murmur2, as shard state must.
 */
async function continuedRun(rt: KernelRuntime, pool: Piscina, workers: number, c: Loaded, n: number, mask: number): Promise<ShardSet<ByteShardTable>> {
  const set = ShardSet.bytes(rt.arena, rt.k, 1);
  const bound = (p: number): number => Math.floor((p * n) / workers);
  const input = { keyOffs: c.keys, keyBytes: c.keyBytes, hashes: 0, values: c.values, perm: 0 };
  const scratch = Array.from({ length: workers }, () => new ByteShardTable(rt.arena, rt.k, { hash: 'fast' }));
  const first = scratch[0]!;
  const gids = workers > 1 ? rt.arena.alloc(n * 4) : 0;
  try {
    const range = async (p: number): Promise<void> => {
      const [lo, hi] = [bound(p), bound(p + 1)];
      const table = scratch[p]!;
      for (let from = lo; from < hi;) {
        const task: BenchTask = p === 0
          ? { op: 'fold-fast', table: table.header, acc: table.acc, keyOffs: c.keys, keyBytes: c.keyBytes, values: c.values, from, to: hi, mask }
          : { op: 'intern-fast', table: table.header, keyOffs: c.keys, keyBytes: c.keyBytes, gids, from, to: hi };
        from = (await post(pool, rt, task)) as number;
        if (from < hi) table.growFor(input, from);
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, p) => range(p)));
    for (let p = 1; p < workers; p++) {
      const map = first.groupMap(scratch[p]!);
      try {
        const [lo, hi] = [bound(p), bound(p + 1)];
        const task: BenchTask = { op: 'groups', acc: first.acc, gids, map, mapLen: scratch[p]!.count, values: c.values, from: lo, to: hi, limit: first.count, mask };
        const stop = (await post(pool, rt, task)) as number;
        if (stop < hi) throw new Error(`the continued fold stopped at row ${stop}: its group is not the table's`);
      } finally {
        rt.arena.release(map);
      }
    }
    set.tables[0]!.mergeFrom(first, 1, mask);
  } catch (err) {
    set.free();
    throw err;
  } finally {
    for (const t of scratch) t.free();
    if (gids !== 0) rt.arena.release(gids);
  }
  return set;
}

/** Shards of the scattered fold: enough that a million keys' shard tables are each a fraction of L2's size. */
const SCATTER_SHARDS = 16;
/** Rows sampled (spread evenly over the batch) to choose a u32 batch's fold. */
const SAMPLE_ROWS = 16_384;
/** Most slots of a dense fold: 2^16 pairs of f64 (1 MiB) stay in L2. */
const DENSE_MAX_SLOTS = 2 ** 16;

type U32Path = { kind: 'dense'; base: number; range: number } | { kind: 'scatter' } | { kind: 'direct' };

/**
 * How a batch of u32 keys folds, from a sample of its keys:
 * - dense, when the sample's keys span at most DENSE_MAX_SLOTS / 2 values (K1, K3): the slots cover
 *   twice that span, centred on it, so the rare keys a sample misses (a Zipf tail) still fall inside;
 *   any key outside folds into the table, exactly, at the cost of leaving the dense loop;
 * - scattered, when more than half of the sample is distinct (K2): the state outgrows the caches, and
 *   each row of a direct fold misses DRAM on its slot, key and accumulators, while a shard's table of
 *   the scattered fold is 1/S of it (K2: 23M rows/s direct against 61M scattered, one worker);
 * - else the direct fold (one worker) or the two-phase fold (two or more).
 * SLUICE_BENCH_U32 = dense | direct | scatter forces a path (for measuring them against each other).
 */
function u32Path(rt: KernelRuntime, keys: number, n: number): U32Path {
  const forced = process.env.SLUICE_BENCH_U32;
  if (n === 0) return { kind: 'direct' };
  const s = sampleKeys(rt.arena.u32, keys >>> 2, n, SAMPLE_ROWS);
  const span = s.max - s.min + 1;
  const range = Math.max(64, 2 ** Math.ceil(Math.log2(2 * span)));
  if (forced === 'dense' || (forced === undefined && range <= DENSE_MAX_SLOTS)) {
    const r = Math.min(range, DENSE_MAX_SLOTS);
    const base = Math.min(Math.max(0, s.min - Math.floor((r - span) / 2)), 2 ** 32 - r);
    return { kind: 'dense', base, range: r };
  }
  if (forced === 'scatter' || (forced === undefined && s.distinct * 2 > Math.min(n, SAMPLE_ROWS))) return { kind: 'scatter' };
  return { kind: 'direct' };
}

/**
 * The dense fold (agg_u32_dense): one task folds every row in order, keys in [base, base + range) into
 * the dense slots, any other into the one table; then the slots merge into the table (dense_flush, on
 * the main thread: a few hundred microseconds at most). It runs as one task whatever the pool: split
 * by rows, a key would fold in two places; split by key range, every task would read every row, and a
 * dense row costs little more than reading it.
 */
async function denseRun(rt: KernelRuntime, pool: Piscina, c: Loaded, n: number, mask: number, base: number, range: number): Promise<ShardSet<U32ShardTable>> {
  const set = ShardSet.u32(rt.arena, rt.k, 1);
  const table = set.tables[0]!;
  const dense = new DenseSlots(rt.arena, base, range, false);
  try {
    const input = { keys: c.keys, values: c.values, perm: 0 };
    for (let from = 0; from < n;) {
      const task: BenchTask = { op: 'dense', table: table.header, acc: table.acc, dense: dense.header, base, keys: c.keys, values: c.values, from, to: n, mask };
      from = (await post(pool, rt, task)) as number;
      if (from < n) table.growFor(input, from);
    }
    table.flushDense(dense, 1, mask);
  } finally {
    dense.free();
  }
  return set;
}

/** Distinct values, least and greatest among `m` keys spread evenly over u32 keys[at, at + n), counted in a typed-array set. */
function sampleKeys(u32: Uint32Array, at: number, n: number, m: number): { distinct: number; min: number; max: number } {
  m = Math.min(m, n);
  let lo = 0xffffffff;
  let hi = 0;
  const bits = Math.ceil(Math.log2(2 * m + 1));
  const cap = 1 << bits;
  const slots = new Uint32Array(cap);
  const used = new Uint8Array(cap);
  let distinct = 0;
  for (let i = 0; i < m; i++) {
    const key = u32[at + Math.floor((i * n) / m)]!;
    if (key < lo) lo = key;
    if (key > hi) hi = key;
    // the product's high bits: its low ones depend only on the key's low bits (keys that are multiples of 2^k would pile up)
    let p = Math.imul(key, 0x9e3779b1) >>> (32 - bits);
    while (used[p] && slots[p] !== key) p = (p + 1) & (cap - 1);
    if (!used[p]) {
      used[p] = 1;
      slots[p] = key;
      distinct++;
    }
  }
  return { distinct, min: lo, max: hi };
}

/**
 * The scattered fold of u32 keys: phase 1, task t per row range, moves its rows' keys and values into
 * shard order (scatter_range); phase 2, task per shard, folds the shard's segments (range 0's, then
 * range 1's, ...) as the single shard of its table (agg_u32_shards with S = 1: the direct loop), so each
 * key folds in input order and the table a task touches is the only one, 1/S of the state.
 */
async function scatteredRun(rt: KernelRuntime, pool: Piscina, workers: number, c: Loaded, n: number, mask: number): Promise<ShardSet<U32ShardTable>> {
  const S = SCATTER_SHARDS;
  const set = ShardSet.u32(rt.arena, rt.k, S);
  const part = set.scatterBuffers(n, workers);
  await Promise.all(part.ranges.map((r) => post(pool, rt, {
    op: 'scatter', hashes: c.keys, keys: c.keys, values: c.values, from: r.lo, to: r.hi, shards: S, starts: r.starts, outKeys: part.keys, outValues: part.values,
  } satisfies BenchTask)));
  const input = { keys: part.keys, values: part.values, perm: 0 };
  const shard = async (s: number): Promise<void> => {
    for (const [a, b] of set.scatteredSegments(part, s)) {
      for (let from = a; from < b;) {
        const task: BenchTask = {
          op: 'u32', tables: set.tablePtrs + 4 * s, accs: set.accPtrs + 4 * s, shards: 1, lo: 0, hi: 1,
          keys: part.keys, keyBytes: 0, hashes: part.keys, values: part.values, from, to: b, mask,
        };
        from = (await post(pool, rt, task)) as number;
        if (from < b) set.growShard(s, input, from);
      }
    }
  };
  const runs: Promise<void>[] = [];
  for (let s = 0; s < S; s++) runs.push(shard(s));
  await Promise.all(runs);
  return set;
}

function sluiceDigest(set: ShardSet<U32ShardTable> | ShardSet<ByteShardTable>): Digest {
  const d = new Digest();
  for (const t of set.tables) {
    const count = t.column('count');
    const sum = t.column('sum');
    for (let g = 0; g < t.count; g++) {
      const key = typeof (t as U32ShardTable).key(g) === 'number' ? String((t as U32ShardTable).key(g)) : (t as ByteShardTable).keyString(g);
      d.add(key, count[g]!, sum[g]!);
    }
  }
  return d;
}

// --- plain JS -------------------------------------------------------------------------------------------

/** Row keys as JS values (strings for S1, from the dictionary: loading excluded, as for DuckDB). */
function jsKeys(w: KernelWorkload): ArrayLike<number> | string[] {
  if (w.kind === 'u32') return w.keys;
  const out = new Array<string>(w.rows);
  for (let i = 0; i < w.rows; i++) out[i] = w.keys.dictionary[w.keys.ids[i]!]!;
  return out;
}

function mapRun(keys: ArrayLike<number | string>, values: Float64Array): Map<number | string, { c: number; s: number }> {
  const m = new Map<number | string, { c: number; s: number }>();
  for (let i = 0; i < values.length; i++) {
    const k = keys[i]!;
    const e = m.get(k);
    if (e) {
      e.c++;
      e.s += values[i]!;
    } else m.set(k, { c: 1, s: values[i]! });
  }
  return m;
}

/**
 * Open addressing with linear probing in typed arrays (slot = group id + 1), grown at load 1/2:
 * the fastest a hash aggregation in plain JS usually gets. Byte keys are compared in place.
 */
class TypedTable {
  slots: Int32Array = new Int32Array(1024);
  hashes: Uint32Array = new Uint32Array(512);
  /** u32 keys, or the row whose bytes are the group's key. */
  keys: Uint32Array = new Uint32Array(512);
  counts: Float64Array = new Float64Array(512);
  sums: Float64Array = new Float64Array(512);
  size = 0;

  private grow(): void {
    const cap = this.slots.length * 2;
    const slots = new Int32Array(cap);
    const mask = cap - 1;
    for (let g = 0; g < this.size; g++) {
      let p = this.hashes[g]! & mask;
      while (slots[p] !== 0) p = (p + 1) & mask;
      slots[p] = g + 1;
    }
    this.slots = slots;
    const cols = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap / 2);
      b.set(a);
      return b;
    };
    const u = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(cap / 2);
      b.set(a);
      return b;
    };
    this.hashes = u(this.hashes);
    this.keys = u(this.keys);
    this.counts = cols(this.counts);
    this.sums = cols(this.sums);
  }

  runU32(keys: Uint32Array, values: Float64Array): void {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const h = Math.imul(k ^ (k >>> 16), 0x45d9f3b) >>> 0;
      let mask = this.slots.length - 1;
      let p = h & mask;
      let g: number;
      for (;;) {
        const s = this.slots[p]!;
        if (s === 0) {
          if ((this.size + 1) * 2 > this.slots.length) {
            this.grow();
            mask = this.slots.length - 1;
            p = h & mask;
            continue;
          }
          g = this.size++;
          this.slots[p] = g + 1;
          this.hashes[g] = h;
          this.keys[g] = k;
          break;
        }
        if (this.keys[s - 1] === k) {
          g = s - 1;
          break;
        }
        p = (p + 1) & mask;
      }
      this.counts[g]++;
      this.sums[g] += values[i]!;
    }
  }

  runBytes(offs: Uint32Array, bytes: Uint8Array, values: Float64Array): void {
    const n = values.length;
    for (let i = 0; i < n; i++) {
      const a = offs[i]!;
      const b = offs[i + 1]!;
      let h = 0x811c9dc5;
      for (let j = a; j < b; j++) h = Math.imul(h ^ bytes[j]!, 0x01000193);
      h >>>= 0;
      let mask = this.slots.length - 1;
      let p = h & mask;
      let g: number;
      for (;;) {
        const s = this.slots[p]!;
        if (s === 0) {
          if ((this.size + 1) * 2 > this.slots.length) {
            this.grow();
            mask = this.slots.length - 1;
            p = h & mask;
            continue;
          }
          g = this.size++;
          this.slots[p] = g + 1;
          this.hashes[g] = h;
          this.keys[g] = i;
          break;
        }
        if (this.hashes[s - 1] === h) {
          const r = this.keys[s - 1]!;
          const ra = offs[r]!;
          if (offs[r + 1]! - ra === b - a) {
            let same = true;
            for (let j = 0; j < b - a; j++) {
              if (bytes[ra + j] !== bytes[a + j]) {
                same = false;
                break;
              }
            }
            if (same) {
              g = s - 1;
              break;
            }
          }
        }
        p = (p + 1) & mask;
      }
      this.counts[g]++;
      this.sums[g] += values[i]!;
    }
  }
}

// --- the suite ------------------------------------------------------------------------------------------

type DuckModule = typeof import('@duckdb/node-api');

async function loadDuck(): Promise<DuckModule | string> {
  try {
    return await import('@duckdb/node-api');
  } catch (err) {
    return `@duckdb/node-api cannot be loaded: ${(err as Error).message}`;
  }
}

type ArqueroModule = typeof import('arquero');

async function loadArquero(): Promise<ArqueroModule | string> {
  try {
    return await import('arquero');
  } catch (err) {
    return `arquero cannot be loaded: ${(err as Error).message}`;
  }
}

/** Copies a workload into a DuckDB table t(k, v) with the appender, 2048-row chunks. */
async function duckLoad(duck: DuckModule, conn: import('@duckdb/node-api').DuckDBConnection, w: KernelWorkload, keys: ArrayLike<number | string>): Promise<void> {
  await conn.run(`CREATE OR REPLACE TABLE t (k ${w.kind === 'u32' ? 'UINTEGER' : 'VARCHAR'}, v DOUBLE)`);
  const appender = await conn.createAppender('t');
  const types = [w.kind === 'u32' ? duck.UINTEGER : duck.VARCHAR, duck.DOUBLE];
  const CH = 2048;
  for (let i = 0; i < w.rows; i += CH) {
    const end = Math.min(w.rows, i + CH);
    const chunk = duck.DuckDBDataChunk.create(types, end - i);
    chunk.setColumnValues(0, Array.prototype.slice.call(keys, i, end) as (number | string)[]);
    chunk.setColumnValues(1, Array.from(w.values.subarray(i, end)));
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

export async function runKernelSuite(opts: KernelSuiteOptions): Promise<{ workloads: KernelWorkloadResult[]; versions: Record<string, string> }> {
  const { log, iterations } = opts;
  const versions: Record<string, string> = {};
  const duck = await loadDuck();
  const aq = await loadArquero();
  const rt = KernelRuntime.create({ workers: 0 });
  const module = compileKernels('release');
  const workerFile = fileURLToPath(new URL('./kernel-worker.js', import.meta.url));
  const pools = new Map<number, Piscina>();
  for (const n of [1, 2]) {
    pools.set(n, new Piscina({ filename: workerFile, minThreads: n, maxThreads: n, idleTimeout: Number.POSITIVE_INFINITY, workerData: { module, memory: rt.arena.memory } }));
  }
  let duckInstance: import('@duckdb/node-api').DuckDBInstance | undefined;
  let conn: import('@duckdb/node-api').DuckDBConnection | undefined;
  if (typeof duck !== 'string') {
    duckInstance = await duck.DuckDBInstance.create(':memory:');
    conn = await duckInstance.connect();
    versions['@duckdb/node-api'] = `${(await import('@duckdb/node-api/package.json', { with: { type: 'json' } })).default.version} (DuckDB ${String((await conn.runAndReadAll('SELECT version()')).getRows()[0]![0])})`;
  }
  if (typeof aq !== 'string') versions.arquero = (await import('arquero/package.json', { with: { type: 'json' } })).default.version;

  const results: KernelWorkloadResult[] = [];
  try {
    for (const w of kernelWorkloads(opts.rows)) {
      log(`  ${w.name}: ${w.describe}, ${w.rows.toLocaleString('en-US')} rows`);
      const cols = load(rt, w);
      const keys = jsKeys(w);
      const entries: Array<Contender | Figure> = [];
      const contend = async (impl: string, make: () => Promise<Contender> | Contender): Promise<void> => {
        try {
          entries.push(await make());
        } catch (err) {
          entries.push({ impl, status: 'failed', reason: (err as Error)?.message ?? String(err) });
        }
      };

      for (const workers of [1, 2]) {
        const pool = pools.get(workers)!;
        const run = (): Promise<ShardSet<U32ShardTable> | ShardSet<ByteShardTable>> => sluiceRun(rt, pool, workers, w, cols);
        await contend(`sluice ${workers} worker${workers > 1 ? 's' : ''}`, () => ({
          impl: `sluice ${workers} worker${workers > 1 ? 's' : ''}`,
          warmups: 2,
          run: async () => (await run()).free(),
          digest: async () => {
            const set = await run();
            const d = sluiceDigest(set);
            set.free();
            return d;
          },
        }));
      }

      await contend('JS Map', () => ({
        impl: 'JS Map',
        warmups: 1,
        run: () => mapRun(keys, w.values),
        digest: () => {
          const d = new Digest();
          for (const [k, e] of mapRun(keys, w.values)) d.add(String(k), e.c, e.s);
          return d;
        },
      }));

      const typedRun = (): TypedTable => {
        const t = new TypedTable();
        if (w.kind === 'u32') t.runU32(w.keys, w.values);
        else t.runBytes(w.keys.offs, w.keys.bytes, w.values);
        return t;
      };
      await contend('JS typed-array table', () => ({
        impl: 'JS typed-array table',
        warmups: 1,
        run: typedRun,
        digest: () => {
          const t = typedRun();
          const d = new Digest();
          for (let g = 0; g < t.size; g++) {
            d.add(w.kind === 'u32' ? String(t.keys[g]) : w.keys.dictionary[w.keys.ids[t.keys[g]!]!]!, t.counts[g]!, t.sums[g]!);
          }
          return d;
        },
      }));

      if (typeof aq === 'string') entries.push({ impl: 'arquero', status: 'missing', reason: aq });
      else {
        await contend('arquero', () => {
          const table = aq.table({ k: keys as unknown as unknown[], v: w.values as unknown as unknown[] });
          const runOnce = () => table.groupby('k').rollup({ c: aq.op.count(), s: aq.op.sum('v') });
          return {
            impl: 'arquero',
            warmups: 1,
            run: runOnce,
            digest: () => {
              const r = runOnce();
              const ks = r.array('k') as ArrayLike<unknown>;
              const cs = r.array('c') as ArrayLike<number>;
              const ss = r.array('s') as ArrayLike<number>;
              const d = new Digest();
              for (let i = 0; i < r.numRows(); i++) d.add(String(ks[i]), cs[i]!, ss[i]!);
              return d;
            },
          };
        });
      }

      let duckLoaded: Promise<void> | undefined;
      for (const threads of [1, 2]) {
        const impl = `DuckDB threads=${threads}`;
        if (typeof duck === 'string') {
          entries.push({ impl, status: 'missing', reason: duck });
          continue;
        }
        await contend(impl, async () => {
          await (duckLoaded ??= duckLoad(duck, conn!, w, keys));
          const sql = 'CREATE OR REPLACE TEMP TABLE r AS SELECT k, count(*) AS c, sum(v) AS s FROM t GROUP BY k';
          return {
            impl,
            warmups: 1,
            setup: () => conn!.run(`SET threads = ${threads}`).then(() => undefined),
            run: () => conn!.run(sql),
            digest: async () => {
              await conn!.run(`SET threads = ${threads}`);
              await conn!.run(sql);
              const rows = (await conn!.runAndReadAll('SELECT k::VARCHAR, c::DOUBLE, s FROM r')).getRows();
              const d = new Digest();
              for (const row of rows) d.add(String(row[0]), Number(row[1]), Number(row[2]));
              return d;
            },
          };
        });
      }

      const figures = await interleave(entries, iterations, w.rows);
      for (const f of figures) {
        log(f.status === 'ok' ? `    ${f.impl.padEnd(22)} ${(f.rowsPerSec / 1e6).toFixed(1).padStart(7)} M rows/s  ${f.digest}` : `    ${f.impl.padEnd(22)} ${f.status}: ${f.reason}`);
      }
      cols.free();
      if (conn) await conn.run('DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS r');
      results.push({ name: w.name, describe: w.describe, rows: w.rows, figures });
      (globalThis as { gc?: () => void }).gc?.();
    }
  } finally {
    for (const p of pools.values()) await p.destroy();
    await rt.close();
    conn?.closeSync();
    duckInstance?.closeSync();
  }
  return { workloads: results, versions };
}
