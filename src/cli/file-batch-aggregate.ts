// `sluice aggregate` over a file in micro-batches: --follow (a growing file) and/or --checkpoint (resume after a crash).
//
//   start:  restore the newest usable checkpoint N (state, byte position, line)   store.restore
//           replay the intents after N, each with exactly its recorded range      store.intents
//   loop:   cut batch N+1 at a --batch-interval tick, or once the file grew by about --batch-size records:
//           bytes [position, file size now), at most --batch-size records
//           record the intent (fsynced)                                           store.writeIntent
//           decode + aggregate, stamped N+1                                       agg.step
//           dead letters appended and fsynced; batch output written atomically    <out>-<N+1>.csv/
//           checkpoint N+1 (state + position + counters)                          store.save
//   end:    follow: SIGINT/SIGTERM, after the batch at hand; bounded: the end of the file seen at start,
//           then the final --out file, as the plain job writes it.
//
// A batch is a pure function of (checkpoint N, its range): the same bytes decoded with the same limit
// fold into the same state and give the same changed keys in the same order. So a batch replayed after
// a crash rewrites its output directory with the same bytes, the dead-letter file is cut back to its
// checkpointed length before the replay re-appends, and nothing is lost or counted twice.
//
// Without --checkpoint (follow only) the same loop runs with no intents and no checkpoints: a restart
// starts over from the beginning of the file, and batch ids from 1.

import { open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CheckpointError, IOError } from '../errors.js';
import { bomLength } from '../codec/bom.js';
import { readCsvHeader } from '../codec/csv-header.js';
import type { BadRecord } from '../codec/decode-job.js';
import type { AggregateSpec } from '../plan/aggregate-spec.js';
import { Batch } from '../plan/batch.js';
import { KernelRuntime } from '../runtime/pool.js';
import { ColumnarAggregate, DEFAULT_SHARDS, aggMask, badRecordError } from '../runtime/columnar-aggregate.js';
import { csvResultHeader, ResultRows, writeCsvResult } from '../sinks/csv-result.js';
import { DeadLetters } from '../sinks/dead-letter-file.js';
import { TextFilesSink } from '../sinks/text-files.js';
import {
  CheckpointStore, type FileOffset, type FileRange, type StoredCheckpoint,
} from '../state/checkpoint-store.js';
import { sha256Hex } from '../state/durable-fs.js';
import type { Fingerprint } from '../state/fingerprint.js';
import type { ByteShardTable } from '../state/shard-table.js';
import { deadLetterLine, fileDecodeOptions, inputError, type AggregateResult } from './aggregate.js';
import { aggregateState, countersExtra, countersOf, deadLetterKeep, restoreAggregate, type JobCounters } from './aggregate-checkpoint.js';

const CHUNK_BYTES = 4 * 1024 * 1024;
/** Follow mode: how often the file's size is looked at between ticks, for a batch cut by size. */
const SIZE_POLL_MS = 50;
/** A checkpointed position also holds the SHA-256 of the file's first bytes (at most this many), to notice a replaced file. */
const PREFIX_CHECK_BYTES = 64 * 1024;

export interface FileBatchOptions {
  /** Ends the job after the batch at hand (the CLI wires SIGINT/SIGTERM here). */
  signal?: AbortSignal;
  /** Where warnings go (default: `sluice: warning: ...` on stderr). */
  warn?: (message: string) => void;
  /** Where notes on a restart go (restored checkpoint, replayed batches; default: stderr). */
  note?: (message: string) => void;
}

export interface FileBatchResult extends AggregateResult {
  /** Id of the last batch in the state (checkpointed when --checkpoint is given). */
  batch: number;
  /** Batches run by this process, replays included. */
  batchesRun: number;
  /** Batches replayed from their intents. */
  replayed: number;
}

/** The fingerprint of a file aggregate job: what must stay the same for its checkpoint to mean anything. */
export function fileJobFingerprint(spec: AggregateSpec): Fingerprint {
  return {
    job: 'sluice aggregate',
    '--input': resolve(spec.input),
    '--format': spec.format,
    '--header': spec.header,
    '--key': spec.key,
    '--value': spec.value ?? null,
    '--agg': spec.aggs.join(','),
    shards: DEFAULT_SHARDS,
  };
}

/** `--out PREFIX[.csv]` in follow mode: batch N goes to `PREFIX-N.csv/part-00000` (+ `_SUCCESS`). */
export function followOutPrefix(out: string): string {
  return out.endsWith('.csv') ? out.slice(0, -'.csv'.length) : out;
}

