// Test helper: the kernels instantiated over a fresh shared arena, debug build (assertions on) by default.

import { SharedArena } from '../../src/runtime/memory.js';
import { compileKernels, instantiateKernels, type KernelBuild } from '../../src/wasm/module.js';
import type { KernelExports } from '../../src/wasm/abi.js';

export interface TestKernels {
  k: KernelExports;
  arena: SharedArena;
  /** Copies bytes into a fresh region and returns its pointer. */
  put(bytes: Uint8Array): number;
}

export function loadTestKernels(build: KernelBuild = 'debug', maximumBytes = 1024 * 1024 * 1024): TestKernels {
  const arena = new SharedArena({ initialBytes: 4 * 1024 * 1024, maximumBytes });
  const k = instantiateKernels(compileKernels(build), arena.memory);
  arena.setBase(k.heap_base());
  return {
    k,
    arena,
    put(bytes) {
      const p = arena.alloc(Math.max(bytes.length, 1));
      arena.u8.set(bytes, p);
      return p;
    },
  };
}
