// The shared memory's limit: a request past it is a MemoryLimitError whose advice fits the user who can act on it.

import { describe, expect, it } from 'vitest';
import { MemoryLimitError } from '../../src/errors.js';
import { MAX_MEMORY_BYTES, SharedArena, syncMemoryView } from '../../src/runtime/memory.js';

describe('SharedArena: past its limit', () => {
  it('at the 4 GiB a WebAssembly memory can address (every CLI job), says what a CLI user can do, not an API option', () => {
    const arena = new SharedArena({ initialBytes: 65536 });
    arena.setBase(64);
    const err = (() => {
      try {
        arena.alloc(MAX_MEMORY_BYTES);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MemoryLimitError);
    expect((err as MemoryLimitError).code).toBe('ERR_MEMORY');
    expect((err as Error).message).toBe(
      `shared memory exhausted: ${MAX_MEMORY_BYTES + 64 - 65536} more bytes requested, limit is ${MAX_MEMORY_BYTES} bytes (all a WebAssembly memory can address): ` +
        'the state of this many distinct keys does not fit in one job. Split the input by key into several jobs (each key in exactly one), ' +
        'or make batches smaller (--batch-size, options.maxBatchRecords) to leave more room to the state',
    );
    expect((err as Error).message).not.toContain('maxMemoryBytes');
  });

  it('below it (options.maxMemoryBytes), says to raise the option', () => {
    const arena = new SharedArena({ initialBytes: 65536, maximumBytes: 4 * 65536 });
    arena.setBase(64);
    expect(() => arena.alloc(5 * 65536)).toThrow(
      `shared memory exhausted: ${5 * 65536 + 64 - 65536} more bytes requested, limit is ${4 * 65536} bytes ` +
        `(raise options.maxMemoryBytes, at most ${MAX_MEMORY_BYTES}, or lower the number of distinct keys)`,
    );
  });
});

describe('syncMemoryView: a worker view of the shared memory at least as long as the host says', () => {
  it('leaves a current view alone (no grow(0): its buffer stays the same object)', () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 4, shared: true });
    const before = memory.buffer;
    syncMemoryView(memory, 2 * 65536);
    syncMemoryView(memory, 65536);
    expect(memory.buffer).toBe(before);
  });

  it('fails, naming both lengths, when the memory is shorter than the task was sent for', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    expect(() => syncMemoryView(memory, 3 * 65536)).toThrow(
      'this thread sees 65536 bytes of the shared memory, and the task was sent for 196608',
    );
    expect(memory.buffer.byteLength).toBe(65536);
  });
});
