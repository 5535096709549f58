// The final result of a columnar group-by as CSV: `key,<aggs>` rows, written to a temp file that is
// renamed into place (never half-written) or to stdout.

import { unlinkSync, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { IOError } from '../errors.js';
import { csvField, csvNumber } from '../codec/csv-encode.js';
import type { AggName, AggregateSpec } from '../plan/aggregate-spec.js';
import type { ColumnarAggregate } from '../runtime/columnar-aggregate.js';
import type { ByteShardTable } from '../state/shard-table.js';

/** Ends a write stream and waits until its data is handed to the OS. */
export async function endStream(ws: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.end(() => resolve());
  });
}

/** The header line of a result: `key,<aggs>\n`. */
export function csvResultHeader(aggs: readonly AggName[]): string {
  return `key,${aggs.join(',')}\n`;
}

// ignoreBOM: keys are kept byte for byte, a key that starts with U+FEFF included
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Most key bytes a table's keys are decoded with one call (ResultRows' `whole`); beyond it, key by key. */
const WHOLE_KEYS_MAX_BYTES = 64 << 20;

/** The result rows of one shard table: `key,<aggs>` per group, RFC 4180 quoting, numbers as String(x). */
export class ResultRows {
  private readonly table: ByteShardTable;
  /** Per agg, the column it reads; avg reads sum and divides by count. */
  private readonly cols: Float64Array[];
  private readonly avg: boolean[];
  private readonly count: Float64Array;
  /** With `whole`: every key's text, when the keys are ASCII and none needs quotes; key g is [offs[g], offs[g+1]). */
  private readonly keyText: string | undefined;
  private readonly keyOffs: Uint32Array | undefined;

  /**
   * Reads the table's columns once: valid until the table next grows. With `whole` (a caller that writes
   * every row), the keys are decoded with one call rather than one per row, when they are ASCII (byte
   * and UTF-16 offsets then agree) and none holds a byte that needs quoting: ~2x faster for 10,000 rows
   * of a freshly started process, whose code is still cold when it writes its one result.
   */
  constructor(table: ByteShardTable, aggs: readonly AggName[], whole = false) {
    this.table = table;
    const sum = table.column('sum');
    this.count = table.column('count');
    this.cols = aggs.map((a) => (a === 'avg' ? sum : table.column(a)));
    this.avg = aggs.map((a) => a === 'avg');
    const keys = whole ? table.keyColumns() : undefined;
    if (keys && keys.bytes.length <= WHOLE_KEYS_MAX_BYTES) {
      const text = decoder.decode(keys.bytes);
      if (text.length === keys.bytes.length && !/[",\r\n]/.test(text)) {
        this.keyText = text;
        this.keyOffs = keys.offsets;
      }
    }
  }

  /** The row of group g, without a line feed. */
  row(g: number): string {
    const offs = this.keyOffs;
    let row = offs ? this.keyText!.slice(offs[g]!, offs[g + 1]!) : csvField(decoder.decode(this.table.key(g)));
    const { cols, avg } = this;
    for (let k = 0; k < cols.length; k++) row += ',' + csvNumber(avg[k] ? cols[k]![g]! / this.count[g]! : cols[k]![g]!);
    return row;
  }
}

/** Signals that end a process by default: one that comes while the temp file exists removes it first. */
const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Until the returned function is called, a SIGINT, SIGTERM or SIGHUP removes `path` and then ends the
 * process as the signal would have (the default action, re-raised). Only for signals nobody else
 * listens to: a job that handles them itself (a graceful stop) goes on writing.
 */
function removeOnSignal(path: string): () => void {
  const installed: Array<[NodeJS.Signals, () => void]> = [];
  for (const signal of ENDING_SIGNALS) {
    if (process.listenerCount(signal) > 0) continue;
    const handler = (): void => {
      remove();
      try {
        unlinkSync(path);
      } catch {
        // not created yet, or already renamed into place
      }
      process.kill(process.pid, signal);
    };
    process.once(signal, handler);
    installed.push([signal, handler]);
  }
  const remove = (): void => {
    for (const [signal, handler] of installed) process.off(signal, handler);
  };
  return remove;
}

/** Test hook: with SLUICE_TEST_OUT_PAUSE_MS set, the final write pauses once its temp file exists (so a signal can land there). */
async function testPause(tmp: string): Promise<void> {
  const ms = Number(process.env.SLUICE_TEST_OUT_PAUSE_MS ?? 0);
  if (!(ms > 0)) return;
  process.stderr.write(`sluice-test: writing ${tmp}\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes `key,<aggs>` rows: to a temp file renamed into place (never half-written), or to stdout. */
export async function writeCsvResult(agg: ColumnarAggregate, spec: Pick<AggregateSpec, 'out' | 'aggs'>): Promise<number> {
  const toStdout = spec.out === '-';
  const tmp = toStdout ? '' : `${spec.out}.tmp-${process.pid}`;
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  const disarm = toStdout ? () => undefined : removeOnSignal(tmp);
  try {
    if (!toStdout) fh = await open(tmp, 'w');
  } catch (cause) {
    disarm();
    throw new IOError('ERR_OUTPUT', spec.out, `cannot write ${spec.out}: ${(cause as Error).message}`, { cause });
  }
  // stdout may be a pipe whose reader went away (`| head`): the write fails with EPIPE, which must end
  // the job as an unwritable output, not crash it through an unhandled 'error' event
  let stdoutError: Error | undefined;
  const onStdoutError = (err: Error): void => void (stdoutError ??= err);
  if (toStdout) process.stdout.on('error', onStdoutError);
  const write = async (text: string): Promise<void> => {
    if (fh) {
      await fh.write(text);
      return;
    }
    await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
    if (stdoutError) throw stdoutError;
  };
  let groups = 0;
  try {
    if (fh) await testPause(tmp);
    let buf = csvResultHeader(spec.aggs);
    for (const table of agg.state.tables) {
      const n = table.count;
      if (n === 0) continue;
      const rows = new ResultRows(table, spec.aggs, true);
      for (let g = 0; g < n; g++) {
        buf += rows.row(g) + '\n';
        groups++;
        if (buf.length > 1 << 20) {
          await write(buf);
          buf = '';
        }
      }
    }
    await write(buf);
    if (fh) {
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, spec.out);
    }
  } catch (cause) {
    if (fh) await fh.close().catch(() => {});
    if (tmp) await rm(tmp, { force: true });
    if (toStdout) {
      const closed = (cause as NodeJS.ErrnoException).code === 'EPIPE' ? 'its reader closed it (EPIPE)' : (cause as Error).message;
      throw new IOError('ERR_OUTPUT', spec.out, `cannot write the result to standard output: ${closed}`, { cause });
    }
    throw new IOError('ERR_OUTPUT', spec.out, `cannot write ${spec.out}: ${(cause as Error).message}`, { cause });
  } finally {
    disarm();
  }
  return groups;
}
