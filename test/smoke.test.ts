import { describe, expect, it } from 'vitest';
import { loadTestKernels } from './helpers/wasm.js';
import { ABI_VERSION } from '../src/wasm/abi.js';

describe('wasm module', () => {
  for (const build of ['debug', 'release'] as const) {
    it(`${build} build instantiates over shared memory with the host's ABI version`, () => {
      const { k, arena } = loadTestKernels(build);
      expect(k.abi_version()).toBe(ABI_VERSION);
      expect(arena.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
      const a = arena.alloc(100);
      expect(a % 64).toBe(0);
      expect(a).toBeGreaterThanOrEqual(k.heap_base());
    });
  }
});
