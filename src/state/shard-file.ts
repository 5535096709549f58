// The binary file of one shard's state in a checkpoint: columnar, little-endian, every length checked on read.
//
//   offset            size        field
//   0                 8           magic "SLCSHARD"
//   8                 4           u32 version (SHARD_FILE_VERSION)
//   12                4           u32 shard index s
//   16                4           u32 shard count S
//   20                4           u32 groups n
//   24                4           u32 key bytes B
//   28                4           u32 mask: AGG_* bits of the accumulator columns present (1 count, 2 sum, 4 min, 8 max)
//   32                4(n+1)      u32 keyOffsets: key j is keyBytes[keyOffsets[j] .. keyOffsets[j+1]), keyOffsets[0] = 0, keyOffsets[n] = B
//   .                 4n          u32 hashes: murmur2 of key j (Kafka's partitioner hash)
//   .                 4n          u32 stamps: id of the batch that last updated group j
//   .                 0 or 4      zero padding to a multiple of 8
//   .                 8n each     f64 columns of mask, in the order count, sum, min, max
//   .                 B           key bytes (UTF-8 as received; not validated)
//
// Integrity is the manifest's job (a SHA-256 per file); this reader still checks every length and
// offset, so a file that passes its checksum but was written wrong cannot make it read out of bounds.

import { endianness } from 'node:os';
import { SluiceError } from '../errors.js';
import { ACC_COLUMNS, SnapshotError, type ShardSnapshot } from './shard-snapshot.js';
import type { AccColumn } from './shard-table.js';

export const SHARD_FILE_VERSION = 1;
const MAGIC = 'SLCSHARD';
const HEADER_BYTES = 32;

if (endianness() !== 'LE') {
  // typed arrays use the host's byte order; the format is little-endian
  throw new SluiceError('ERR_CHECKPOINT', 'sluice checkpoints need a little-endian host');
}

const bitCount = (mask: number): number => ACC_COLUMNS.reduce((k, c) => k + (mask & c.bit ? 1 : 0), 0);
const align8 = (n: number): number => (n + 7) & ~7;

/** Byte size of a shard file holding n groups, B key bytes and the columns of `mask`. */
function fileSize(n: number, keyBytes: number, mask: number): { columnsAt: number; keysAt: number; total: number } {
  const columnsAt = align8(HEADER_BYTES + 4 * (n + 1) + 8 * n);
  const keysAt = columnsAt + 8 * n * bitCount(mask);
  return { columnsAt, keysAt, total: keysAt + keyBytes };
}

/** The file's bytes as parts to write one after another (the big columns are not copied). */
export function encodeShardFile(snap: ShardSnapshot, shard: number, shards: number): Uint8Array[] {
  const n = snap.count;
  const B = snap.keyOffsets[n]!;
  const { columnsAt } = fileSize(n, B, snap.mask);
  const head = new Uint8Array(columnsAt);
  const view = new DataView(head.buffer);
  for (let i = 0; i < MAGIC.length; i++) head[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, SHARD_FILE_VERSION, true);
  view.setUint32(12, shard, true);
  view.setUint32(16, shards, true);
  view.setUint32(20, n, true);
  view.setUint32(24, B, true);
  view.setUint32(28, snap.mask, true);
  const u32 = new Uint32Array(head.buffer, HEADER_BYTES, 3 * n + 1);
  u32.set(snap.keyOffsets.subarray(0, n + 1), 0);
  u32.set(snap.hashes.subarray(0, n), n + 1);
  u32.set(snap.stamps.subarray(0, n), 2 * n + 1);
  const parts: Uint8Array[] = [head];
  for (const { name, bit } of ACC_COLUMNS) {
    if (!(snap.mask & bit)) continue;
    const col = snap.columns[name]!;
    parts.push(new Uint8Array(col.buffer, col.byteOffset, 8 * n));
  }
  parts.push(snap.keyBytes.subarray(0, B));
  return parts;
}

/** What the header of a shard file says. */
export interface ShardFileHeader {
  shard: number;
  shards: number;
  groups: number;
  /** B: bytes of key data. */
  keyByteCount: number;
  mask: number;
}

/** Reads the header of a shard file; throws SnapshotError saying what is wrong. */
export function readShardFileHeader(bytes: Uint8Array): ShardFileHeader {
  if (bytes.length < HEADER_BYTES) throw new SnapshotError(`${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC.charCodeAt(i)) throw new SnapshotError('not a sluice shard file (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SHARD_FILE_VERSION) throw new SnapshotError(`shard file version ${version}, expected ${SHARD_FILE_VERSION}`);
  const header = {
    shard: view.getUint32(12, true),
    shards: view.getUint32(16, true),
    groups: view.getUint32(20, true),
    keyByteCount: view.getUint32(24, true),
    mask: view.getUint32(28, true),
  };
  if (header.shards < 1 || header.shard >= header.shards) throw new SnapshotError(`shard ${header.shard} of ${header.shards} is not a shard`);
  if (header.mask < 1 || header.mask > 15) throw new SnapshotError(`column mask ${header.mask} is not a set of AGG_* bits`);
  const { total } = fileSize(header.groups, header.keyByteCount, header.mask);
  if (bytes.length !== total) {
    throw new SnapshotError(`${bytes.length} bytes, but ${header.groups} groups with ${header.keyByteCount} key bytes take ${total}`);
  }
  return header;
}

/** Decodes a shard file into a snapshot (copying into aligned arrays); throws SnapshotError. */
export function decodeShardFile(bytes: Uint8Array): ShardSnapshot & ShardFileHeader {
  const header = readShardFileHeader(bytes);
  const n = header.groups;
  const { columnsAt, keysAt } = fileSize(n, header.keyByteCount, header.mask);
  // one aligned copy: a Buffer from readFile may start at any offset of its ArrayBuffer
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const u32 = new Uint32Array(copy.buffer, HEADER_BYTES, 3 * n + 1);
  const keyOffsets = u32.subarray(0, n + 1);
  if (keyOffsets[0] !== 0 || keyOffsets[n] !== header.keyByteCount) {
    throw new SnapshotError(`key offsets run from ${keyOffsets[0]} to ${keyOffsets[n]}, not from 0 to ${header.keyByteCount}`);
  }
  for (let j = 0; j < n; j++) {
    if (keyOffsets[j + 1]! < keyOffsets[j]!) throw new SnapshotError(`key offsets go backwards at group ${j}`);
  }
  const columns: Partial<Record<AccColumn, Float64Array>> = {};
  let at = columnsAt;
  for (const { name, bit } of ACC_COLUMNS) {
    if (!(header.mask & bit)) continue;
    columns[name] = new Float64Array(copy.buffer, at, n);
    at += 8 * n;
  }
  return {
    ...header,
    count: n,
    keyOffsets,
    hashes: u32.subarray(n + 1, 2 * n + 1),
    stamps: u32.subarray(2 * n + 1, 3 * n + 1),
    columns,
    keyBytes: copy.subarray(keysAt, keysAt + header.keyByteCount),
  };
}
