// Writes that survive a power cut: files fsynced before they are renamed into place, directories fsynced after.
//
// POSIX makes rename(2) atomic, but not durable: until the parent directory is fsynced the new name may
// vanish in a crash, and until a file is fsynced its bytes may be missing behind a name that survived.
// So every checkpoint and batch output is written as: write temp -> fsync temp -> rename -> fsync parent
// (the order SQLite, LevelDB and Kafka's log segments rely on).

import { createHash } from 'node:crypto';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsyncs a directory (or file) by path. Where directories cannot be fsynced (EINVAL, EPERM), rename is still atomic. */
export async function fsyncPath(path: string): Promise<void> {
  const h = await open(path, 'r').catch(() => undefined);
  if (!h) return;
  try {
    await h.sync();
  } catch {
    // EINVAL/EPERM on platforms without directory fsync
  } finally {
    await h.close();
  }
}

/** What writeFileDurable wrote: its size and SHA-256 (hex). */
export interface WrittenFile {
  bytes: number;
  sha256: string;
}

/** Creates (or replaces) `path` with `parts`, fsyncs it, and returns its size and SHA-256. */
export async function writeFileDurable(path: string, parts: readonly Uint8Array[]): Promise<WrittenFile> {
  const hash = createHash('sha256');
  let bytes = 0;
  const h = await open(path, 'w');
  try {
    for (const p of parts) {
      hash.update(p);
      bytes += p.length;
      let at = 0;
      while (at < p.length) at += (await h.write(p, at, p.length - at)).bytesWritten;
    }
    await h.sync();
  } finally {
    await h.close();
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Writes `path` through `path.tmp-<pid>`: the old content or the new, never a mix; durable once this resolves. */
export async function replaceFileDurable(path: string, parts: readonly Uint8Array[]): Promise<WrittenFile> {
  const temp = `${path}.tmp-${process.pid}`;
  const written = await writeFileDurable(temp, parts);
  await rename(temp, path);
  await fsyncPath(dirname(path));
  return written;
}

/** SHA-256 of bytes, hex. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
