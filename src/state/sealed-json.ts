// A JSON file that carries the SHA-256 of its own body, so a torn write or a flipped byte is detected.
//
//   {"sha256":"<64 hex digits>","body":<the body, as JSON.stringify wrote it>}\n
//
// The body's text sits at a fixed offset (84 characters in) and runs to the closing `}\n`, so the reader
// hashes exactly the bytes the writer hashed without re-serializing anything. The whole file is still
// JSON, for people with jq. Checkpoint manifests and batch intents are sealed this way.

import { sha256Hex } from './durable-fs.js';

const HEAD = '{"sha256":"';
const MID = '","body":';
const BODY_AT = HEAD.length + 64 + MID.length;

/** The file's text for `body`. */
export function sealJson(body: unknown): string {
  const text = JSON.stringify(body);
  return `${HEAD}${sha256Hex(text)}${MID}${text}}\n`;
}

/** The body of a sealed file, or a reason why it cannot be trusted. */
export function unsealJson(text: string): { ok: true; body: unknown } | { ok: false; reason: string } {
  if (!text.startsWith(HEAD) || text.slice(HEAD.length + 64, BODY_AT) !== MID || !/^[0-9a-f]{64}$/.test(text.slice(HEAD.length, HEAD.length + 64))) {
    return { ok: false, reason: text.length === 0 ? 'empty file' : 'not a sealed JSON file (torn or overwritten)' };
  }
  if (!text.endsWith('}\n')) return { ok: false, reason: 'truncated (no closing "}\\n")' };
  const body = text.slice(BODY_AT, -2);
  if (sha256Hex(body) !== text.slice(HEAD.length, HEAD.length + 64)) return { ok: false, reason: 'SHA-256 mismatch (changed or corrupt)' };
  try {
    return { ok: true, body: JSON.parse(body) };
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
}
