// The columnar aggregate job's specification (what `sluice aggregate` runs), validated at the boundary.

import { availableParallelism } from 'node:os';
import { extname, resolve } from 'node:path';
import { parseFieldPath } from '../codec/field-path.js';
import { OptionError } from '../errors.js';
import { DEFAULT_CHECKPOINT_KEEP, MAX_CHECKPOINT_KEEP } from '../state/checkpoint-keep.js';
import { isKafkaUrl, parseKafkaUrl, type KafkaUrl } from './kafka-url.js';

export type AggName = 'count' | 'sum' | 'min' | 'max' | 'avg';
export const AGG_NAMES: readonly AggName[] = ['count', 'sum', 'min', 'max', 'avg'];

/** dead-letter: `path` is a file, or a kafka:// URL (then `kafka` is set; Kafka input only). */
export type ErrorPolicy = { kind: 'fail' } | { kind: 'skip' } | { kind: 'dead-letter'; path: string; kafka?: KafkaUrl };

export interface AggregateSpec {
  /** A file path, or '-' for standard input. */
  input: string;
  format: 'csv' | 'jsonl';
  /** csv: the first record names the columns. */
  header: boolean;
  /** csv: a 0-based column index or (with header) a column name; jsonl: a dotted field path ('' with messageKey). */
  key: string;
  /** Kafka input: the grouping key is each message's key, byte for byte (--message-key instead of --key). */
  messageKey?: boolean;
  value: string | undefined;
  aggs: AggName[];
  /** A file path, or '-' for standard output. */
  out: string;
  onError: ErrorPolicy;
  /** Worker threads; 0 runs inline. */
  workers: number;
  /** Records per micro-batch. */
  batchSize: number;
  /** Set when --input is a kafka:// URL. */
  kafkaInput?: KafkaUrl;
  /** Set when --out is a kafka:// URL. */
  kafkaOut?: KafkaUrl;
  /**
   * Keep reading new input: a growing file (complete records only, a micro-batch every batchInterval
   * or batchSize records), or new Kafka messages. Default: stop at the end seen at start.
   */
  follow?: boolean;
  /** Follow mode with a file input: milliseconds between micro-batches. */
  batchInterval: number;
  /**
   * The checkpoint directory (state, offsets and batch intents; see src/state/checkpoint-store.ts): a file
   * input, or a Kafka input read by this job alone (src/cli/kafka-checkpoint.ts).
   */
  checkpoint?: string;
  /** Checkpoints kept. */
  checkpointKeep: number;
  /** Kafka output: one transaction per batch holding the outputs and the consumed offsets. */
  exactlyOnce?: boolean;
  /** Kafka output message values: a JSON object (default) or a CSV row. */
  outFormat?: 'json' | 'csv';
}

export interface AggregateSpecInput {
  input?: string;
  format?: string;
  header?: boolean;
  key?: string;
  value?: string;
  agg?: string;
  out?: string;
  onError?: string;
  workers?: string | number;
  batchSize?: string | number;
  follow?: boolean;
  exactlyOnce?: boolean;
  outFormat?: string;
  messageKey?: boolean;
  /** kafka://.../TOPIC: shorthand for --on-error dead-letter:kafka://.../TOPIC. */
  deadLetter?: string;
  batchInterval?: string | number;
  checkpoint?: string;
  checkpointKeep?: string | number;
}

export const DEFAULT_BATCH_SIZE = 1 << 20;
/**
 * Each record slot of a batch takes ~32 bytes of shared memory in each of the two decode jobs; 16M
 * records keep that at 1 GiB of the 4 GiB memory, leaving the rest to the keyed state.
 */
export const MAX_BATCH_SIZE = 1 << 24;
/** The largest CSV column index the decoder takes (an i32 in the decode job struct). */
export const MAX_COLUMN_INDEX = 0x7fff_ffff;
/** Follow mode: a micro-batch every second, as Spark Streaming's usual batch interval. */
export const DEFAULT_BATCH_INTERVAL_MS = 1000;

const FORMAT_BY_EXT: Record<string, 'csv' | 'jsonl'> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
};

