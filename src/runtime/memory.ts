// The one shared WebAssembly.Memory and the host's allocator of regions inside it.
//
//     0            heapBase (module's read-only data below)            memory.buffer.byteLength
//     +------------+----------+------+-----------+------+------- ... --+
//     | wasm data  | region A | free | region B  | free |              |
//     +------------+----------+------+-----------+------+------- ... --+
//
// Kernels never allocate: the host hands each task (ptr, len) regions. Regions are few and large
// (batch columns, shard tables), so a first-fit free list kept sorted by address is enough; adjacent
// free blocks are merged on free. The memory only grows, and only here, on the host's thread.

import { MemoryLimitError, OptionError } from '../errors.js';

const PAGE = 65536;
/** Alignment of every region: a cache line, so two workers never share one across regions. */
export const REGION_ALIGN = 64;
/** wasm32 addresses end at 4 GiB (65536 pages). */
export const MAX_MEMORY_BYTES = 65536 * PAGE;

export interface ArenaOptions {
  /** Bytes reserved up front (rounded up to 64 KiB pages). */
  initialBytes?: number;
  /** Upper bound; the memory is declared with this maximum and never grows past it. */
  maximumBytes?: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * Makes this thread's view of the shared memory at least `bytes` long (the host's size when it sent the
 * task at hand), before a kernel runs on it. V8 tells every thread registered as sharing a memory when
 * another grows it, and the thread takes the new length at its next interrupt check. A worker takes
 * the memory from its workerData by reading the length first and registering after, so a grow on the
 * host between the two reaches it not at all: the worker keeps the old length until the next grow.
 * Plain loads and stores past it still work (the pages are mapped for every thread), but memory.copy
 * checks the length and traps with "memory access out of bounds": a key interned into a table grown
 * in that window. grow(0) takes the length again. Costs one property read when the view is current.
 */
export function syncMemoryView(memory: WebAssembly.Memory, bytes: number): void {
  if (memory.buffer.byteLength >= bytes) return;
  memory.grow(0);
  const seen = memory.buffer.byteLength;
  if (seen < bytes) throw new Error(`this thread sees ${seen} bytes of the shared memory, and the task was sent for ${bytes}`);
}

export class SharedArena {
  readonly memory: WebAssembly.Memory;
  readonly maximumBytes: number;
  private base = 0;
  /** Free blocks sorted by address: [start, size] pairs. */
  private free: Array<[number, number]> = [];
  private sizes = new Map<number, number>();
  private top = 0;
  private bufferCache: SharedArrayBuffer | undefined;
  private u8Cache!: Uint8Array;
  private u32Cache!: Uint32Array;
  private i32Cache!: Int32Array;
  private f64Cache!: Float64Array;

  constructor(options: ArenaOptions = {}) {
    const maximumBytes = options.maximumBytes ?? MAX_MEMORY_BYTES;
    if (!Number.isInteger(maximumBytes) || maximumBytes < 4 * PAGE || maximumBytes > MAX_MEMORY_BYTES) {
      throw new OptionError(
        'maxMemoryBytes',
        `options.maxMemoryBytes must be an integer from ${4 * PAGE} to ${MAX_MEMORY_BYTES} bytes`,
      );
    }
    const initialBytes = Math.min(options.initialBytes ?? 16 * 1024 * 1024, maximumBytes);
    this.maximumBytes = alignUp(maximumBytes, PAGE);
    this.memory = new WebAssembly.Memory({
      initial: Math.ceil(initialBytes / PAGE),
      maximum: this.maximumBytes / PAGE,
      shared: true,
    });
    this.refresh();
  }

  /** Called once the module is known: nothing below `heapBase` is ever handed out. */
  setBase(heapBase: number): void {
    if (this.top !== 0) throw new Error('SharedArena.setBase after the first allocation');
    this.base = alignUp(Math.max(heapBase, 8), REGION_ALIGN);
    this.top = this.base;
  }

  /** Allocates `bytes` (> 0) aligned to REGION_ALIGN; the contents are zero only if `zero`. */
  alloc(bytes: number, zero = false): number {
    if (this.base === 0) throw new Error('SharedArena.alloc before setBase');
    const size = alignUp(Math.max(bytes, 1), REGION_ALIGN);
    let ptr = -1;
    for (let i = 0; i < this.free.length; i++) {
      const [start, avail] = this.free[i]!;
      if (avail >= size) {
        ptr = start;
        if (avail === size) this.free.splice(i, 1);
        else this.free[i] = [start + size, avail - size];
        break;
      }
    }
    if (ptr < 0) {
      ptr = this.top;
      this.ensureCapacity(ptr + size);
      this.top = ptr + size;
    }
    this.sizes.set(ptr, size);
    if (zero) this.u8.fill(0, ptr, ptr + size);
    return ptr;
  }

  /** Returns a region to the free list. */
  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`SharedArena.release: ${ptr} is not an allocated region`);
    this.sizes.delete(ptr);
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]![0] < ptr) lo = mid + 1;
      else hi = mid;
    }
    this.free.splice(lo, 0, [ptr, size]);
    // merge with the next block, then with the previous one
    const cur = this.free[lo]!;
    const next = this.free[lo + 1];
    if (next && cur[0] + cur[1] === next[0]) {
      cur[1] += next[1];
      this.free.splice(lo + 1, 1);
    }
    const prev = this.free[lo - 1];
    if (prev && prev[0] + prev[1] === cur[0]) {
      prev[1] += cur[1];
      this.free.splice(lo, 1);
    }
    // a free block at the top gives its space back to the bump pointer
    const last = this.free[this.free.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.free.pop();
    }
  }

  /** Size in bytes of an allocated region. */
  sizeOf(ptr: number): number {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`SharedArena.sizeOf: ${ptr} is not an allocated region`);
    return size;
  }

  /** Bytes handed out and not released. */
  get usedBytes(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  private ensureCapacity(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > this.maximumBytes) throw new MemoryLimitError(end - have, this.maximumBytes, MAX_MEMORY_BYTES);
    const want = Math.min(this.maximumBytes, Math.max(end, have * 2));
    this.memory.grow(Math.ceil((want - have) / PAGE));
    this.refresh();
  }

  private refresh(): void {
    const buf = this.memory.buffer as SharedArrayBuffer;
    if (buf !== this.bufferCache || buf.byteLength !== this.u8Cache.length) {
      this.bufferCache = buf;
      this.u8Cache = new Uint8Array(buf);
      this.u32Cache = new Uint32Array(buf);
      this.i32Cache = new Int32Array(buf);
      this.f64Cache = new Float64Array(buf);
    }
  }

  /**
   * Views over the whole memory, renewed after growth (a grown shared memory has a new buffer). Only
   * ensureCapacity grows the memory (kernels never do), so the views are renewed there and a read is a
   * field load: asking a shared memory for its buffer costs ~40 ns, and the views are read per group
   * when results are written.
   */
  get u8(): Uint8Array {
    return this.u8Cache;
  }
  get u32(): Uint32Array {
    return this.u32Cache;
  }
  get i32(): Int32Array {
    return this.i32Cache;
  }
  get f64(): Float64Array {
    return this.f64Cache;
  }
}
