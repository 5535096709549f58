// Runs the built `sluice` binary (dist/cli/main.js) as a user would, and gives back its exit code and output.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

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

/** `node dist/cli/main.js ...args`; resolves when it exits. */
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
