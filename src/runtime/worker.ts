// piscina worker entry: instantiates the kernels once over the shared memory, then runs tasks.

import { workerData } from 'piscina';
import { instantiateKernels } from '../wasm/module.js';
import { runTask, type KernelTask, type TaskResult } from './tasks.js';

interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

const init = workerData as WorkerInit;
const kernels = instantiateKernels(init.module, init.memory);

export default function run(task: KernelTask): TaskResult {
  return runTask(kernels, init.memory, task);
}
