// The kernel runtime: one shared memory, the compiled kernels, and either a piscina worker pool whose
// workers instantiate the module once over that memory, or inline execution on the calling thread.

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { OptionError, SluiceError } from '../errors.js';
import type { KernelExports } from '../wasm/abi.js';
import { compileKernels, instantiateKernels, type KernelBuild } from '../wasm/module.js';
import { SharedArena } from './memory.js';
import { runTask, type KernelTask, type TaskResult, type WarmUpTask, type WorkerMessage } from './tasks.js';

const WARM_UP: WarmUpTask = Object.freeze({ kind: 'warm-up' });

export interface KernelRuntimeOptions {
  /** Worker threads; 0 runs every task inline on the calling thread. Default: available cores. */
  workers?: number;
  /** Upper bound of the shared memory in bytes (default 4 GiB, the wasm32 limit). */
  maxMemoryBytes?: number;
  /** Kernel build; `debug` keeps assertions on. Default `release`. */
  build?: KernelBuild;
}

/** Where the compiled worker entry lives: dist/runtime/, from this file there or in the bundle (dist/bin/, as deep), or from src/. */
function workerFile(): string {
  const here = import.meta.url;
  const rel = here.endsWith('.ts') ? '../../dist/runtime/worker-entry.cjs' : '../runtime/worker-entry.cjs';
  return fileURLToPath(new URL(rel, here));
}

export function validateWorkers(value: unknown, name = 'options.workers'): number {
  if (value === undefined) return availableParallelism();
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 256) {
    throw new OptionError(name, `${name} must be an integer from 0 (inline) to 256`);
  }
  return value;
}

/**
 * The kernels over one shared memory. `k` is an instance on the calling thread (used inline and for
 * host-side table growth); `run` sends a task to a worker, or runs it inline when `workers` is 0.
 */
export class KernelRuntime {
  readonly arena: SharedArena;
  readonly k: KernelExports;
  readonly workers: number;
  private readonly pool: Piscina | undefined;
  /**
   * Whether a worker has answered yet. Each worker boots a Node isolate before it runs anything
   * (0.1-0.4 s here, longer than the main thread takes to reach its first task), so until one answers
   * a warm-up task, tasks run inline on the calling thread, which would otherwise wait idle. Inline
   * and pooled runs execute the same code on the same memory, so results do not depend on which ran.
   */
  private poolUp = false;
  private closed = false;

  private constructor(arena: SharedArena, k: KernelExports, workers: number, pool: Piscina | undefined) {
    this.arena = arena;
    this.k = k;
    this.workers = workers;
    this.pool = pool;
    pool?.run(this.message(WARM_UP)).then(
      () => {
        this.poolUp = true;
      },
      () => {
        this.poolUp = true; // a worker that cannot start fails the next task, which then says why
      },
    );
  }

  static create(options: KernelRuntimeOptions = {}): KernelRuntime {
    const workers = validateWorkers(options.workers);
    const build = options.build ?? 'release';
    const arena = new SharedArena({ maximumBytes: options.maxMemoryBytes });
    const module = compileKernels(build);
    const k = instantiateKernels(module, arena.memory);
    arena.setBase(k.heap_base() >>> 0);
    const pool =
      workers === 0
        ? undefined
        : new Piscina({
            filename: workerFile(),
            minThreads: workers,
            maxThreads: workers,
            idleTimeout: Number.POSITIVE_INFINITY,
            workerData: { module, memory: arena.memory },
          });
    return new KernelRuntime(arena, k, workers, pool);
  }

  /** Runs one task on a worker (or inline). Rejects with a SluiceError naming the task on failure. */
  async run(task: KernelTask): Promise<TaskResult> {
    if (this.closed) throw new SluiceError('ERR_STOPPED', 'the kernel runtime is closed');
    if (!this.pool || !this.poolUp) return runTask(this.k, task);
    try {
      return (await this.pool.run(this.message(task))) as TaskResult;
    } catch (cause) {
      throw new SluiceError('ERR_WORKER', `${task.kind} task failed in a worker: ${(cause as Error).message}`, { cause });
    }
  }

  /** A task as posted to a worker: with the memory's size here, which the worker's view must reach. */
  private message(task: KernelTask): WorkerMessage {
    return { task, memoryBytes: this.arena.u8.length };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool?.destroy();
  }
}