/** Where a job's checkpointed position and counters come from: a checkpoint, or the start. */
interface Resume extends JobCounters {
  batch: number;
  byte: number;
  line: number;
  tables: ByteShardTable[] | undefined;
}

const stopped = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (stopped(signal)) return Promise.resolve();
  return new Promise((resolveWait) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolveWait();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done);
  });
}

/** Runs `sluice aggregate` with --follow and/or --checkpoint over a file. Rejects with a SluiceError. */
export async function runFileBatches(spec: AggregateSpec, options: FileBatchOptions = {}): Promise<FileBatchResult> {
  const path = resolve(spec.input);
  const signal = options.signal;
  const follow = spec.follow === true;
  const note = options.note ?? ((m: string) => void process.stderr.write(`sluice: ${m}\n`));
  // stopped before the input had a start: what a run that read nothing prints
  const nothing = (): FileBatchResult => {
    if (follow && spec.out === '-') process.stdout.write(csvResultHeader(spec.aggs));
    return emptyResult();
  };
  const fh = await openInput(spec, follow, signal, note);
  if (fh === null) return nothing();
  const rt = KernelRuntime.create({ workers: spec.workers });
  let store: CheckpointStore | undefined;
  let agg: ColumnarAggregate | undefined;
  let dead: DeadLetters | undefined;
  let restoredTables: ByteShardTable[] | undefined;
  try {
    const start = await readStart(fh, spec, follow, signal);
    if (start === null) return nothing(); // stopped while waiting for the start of a followed file
    const dataStart = { byte: start.byte, line: start.line };
    const columns = start.columns;

    let resume: Resume = { batch: 0, ...dataStart, records: 0, bad: 0, deadLetter: undefined, tables: undefined };
    if (spec.checkpoint !== undefined) {
      store = await CheckpointStore.open(spec.checkpoint, {
        keep: spec.checkpointKeep,
        keepOption: '--checkpoint-keep',
        fingerprint: fileJobFingerprint(spec),
        warn: options.warn,
      });
      const restored = await store.restore((c) => acceptCheckpoint(c, rt, fh, path, dataStart.byte, aggMask(spec.aggs)));
      if (restored) {
        resume = restored.value;
        restoredTables = resume.tables;
        Object.assign(resume, await afterUnterminated(fh, spec, restored.checkpoint.path, resume));
        note(`restored checkpoint of batch ${resume.batch} from ${restored.checkpoint.path}: resuming ${spec.input} at byte ${resume.byte}, line ${resume.line}`);
      }
    }
    const intents = store ? await store.intents(resume.batch) : [];
    const maxRecords = Math.max(spec.batchSize, ...intents.map((i) => (i.ranges.input as FileRange | undefined)?.maxRecords ?? 0));

    let skipped = resume.bad;
    const source = spec.input;
    const onBadRecord = (bad: BadRecord): Promise<void> | undefined => {
      if (spec.onError.kind === 'fail') throw badRecordError(source, bad);
      skipped++;
      return dead?.add(deadLetterLine(bad));
    };
    // a header-less CSV that holds no record at all reads no column: any index will do
    const noRecord = spec.format === 'csv' && spec.header && columns === undefined;
    agg = new ColumnarAggregate(rt, {
      decode: fileDecodeOptions(spec, {
        ...(noRecord ? { key: '0', value: spec.value === undefined ? undefined : '0' } : {}),
        firstLine: resume.line,
        names: columns,
        inputBytes: CHUNK_BYTES * 2,
        maxRecords,
      }),
      aggs: spec.aggs,
      onBadRecord,
    });
    if (restoredTables) {
      for (let s = 0; s < restoredTables.length; s++) agg.state.replaceTable(s, restoredTables[s]!);
      restoredTables = undefined;
    }
    agg.resumeAfter(resume.batch);
    if (spec.onError.kind === 'dead-letter') {
      const path = spec.onError.path;
      // restored: cut back to the checkpoint's length (only if it is the file the checkpoint counted)
      dead = await DeadLetters.open(path, deadLetterKeep(path, resume.batch, resume), store !== undefined);
    }

    const outPrefix = follow && spec.out !== '-' ? followOutPrefix(spec.out) : undefined;
    const outSink = outPrefix !== undefined ? new TextFilesSink<string>(outPrefix, 'csv', (line) => line) : undefined;
    if (outPrefix !== undefined) await removeStaleTemps(outPrefix);
    if (follow && spec.out === '-') process.stdout.write(csvResultHeader(spec.aggs));

    let readPos = resume.byte;
    let batch = resume.batch;
    let records = resume.records;
    let batchesRun = 0;
    // bytes and records of this run's batches: the size of a record, for cutting batches by size
    let bytesSeen = 0;
    let recordsSeen = 0;
    const position = (): number => readPos - agg!.pendingBytes;

    /** Runs batch `id` over `range`; false when it took no input at all (nothing to write: the id is reused). */
    const runBatch = async (id: number, time: number, range: FileRange, replay: boolean): Promise<{ ran: boolean; full: boolean }> => {
      if (range.from.byte !== position()) {
        throw new CheckpointError(
          spec.checkpoint ?? '',
          `batch intent ${id} starts at byte ${range.from.byte} of ${spec.input}, but the checkpoint is at byte ${position()}: ` +
            `the checkpoint directory is inconsistent; remove it to start over`,
          { batch: id },
        );
      }
      if (replay) {
        // a replay must read exactly the bytes the batch read before the restart
        const size = (await fh.stat()).size;
        if (size < range.to) throw shrank(spec, range.to, size);
      } else if (store) {
        await store.writeIntent({ batch: id, time, ranges: { input: range } });
      }
      const read = async (into: Uint8Array): Promise<number> => {
        const want = Math.min(into.length, range.to - readPos);
        if (want <= 0) return 0;
        let n: number;
        try {
          n = (await fh.read(into, 0, want, readPos)).bytesRead;
        } catch (cause) {
          throw inputError(spec, cause);
        }
        readPos += n;
        return n;
      };
      const before = position();
      const step = await agg!.step(read, CHUNK_BYTES, { stamp: id, maxRecords: range.maxRecords, final: range.final });
      if (position() === before) return { ran: false, full: false };
      records += step.records;
      recordsSeen += step.records;
      bytesSeen += position() - before;
      if (dead) await dead.flush();
      if (follow) await writeBatchOutput(id, agg!, spec, outSink);
      if (store) {
        await store.save({
          batch: id,
          time,
          shards: agg!.state.size,
          offsets: { input: await fileOffset(fh, path, position(), agg!.line, columns) },
          states: [aggregateState(agg!)],
          extra: countersExtra({ records, bad: skipped, deadLetter: dead }),
        });
      }
      batch = id;
      batchesRun++;
      return { ran: true, full: step.full };
    };

    let replayed = 0;
    for (const intent of intents) {
      const range = intent.ranges.input;
      if (range?.kind !== 'file') throw new CheckpointError(spec.checkpoint!, `batch intent ${intent.batch} has no file range for the input`);
      note(`replaying batch ${intent.batch} (bytes ${range.from.byte}..${range.to} of ${spec.input}) as it was cut before the restart`);
      await runBatch(intent.batch, intent.time, range, true);
      replayed++;
    }

    if (!follow) {
      // bounded: batches up to the end of the file as it is now, then the final result
      const end = (await fh.stat()).size;
      if (end < position()) throw shrank(spec, position(), end);
      let full = true;
      while (full && position() < end && !stopped(signal)) {
        ({ full } = await runBatch(batch + 1, Date.now(), rangeFrom(position(), agg.line, end, spec.batchSize, true), false));
      }
      if (stopped(signal)) return { records, skipped, groups: agg.state.count, batch, batchesRun, replayed };
      const groups = await writeCsvResult(agg, spec);
      return { records, skipped, groups, batch, batchesRun, replayed };
    }

    /**
     * Waits for the next tick, or until the file has grown by about --batch-size records (estimated
     * from the bytes per record so far): then the batch is cut by size, before the tick. Returns true then.
     */
    const waitForTickOrSize = async (): Promise<boolean> => {
      while (!stopped(signal) && Date.now() < nextTick) {
        await pause(Math.min(SIZE_POLL_MS, nextTick - Date.now()), signal);
        if (recordsSeen === 0) continue;
        const size = (await fh.stat()).size;
        if (size - position() >= (bytesSeen / recordsSeen) * spec.batchSize) return true;
      }
      return false;
    };

    // what the file already holds is taken at once, not after a first interval
    let backlog = (await fh.stat()).size > readPos || agg.pendingBytes > 0;
    let nextTick = Date.now() + spec.batchInterval;
    while (!stopped(signal)) {
      if (!backlog) {
        const bySize = await waitForTickOrSize();
        if (stopped(signal)) break;
        // ticks missed while a batch ran coalesce into the next one, as the API's scheduler does
        if (!bySize) nextTick += Math.max(1, Math.ceil((Date.now() - nextTick + 1) / spec.batchInterval)) * spec.batchInterval;
      }
      const size = await currentSize(fh, path, spec);
      if (size < readPos) throw shrank(spec, readPos, size);
      if (size === readPos && !backlog) continue;
      const r = await runBatch(batch + 1, Date.now(), rangeFrom(position(), agg.line, size, spec.batchSize, false), false);
      backlog = r.full;
    }
    return { records, skipped, groups: agg.state.count, batch, batchesRun, replayed };
  } finally {
    for (const t of restoredTables ?? []) t.free();
    await dead?.close();
    await agg?.close();
    await rt.close();
    await store?.close();
    await fh.close();
  }
}

