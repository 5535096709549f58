// What every suite reports: one figure per implementation, tagged by status, and the result digest
// that shows all implementations computed the same aggregation.

/** One implementation's figure in one workload. A missing peer is reported as such, never faked. */
export type Figure =
  | { impl: string; status: 'ok'; medianMs: number; samplesMs: number[]; rowsPerSec: number; digest: string }
  | { impl: string; status: 'missing' | 'failed'; reason: string };

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Percentile p (0..100) by nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** FNV-1a over a string's UTF-16 units: only for digests. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Order-independent digest of a grouped result: group count, total count, and the sum of a hash of
 * each group's `key|count|sum` with the sum rounded to cents (inputs have two decimals, so any
 * summation order rounds to the same cents). count < 0 means "not computed" (file job: sum only).
 */
export class Digest {
  private groups = 0;
  private rows = 0;
  private acc = 0;

  add(key: string, count: number, sum: number): void {
    this.groups++;
    if (count >= 0) this.rows += count;
    this.acc = (this.acc + fnv(`${key}|${count >= 0 ? count : ''}|${sum.toFixed(2)}`)) % 2 ** 48;
  }

  toString(): string {
    return `${this.groups} groups, ${this.rows} rows, #${this.acc.toString(16)}`;
  }
}

/** Runs `fn` and turns a throw into a `failed` figure naming the cause. */
export async function guarded(impl: string, fn: () => Promise<Figure>): Promise<Figure> {
  try {
    return await fn();
  } catch (err) {
    return { impl, status: 'failed', reason: (err as Error)?.message ?? String(err) };
  }
}
