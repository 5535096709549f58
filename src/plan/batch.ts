// One stream's data in one micro-batch: rows (JS values), a column table, or pair columns.
//
// A batch keeps the form it was made in and converts only when a consumer needs another: a user
// function needs rows, so `rows()` materialises them once (and caches them); the keyed stage reads
// `pairs` directly when the batch already is pair columns. This is how a columnar source reaches
// the wasm state tables with no JS object per record.

import { concatPairs, concatTables, utf8Text, type ColumnTable, type PairColumns } from './columns.js';

export class Batch<T> {
  readonly length: number;
  /** The batch as a column table, when it was made as one. */
  readonly table: ColumnTable | undefined;
  /** The batch as pair columns, when it was made as such (then T is [string, number]). */
  readonly pairs: PairColumns | undefined;
  private cached: T[] | undefined;

  private constructor(length: number, rows?: T[], table?: ColumnTable, pairs?: PairColumns) {
    this.length = length;
    this.cached = rows;
    this.table = table;
    this.pairs = pairs;
  }

  static readonly empty: Batch<never> = new Batch<never>(0, []);

  static ofRows<T>(rows: T[]): Batch<T> {
    return new Batch(rows.length, rows);
  }

  /** A batch of records held as columns; its rows are objects with one property per column. */
  static ofTable<T>(table: ColumnTable): Batch<T> {
    return new Batch<T>(table.length, undefined, table);
  }

  /** A batch of (key, value) pairs held as columns; its rows are [key, value] tuples. */
  static ofPairs(pairs: PairColumns): Batch<[string, number]> {
    return new Batch<[string, number]>(pairs.length, undefined, undefined, pairs);
  }

  /** Joins batches of one stream, keeping the columnar form when every part has it. */
  static concat<T>(parts: readonly Batch<T>[]): Batch<T> {
    const nonEmpty = parts.filter((p) => p.length > 0);
    if (nonEmpty.length === 0) return Batch.empty as Batch<T>;
    if (nonEmpty.length === 1) return nonEmpty[0]!;
    if (nonEmpty.every((p) => p.table !== undefined)) return Batch.ofTable(concatTables(nonEmpty.map((p) => p.table!)));
    if (nonEmpty.every((p) => p.pairs !== undefined)) {
      return Batch.ofPairs(concatPairs(nonEmpty.map((p) => p.pairs!))) as unknown as Batch<T>;
    }
    const rows: T[] = [];
    for (const p of nonEmpty) for (const r of p.rows()) rows.push(r);
    return Batch.ofRows(rows);
  }

  /** The first `n` records, materialising no more than those from columns. */
  head(n: number): T[] {
    if (this.cached !== undefined || n >= this.length) return this.rows().slice(0, n);
    if (this.table) return tableRows(this.table, n) as T[];
    return pairRows(this.pairs!, n) as T[];
  }

  /** The records as JS values (materialised from columns on first use). */
  rows(): T[] {
    if (this.cached === undefined) {
      this.cached = this.table ? (tableRows(this.table) as T[]) : (pairRows(this.pairs!) as T[]);
    }
    return this.cached;
  }
}

function tableRows(table: ColumnTable, n = table.length): Record<string, unknown>[] {
  const names = Object.keys(table.columns);
  const rows: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const name of names) {
      const c = table.columns[name]!;
      row[name] = c.kind === 'f64' ? c.values[i] : utf8Text(c.bytes, c.offsets[i]!, c.offsets[i + 1]!);
    }
    rows[i] = row;
  }
  return rows;
}

function pairRows(p: PairColumns, n = p.length): [string, number][] {
  const rows: [string, number][] = new Array(n);
  for (let i = 0; i < n; i++) {
    rows[i] = [utf8Text(p.keyBytes, p.keyOffsets[i]!, p.keyOffsets[i + 1]!), p.values[i]!];
  }
  return rows;
}
