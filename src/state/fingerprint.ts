// A job's fingerprint: a flat, human-readable description of what its checkpoint state means.
//
// Two runs may share a checkpoint only when they describe the same job: the same input, the same key and
// aggregations, the same shards (CLI), or the same plan shape (API). Entries are named the way a user
// knows them (`--key`, `stage 3`), so a refusal can say what changed:
//
//   checkpoint in ckpt/ was written by a different job: --key was "page", now "user"

export type FingerprintValue = string | number | boolean | null;

/** Entry name -> value, e.g. `{ '--key': 'page', '--agg': 'count,sum', shards: 16 }`. */
export type Fingerprint = Readonly<Record<string, FingerprintValue>>;

const show = (v: FingerprintValue | undefined): string => (v === undefined ? 'absent' : JSON.stringify(v));

/** What differs between the fingerprint a checkpoint holds and the running job's, as `X was a, now b` clauses; [] when equal. */
export function fingerprintChanges(stored: Fingerprint, now: Fingerprint): string[] {
  const out: string[] = [];
  const names = [...Object.keys(stored), ...Object.keys(now).filter((k) => !(k in stored))];
  for (const name of names) {
    const a = stored[name];
    const b = now[name];
    if (a !== b) out.push(`${name} was ${show(a)}, now ${show(b)}`);
  }
  return out;
}

/** Checks that a parsed value is a Fingerprint. */
export function isFingerprint(x: unknown): x is Fingerprint {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  return Object.values(x).every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v));
}
