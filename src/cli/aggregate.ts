// `sluice aggregate`: reads a file or stdin in chunks, runs the columnar group-by, writes the CSV result.

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { IOError } from '../errors.js';
import { readWithoutBom, withoutBom } from '../codec/bom.js';
import { readCsvHeader, resolveCsvColumn } from '../codec/csv-header.js';
import { endStream, writeCsvResult } from '../sinks/csv-result.js';
import type { BadRecord, DecodeJobOptions } from '../codec/decode-job.js';
import type { AggregateSpec } from '../plan/aggregate-spec.js';
import { KernelRuntime } from '../runtime/pool.js';
import { ColumnarAggregate, badRecordError } from '../runtime/columnar-aggregate.js';

export interface AggregateResult {
  /** Good records aggregated. */
  records: number;
  /** Bad records skipped or dead-lettered. */
  skipped: number;
  /** Distinct keys written. */
  groups: number;
}

const CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * The state of a plain file job ends in its result, so it is hashed with fastHash, ~2.3x cheaper a key
 * than murmur2 (~35 ms of worker time per 5M keys of ~45 bytes). Followed and checkpointed file jobs
 * (file-batch-aggregate.ts) and Kafka jobs keep murmur2: their state is read again, by key and shard.
 */
const STATE_HASH = 'fast';

function inputStream(spec: AggregateSpec): Readable {
  return spec.input === '-' ? process.stdin : createReadStream(spec.input, { highWaterMark: CHUNK_BYTES });
}

function sourceName(spec: AggregateSpec): string {
  return spec.input === '-' ? 'stdin' : spec.input;
}

/**
 * Collects the bytes before the first data record when the CSV has a header; `columns` is undefined
 * when the input holds no record at all.
 */
async function* withHeader(
  chunks: AsyncIterable<Uint8Array>,
  source: string,
  onHeader: (columns: string[] | undefined, lines: number) => void,
): AsyncGenerator<Uint8Array> {
  let head = new Uint8Array(0);
  let done = false;
  for await (const chunk of chunks) {
    if (done) {
      yield chunk;
      continue;
    }
    const joined = new Uint8Array(head.length + chunk.length);
    joined.set(head);
    joined.set(chunk, head.length);
    head = joined;
    const h = readCsvHeader(head, { final: false, source });
    if (h) {
      done = true;
      onHeader(h.columns, h.lines);
      if (h.consumed < head.length) yield head.subarray(h.consumed);
    }
  }
  if (!done) {
    const h = readCsvHeader(head, { final: true, source })!;
    onHeader(h.columns, h.lines);
    if (h.consumed < head.length) yield head.subarray(h.consumed);
  }
}

/** JSON line of a dead-lettered record: its raw text, 1-based line, and why it was refused. */
export function deadLetterLine(bad: BadRecord): string {
  // ignoreBOM: a leading U+FEFF is part of the record's text, not a marker to strip
  const raw = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bad.raw);
  return JSON.stringify({ line: bad.line, reason: bad.reason, raw }) + '\n';
}

/**
 * The decoder options of a file job: the key and value columns (resolved against the header's column
 * names when there is one), the batch size, and the line number of the first byte decoded.
 */
export function fileDecodeOptions(
  spec: AggregateSpec,
  o: { key?: string; value?: string | undefined; firstLine: number; names?: string[]; inputBytes: number; maxRecords?: number },
): DecodeJobOptions {
  const key = o.key ?? spec.key;
  const value = 'value' in o ? o.value : spec.value;
  const names = o.names;
  const maxRecords = o.maxRecords ?? spec.batchSize;
  return spec.format === 'csv'
    ? {
        format: 'csv',
        keyColumn: names ? resolveCsvColumn(names, key, '--key') : Number(key),
        valueColumn: value === undefined ? undefined : names ? resolveCsvColumn(names, value, '--value') : Number(value),
        columnNames: names,
        maxRecords,
        inputBytes: o.inputBytes,
        firstLine: o.firstLine,
      }
    : { format: 'jsonl', keyPath: key, valuePath: value, maxRecords, inputBytes: o.inputBytes, firstLine: o.firstLine };
}

/** The error of an input that cannot be read. */
export function inputError(spec: AggregateSpec, cause: unknown): IOError {
  const why = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
  return new IOError('ERR_INPUT', spec.input, `cannot read ${sourceName(spec)}: ${why}`, { cause });
}

