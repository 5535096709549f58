// The checkpoint store: a job's state, source offsets and batch intents in one directory, crash-safe.
//
//   <dir>/
//     LOCK                          pid of the process using the directory
//     batch-000000000041/           checkpoint 41: the state after batch 41 ran and its outputs were written
//     batch-000000000042/
//       manifest.json               sealed JSON (sealed-json.ts): format, version, batch, time, shards,
//                                   fingerprint, offsets, states, extra, and files [{name, bytes, sha256}]
//       <state>.shard-00000.bin     one per shard of a wasm keyed state (shard-file.ts)
//       <state>.v8                  a JS state, node:v8 serialize
//     intent-000000000043.json      sealed JSON: the input batch 43 takes, recorded before it runs
//
// Writing checkpoint N: files into `.tmp-batch-N-<pid>`, each fsynced; the manifest last; the temp
// directory fsynced, renamed to batch-N, the parent fsynced; then all but the newest `keep` checkpoints
// removed, with the intents they no longer need. A crash at any instant leaves either the old set of
// checkpoints or the new one, plus a temp directory the next open removes.
//
// Reading: the newest checkpoint whose manifest seal holds, whose every file has the size and SHA-256
// the manifest lists, and which the job accepts; each one skipped is named in a warning with the file
// and the reason. A checkpoint of another format version, or of a job with another fingerprint, is
// refused with a CheckpointError: it is not damage, and silently starting over would lose the state.
//
// Intents (as Spark Structured Streaming's offsets/ log): before batch N+1 runs, the job records the
// exact input range it will take. After a crash the job restores checkpoint N and replays every intent
// after N with exactly that range, so a replayed batch computes, and writes, the same bytes.

import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CheckpointError, OptionError } from '../errors.js';
import { fsyncPath, replaceFileDurable, sha256Hex, writeFileDurable, type WrittenFile } from './durable-fs.js';
import { fingerprintChanges, isFingerprint, type Fingerprint } from './fingerprint.js';
import { DEFAULT_CHECKPOINT_KEEP, MAX_CHECKPOINT_KEEP } from './checkpoint-keep.js';
import { sealJson, unsealJson } from './sealed-json.js';
import { decodeShardFile, encodeShardFile, readShardFileHeader } from './shard-file.js';
import type { ShardSnapshot } from './shard-snapshot.js';

/** The format version this sluice writes and reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;
const FORMAT = 'sluice-checkpoint';
export { DEFAULT_CHECKPOINT_KEEP, MAX_CHECKPOINT_KEEP };

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// --- source offsets and ranges: typed, opaque to the store -------------------------------------------

/** A file source's position: the next byte to read, and the 1-based line that byte is on. */
export interface FileOffset {
  kind: 'file';
  /** The file, as an absolute path. */
  path: string;
  byte: number;
  line: number;
  /** SHA-256 of the file's first `bytes` bytes when the offset was taken: a replaced file does not match. */
  prefix?: { bytes: number; sha256: string };
  /** A CSV header's column names, when the source has read them. */
  header?: string[];
}

/** A Kafka source's position: partition -> the next offset to consume (decimal strings, as kafkajs gives them). */
export interface KafkaOffset {
  kind: 'kafka';
  topic: string;
  partitions: Record<string, string>;
}

/** The page-visit generator's position: visits produced (visit i depends only on the seed and i). */
export interface GeneratorOffset {
  kind: 'generator';
  produced: number;
  /** The run's rate clock start (ms): visit i's timestamp is start + floor(i * 1000 / rate). */
  start?: number;
}

export type SourceOffset = FileOffset | KafkaOffset | GeneratorOffset;
/** Source id -> offset. The ids are the job's own (`input` for the CLI, `source-0` ... for the API). */
export type SourceOffsets = Readonly<Record<string, SourceOffset>>;

/** The input of one batch of a file source: bytes [from.byte, to), at most maxRecords records. */
export interface FileRange {
  kind: 'file';
  from: { byte: number; line: number };
  /** First byte after the range. */
  to: number;
  /** The batch stops after this many records even if the range holds more. */
  maxRecords: number;
  /** true: the range ends the input, so a last record without a line terminator is complete. */
  final: boolean;
}

/** The input of one batch of a Kafka source: partition -> offsets [from, to). */
export interface KafkaRange {
  kind: 'kafka';
  topic: string;
  partitions: Record<string, { from: string; to: string }>;
}

/** The input of one batch of the page-visit generator: visits [from, to). */
export interface GeneratorRange {
  kind: 'generator';
  from: number;
  to: number;
  /** The rate clock start of the run that made them, so a replay gives the same timestamps. */
  start?: number;
}

