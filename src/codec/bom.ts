// The UTF-8 byte order mark at the very start of an input: an encoding signature (Excel, Notepad), not data.
//
// sluice aggregate drops it before decoding, as DuckDB, pandas and Spark do, so the first CSV key or
// header name and the first JSON line read the same with or without it. Only the input's first three
// bytes are looked at: a U+FEFF anywhere else is data and kept byte for byte.

const BOM = [0xef, 0xbb, 0xbf] as const;

/** Whether the first `n` bytes of `bytes` (n < 3) could still be the start of a BOM. */
function bomPrefix(bytes: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (bytes[i] !== BOM[i]) return false;
  return true;
}

/** The chunks of an input without a BOM at its start (a BOM split across chunks included). */
export async function* withoutBom(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let head: Uint8Array = new Uint8Array(0);
  let decided = false;
  for await (const chunk of chunks) {
    if (decided) {
      yield chunk;
      continue;
    }
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    if (head.length < BOM.length && bomPrefix(head, head.length)) continue;
    decided = true;
    const rest = bomPrefix(head, BOM.length) ? head.subarray(BOM.length) : head;
    if (rest.length > 0) yield rest;
  }
  if (!decided && head.length > 0) yield head; // an input shorter than a BOM: a BOM prefix, kept as data
}

/**
 * Wraps a reader that fills a buffer (a file handle's read) so that a BOM at the start of the input is
 * dropped. The wrapped reader returns 0 only at the end of the input, as the original does.
 */
export function readWithoutBom(read: (into: Uint8Array) => Promise<number>): (into: Uint8Array) => Promise<number> {
  let decided = false;
  return async (into) => {
    let n = await read(into);
    while (!decided && n > 0) {
      // a pipe may hand over fewer than three bytes: read on until a BOM is ruled in or out
      if (n < BOM.length && bomPrefix(into, n)) {
        const more = await read(into.subarray(n));
        if (more === 0) break;
        n += more;
        continue;
      }
      decided = true;
      if (bomPrefix(into, BOM.length)) {
        into.copyWithin(0, BOM.length, n);
        n -= BOM.length;
        if (n === 0) n = await read(into);
      }
    }
    return n;
  };
}

/**
 * How many bytes at the start of an input are a BOM: 3 or 0 — or undefined when `head` (all of the
 * input so far, fewer than 3 bytes) could still become one and more may come (`final` false).
 */
export function bomLength(head: Uint8Array, final: boolean): number | undefined {
  if (head.length >= BOM.length) return bomPrefix(head, BOM.length) ? BOM.length : 0;
  return !final && bomPrefix(head, head.length) ? undefined : 0;
}