/**
 * Opens the input. A followed file that does not exist yet is waited for, as `tail -F` does (a note
 * says so once); null: stopped while waiting. A bounded job fails at once.
 */
async function openInput(
  spec: AggregateSpec, follow: boolean, signal: AbortSignal | undefined, note: (message: string) => void,
): Promise<FileHandle | null> {
  let waiting = false;
  for (;;) {
    try {
      return await open(resolve(spec.input), 'r');
    } catch (cause) {
      if (!follow || (cause as NodeJS.ErrnoException).code !== 'ENOENT') throw inputError(spec, cause);
    }
    if (!waiting) note(`waiting for ${spec.input} to be created`);
    waiting = true;
    await pause(Math.min(spec.batchInterval, 200), signal);
    if (stopped(signal)) return null;
  }
}

/**
 * A bounded run counts a last record that has no line feed yet (the end of the input ends it). When
 * the file has grown since, the bytes appended must start with that record's line terminator, which is
 * then skipped; anything else continues the record, which was counted cut short: refused.
 */
async function afterUnterminated(
  fh: FileHandle, spec: AggregateSpec, checkpoint: string, at: { byte: number; line: number },
): Promise<{ byte: number; line: number }> {
  if (at.byte === 0) return at;
  const b = new Uint8Array(3);
  const { bytesRead } = await fh.read(b, 0, 3, at.byte - 1);
  const LF = 10;
  const CR = 13;
  if (bytesRead <= 1 || b[0] === LF) return at; // nothing appended, or the record ended with its line feed
  if (b[1] === LF) return { byte: at.byte + 1, line: at.line + 1 };
  if (b[1] === CR && bytesRead === 3 && b[2] === LF) return { byte: at.byte + 2, line: at.line + 1 };
  if (b[1] === CR && bytesRead === 2) return at; // maybe the first half of a CRLF: decided when more is written
  throw new IOError(
    'ERR_INPUT',
    spec.input,
    `${spec.input} grew after checkpoint ${checkpoint} counted its last record, which had no line feed yet: ` +
      'that record was cut short when it was counted (the bytes appended continue it); start over with a new --checkpoint directory',
  );
}