export type SourceRange = FileRange | KafkaRange | GeneratorRange;

/** What batch N will take, recorded (durably) before it runs. */
export interface BatchIntent {
  batch: number;
  /** Batch time, ms since the epoch. */
  time: number;
  /** Source id -> its range in this batch. */
  ranges: Readonly<Record<string, SourceRange>>;
}

// --- state ------------------------------------------------------------------------------------------

/** A wasm keyed state: one snapshot per shard, shard s at index s. */
export interface ShardsState {
  kind: 'shards';
  /** Names the state in file names: [a-z0-9-]+. */
  id: string;
  /** AGG_* bits of the accumulator columns kept. */
  mask: number;
  shards: readonly ShardSnapshot[];
  meta?: JsonObject;
}

/** A state held as one opaque blob (a JS Map through node:v8 serialize). */
export interface BlobState {
  kind: 'blob';
  id: string;
  /** How `bytes` is encoded, e.g. `v8`. */
  encoding: string;
  bytes: Uint8Array;
  meta?: JsonObject;
}

export type OperatorState = ShardsState | BlobState;

/** What a job saves after batch `batch`. */
export interface Checkpoint {
  /** Id of the batch this is the state after: 1, 2, 3, ... */
  batch: number;
  /** That batch's time, ms since the epoch. */
  time: number;
  /** Key shards S of the job's keyed state. */
  shards: number;
  offsets: SourceOffsets;
  states: readonly OperatorState[];
  /** The job's own counters and settings (records, bad records, dead-letter file length ...). */
  extra: JsonObject;
}

/** A checkpoint read back. */
export interface StoredCheckpoint extends Checkpoint {
  /** Its directory. */
  path: string;
  /** When it was written (ISO 8601). */
  writtenAt: string;
  fingerprint: Fingerprint;
}

export interface CheckpointStoreOptions {
  /** The newest checkpoints kept; older ones are removed after each save (default 3, at least 1). */
  keep?: number;
  /** The running job; a checkpoint with another is refused. */
  fingerprint: Fingerprint;
  /** Told about each checkpoint skipped as damaged (default: `sluice: warning: ...` on stderr). */
  warn?: (message: string) => void;
  /** Names the keep option in its error message (default `options.checkpointKeep`). */
  keepOption?: string;
}

// --- the manifest -----------------------------------------------------------------------------------

interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

type ManifestState =
  | { kind: 'shards'; id: string; mask: number; files: string[]; groups: number[]; meta?: JsonObject }
  | { kind: 'blob'; id: string; encoding: string; file: string; meta?: JsonObject };

interface Manifest {
  format: typeof FORMAT;
  version: number;
  batch: number;
  time: number;
  writtenAt: string;
  shards: number;
  fingerprint: Fingerprint;
  offsets: SourceOffsets;
  states: ManifestState[];
  extra: JsonObject;
  files: ManifestFile[];
}

const MANIFEST = 'manifest.json';
const STATE_ID = /^[a-z0-9][a-z0-9-]*$/;
const BATCH_DIR = /^batch-(\d{12,})$/;
const INTENT_FILE = /^intent-(\d{12,})\.json$/;
/** A file being replaced through `<name>.tmp-<pid>` (durable-fs.ts replaceFileDurable). */
const TEMP_FILE = /\.tmp-\d+$/;

