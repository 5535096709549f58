// Test helper: writes keys, hashes and values into the shared arena as the decoders would (offsets + bytes columns).

import type { TestKernels } from './wasm.js';
import { murmur2 } from '../reference/murmur2.js';

export interface ByteColumns {
  n: number;
  keyOffs: number;
  keyBytes: number;
  hashes: number;
  values: number;
  /** The regions, to release after the test. */
  regions: number[];
}

/** Copies byte keys (and values) into fresh regions; hashes are the reference murmur2 unless given. */
export function putByteKeys(
  t: TestKernels,
  keys: readonly Uint8Array[],
  values?: ArrayLike<number>,
  hashes?: ArrayLike<number>,
): ByteColumns {
  const n = keys.length;
  let total = 0;
  for (const k of keys) total += k.length;
  const keyOffs = t.arena.alloc((n + 1) * 4);
  const keyBytes = t.arena.alloc(Math.max(total, 1));
  const hashPtr = t.arena.alloc(Math.max(n, 1) * 4);
  const valuePtr = t.arena.alloc(Math.max(n, 1) * 8);
  const { u8, u32, f64 } = t.arena;
  let at = 0;
  u32[keyOffs >>> 2] = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    u8.set(k, keyBytes + at);
    at += k.length;
    u32[(keyOffs >>> 2) + i + 1] = at;
    u32[(hashPtr >>> 2) + i] = hashes ? hashes[i]! >>> 0 : murmur2(k) >>> 0;
    f64[(valuePtr >>> 3) + i] = values ? values[i]! : 0;
  }
  return { n, keyOffs, keyBytes, hashes: hashPtr, values: valuePtr, regions: [keyOffs, keyBytes, hashPtr, valuePtr] };
}

/** Copies a u32 array into a fresh region. */
export function putU32(t: TestKernels, xs: ArrayLike<number>): number {
  const p = t.arena.alloc(Math.max(xs.length, 1) * 4);
  const u32 = t.arena.u32;
  for (let i = 0; i < xs.length; i++) u32[(p >>> 2) + i] = xs[i]! >>> 0;
  return p;
}

/** Copies an f64 array into a fresh region. */
export function putF64(t: TestKernels, xs: ArrayLike<number>): number {
  const p = t.arena.alloc(Math.max(xs.length, 1) * 8);
  t.arena.f64.set(Array.from(xs), p >>> 3);
  return p;
}

/** Reads u32[n] at p. */
export function readU32(t: TestKernels, p: number, n: number): number[] {
  return Array.from(t.arena.u32.subarray(p >>> 2, (p >>> 2) + n));
}
