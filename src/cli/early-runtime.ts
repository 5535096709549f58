// Starts the kernel runtime of a plain `sluice aggregate` before the rest of the CLI is loaded.
//
// Each worker thread boots a Node isolate of its own (~0.1-0.25 s here) before it can run a kernel,
// and the CLI's modules (commander, the planner, the sinks) take as long again to load on the main
// thread. Started first, the workers boot while the main thread loads and parses the command line.
// Only an unmistakable file or stdin job starts early: anything else (Kafka, --follow, --checkpoint,
// help, an option value that does not parse) starts its runtime where it always did, after parsing.

import type { KernelRuntime } from '../runtime/pool.js';

/** The value of `--name v` or `--name=v` in argv (the last one, as commander takes it); undefined if absent, '' if it has none. */
function optionValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === name) value = args[i + 1] ?? '';
    else if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1);
  }
  return value;
}

/**
 * The worker count a plain file aggregate run with these arguments (process.argv.slice(2)) asks for,
 * or undefined when it is not one, or not surely: the runtime is then made after parsing as before.
 */
export function earlyWorkerCount(args: readonly string[], cores: number): number | undefined {
  if (args[0] !== 'aggregate') return undefined;
  const rest = args.slice(1);
  if (rest.some((a) => a === '--follow' || a === '--checkpoint' || a.startsWith('--checkpoint=') || a === '-h' || a === '--help')) return undefined;
  const input = optionValue(rest, '--input');
  if (!input || input.startsWith('kafka:')) return undefined;
  const workers = optionValue(rest, '--workers');
  if (workers === undefined) return cores;
  if (!/^[0-9]+$/.test(workers)) return undefined;
  const n = Number(workers);
  return n >= 1 && n <= 256 ? n : undefined; // 0 (inline) has no threads to start
}

/** Starts the runtime for `args` when earlyWorkerCount says so; resolves to it, or undefined. */
export async function startEarlyRuntime(args: readonly string[]): Promise<KernelRuntime | undefined> {
  const { availableParallelism } = await import('node:os');
  const workers = earlyWorkerCount(args, availableParallelism());
  if (workers === undefined) return undefined;
  const { KernelRuntime } = await import('../runtime/pool.js');
  return KernelRuntime.create({ workers });
}
