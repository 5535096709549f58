// piscina worker entry: instantiates the kernels once over the shared memory, then runs tasks.

// piscina hands the pool's workerData to each worker as the thread's own workerData; taking it from
// node:worker_threads spares every worker loading piscina's pool code (~40 ms of its start).
import { workerData } from 'node:worker_threads';
import type { KernelExports } from '../wasm/abi.js';
import { instantiateKernels } from '../wasm/module.js';
import { syncMemoryView } from './memory.js';
import { runTask, type TaskResult, type WorkerMessage } from './tasks.js';

interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

const init = workerData as WorkerInit;
let kernels: KernelExports | undefined;
let startError: Error | undefined;
try {
  kernels = instantiateKernels(init.module, init.memory);
} catch (err) {
  // a worker that cannot start must fail every task it is given, not leave the pool waiting
  startError = err as Error;
}

export default function run(message: WorkerMessage): TaskResult {
  if (!kernels) throw startError ?? new Error('the worker has no kernels');
  syncMemoryView(init.memory, message.memoryBytes);
  return runTask(kernels, message.task);
}