function emptyResult(): FileBatchResult {
  return { records: 0, skipped: 0, groups: 0, batch: 0, batchesRun: 0, replayed: 0 };
}

function rangeFrom(byte: number, line: number, to: number, maxRecords: number, final: boolean): FileRange {
  return { kind: 'file', from: { byte, line }, to, maxRecords, final };
}

function shrank(spec: AggregateSpec, had: number, now: number): IOError {
  return new IOError(
    'ERR_INPUT',
    spec.input,
    `${spec.input} shrank from ${had} to ${now} bytes: it was truncated or replaced, and a followed or checkpointed file must only grow ` +
      '(start over with a new --checkpoint directory)',
  );
}

/** The file's size now; an error when the path no longer names the file being read (rotated, replaced). */
async function currentSize(fh: FileHandle, path: string, spec: AggregateSpec): Promise<number> {
  const [open, named] = await Promise.all([fh.stat(), stat(path).catch(() => undefined)]);
  if (named && (named.ino !== open.ino || named.dev !== open.dev)) {
    throw new IOError('ERR_INPUT', spec.input, `${spec.input} was replaced by another file while being followed: sluice follows one growing file`);
  }
  return open.size;
}

/**
 * Where the data of the file starts: after a UTF-8 BOM (dropped, as the plain job drops it) and, with
 * --header, after the header line, whose column names it reads (none when a bounded input holds no
 * record). A followed file too short to tell yet is waited for. null: stopped while waiting.
 */