export const batchDirName = (batch: number): string => `batch-${String(batch).padStart(12, '0')}`;
const intentName = (batch: number): string => `intent-${String(batch).padStart(12, '0')}.json`;
const shardFileName = (id: string, s: number): string => `${id}.shard-${String(s).padStart(5, '0')}.bin`;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Checks a manifest's shape; returns what is wrong, or undefined. */
function manifestProblem(m: Record<string, unknown>): string | undefined {
  if (!isCount(m.batch) || m.batch < 1) return 'manifest: batch is not a positive integer';
  if (typeof m.time !== 'number' || !Number.isFinite(m.time)) return 'manifest: time is not a number';
  if (typeof m.writtenAt !== 'string') return 'manifest: writtenAt is missing';
  if (!isCount(m.shards) || m.shards < 1) return 'manifest: shards is not a positive integer';
  if (!isFingerprint(m.fingerprint)) return 'manifest: fingerprint is not a flat object';
  if (!isObject(m.offsets) || !Object.values(m.offsets).every((o) => isObject(o) && typeof o.kind === 'string')) {
    return 'manifest: offsets are not source offsets';
  }
  if (!isObject(m.extra)) return 'manifest: extra is not an object';
  if (!Array.isArray(m.files) || !m.files.every((f) => isObject(f) && typeof f.name === 'string' && isCount(f.bytes) && typeof f.sha256 === 'string')) {
    return 'manifest: files is not a list of {name, bytes, sha256}';
  }
  const listed = new Set((m.files as ManifestFile[]).map((f) => f.name));
  if (!Array.isArray(m.states)) return 'manifest: states is not a list';
  for (const s of m.states as unknown[]) {
    if (!isObject(s) || typeof s.id !== 'string' || !STATE_ID.test(s.id)) return 'manifest: a state has no valid id';
    if (s.kind === 'shards') {
      if (!Array.isArray(s.files) || s.files.length !== m.shards || !s.files.every((f) => typeof f === 'string' && listed.has(f))) {
        return `manifest: state ${s.id} does not list one listed file per shard`;
      }
      if (!isCount(s.mask) || s.mask < 1 || s.mask > 15) return `manifest: state ${s.id} has no valid column mask`;
    } else if (s.kind === 'blob') {
      if (typeof s.file !== 'string' || !listed.has(s.file) || typeof s.encoding !== 'string') return `manifest: state ${s.id} names no listed file`;
    } else {
      return `manifest: state ${s.id} is of unknown kind ${JSON.stringify(s.kind)}`;
    }
  }
  return undefined;
}

/** A checkpoint directory that cannot be used, and why. */
class Damaged extends Error {
  readonly file: string | undefined;
  constructor(file: string | undefined, reason: string) {
    super(file ? `${file}: ${reason}` : reason);
    this.file = file;
  }
}

/** Reads and verifies a checkpoint's manifest; throws Damaged, or CheckpointError for another format version. */
async function readManifest(root: string, path: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(path, MANIFEST), 'utf8');
  } catch (err) {
    throw new Damaged(MANIFEST, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message);
  }
  const sealed = unsealJson(text);
  if (!sealed.ok) throw new Damaged(MANIFEST, sealed.reason);
  const m = sealed.body;
  if (!isObject(m) || m.format !== FORMAT) throw new Damaged(MANIFEST, 'not a sluice checkpoint manifest');
  if (m.version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      root,
      `checkpoint ${path} has format version ${JSON.stringify(m.version)}, and this sluice reads version ${CHECKPOINT_FORMAT_VERSION}: ` +
        `run the sluice that wrote it, or remove ${root} to start over`,
      { batch: typeof m.batch === 'number' ? m.batch : undefined, file: MANIFEST },
    );
  }
  const problem = manifestProblem(m);
  if (problem) throw new Damaged(MANIFEST, problem);
  return m as unknown as Manifest;
}

/** Reads a file listed in a manifest and checks its size and SHA-256; throws Damaged. */
async function readListed(path: string, f: ManifestFile): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(path, f.name));
  } catch (err) {
    throw new Damaged(f.name, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message);
  }
  if (bytes.length !== f.bytes) throw new Damaged(f.name, `${bytes.length} bytes, the manifest says ${f.bytes} (truncated or torn)`);
  if (sha256Hex(bytes) !== f.sha256) throw new Damaged(f.name, 'SHA-256 mismatch (changed or corrupt)');
  return bytes;
}

/** Reads a whole checkpoint, every file verified and every shard decoded; throws Damaged. */
async function readCheckpoint(root: string, path: string): Promise<StoredCheckpoint> {
  const m = await readManifest(root, path);
  const byName = new Map(m.files.map((f) => [f.name, f]));
  const states: OperatorState[] = [];
  for (const s of m.states) {
    if (s.kind === 'blob') {
      const bytes = await readListed(path, byName.get(s.file)!);
      states.push({ kind: 'blob', id: s.id, encoding: s.encoding, bytes, ...(s.meta ? { meta: s.meta } : {}) });
      continue;
    }
    const shards: ShardSnapshot[] = [];
    for (let i = 0; i < s.files.length; i++) {
      const name = s.files[i]!;
      const bytes = await readListed(path, byName.get(name)!);
      let snap: ReturnType<typeof decodeShardFile>;
      try {
        snap = decodeShardFile(bytes);
      } catch (err) {
        throw new Damaged(name, (err as Error).message);
      }
      if (snap.shard !== i || snap.shards !== m.shards) throw new Damaged(name, `holds shard ${snap.shard} of ${snap.shards}, expected ${i} of ${m.shards}`);
      if ((snap.mask & s.mask) !== s.mask) throw new Damaged(name, `holds columns ${snap.mask}, the manifest says ${s.mask}`);
      shards.push(snap);
    }
    states.push({ kind: 'shards', id: s.id, mask: s.mask, shards, ...(s.meta ? { meta: s.meta } : {}) });
  }
  return {
    path,
    batch: m.batch,
    time: m.time,
    writtenAt: m.writtenAt,
    shards: m.shards,
    fingerprint: m.fingerprint,
    offsets: m.offsets,
    states,
    extra: m.extra,
  };
}

