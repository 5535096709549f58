// Records as columns: UTF-8 strings as one byte buffer plus offsets, numbers as Float64Array.
//
//     Utf8Column, 3 strings "/", "/a", "":
//       offsets  [0, 1, 3, 3]          string i = bytes[offsets[i] .. offsets[i+1])
//       bytes    / / a
//
// This is the layout the wasm kernels read (DESIGN.md: "string keys as one UTF-8 byte buffer plus an
// offsets array"), so a columnar batch reaches the state tables without a JS object per record.
// Arrays may be longer than the column (spare capacity): only the first `length` entries count.

/** `length` UTF-8 strings: string i is bytes[offsets[i] .. offsets[i + 1]). */
export interface Utf8Column {
  readonly kind: 'utf8';
  readonly offsets: Uint32Array;
  readonly bytes: Uint8Array;
}

/** `length` numbers. */
export interface Float64Column {
  readonly kind: 'f64';
  readonly values: Float64Array;
}

export type Column = Utf8Column | Float64Column;

/** `length` records with one column per field. */
export interface ColumnTable {
  readonly length: number;
  readonly columns: Readonly<Record<string, Column>>;
}

/** `length` (key, value) pairs: key i is UTF-8 keyBytes[keyOffsets[i] .. keyOffsets[i + 1]), value i is values[i]. */
export interface PairColumns {
  readonly length: number;
  readonly keyOffsets: Uint32Array;
  readonly keyBytes: Uint8Array;
  readonly values: Float64Array;
}

const encoder = new TextEncoder();

/** Text of bytes [start, end) of a UTF-8 buffer (invalid sequences become U+FFFD). */
export function utf8Text(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', start, end);
}

/** Appends (key, value) pairs into growing columns; `finish()` hands them out without copying. */
export class PairColumnsBuilder {
  private offsets: Uint32Array;
  private bytes: Uint8Array;
  private values: Float64Array;
  private n = 0;

  constructor(expectedPairs = 64, expectedKeyBytes = expectedPairs * 16) {
    this.offsets = new Uint32Array(Math.max(expectedPairs, 1) + 1);
    this.bytes = new Uint8Array(Math.max(expectedKeyBytes, 16));
    this.values = new Float64Array(Math.max(expectedPairs, 1));
  }

  get length(): number {
    return this.n;
  }

  /** Appends a key given as text; it is stored UTF-8 encoded (lone surrogates become U+FFFD). */
  addText(key: string, value: number): void {
    this.room(1);
    let at = this.offsets[this.n]!;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (at + key.length * 3 > this.bytes.length) this.growBytes(at + key.length * 3);
    at += encoder.encodeInto(key, this.bytes.subarray(at)).written;
    this.values[this.n] = value;
    this.offsets[++this.n] = at;
  }

  /** Appends a key given as bytes [start, end) of `src`. */
  addBytes(src: Uint8Array, start: number, end: number, value: number): void {
    this.room(1);
    const at = this.offsets[this.n]!;
    const len = end - start;
    if (at + len > this.bytes.length) this.growBytes(at + len);
    this.bytes.set(src.subarray(start, end), at);
    this.values[this.n] = value;
    this.offsets[++this.n] = at + len;
  }

  finish(): PairColumns {
    return { length: this.n, keyOffsets: this.offsets, keyBytes: this.bytes, values: this.values };
  }

  private room(more: number): void {
    if (this.n + more < this.values.length) return;
    const cap = Math.max(this.values.length * 2, this.n + more + 1);
    const offsets = new Uint32Array(cap + 1);
    offsets.set(this.offsets.subarray(0, this.n + 1));
    this.offsets = offsets;
    const values = new Float64Array(cap);
    values.set(this.values.subarray(0, this.n));
    this.values = values;
  }

  private growBytes(need: number): void {
    const bytes = new Uint8Array(Math.max(this.bytes.length * 2, need));
    bytes.set(this.bytes.subarray(0, this.offsets[this.n]!));
    this.bytes = bytes;
  }
}

/** Concatenates tables with the same columns (copying them once). */
export function concatTables(parts: readonly ColumnTable[]): ColumnTable {
  if (parts.length === 1) return parts[0]!;
  const length = parts.reduce((n, p) => n + p.length, 0);
  const columns: Record<string, Column> = {};
  for (const name of Object.keys(parts[0]!.columns)) {
    const first = parts[0]!.columns[name]!;
    if (first.kind === 'f64') {
      const values = new Float64Array(length);
      let at = 0;
      for (const p of parts) {
        values.set((p.columns[name] as Float64Column).values.subarray(0, p.length), at);
        at += p.length;
      }
      columns[name] = { kind: 'f64', values };
    } else {
      let total = 0;
      for (const p of parts) {
        const c = p.columns[name] as Utf8Column;
        total += c.offsets[p.length]! - c.offsets[0]!;
      }
      const offsets = new Uint32Array(length + 1);
      const bytes = new Uint8Array(total);
      let row = 0;
      let at = 0;
      for (const p of parts) {
        const c = p.columns[name] as Utf8Column;
        const base = c.offsets[0]!;
        const end = c.offsets[p.length]!;
        bytes.set(c.bytes.subarray(base, end), at);
        for (let i = 1; i <= p.length; i++) offsets[row + i] = c.offsets[i]! - base + at;
        row += p.length;
        at += end - base;
      }
      columns[name] = { kind: 'utf8', offsets, bytes };
    }
  }
  return { length, columns };
}

/** Concatenates pair columns (copying them once). */
export function concatPairs(parts: readonly PairColumns[]): PairColumns {
  if (parts.length === 1) return parts[0]!;
  const b = new PairColumnsBuilder(
    parts.reduce((n, p) => n + p.length, 0),
    parts.reduce((n, p) => n + p.keyOffsets[p.length]!, 0),
  );
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) b.addBytes(p.keyBytes, p.keyOffsets[i]!, p.keyOffsets[i + 1]!, p.values[i]!);
  }
  return b.finish();
}