export interface RunAggregateOptions {
  /** Tests: the input from which a decode splits over two workers (ColumnarAggregateOptions.splitBytes). */
  splitBytes?: number;
  /** A runtime already started with spec.workers workers (early-runtime.ts); runAggregate closes it. */
  runtime?: KernelRuntime;
}

/** Runs `sluice aggregate` as specified; writes the result to spec.out. Rejects with a SluiceError. */
export async function runAggregate(spec: AggregateSpec, options: RunAggregateOptions = {}): Promise<AggregateResult> {
  const source = sourceName(spec);
  let dead: WriteStream | undefined;
  if (spec.onError.kind === 'dead-letter') {
    dead = createWriteStream(spec.onError.path);
    await new Promise<void>((resolve, reject) => {
      dead!.once('open', () => resolve());
      dead!.once('error', (cause) =>
        reject(new IOError('ERR_OUTPUT', (spec.onError as { path: string }).path, `cannot write the dead-letter file: ${cause.message}`, { cause })),
      );
    });
  }
  let skipped = 0;
  const onBadRecord = (bad: BadRecord): Promise<void> | undefined => {
    if (spec.onError.kind === 'fail') throw badRecordError(source, bad);
    skipped++;
    // a full write buffer pauses decoding until the file catches up: an input of bad records only
    // must not pile its dead letters up in memory
    if (dead && !dead.write(deadLetterLine(bad))) return once(dead, 'drain').then(() => undefined);
    return undefined;
  };

  const rt = options.runtime ?? KernelRuntime.create({ workers: spec.workers });
  let agg: ColumnarAggregate | undefined;
  try {
    const makeDecode = (key: string, value: string | undefined, firstLine: number, names?: string[]): DecodeJobOptions =>
      fileDecodeOptions(spec, { key, value, firstLine, names, inputBytes: CHUNK_BYTES * 2 });
    const ioError = (cause: unknown): IOError => inputError(spec, cause);
    if (spec.input !== '-' && !(spec.format === 'csv' && spec.header)) {
      // a file: read straight into the decoder's input region in the shared memory
      let fh: FileHandle;
      try {
        fh = await open(spec.input, 'r');
      } catch (cause) {
        throw ioError(cause);
      }
      try {
        agg = new ColumnarAggregate(rt, { decode: makeDecode(spec.key, spec.value, 1), aggs: spec.aggs, onBadRecord, splitBytes: options.splitBytes, hash: STATE_HASH });
        const read = readWithoutBom(async (into: Uint8Array): Promise<number> => {
          try {
            return (await fh.read(into, 0, into.length, null)).bytesRead;
          } catch (cause) {
            throw ioError(cause);
          }
        });
        while ((await agg.pushFrom(read, CHUNK_BYTES)) > 0) {
          // each call reads one chunk, decodes it and folds every full batch
        }
      } finally {
        await fh.close();
      }
    } else {
      const stream = inputStream(spec);
      const opened = new Promise<void>((resolve, reject) => {
        if (spec.input === '-') return resolve();
        stream.once('open', () => resolve());
        stream.once('error', (cause: NodeJS.ErrnoException) => reject(ioError(cause)));
      });
      await opened;
      let chunks: AsyncIterable<Uint8Array> = withoutBom(stream as AsyncIterable<Uint8Array>);
      if (spec.format === 'csv' && spec.header) {
        chunks = withHeader(chunks, source, (columns, lines) => {
          // no header line: the input holds no record, so the result is empty and no column is ever read
          const decode = columns
            ? makeDecode(spec.key, spec.value, 1 + lines, columns)
            : makeDecode('0', spec.value === undefined ? undefined : '0', 1 + lines);
          agg = new ColumnarAggregate(rt, { decode, aggs: spec.aggs, onBadRecord, splitBytes: options.splitBytes, hash: STATE_HASH });
        });
      } else {
        agg = new ColumnarAggregate(rt, { decode: makeDecode(spec.key, spec.value, 1), aggs: spec.aggs, onBadRecord, splitBytes: options.splitBytes, hash: STATE_HASH });
      }
      try {
        for await (const chunk of chunks) await agg!.push(chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code && !(err instanceof Error && 'retriable' in err)) throw ioError(err);
        throw err;
      }
    }
    await agg!.finish();
    const groups = await writeCsvResult(agg!, spec);
    return { records: agg!.records, skipped, groups };
  } finally {
    if (dead) await endStream(dead);
    await agg?.close();
    await rt.close();
  }
}
