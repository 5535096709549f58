// Loads the compiled kernels and instantiates them over the one shared memory.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../errors.js';
import { ABI_VERSION, type KernelExports } from './abi.js';

/** Which build of assembly/: `release` (-O3, no assertions) or `debug` (assertions on). */
export type KernelBuild = 'release' | 'debug';

const FILES: Record<KernelBuild, string> = { release: 'sluice.wasm', debug: 'sluice.debug.wasm' };

/** Path of a wasm build. Both src/wasm and dist/wasm sit two levels below the package root. */
export function kernelPath(build: KernelBuild): string {
  return fileURLToPath(new URL(`../../build/${FILES[build]}`, import.meta.url));
}

const compiled = new Map<KernelBuild, WebAssembly.Module>();

/** Compiles a build once per thread; the Module can be posted to workers as it is. */
export function compileKernels(build: KernelBuild = 'release'): WebAssembly.Module {
  let mod = compiled.get(build);
  if (!mod) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(kernelPath(build));
    } catch (cause) {
      throw new SluiceError('ERR_WASM', `cannot read ${kernelPath(build)}: run "npm run build:wasm" first`, { cause });
    }
    mod = new WebAssembly.Module(bytes);
    compiled.set(build, mod);
  }
  return mod;
}

/** Reads an AssemblyScript string (UTF-16, byte length in the 4 bytes before it) for abort messages. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return '';
  const buf = memory.buffer;
  const len = new Uint32Array(buf, ptr - 4, 1)[0]! >>> 1;
  let s = '';
  const u16 = new Uint16Array(buf, ptr, len);
  for (let i = 0; i < len; i++) s += String.fromCharCode(u16[i]!);
  return s;
}

/** Instantiates the module over `memory` and checks that its ABI is the one this host speaks. */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const imports = {
    env: {
      memory,
      abort(msg: number, file: number, line: number, column: number): never {
        throw new SluiceError(
          'ERR_WASM',
          `wasm assertion failed: ${readAsString(memory, msg)} at ${readAsString(memory, file)}:${line}:${column}`,
        );
      },
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  const exports = instance.exports as unknown as KernelExports;
  const version = exports.abi_version() >>> 0;
  if (version !== ABI_VERSION) {
    throw new SluiceError('ERR_WASM', `wasm ABI version ${version} does not match the host's ${ABI_VERSION}: rebuild with "npm run build"`);
  }
  return exports;
}
