// Runs the built `sluice` binary (dist/bin/sluice.mjs, the package's bin) as a user would, and gives back its exit code and output.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO_ROOT, 'dist', 'bin', 'sluice.mjs');

export interface CliRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Bytes for stdin, written piece by piece (one write per element, a turn of the event loop apart). */
  stdin?: Uint8Array | Uint8Array[];
}

/** `node dist/bin/sluice.mjs ...args`; resolves when it exits. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {}); // the CLI may exit (usage error) before reading stdin
    const pieces = options.stdin === undefined ? [] : Array.isArray(options.stdin) ? options.stdin : [options.stdin];
    void (async () => {
      for (const p of pieces) {
        if (!child.stdin.write(p)) await new Promise((r) => child.stdin.once('drain', r));
        await new Promise((r) => setImmediate(r));
      }
      child.stdin.end();
    })();
  });
}

/** A fresh temporary directory, and a function that removes it. */
export function tempDir(prefix = 'sluice-cli-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A `sluice` process left running (a --follow job): its stderr so far, and ways to wait for it and stop it. */
export interface RunningCli {
  readonly stderr: () => string;
  readonly stdout: () => string;
  /** Resolves true once stderr matches `pattern` (false after `ms`, or when the process exited first). */
  waitFor(pattern: RegExp, ms?: number): Promise<boolean>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once it exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process exits by itself. */
  readonly exited: Promise<number | null>;
}

/** Starts `node dist/bin/sluice.mjs ...args` (with `env` added to the environment) and returns at once. */
export function startCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): RunningCli {
  return startNode(CLI, args, options);
}

/** Starts `node <script> ...args` (with `env` added to the environment) and returns at once. */
export function startNode(script: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): RunningCli {
  const env = options.env ? { ...process.env, ...options.env } : undefined;
  const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => {
    resolve(code);
    for (const w of waiters) w();
  }));
  let closed = false;
  void exited.then(() => (closed = true));
  return {
    stderr: () => err,
    stdout: () => out,
    exited,
    waitFor(pattern, ms = 60_000) {
      return new Promise((resolve) => {
        const check = (): void => {
          if (pattern.test(err)) finish(true);
          else if (closed) finish(false);
        };
        const timer = setTimeout(() => finish(false), ms);
        const finish = (ok: boolean): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(ok);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (!closed) child.kill(signal);
      return exited;
    },
  };
}

/**
 * For a test file: a temporary directory made before its tests and removed after them, and a fresh
 * subdirectory of it for each call (one per test case).
 */
export function caseDirs(prefix: string): { root: () => string; next: () => string } {
  let dir = '';
  let remove = (): void => {};
  let cases = 0;
  beforeAll(() => ({ dir, remove } = tempDir(prefix)));
  afterAll(() => remove());
  return {
    root: () => dir,
    next: () => {
      const d = path.join(dir, `case-${++cases}`);
      mkdirSync(d, { recursive: true });
      return d;
    },
  };
}
