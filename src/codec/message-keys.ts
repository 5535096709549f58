// Kafka message keys as key columns in the shared memory: the grouping keys of a `--message-key` job.
//
//   append(key) per message ──► keyOffs u32[n+1]   key i = keyBytes[keyOffs[i] .. keyOffs[i+1])
//                               keyBytes u8[...]    (a null key is stored empty; the source rejects it)
//   hash()                  ──► hashes u32[n]       murmur2 of each key (hash_keys_murmur2), once per chunk
//   columns(ranges)         ──► the key columns of a batch's records, which are the messages in `ranges`:
//                               one range is a view into these columns (no copy); several are gathered
//                               into a scratch region (messages without a record sit between them)
//
// The key bytes go from kafkajs's Buffer straight into the shared memory: no JS string or object per
// message. Offsets are absolute within keyBytes, so a batch that starts at message a is keyOffs + 4a.

import type { SharedArena } from '../runtime/memory.js';
import type { KernelExports } from '../wasm/abi.js';

/** Pointers of key columns in the shared memory, as the fold kernels read them. */
export interface KeyColumns {
  keyOffs: number;
  keyBytes: number;
  hashes: number;
}

export class MessageKeys {
  private readonly arena: SharedArena;
  private readonly k: KernelExports;
  private offsPtr: number;
  private offsCap: number;
  private bytesPtr: number;
  private bytesCap: number;
  private hashesPtr = 0;
  private hashed = 0;
  private scratch = 0;
  private scratchBytes = 0;
  private n = 0;
  private used = 0;
  private released = false;

  constructor(arena: SharedArena, k: KernelExports, expectedKeys = 4096) {
    this.arena = arena;
    this.k = k;
    this.offsCap = Math.max(16, expectedKeys);
    this.offsPtr = arena.alloc((this.offsCap + 1) * 4);
    this.bytesCap = Math.max(1024, expectedKeys * 16);
    this.bytesPtr = arena.alloc(this.bytesCap);
    arena.u32[this.offsPtr >>> 2] = 0;
  }

  /** Keys appended. */
  get count(): number {
    return this.n;
  }

  /** Appends one message's key (null: the empty key). */
  append(key: Uint8Array | null): void {
    const len = key === null ? 0 : key.length;
    if (this.n + 1 > this.offsCap) this.growOffsets();
    if (this.used + len > this.bytesCap) this.growBytes(this.used + len);
    if (len > 0) this.arena.u8.set(key!, this.bytesPtr + this.used);
    this.used += len;
    this.n++;
    this.arena.u32[(this.offsPtr >>> 2) + this.n] = this.used;
  }

  /** Key i's bytes: a view of the shared memory, valid until the next append. */
  key(i: number): Uint8Array {
    const offs = this.offsPtr >>> 2;
    const u32 = this.arena.u32;
    return this.arena.u8.subarray(this.bytesPtr + u32[offs + i]!, this.bytesPtr + u32[offs + i + 1]!);
  }

  /** Computes murmur2 of every key not hashed yet; returns the hashes' pointer (u32[count]). */
  hash(): number {
    if (this.hashesPtr === 0 || this.arena.sizeOf(this.hashesPtr) < this.n * 4) {
      if (this.hashesPtr !== 0) this.arena.release(this.hashesPtr);
      this.hashesPtr = this.arena.alloc(Math.max(this.offsCap, this.n) * 4);
      this.hashed = 0;
    }
    if (this.hashed < this.n) {
      this.k.hash_keys_murmur2(this.offsPtr + this.hashed * 4, this.bytesPtr, this.n - this.hashed, this.hashesPtr + this.hashed * 4);
      this.hashed = this.n;
    }
    return this.hashesPtr;
  }

  /** murmur2 of key i (after hash()). */
  hashOf(i: number): number {
    return this.arena.u32[(this.hashesPtr >>> 2) + i]!;
  }

  /**
   * The key columns of the messages in `ranges` ([start, end) message indexes, ascending, not
   * overlapping), in that order. Valid until the next call or release().
   */
  columns(ranges: ReadonlyArray<readonly [number, number]>): KeyColumns {
    const hashes = this.hash();
    if (ranges.length === 1) {
      const a = ranges[0]![0];
      return { keyOffs: this.offsPtr + a * 4, keyBytes: this.bytesPtr, hashes: hashes + a * 4 };
    }
    let n = 0;
    let bytes = 0;
    const u32 = this.arena.u32;
    const offs = this.offsPtr >>> 2;
    for (const [a, b] of ranges) {
      n += b - a;
      bytes += u32[offs + b]! - u32[offs + a]!;
    }
    const need = (n + 1) * 4 + n * 4 + bytes;
    if (need > this.scratchBytes) {
      if (this.scratch !== 0) this.arena.release(this.scratch);
      this.scratchBytes = Math.max(need, this.scratchBytes * 2);
      this.scratch = this.arena.alloc(this.scratchBytes);
    }
    const outOffs = this.scratch;
    const outHashes = outOffs + (n + 1) * 4;
    const outBytes = outHashes + n * 4;
    const mem = this.arena.u32;
    const u8 = this.arena.u8;
    let at = 0;
    let r = 0;
    mem[outOffs >>> 2] = 0;
    for (const [a, b] of ranges) {
      const from = mem[offs + a]!;
      const to = mem[offs + b]!;
      u8.copyWithin(outBytes + at, this.bytesPtr + from, this.bytesPtr + to);
      mem.copyWithin((outHashes >>> 2) + r, (hashes >>> 2) + a, (hashes >>> 2) + b);
      for (let i = a; i < b; i++) mem[(outOffs >>> 2) + r + (i - a) + 1] = mem[offs + i + 1]! - from + at;
      at += to - from;
      r += b - a;
    }
    return { keyOffs: outOffs, keyBytes: outBytes, hashes: outHashes };
  }

  /** Returns every region to the arena. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.arena.release(this.offsPtr);
    this.arena.release(this.bytesPtr);
    if (this.hashesPtr !== 0) this.arena.release(this.hashesPtr);
    if (this.scratch !== 0) this.arena.release(this.scratch);
  }

  private growOffsets(): void {
    const cap = this.offsCap * 2;
    const ptr = this.arena.alloc((cap + 1) * 4);
    this.arena.u32.copyWithin(ptr >>> 2, this.offsPtr >>> 2, (this.offsPtr >>> 2) + this.n + 1);
    this.arena.release(this.offsPtr);
    this.offsPtr = ptr;
    this.offsCap = cap;
  }

  private growBytes(need: number): void {
    const cap = Math.max(this.bytesCap * 2, need);
    const ptr = this.arena.alloc(cap);
    this.arena.u8.copyWithin(ptr, this.bytesPtr, this.bytesPtr + this.used);
    this.arena.release(this.bytesPtr);
    this.bytesPtr = ptr;
    this.bytesCap = cap;
  }
}
