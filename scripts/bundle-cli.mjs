#!/usr/bin/env node
// Bundles the `sluice` command (dist/cli/main.js, as tsc built it) into dist/bin/: what the package's
// bin runs.
//
// Loading the CLI module by module costs more than the work of a short job: ~100 ms on these machines
// before a Kafka job connects, most of it resolving and reading kafkajs's files (hundreds) one require() at a
// time. Bundled, the command starts from one entry file, and each subcommand's code, kafkajs with it, is
// one chunk that its dynamic import() loads when it runs (--splitting), so a file job never reads the
// Kafka client.
//
//   dist/bin/sluice.mjs        entry: commander, the early runtime, the argument parser
//   dist/bin/<name>-<hash>.mjs  the chunks the entry imports as it needs them
//
// piscina stays outside the bundle: it starts its workers from a file of its own beside its code. The
// workers' entry is dist/runtime/worker-entry.cjs, and the bundle finds it, the kernels (build/) and
// package.json by the same relative paths as dist/cli/main.js, since dist/bin/ is as deep as dist/cli/.
// The bundled CommonJS (kafkajs, commander) require()s Node's built-in modules, so each chunk gets a
// require of its own (createRequire).

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/bin');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { sluice: path.join(root, 'dist/cli/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]',
  external: ['piscina'],
  banner: { js: "import { createRequire as sluiceCreateRequire } from 'node:module'; const require = sluiceCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