/** Batch ids of the checkpoint directories (or intents) in `dir`, newest first. */
async function listIds(dir: string, pattern: RegExp): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const ids: number[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (m) ids.push(Number(m[1]));
  }
  return ids.sort((a, b) => b - a);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Test hook: with SLUICE_TEST_CHECKPOINT_PAUSE_MS set, each save pauses half-way through its files (so a kill can land there). */
async function testPause(batch: number): Promise<void> {
  const ms = Number(process.env.SLUICE_TEST_CHECKPOINT_PAUSE_MS ?? 0);
  if (!(ms > 0)) return;
  process.stderr.write(`sluice-test: checkpoint ${batch} paused\n`);
  await sleep(ms);
}

function validateKeep(keep: unknown, option: string): number {
  if (keep === undefined) return DEFAULT_CHECKPOINT_KEEP;
  if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 1 || keep > MAX_CHECKPOINT_KEEP) {
    throw new OptionError(option, `${option} must be an integer from 1 to ${MAX_CHECKPOINT_KEEP} (checkpoints kept)`);
  }
  return keep;
}

/**
 * A job's checkpoints in one directory. Open it once per run, `restore()` before the first batch, then
 * for each batch `writeIntent()` before it runs and `save()` after its outputs are written; `close()` at the end.
 *
 * @example
 * const store = await CheckpointStore.open('ckpt', { fingerprint: { '--key': 'page' } });
 * const restored = await store.restore((c) => c); // newest usable checkpoint, or undefined
 * for (const intent of await store.intents(restored?.checkpoint.batch ?? 0)) replay(intent);
 * await store.writeIntent({ batch: 1, time: Date.now(), ranges: { input: range } });
 * await store.save({ batch: 1, time, shards: 16, offsets: { input: offset }, states: [state], extra: {} });
 */
export class CheckpointStore {
  /** The checkpoint directory. */
  readonly dir: string;
  /** Checkpoints kept. */
  readonly keep: number;
  private readonly fingerprint: Fingerprint;
  private readonly warn: (message: string) => void;
  private locked = false;

  private constructor(dir: string, keep: number, fingerprint: Fingerprint, warn: (message: string) => void) {
    this.dir = dir;
    this.keep = keep;
    this.fingerprint = fingerprint;
    this.warn = warn;
  }

