#!/usr/bin/env node
// The `sluice` command: `aggregate` (a columnar group-by over a file, stdin or Kafka), `checkpoint inspect` and `demo`.

import { readFileSync } from 'node:fs';
import type { KernelRuntime } from '../runtime/pool.js';
import { startEarlyRuntime } from './early-runtime.js';

// a plain file job's worker threads boot while the rest of the CLI loads (see early-runtime.ts)
const early: Promise<KernelRuntime | undefined> = startEarlyRuntime(process.argv.slice(2)).catch(() => undefined);

const { Command, CommanderError, Option } = await import('commander');
const { SluiceError } = await import('../errors.js');
const { parseAggregateSpec } = await import('../plan/aggregate-spec.js');
const { runAggregate } = await import('./aggregate.js');
type AggregateSpec = import('../plan/aggregate-spec.js').AggregateSpec;
type AggregateResult = import('./aggregate.js').AggregateResult;

/** A micro-batch file job (--follow, --checkpoint): SIGINT/SIGTERM end it after the batch at hand. */
async function runFileBatchesCommand(spec: AggregateSpec): Promise<AggregateResult> {
  const { runFileBatches } = await import('./file-batch-aggregate.js');
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  if (spec.follow) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  try {
    return await runFileBatches(spec, { signal: ac.signal });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Exit codes: 0 done, 1 the job failed (bad input under --on-error fail, I/O), 2 usage error. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** The version in the package.json this file was built from (dist/cli/main.js or the bundle in dist/bin/ -> ../../package.json). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function fail(code: number, message: string): never {
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('sluice')
    .description('Micro-batch stream processing with a WebAssembly aggregation core')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);

  program
    .command('aggregate')
    .description('group records by a key and aggregate a value column (count,sum,min,max,avg)')
    .requiredOption('--input <path|-|url>', 'input file, - for standard input, or kafka://HOST:PORT[,HOST:PORT]/TOPIC[?group=G]')
    .addOption(new Option('--format <format>', 'input format (default: from the file extension)').choices(['csv', 'jsonl']))
    .option('--header', 'csv: the first record names the columns')
    .option('--key <col>', 'key column: 0-based index or header name (csv), dotted field, `a.b` for a name with a dot (jsonl)')
    .option('--message-key', 'kafka input: group by each message\'s key (its bytes) instead of --key')
    .option('--value <col>', 'value column (required unless --agg is only count)')
    .requiredOption('--agg <list>', 'comma list of count,sum,min,max,avg')
    .option('--out <path|-|url>', 'output CSV file, - for standard output, or kafka://HOST:PORT/TOPIC', '-')
    .option('--on-error <policy>', 'fail | skip | dead-letter:<path|kafka://...>', 'fail')
    .option('--dead-letter <url>', 'kafka input: bad records to kafka://HOST:PORT/TOPIC (same as --on-error dead-letter:<url>)')
    .option('--follow', 'keep reading: new lines of a growing file, or new Kafka messages (default: stop at the end seen at start)')
    .option('--batch-interval <ms>', 'file --follow: milliseconds between micro-batches (default 1000)')
    .option('--checkpoint <dir>', 'checkpoint state and input position (file byte, Kafka offsets) after every batch in <dir>, and resume from it')
    .option('--checkpoint-keep <k>', 'checkpoints kept in the --checkpoint directory (default 3)')
    .option('--exactly-once', 'kafka output: one transaction per batch holding the outputs and the consumed offsets')
    .option('--out-format <format>', 'kafka output message values: json (default) or csv')
    .option('--workers <n>', 'worker threads (0: run on the main thread)')
    .option('--batch-size <records>', 'records per micro-batch')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      if (opts.key === undefined && opts.messageKey !== true) {
        // as commander says it for the other required options
        process.stderr.write("error: required option '--key <col>' not specified\n");
        process.exit(EXIT_USAGE);
      }
      const spec = parseAggregateSpec({
        input: opts.input as string,
        format: opts.format as string | undefined,
        header: opts.header === true,
        key: opts.key as string,
        value: opts.value as string | undefined,
        agg: opts.agg as string,
        out: opts.out as string,
        onError: opts.onError as string,
        workers: opts.workers as string | undefined,
        batchSize: opts.batchSize as string | undefined,
        follow: opts.follow === true,
        exactlyOnce: opts.exactlyOnce === true,
        outFormat: opts.outFormat as string | undefined,
        deadLetter: opts.deadLetter as string | undefined,
        messageKey: opts.messageKey === true,
        batchInterval: opts.batchInterval as string | undefined,
        checkpoint: opts.checkpoint as string | undefined,
        checkpointKeep: opts.checkpointKeep as string | undefined,
      });
      // the early start read the same arguments; a runtime that does not fit the job is not used
      const started = await early;
      const plain = !spec.kafkaInput && !spec.follow && spec.checkpoint === undefined;
      const runtime = plain && started?.workers === spec.workers ? started : undefined;
      if (started && !runtime) await started.close();
      if (spec.kafkaInput) {
        const { runKafkaAggregateCommand } = await import('./kafka-aggregate.js');
        await runKafkaAggregateCommand(spec);
        return;
      }
      const result = plain ? await runAggregate(spec, { runtime }) : await runFileBatchesCommand(spec);
      // the count is reported even when it is 0, so a script can always read it
      if (spec.onError.kind === 'skip') {
        process.stderr.write(`sluice: skipped ${result.skipped} bad record${result.skipped === 1 ? '' : 's'}\n`);
      }
      if (spec.onError.kind === 'dead-letter') {
        process.stderr.write(
          `sluice: wrote ${result.skipped} bad record${result.skipped === 1 ? '' : 's'} to ${spec.onError.path}\n`,
        );
      }
    });

  program
    .command('checkpoint')
    .description('look into a checkpoint directory')
    .command('inspect')
    .description('list the checkpoints in <dir>: batch id, offsets, shards with key counts and sizes, validity')
    .argument('<dir>', 'the --checkpoint directory')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const { runCheckpointInspect } = await import('./checkpoint-inspect.js');
      process.exitCode = await runCheckpointInspect(dir, { json: opts.json === true });
    });

  program
    .command('demo')
    .description('the website monitor on the built-in page-visit generator, or on Kafka with --kafka (Ctrl-C stops it)')
    .option('--seconds <n>', 'stop after n seconds')
    .option('--out <dir>', 'where each batch is saved', './out')
    .option('--rate <records/s>', 'generated page visits per second')
    .option('--workers <n>', 'worker threads (0: run on the main thread)')
    .option('--kafka <host:port>', 'produce the visits into the Kafka topic website_logs and monitor them from there')
    .option('--dashboard [port]', 'also show the monitor in a browser, at http://127.0.0.1:<port>/ (default 4040; 0: a free port)')
    .action(async (opts: Record<string, string | undefined> & { dashboard?: string | true }) => {
      const { runDemoCommand } = await import('./demo-command.js');
      await runDemoCommand(opts);
    });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
        process.exit(0);
      }
      process.exit(EXIT_USAGE); // commander already printed "error: ..." naming the option
    }
    if (err instanceof SluiceError) {
      fail(err.code === 'ERR_OPTION' || err.code === 'ERR_USAGE' ? EXIT_USAGE : EXIT_FAILED, err.message);
    }
    fail(EXIT_FAILED, (err as Error)?.stack ?? String(err));
  }
}

await main(process.argv);