async function readStart(
  fh: FileHandle, spec: AggregateSpec, follow: boolean, signal: AbortSignal | undefined,
): Promise<{ byte: number; line: number; columns: string[] | undefined } | null> {
  const header = spec.format === 'csv' && spec.header;
  let bytes = new Uint8Array(0);
  for (;;) {
    const size = (await fh.stat()).size;
    let grew = false;
    if (size > bytes.length) {
      const more = new Uint8Array(Math.min(size, bytes.length + (header ? CHUNK_BYTES : 3)));
      more.set(bytes);
      const { bytesRead } = await fh.read(more, bytes.length, more.length - bytes.length, bytes.length);
      bytes = more.subarray(0, bytes.length + bytesRead);
      grew = bytesRead > 0;
    }
    const final = !follow && !grew && bytes.length >= size;
    const bom = bomLength(bytes, final);
    if (bom !== undefined) {
      if (!header) return { byte: bom, line: 1, columns: undefined };
      const h = readCsvHeader(bytes.subarray(bom), { final, source: spec.input });
      if (h) return { byte: bom + h.consumed, line: 1 + h.lines, columns: h.columns };
    }
    if (grew) continue;
    if (!follow) continue; // bounded: the next round is final
    if (stopped(signal)) return null;
    await pause(Math.min(spec.batchInterval, 200), signal);
  }
}

/** The checkpointed position of the input: byte, line, and the SHA-256 of the file's first bytes. */
async function fileOffset(fh: FileHandle, path: string, byte: number, line: number, header: string[] | undefined): Promise<FileOffset> {
  return { kind: 'file', path, byte, line, prefix: await prefixOf(fh, Math.min(byte, PREFIX_CHECK_BYTES)), ...(header ? { header } : {}) };
}

async function prefixOf(fh: FileHandle, bytes: number): Promise<{ bytes: number; sha256: string }> {
  const buf = new Uint8Array(bytes);
  const { bytesRead } = await fh.read(buf, 0, bytes, 0);
  return { bytes: bytesRead, sha256: sha256Hex(buf.subarray(0, bytesRead)) };
}

/**
 * Checks that a checkpoint fits the input file as it is now and rebuilds its shard tables. Throws a
 * SnapshotError (code ERR_CHECKPOINT: the store then tries an older checkpoint) when its state cannot be
 * rebuilt, and an IOError when the file no longer holds what the checkpoint read.
 */
async function acceptCheckpoint(
  c: StoredCheckpoint, rt: KernelRuntime, fh: FileHandle, path: string, dataStart: number, mask: number,
): Promise<Resume> {
  const offset = c.offsets.input;
  if (offset?.kind !== 'file' || !Number.isSafeInteger(offset.byte) || !Number.isSafeInteger(offset.line) || offset.byte < dataStart) {
    throw new CheckpointError(c.path, `checkpoint ${c.path} holds no file position for the input`, { batch: c.batch });
  }
  const size = (await fh.stat()).size;
  const prefix = offset.prefix;
  if (size < offset.byte || (prefix && (await prefixOf(fh, prefix.bytes)).sha256 !== prefix.sha256)) {
    throw new IOError(
      'ERR_INPUT',
      path,
      `${path} is not the file checkpoint ${c.path} read (${size < offset.byte ? `it has ${size} bytes, the checkpoint is at byte ${offset.byte}` : 'its first bytes changed'}): ` +
        'it was truncated or replaced; use a new --checkpoint directory to aggregate it from the start',
    );
  }
  const tables = restoreAggregate(c, rt, mask);
  return { batch: c.batch, byte: offset.byte, line: offset.line, ...countersOf(c.extra), tables };
}

/** Batch N's changed keys: `<prefix>-N.csv/part-00000` (header + rows) + `_SUCCESS`, or rows on stdout. */
async function writeBatchOutput(id: number, agg: ColumnarAggregate, spec: AggregateSpec, sink: TextFilesSink<string> | undefined): Promise<void> {
  const lines: string[] = [];
  for (const table of agg.state.tables) {
    if (table.count === 0) continue;
    const changed = table.changed(id);
    if (changed.length === 0) continue;
    const rows = new ResultRows(table, spec.aggs);
    for (let i = 0; i < changed.length; i++) lines.push(rows.row(changed[i]!));
  }
  if (sink) {
    await sink.write(Batch.ofRows([csvResultHeader(spec.aggs).slice(0, -1), ...lines]), id);
    return;
  }
  const text = lines.length > 0 ? lines.join('\n') + '\n' : '';
  if (text && !process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
}

/** Removes the temporary directories of batch outputs a killed process left beside the outputs. */
async function removeStaleTemps(prefix: string): Promise<void> {
  const parent = dirname(prefix);
  const stem = `.${basename(prefix)}-`;
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(stem) && /\.csv\.\d+\.tmp$/.test(name)) await rm(join(parent, name), { recursive: true, force: true });
  }
}
