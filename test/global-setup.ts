// vitest globalSetup: one real Apache Kafka broker for the whole run, through scripts/kafka.mjs.
//
// - KAFKA_BOOTSTRAP already set (your own Kafka): use it, start nothing, stop nothing.
// - Otherwise run `node scripts/kafka.mjs up --lease=<this pid>` and take the address from its last
//   `KAFKA_BOOTSTRAP=host:port` line. Teardown runs `release <this pid>`: the broker is stopped
//   when the last test run using it is done, unless it was brought up by hand (npm run kafka:up),
//   in which case it stays up. Test runs side by side share one broker (tests name their topics
//   and groups uniquely: uniqueName() in test/helpers/kafka.ts).
// - CI=true: a broker that fails to start fails the run. Elsewhere the failure is reported loudly
//   and the Kafka tests skip themselves (test/helpers/kafka.ts).
//
// Tests read the address with `inject('kafkaBootstrap')` (or kafkaBootstrap() from the helper);
// process.env.KAFKA_BOOTSTRAP is set too.

import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Kafka broker for this run, or undefined when none could be had. */
    kafkaBootstrap: string | undefined;
    /** Why there is no broker (set only when kafkaBootstrap is undefined). */
    kafkaUnavailable: string | undefined;
  }
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = path.join(REPO_ROOT, 'scripts', 'kafka.mjs');
const isCI = (): boolean => !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(args: string[], timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [SCRIPT, ...args],
      { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGTERM' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && code !== 0 && !stderr ? String(err.message) : '') });
      },
    );
    // Show progress (Maven fetch, start) as it happens.
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
  });
}

function parseBootstrap(stdout: string): string | undefined {
  const lines = stdout.trim().split('\n');
  const last = lines[lines.length - 1]?.trim() ?? '';
  const m = /^KAFKA_BOOTSTRAP=(\S+)$/.exec(last);
  return m?.[1];
}

function loud(message: string): void {
  const bar = '!'.repeat(100);
  process.stderr.write(`\n${bar}\n${message}\n${bar}\n\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const provide = (bootstrap: string | undefined, why: string | undefined): void => {
    project.provide('kafkaBootstrap', bootstrap);
    project.provide('kafkaUnavailable', why);
    if (bootstrap) process.env.KAFKA_BOOTSTRAP = bootstrap;
  };

  const given = process.env.KAFKA_BOOTSTRAP?.trim();
  if (given) {
    provide(given, undefined);
    return async () => {};
  }

  const r = await runScript(['up', `--lease=${process.pid}`], 15 * 60_000);
  const bootstrap = r.code === 0 ? parseBootstrap(r.stdout) : undefined;
  if (!bootstrap) {
    const why =
      `the local Kafka broker did not start (\`node scripts/kafka.mjs up\` exited ${r.code}). ` +
      `It needs Java 17+ and Maven 3 on PATH and access to Maven Central on first use; ` +
      `or set KAFKA_BOOTSTRAP=host:port to use your own Kafka.\n` +
      (r.stderr.trim() ? `Its output:\n${r.stderr.trim().split('\n').slice(-40).join('\n')}` : '');
    if (isCI()) throw new Error(`CI=true and ${why}`);
    loud(`KAFKA TESTS WILL BE SKIPPED: ${why}`);
    provide(undefined, why.split('\n')[0]);
    return async () => {};
  }
  provide(bootstrap, undefined);

  return async () => {
    const d = await runScript(['release', String(process.pid)], 2 * 60_000);
    if (d.code !== 0) process.stderr.write(`kafka release failed (exit ${d.code}):\n${d.stderr}\n`);
  };
}