  /**
   * Opens (creating it if needed) a checkpoint directory for the job with `fingerprint`: takes its
   * LOCK (refusing a directory a live process holds) and removes what an interrupted save left.
   */
  static async open(dir: string, options: CheckpointStoreOptions): Promise<CheckpointStore> {
    const keep = validateKeep(options.keep, options.keepOption ?? 'options.checkpointKeep');
    if (typeof dir !== 'string' || dir === '') throw new OptionError('checkpointDir', 'the checkpoint directory must be a non-empty path');
    const warn = options.warn ?? ((message: string) => void process.stderr.write(`sluice: warning: ${message}\n`));
    const store = new CheckpointStore(dir, keep, options.fingerprint, warn);
    try {
      const info = await stat(dir).catch(() => undefined);
      if (info && !info.isDirectory()) {
        throw new CheckpointError(dir, `cannot use checkpoint directory ${dir}: it is a file, not a directory (give a directory path, or remove the file)`);
      }
      await mkdir(dir, { recursive: true });
      await store.lock();
      // what a killed process left: a save (.tmp-batch-*), a retention cleanup (.old-batch-*), an intent
      // write (intent-*.json.tmp-<pid>); we hold the LOCK, so nobody else is writing them
      for (const name of await readdir(dir)) {
        if (name.startsWith('.tmp-') || name.startsWith('.old-') || TEMP_FILE.test(name)) await rm(join(dir, name), { recursive: true, force: true });
      }
    } catch (err) {
      await store.close();
      if (err instanceof CheckpointError) throw err;
      throw new CheckpointError(dir, `cannot use checkpoint directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }

  /** Writes LOCK with our pid; a LOCK whose process is gone (a killed job) is taken over. */
  private async lock(): Promise<void> {
    const path = join(this.dir, 'LOCK');
    const key = resolve(this.dir);
    if (LOCKED_HERE.has(key)) {
      throw new CheckpointError(this.dir, `checkpoint directory ${this.dir} is in use by another job of this process: run one job per checkpoint directory`);
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const h = await open(path, 'wx');
        await h.writeFile(`${process.pid}\n`);
        await h.close();
        this.locked = true;
        LOCKED_HERE.add(key);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new CheckpointError(
          this.dir,
          `checkpoint directory ${this.dir} is in use by process ${pid}: run one job per checkpoint directory ` +
            `(if no sluice job uses it, remove ${path})`,
        );
      }
      await unlink(path).catch(() => undefined);
    }
    throw new CheckpointError(this.dir, `cannot lock checkpoint directory ${this.dir}`);
  }

  /** Releases the directory's LOCK. */
  async close(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    LOCKED_HERE.delete(resolve(this.dir));
    await unlink(join(this.dir, 'LOCK')).catch(() => undefined);
  }

  /**
   * Finds the newest usable checkpoint and hands it to `accept`, which restores the job from it and
   * returns what it likes. A checkpoint that is damaged — or that `accept` rejects by throwing an
   * error with code ERR_CHECKPOINT (a SnapshotError) — is skipped with a warning naming it, the file
   * and the reason, and the next older one is tried. Resolves undefined when the directory holds no
   * checkpoint. Throws CheckpointError when the usable one belongs to another job (saying what
   * changed), has another format version, or when every checkpoint is damaged.
   */
  async restore<T>(accept: (checkpoint: StoredCheckpoint) => T | Promise<T>): Promise<{ checkpoint: StoredCheckpoint; value: T } | undefined> {
    const ids = await listIds(this.dir, BATCH_DIR);
    const skipped: string[] = [];
    for (const id of ids) {
      const path = join(this.dir, batchDirName(id));
      const loaded = await this.load(id);
      if (!loaded.ok) {
        skipped.push(`${path}: ${loaded.problem}`);
        continue;
      }
      const checkpoint = loaded.checkpoint;
      this.checkFingerprint(checkpoint);
      let value: T;
      try {
        value = await accept(checkpoint);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_CHECKPOINT' || err instanceof CheckpointError) throw err;
        skipped.push(`${path}: ${(err as Error).message}`);
        continue;
      }
      for (const s of skipped) this.warn(`skipped damaged checkpoint ${s}; restored batch ${id} from ${path}`);
      return { checkpoint, value };
    }
    if (skipped.length > 0) {
      throw new CheckpointError(
        this.dir,
        `no usable checkpoint in ${this.dir}: ${skipped.join('; ')}. Remove ${this.dir} to start over from the beginning of the input`,
      );
    }
    return undefined;
  }

  /** Batch ids of the checkpoints in the directory, newest first (not verified). */
  async batches(): Promise<number[]> {
    return listIds(this.dir, BATCH_DIR);
  }

  /**
   * Reads and verifies checkpoint `batch` alone (seal, every file's size and SHA-256, every shard
   * decoded), with no warning: for a recovery that chooses between checkpoints itself (Kafka: the one
   * whose offsets the group committed). A damaged one gives its problem; another job's or another
   * format version's throws CheckpointError, as restore() does.
   */
  async read(batch: number): Promise<{ ok: true; checkpoint: StoredCheckpoint } | { ok: false; problem: string }> {
    const loaded = await this.load(batch);
    if (loaded.ok) this.checkFingerprint(loaded.checkpoint);
    return loaded;
  }

  /** Checkpoint `batch` verified, or the problem that makes it unusable (fingerprint not checked). */
  private async load(batch: number): Promise<{ ok: true; checkpoint: StoredCheckpoint } | { ok: false; problem: string }> {
    try {
      const checkpoint = await readCheckpoint(this.dir, join(this.dir, batchDirName(batch)));
      if (checkpoint.batch !== batch) return { ok: false, problem: `${MANIFEST}: holds batch ${checkpoint.batch}, its directory says ${batch}` };
      return { ok: true, checkpoint };
    } catch (err) {
      if (err instanceof Damaged) return { ok: false, problem: err.message };
      throw err;
    }
  }

  /** Throws CheckpointError when `c` was written by a job with another fingerprint, naming each change. */
  private checkFingerprint(c: StoredCheckpoint): void {
    const changes = fingerprintChanges(c.fingerprint, this.fingerprint);
    if (changes.length === 0) return;
    throw new CheckpointError(
      this.dir,
      `checkpoint in ${this.dir} was written by a different job: ${changes.join('; ')} ` +
        '(use another --checkpoint directory for a different job, or remove this one to start over)',
      { batch: c.batch },
    );
  }

  /**
   * The intents of the batches after `batch`, in order: the batches to replay after restoring
   * checkpoint `batch` (0: no checkpoint). Throws CheckpointError when one is damaged.
   */
  async intents(batch: number): Promise<BatchIntent[]> {
    const ids = (await listIds(this.dir, INTENT_FILE)).filter((id) => id > batch).reverse();
    const out: BatchIntent[] = [];
    for (let i = 0; i < ids.length && ids[i] === batch + 1 + i; i++) {
      const file = join(this.dir, intentName(ids[i]!));
      const sealed = unsealJson(await readFile(file, 'utf8'));
      const body = sealed.ok ? sealed.body : undefined;
      if (!isObject(body) || body.batch !== ids[i] || typeof body.time !== 'number' || !isObject(body.ranges)) {
        throw new CheckpointError(
          this.dir,
          `batch intent ${file} is damaged (${sealed.ok ? 'not an intent' : sealed.reason}), so batch ${ids[i]} cannot be replayed exactly: ` +
            `remove ${this.dir} to start over`,
          { batch: ids[i], file },
        );
      }
      out.push(body as unknown as BatchIntent);
    }
    return out;
  }

  /** Records, durably, what batch `intent.batch` will take; call before the batch runs. */
  async writeIntent(intent: BatchIntent): Promise<void> {
    if (!isCount(intent.batch) || intent.batch < 1) throw new RangeError(`intent batch must be a positive integer, got ${intent.batch}`);
    const path = join(this.dir, intentName(intent.batch));
    try {
      await replaceFileDurable(path, [Buffer.from(sealJson(intent))]);
    } catch (err) {
      throw new CheckpointError(this.dir, `cannot write batch intent ${path}: ${(err as Error).message}`, { batch: intent.batch, file: path, cause: err });
    }
  }

  /**
   * Writes checkpoint `c.batch` atomically (replacing one of that id), then drops all but the newest
   * `keep`. With `prune: false` nothing is dropped until the caller calls prune(): a job whose recovery
   * may still need the checkpoint before this one (Kafka exactly-once, until batch `c.batch` commits).
   */
  async save(c: Checkpoint, options: { prune?: boolean } = {}): Promise<void> {
    if (!isCount(c.batch) || c.batch < 1) throw new RangeError(`checkpoint batch must be a positive integer, got ${c.batch}`);
    const name = batchDirName(c.batch);
    const target = join(this.dir, name);
    const temp = join(this.dir, `.tmp-${name}-${process.pid}`);
    const files: ManifestFile[] = [];
    const states: ManifestState[] = [];
    try {
      await rm(temp, { recursive: true, force: true });
      await mkdir(temp);
      const write = async (file: string, parts: readonly Uint8Array[]): Promise<WrittenFile> => {
        const w = await writeFileDurable(join(temp, file), parts);
        files.push({ name: file, bytes: w.bytes, sha256: w.sha256 });
        return w;
      };
      const total = c.states.reduce((n, s) => n + (s.kind === 'shards' ? s.shards.length : 1), 0);
      let written = 0;
      const progress = async (): Promise<void> => {
        if (++written === Math.ceil(total / 2)) await testPause(c.batch);
      };
      for (const s of c.states) {
        if (!STATE_ID.test(s.id)) throw new RangeError(`state id ${JSON.stringify(s.id)} must match ${STATE_ID}`);
        if (s.kind === 'blob') {
          const file = `${s.id}.${s.encoding}`;
          await write(file, [s.bytes]);
          states.push({ kind: 'blob', id: s.id, encoding: s.encoding, file, ...(s.meta ? { meta: s.meta } : {}) });
          await progress();
          continue;
        }
        if (s.shards.length !== c.shards) throw new RangeError(`state ${s.id} has ${s.shards.length} shards, the checkpoint ${c.shards}`);
        const names: string[] = [];
        for (let i = 0; i < s.shards.length; i++) {
          const file = shardFileName(s.id, i);
          await write(file, encodeShardFile(s.shards[i]!, i, c.shards));
          names.push(file);
          await progress();
        }
        states.push({ kind: 'shards', id: s.id, mask: s.mask, files: names, groups: s.shards.map((x) => x.count), ...(s.meta ? { meta: s.meta } : {}) });
      }
      if (total === 0) await testPause(c.batch);
      const manifest: Manifest = {
        format: FORMAT,
        version: CHECKPOINT_FORMAT_VERSION,
        batch: c.batch,
        time: c.time,
        writtenAt: new Date().toISOString(),
        shards: c.shards,
        fingerprint: this.fingerprint,
        offsets: c.offsets,
        states,
        extra: c.extra,
        files,
      };
      await writeFileDurable(join(temp, MANIFEST), [Buffer.from(sealJson(manifest))]);
      await fsyncPath(temp);
      // rename() cannot replace a non-empty directory: a checkpoint of the same id (a replay after a
      // damaged one was skipped) is moved aside first, and removed once the new one is in place.
      const old = join(this.dir, `.old-${name}-${process.pid}`);
      const replacing = await stat(target).then(() => true, () => false);
      if (replacing) await rename(target, old);
      await rename(temp, target);
      await fsyncPath(this.dir);
      if (replacing) await rm(old, { recursive: true, force: true });
      if (options.prune !== false) await this.prune();
    } catch (err) {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
      if (err instanceof CheckpointError) throw err;
      throw new CheckpointError(this.dir, `cannot write checkpoint ${target}: ${(err as Error).message}`, { batch: c.batch, cause: err });
    }
  }

  /** Removes all but the newest `keep` checkpoints, and the intents of batches they no longer need to replay. */
  async prune(): Promise<void> {
    const ids = await listIds(this.dir, BATCH_DIR);
    try {
      for (const id of ids.slice(this.keep)) {
        // renamed out of the way first (atomic), so a kill during the removal leaves a `.old-` directory the
        // next open removes, never a half-removed checkpoint that looks damaged
        const old = join(this.dir, `.old-${batchDirName(id)}-${process.pid}`);
        await rename(join(this.dir, batchDirName(id)), old);
        await rm(old, { recursive: true, force: true });
      }
    } catch (err) {
      throw new CheckpointError(this.dir, `cannot remove old checkpoints in ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
    const oldest = ids.slice(0, this.keep).at(-1);
    if (oldest === undefined) return;
    // restoring checkpoint `oldest` replays the intents after it; older ones serve nothing
    for (const id of await listIds(this.dir, INTENT_FILE)) {
      if (id <= oldest) await unlink(join(this.dir, intentName(id))).catch(() => undefined);
    }
  }

  /**
   * Removes checkpoint `batch`, every later one, and their intents: checkpoints a job's recovery found to
   * be of batches whose output never committed (Kafka exactly-once), so those batches run again, cut anew.
   */
  async discard(batch: number): Promise<void> {
    try {
      for (const id of await listIds(this.dir, BATCH_DIR)) {
        if (id < batch) continue;
        // renamed first: a crash half-way through the removal leaves no half checkpoint under a batch's name
        const doomed = join(this.dir, `.old-${batchDirName(id)}-${process.pid}`);
        await rename(join(this.dir, batchDirName(id)), doomed);
        await fsyncPath(this.dir);
        await rm(doomed, { recursive: true, force: true });
      }
      for (const id of await listIds(this.dir, INTENT_FILE)) {
        if (id >= batch) await unlink(join(this.dir, intentName(id))).catch(() => undefined);
      }
    } catch (err) {
      throw new CheckpointError(this.dir, `cannot discard checkpoint ${batch} in ${this.dir}: ${(err as Error).message}`, { batch, cause: err });
    }
  }
}

/** Checkpoint directories this process holds (a LOCK with our own pid cannot tell two of our jobs apart). */
const LOCKED_HERE = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// --- inspection -------------------------------------------------------------------------------------

/** One shard file of a checkpoint, as `sluice checkpoint inspect` shows it. */
export interface ShardReport {
  state: string;
  shard: number;
  keys: number;
  keyBytes: number;
  fileBytes: number;
}

/** What `sluice checkpoint inspect` says about one checkpoint directory. */
export interface CheckpointReport {
  batch: number;
  path: string;
  valid: boolean;
  /** Why it cannot be used (invalid only): the file and the reason. */
  problem?: string;
  time?: number;
  writtenAt?: string;
  shards?: number;
  offsets?: SourceOffsets;
  fingerprint?: Fingerprint;
  extra?: JsonObject;
  states?: Array<{ id: string; kind: string; keys?: number; bytes: number }>;
  files?: ShardReport[];
}

/**
 * What a restart of the job that wrote the directory would do, by the rules of restore() and intents():
 * restore checkpoint `batch` (or, with none, start from the beginning) and replay the intents `replay`;
 * or refuse to run (a newer format version, every checkpoint damaged, a damaged intent to replay). A
 * different job is refused too, which inspection cannot know.
 */
export type RestartPlan =
  | { action: 'restore'; batch: number; replay: number[] }
  | { action: 'start'; replay: number[] }
  | { action: 'refuse'; reason: string };

/** What a checkpoint directory holds: every checkpoint (newest first) verified, the intents, and what a restart would do. */
export interface CheckpointDirReport {
  dir: string;
  checkpoints: CheckpointReport[];
  intents: Array<{ batch: number; time?: number; ranges?: Record<string, SourceRange>; problem?: string }>;
  restart: RestartPlan;
}

/** Verifies every checkpoint in `dir` (sizes and SHA-256 of every file) without restoring any. */
export async function inspectCheckpoints(dir: string): Promise<CheckpointDirReport> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new CheckpointError(dir, `${dir}: no such directory`);
  if (!info.isDirectory()) throw new CheckpointError(dir, `${dir} is not a directory`);
  let refusal: string | undefined; // the newest checkpoint restore() would refuse rather than skip
  const checkpoints: CheckpointReport[] = [];
  for (const id of await listIds(dir, BATCH_DIR)) {
    const path = join(dir, batchDirName(id));
    try {
      const m = await readManifest(dir, path);
      const byName = new Map(m.files.map((f) => [f.name, f]));
      const files: ShardReport[] = [];
      const states: NonNullable<CheckpointReport['states']> = [];
      for (const s of m.states) {
        if (s.kind === 'blob') {
          await readListed(path, byName.get(s.file)!);
          states.push({ id: s.id, kind: `blob (${s.encoding})`, bytes: byName.get(s.file)!.bytes });
          continue;
        }
        let keys = 0;
        let bytes = 0;
        for (let i = 0; i < s.files.length; i++) {
          const f = byName.get(s.files[i]!)!;
          const content = await readListed(path, f);
          let h: ReturnType<typeof readShardFileHeader>;
          try {
            h = readShardFileHeader(content);
          } catch (err) {
            throw new Damaged(f.name, (err as Error).message);
          }
          files.push({ state: s.id, shard: i, keys: h.groups, keyBytes: h.keyByteCount, fileBytes: f.bytes });
          keys += h.groups;
          bytes += f.bytes;
        }
        states.push({ id: s.id, kind: 'shards', keys, bytes });
      }
      checkpoints.push({
        batch: id, path, valid: true, time: m.time, writtenAt: m.writtenAt, shards: m.shards, offsets: m.offsets,
        fingerprint: m.fingerprint, extra: m.extra, states, files,
      });
    } catch (err) {
      if (err instanceof Damaged) checkpoints.push({ batch: id, path, valid: false, problem: err.message });
      else if (err instanceof CheckpointError) {
        checkpoints.push({ batch: id, path, valid: false, problem: err.message });
        if (!checkpoints.slice(0, -1).some((c) => c.valid)) refusal ??= err.message;
      } else throw err;
    }
  }
  const intents: CheckpointDirReport['intents'] = [];
  for (const id of (await listIds(dir, INTENT_FILE)).reverse()) {
    const sealed = unsealJson(await readFile(join(dir, intentName(id)), 'utf8').catch(() => ''));
    if (sealed.ok && isObject(sealed.body) && isObject(sealed.body.ranges)) {
      intents.push({ batch: id, time: sealed.body.time as number, ranges: sealed.body.ranges as Record<string, SourceRange> });
    } else {
      intents.push({ batch: id, problem: sealed.ok ? 'not an intent' : sealed.reason });
    }
  }
  return { dir, checkpoints, intents, restart: restartPlan(dir, checkpoints, intents, refusal) };
}

function restartPlan(dir: string, checkpoints: CheckpointReport[], intents: CheckpointDirReport['intents'], refusal: string | undefined): RestartPlan {
  const usable = checkpoints.find((c) => c.valid);
  if (refusal !== undefined) return { action: 'refuse', reason: refusal };
  if (!usable && checkpoints.length > 0) return { action: 'refuse', reason: `every checkpoint is damaged: remove ${dir} to start over from the beginning of the input` };
  const from = usable?.batch ?? 0;
  const replay: number[] = [];
  for (const i of intents.filter((x) => x.batch > from)) {
    if (i.batch !== from + 1 + replay.length) break; // as intents(): only the run right after the checkpoint
    if (i.problem !== undefined) return { action: 'refuse', reason: `batch intent ${i.batch} is damaged (${i.problem}), so batch ${i.batch} cannot be replayed exactly` };
    replay.push(i.batch);
  }
  return usable ? { action: 'restore', batch: usable.batch, replay } : { action: 'start', replay };
}