function positiveInt(raw: string | number, option: string, min: number, max: number): number {
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new OptionError(option, `${option} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

/** A CSV `--key` / `--value` without --header: a 0-based column index the decoder can hold. */
function checkColumnIndex(raw: string, option: string): void {
  if (!/^\d+$/.test(raw)) {
    throw new OptionError(option, `${option} must be a 0-based column index for CSV without --header, got "${raw}"`);
  }
  if (Number(raw) > MAX_COLUMN_INDEX) {
    throw new OptionError(option, `${option} must be a column index from 0 to ${MAX_COLUMN_INDEX}, got "${raw}"`);
  }
}

/** A JSONL `--key` / `--value`: a dotted field path, names with a dot in backticks (field-path.ts). */
function checkFieldPath(raw: string, option: string): void {
  const p = parseFieldPath(raw);
  if ('error' in p) throw new OptionError(option, `${option} "${raw}" is not a field path: ${p.error}`);
}

/**
 * --workers when not given: the available cores; for a Kafka input one fewer (at least one). kafkajs
 * decodes every fetched message on the main thread, which keeps a core busy for the whole job, while
 * the kernels' share is a few percent of it: a second worker on two cores only adds its start-up and
 * competes with the client and the broker (1M messages on 2 cores: 2.26 s on one worker against 2.40 s
 * on two, medians of 8 alternating runs).
 */
export function defaultWorkers(kafkaInput: boolean, cores = availableParallelism()): number {
  return kafkaInput ? Math.max(1, cores - 1) : cores;
}

/** Checks CLI-shaped options and fills defaults. Throws OptionError naming the option. */
export function parseAggregateSpec(o: AggregateSpecInput): AggregateSpec {
  if (o.input === undefined || o.input === '') throw new OptionError('--input', '--input <path|-> is required');
  const kafkaInput = isKafkaUrl(o.input) ? parseKafkaUrl(o.input, '--input', true) : undefined;
  const kafkaOut = isKafkaUrl(o.out) ? parseKafkaUrl(o.out!, '--out', false) : undefined;
  let format: 'csv' | 'jsonl';
  if (o.format !== undefined) {
    if (o.format !== 'csv' && o.format !== 'jsonl') {
      throw new OptionError('--format', `--format must be csv or jsonl, got "${o.format}"`);
    }
    format = o.format;
  } else {
    // stdin and unknown extensions read as CSV, the common case for piped text
    format = o.input === '-' || kafkaInput ? 'csv' : (FORMAT_BY_EXT[extname(o.input).toLowerCase()] ?? 'csv');
  }
  if (o.header && kafkaInput) throw new OptionError('--header', '--header does not apply to a kafka:// input (each message is one record)');
  if (o.header && format !== 'csv') throw new OptionError('--header', '--header applies only to --format csv');
  if (o.messageKey) {
    // The key's source is an option, not a name: no header name or JSON field can be mistaken for it.
    if (!kafkaInput) throw new OptionError('--message-key', '--message-key needs a kafka:// --input (it groups by each message\'s key)');
    if (o.key !== undefined) throw new OptionError('--message-key', '--key and --message-key both say what to group by: give one of them');
  } else if (o.key === undefined || o.key === '') {
    throw new OptionError('--key', `--key <col> is required${kafkaInput ? ' (or --message-key to group by the message key)' : ''}`);
  } else if (format === 'csv' && !o.header) {
    checkColumnIndex(o.key, '--key');
  } else if (format === 'jsonl') {
    checkFieldPath(o.key, '--key');
  }
  if (o.value !== undefined && o.value === '') throw new OptionError('--value', '--value <col> must not be empty');
  if (o.value !== undefined && format === 'csv' && !o.header) checkColumnIndex(o.value, '--value');
  if (o.value !== undefined && format === 'jsonl') checkFieldPath(o.value, '--value');
  if (o.agg === undefined || o.agg.trim() === '') throw new OptionError('--agg', '--agg <list> is required (count,sum,min,max,avg)');
  const aggs = o.agg.split(',').map((a) => a.trim());
  for (const a of aggs) {
    if (!(AGG_NAMES as readonly string[]).includes(a)) {
      throw new OptionError('--agg', `--agg: unknown aggregation "${a}" (use a comma list of count,sum,min,max,avg)`);
    }
  }
  if (o.value === undefined && aggs.some((a) => a !== 'count')) {
    throw new OptionError('--value', `--value is required for --agg ${aggs.filter((a) => a !== 'count').join(',')}`);
  }
  let onError: ErrorPolicy = { kind: 'fail' };
  if (o.onError !== undefined) {
    if (o.onError === 'fail') onError = { kind: 'fail' };
    else if (o.onError === 'skip') onError = { kind: 'skip' };
    else if (o.onError.startsWith('dead-letter:') && o.onError.length > 'dead-letter:'.length) {
      onError = { kind: 'dead-letter', path: o.onError.slice('dead-letter:'.length) };
    } else {
      throw new OptionError('--on-error', `--on-error must be fail, skip or dead-letter:<path>, got "${o.onError}"`);
    }
  }
  if (o.deadLetter !== undefined) {
    if (o.onError !== undefined && o.onError !== 'fail' && !o.onError.startsWith('dead-letter:')) {
      throw new OptionError('--dead-letter', `--dead-letter conflicts with --on-error ${o.onError}`);
    }
    onError = { kind: 'dead-letter', path: o.deadLetter };
  }
  if (onError.kind === 'dead-letter' && isKafkaUrl(onError.path)) {
    const option = o.deadLetter !== undefined ? '--dead-letter' : '--on-error';
    if (!kafkaInput) throw new OptionError(option, `${option}: a kafka:// dead-letter topic needs a kafka:// --input`);
    onError = { kind: 'dead-letter', path: onError.path, kafka: parseKafkaUrl(onError.path, option, false) };
  } else if (o.deadLetter !== undefined) {
    throw new OptionError('--dead-letter', `--dead-letter must be a kafka:// URL (use --on-error dead-letter:<path> for a file), got "${o.deadLetter}"`);
  }
  if (o.out === '') throw new OptionError('--out', '--out must be a file path, or - for standard output');
  if (onError.kind === 'dead-letter' && !onError.kafka) {
    // the dead-letter file is opened (truncated) before the input is read: it must be neither the input nor the output
    const dead = resolve(onError.path);
    if (!kafkaInput && o.input !== '-' && dead === resolve(o.input)) {
      throw new OptionError('--on-error', `--on-error dead-letter:${onError.path} is the --input file; write bad records to another file`);
    }
    if (o.out !== undefined && o.out !== '-' && !kafkaOut && dead === resolve(o.out)) {
      throw new OptionError('--on-error', `--on-error dead-letter:${onError.path} is the --out file; write bad records to another file`);
    }
  }
  if (o.follow && o.input === '-') {
    throw new OptionError('--follow', '--follow needs a file or a kafka:// --input (standard input is read to its end anyway)');
  }
  if (o.checkpoint !== undefined) {
    if (o.checkpoint === '') throw new OptionError('--checkpoint', '--checkpoint <dir> must not be empty');
    if (o.input === '-') throw new OptionError('--checkpoint', '--checkpoint needs a file or a kafka:// --input: standard input cannot be read again after a restart');
  }
  if (o.checkpointKeep !== undefined && o.checkpoint === undefined) {
    throw new OptionError('--checkpoint-keep', '--checkpoint-keep needs --checkpoint <dir>');
  }
  if (o.batchInterval !== undefined && !(o.follow && !kafkaInput)) {
    throw new OptionError('--batch-interval', '--batch-interval applies to --follow with a file --input');
  }
  if (o.exactlyOnce && !kafkaOut) throw new OptionError('--exactly-once', '--exactly-once needs a kafka:// --out');
  if (o.exactlyOnce && !kafkaInput) throw new OptionError('--exactly-once', '--exactly-once needs a kafka:// --input');
  if (o.exactlyOnce && kafkaInput && kafkaInput.group === undefined) {
    throw new OptionError('--exactly-once', '--exactly-once needs a consumer group: --input kafka://HOST:PORT/TOPIC?group=G');
  }
  if (kafkaOut && !kafkaInput) throw new OptionError('--out', '--out kafka:// needs a kafka:// --input');
  let outFormat: 'json' | 'csv' = 'json';
  if (o.outFormat !== undefined) {
    if (o.outFormat !== 'json' && o.outFormat !== 'csv') {
      throw new OptionError('--out-format', `--out-format must be json or csv, got "${o.outFormat}"`);
    }
    if (!kafkaOut) throw new OptionError('--out-format', '--out-format applies only to a kafka:// --out');
    outFormat = o.outFormat;
  }
  const workers = o.workers === undefined ? defaultWorkers(kafkaInput !== undefined) : positiveInt(o.workers, '--workers', 0, 256);
  const batchSize = o.batchSize === undefined ? DEFAULT_BATCH_SIZE : positiveInt(o.batchSize, '--batch-size', 1, MAX_BATCH_SIZE);
  const batchInterval =
    o.batchInterval === undefined ? DEFAULT_BATCH_INTERVAL_MS : positiveInt(o.batchInterval, '--batch-interval', 1, 86_400_000);
  const checkpointKeep = o.checkpointKeep === undefined ? DEFAULT_CHECKPOINT_KEEP : positiveInt(o.checkpointKeep, '--checkpoint-keep', 1, MAX_CHECKPOINT_KEEP);
  return {
    input: o.input,
    format,
    header: o.header ?? false,
    key: o.messageKey ? '' : o.key!,
    ...(o.messageKey ? { messageKey: true } : {}),
    value: o.value,
    aggs: aggs as AggName[],
    out: o.out ?? '-',
    onError,
    workers,
    batchSize,
    ...(kafkaInput ? { kafkaInput } : {}),
    ...(kafkaOut ? { kafkaOut } : {}),
    follow: o.follow ?? false,
    batchInterval,
    ...(o.checkpoint !== undefined ? { checkpoint: o.checkpoint } : {}),
    checkpointKeep,
    exactlyOnce: o.exactlyOnce ?? false,
    outFormat,
  };
}
