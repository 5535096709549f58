// Columns -> CSV text for sinks: RFC 4180 quoting, numbers as JavaScript's shortest round-trip text.

/** Quotes a field when it holds a delimiter, a quote, CR or LF (RFC 4180 section 2.6-2.7). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Numbers as String(x): the shortest text that reads back as the same double. */
export function csvNumber(x: number): string {
  return String(x);
}
