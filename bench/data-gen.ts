// The one data generator of the benchmarks: seeded, so every suite and every peer sees the same rows.
//
// Columns are typed arrays (what the kernels and DuckDB's appender take); string keys come in the
// decoders' utf8 + offsets form (key i is bytes[offs[i] .. offs[i+1])). The CSV of suite 2 is
// written once per parameter set into the OS temp dir and reused by later runs.

import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** mulberry32 (Tommy Ettinger, public domain): a 32-bit state PRNG, fast and good enough for data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n keys drawn uniformly from 0 .. distinct-1. */
export function uniformU32(n: number, distinct: number, seed: number): Uint32Array {
  const rnd = prng(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * distinct);
  return out;
}

/**
 * n keys from a Zipf(s) law over ranks 1..distinct: P(k) ∝ 1/k^s, sampled by binary search over
 * the cumulative distribution. Key of rank k is k - 1, so key 0 is the hottest.
 */
export function zipfU32(n: number, distinct: number, s: number, seed: number): Uint32Array {
  const cdf = new Float64Array(distinct);
  let total = 0;
  for (let k = 1; k <= distinct; k++) {
    total += 1 / Math.pow(k, s);
    cdf[k - 1] = total;
  }
  for (let k = 0; k < distinct; k++) cdf[k] = cdf[k]! / total;
  const rnd = prng(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rnd();
    let lo = 0;
    let hi = distinct - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

/** n values in [0, 1000) with two decimals, exact in binary only by accident, like real prices. */
export function valuesF64(n: number, seed: number): Float64Array {
  const rnd = prng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 100000) / 100;
  return out;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-_/.';

/** `distinct` different ASCII strings of minLen..maxLen bytes. */
export function distinctStrings(distinct: number, minLen: number, maxLen: number, seed: number): string[] {
  const rnd = prng(seed);
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < distinct) {
    const len = minLen + Math.floor(rnd() * (maxLen - minLen + 1));
    let s = '';
    for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

/** String keys of n rows as the decoders write them; `ids[i]` is row i's index into `dictionary`. */
export interface StringKeyColumn {
  dictionary: string[];
  ids: Uint32Array;
  /** u32[n+1]: key i is bytes[offs[i] .. offs[i+1]). */
  offs: Uint32Array;
  bytes: Uint8Array;
}

/** n rows of string keys of 20-60 bytes, drawn uniformly from `distinct` keys. */
export function stringKeys(n: number, distinct: number, seed: number): StringKeyColumn {
  const dictionary = distinctStrings(distinct, 20, 60, seed);
  const encoded = dictionary.map((s) => Buffer.from(s, 'utf8'));
  const ids = uniformU32(n, distinct, seed + 1);
  const offs = new Uint32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += encoded[ids[i]!]!.length;
    offs[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < n; i++) bytes.set(encoded[ids[i]!]!, offs[i]!);
  return { dictionary, ids, offs, bytes };
}

/** One kernel workload of suite 1: keys (u32 or strings) and a value per row. */
export type KernelWorkload =
  | { name: string; kind: 'u32'; describe: string; rows: number; keys: Uint32Array; values: Float64Array }
  | { name: string; kind: 'bytes'; describe: string; rows: number; keys: StringKeyColumn; values: Float64Array };

/** The four workloads of suite 1 (K1, K2, K3, S1) over `rows` rows. */
export function kernelWorkloads(rows: number, seed = 20261125): KernelWorkload[] {
  return [
    { name: 'K1', kind: 'u32', describe: '1,000 u32 keys, uniform', rows, keys: uniformU32(rows, 1000, seed + 10), values: valuesF64(rows, seed) },
    { name: 'K2', kind: 'u32', describe: '1,000,000 u32 keys, uniform', rows, keys: uniformU32(rows, 1_000_000, seed + 20), values: valuesF64(rows, seed) },
    { name: 'K3', kind: 'u32', describe: '10,000 u32 keys, Zipf s=1.1', rows, keys: zipfU32(rows, 10_000, 1.1, seed + 30), values: valuesF64(rows, seed) },
    { name: 'S1', kind: 'bytes', describe: '10,000 string keys of 20-60 bytes', rows, keys: stringKeys(rows, 10_000, seed + 40), values: valuesF64(rows, seed) },
  ];
}

/** Row i's key as a string, whatever the key type (for cross-checking results). */
export function keyString(w: KernelWorkload, i: number): string {
  return w.kind === 'u32' ? String(w.keys[i]) : w.keys.dictionary[w.keys.ids[i]!]!;
}

/** URL-like keys for the CSV job: host, a path of 2-4 segments, sometimes a query. */
export function urlKeys(distinct: number, seed: number): string[] {
  const rnd = prng(seed);
  const hosts = ['shop.example.com', 'api.example.org', 'cdn.example.net', 'www.example.io', 'blog.example.dev'];
  const words = ['home', 'cart', 'item', 'search', 'user', 'orders', 'v2', 'static', 'img', 'docs', 'help', 'pay'];
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < distinct) {
    let u = `https://${hosts[Math.floor(rnd() * hosts.length)]}`;
    const segs = 2 + Math.floor(rnd() * 3);
    for (let i = 0; i < segs; i++) u += `/${words[Math.floor(rnd() * words.length)]}`;
    u += `/${Math.floor(rnd() * 100000)}`;
    if (rnd() < 0.3) u += `?ref=${Math.floor(rnd() * 1000)}`;
    if (!seen.has(u)) {
      seen.add(u);
      out.push(u);
    }
  }
  return out;
}

/** The rows of the CSV job (and of the Kafka topic): row i is `${keys[ids[i]]},${values[i]}`. */
export function urlRows(lines: number, distinct: number, seed = 20261125): { keys: string[]; ids: Uint32Array; values: Float64Array } {
  return { keys: urlKeys(distinct, seed), ids: uniformU32(lines, distinct, seed + 1), values: valuesF64(lines, seed + 2) };
}

/** Where the cached CSVs live. */
export const CSV_DIR = path.join(tmpdir(), 'sluice-bench');

/**
 * `lines` lines of `url,value` (no header) over `distinct` URL keys drawn uniformly, written once
 * into CSV_DIR (the name carries every parameter) and reused afterwards. Returns the path.
 */
export async function urlCsv(lines: number, distinct: number, seed = 20261125): Promise<string> {
  mkdirSync(CSV_DIR, { recursive: true });
  const file = path.join(CSV_DIR, `urls-${lines}-${distinct}-${seed}.csv`);
  if (existsSync(file) && statSync(file).size > 0) return file;
  const { keys, ids, values } = urlRows(lines, distinct, seed);
  const tmp = `${file}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  const CHUNK = 50_000;
  for (let i = 0; i < lines; i += CHUNK) {
    let s = '';
    const end = Math.min(lines, i + CHUNK);
    for (let j = i; j < end; j++) s += `${keys[ids[j]!]},${values[j]}\n`;
    if (!out.write(s)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  renameSync(tmp, file);
  return file;
}
