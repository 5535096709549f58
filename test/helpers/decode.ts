// Test helper: runs a DecodeJob over input given as chunks and collects every output as plain data.

import { DecodeJob, type DecodeJobOptions } from '../../src/codec/decode-job.js';
import { BadReason } from '../../src/wasm/abi.js';
import type { TestKernels } from './wasm.js';

export interface DecodedRecord {
  key: Uint8Array;
  value: number;
  hash: number;
}

export interface DecodedError {
  line: number;
  reason: number;
  raw: Uint8Array;
  message: string;
}

export interface Decoded {
  records: DecodedRecord[];
  errors: DecodedError[];
  /** line number after the last decoded byte */
  line: number;
  /** bytes written and never decoded */
  pending: number;
}

/**
 * Writes the chunks one by one, decoding after each (final only after the last when `final`), and
 * collects records whenever the job says its outputs are full.
 */
export function decodeChunks(t: TestKernels, options: DecodeJobOptions, chunks: Uint8Array[], final = true): Decoded {
  const job = new DecodeJob(t.arena, options);
  const out: Decoded = { records: [], errors: [], line: 0, pending: 0 };
  const collect = (): void => {
    const offs = job.keyOffsets();
    const bytes = job.keyBytes();
    const values = job.values();
    const hashes = options.hashKeys === false ? undefined : job.hashes();
    for (let i = 0; i < job.records; i++) {
      out.records.push({ key: bytes.slice(offs[i]!, offs[i + 1]!), value: values[i]!, hash: hashes?.[i] ?? 0 });
    }
    job.clearRecords();
  };
  try {
    chunks.forEach((chunk, i) => {
      job.write(chunk);
      const last = i === chunks.length - 1 && final;
      while (job.decode(t.k, last) === 'full') collect();
      collect();
    });
    for (const e of job.takeBadRecords()) {
      out.errors.push({ line: e.line, reason: BadReason[e.code], raw: e.raw, message: e.reason });
    }
    out.line = job.line;
    out.pending = job.pendingBytes;
  } finally {
    job.release();
  }
  return out;
}

/** Splits `bytes` at the given offsets (sorted, within [0, length]). */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Kafka's murmur2 (Utils.murmur2, seed 0x9747b28c) as an unsigned 32-bit value: the hashes' reference. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const n = data.length;
  let h = 0x9747b28c ^ n;
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  switch (n & 3) {
    case 3:
      h ^= data[n4 + 2]! << 16;
    // falls through
    case 2:
      h ^= data[n4 + 1]! << 8;
    // falls through
    case 1:
      h ^= data[n4]!;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Whether the wasm murmur2 is implemented yet (a stub returns 0 for everything). */
export function murmur2IsReal(t: TestKernels): boolean {
  const p = t.put(new TextEncoder().encode('sluice'));
  return (t.k.murmur2(p, 6) >>> 0) === murmur2(new TextEncoder().encode('sluice'));
}
