// Plain TypeScript reference of json_decode: the same contract, built on JSON.parse, Number and a decimal regex.
//
// JSON.parse decides validity and gives decoded names and strings (last duplicate wins, as the kernel
// does). The raw text of numbers and of string values (the kernel reads both from the bytes) comes from a
// second JSON.parse of the line with every number and every string value rewritten into a tagged string
// holding its source text. The depth limit: TooDeep when the first bracket that opens a level beyond the
// limit is reached by a prefix that can still be completed into valid JSON (tested by closing it with
// " 0" and the open brackets' closers); otherwise any error is BadJson.

import { BadReason } from '../../src/wasm/abi.js';
import { DECIMAL, type RefRecord, type RefError, type RefResult } from './csv.js';

export interface RefJsonlOptions {
  /** null: the records have no key field, every key is empty. */
  keyPath: string | null;
  valuePath?: string | undefined;
  maxDepth: number;
  /** false: stop before a last line without LF. */
  final?: boolean;
  firstLine?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');
const enc = new TextEncoder();
const MISSING = Symbol('missing');

/** A path's steps: split at dots, but a step in backticks (`` `a.b` ``, `` `` `` for a backtick) is one name. */
function pathSteps(path: string): string[] {
  const step = /`((?:[^`]|``)*)`(?=\.|$)|([^.]*)/y;
  const steps: string[] = [];
  for (let i = 0; ; ) {
    step.lastIndex = i;
    const m = step.exec(path)!;
    steps.push(m[1] !== undefined ? m[1].replaceAll('``', '`') : m[2]!);
    i = step.lastIndex;
    if (i >= path.length) return steps;
    i++;
  }
}

function lookup(top: unknown, path: string): unknown {
  let v = top;
  for (const step of pathSteps(path)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, step)) return MISSING;
    v = (v as Record<string, unknown>)[step];
  }
  return v;
}

/** The line with numbers -> "N<text>" and string values -> "S<raw content>"; member names kept. */
function tagRawTokens(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"(?=(\s*:)?)|-?\d[\d.eE+-]*/g, (m: string, colon: string | undefined) => {
    if (m.startsWith('"')) return colon === undefined ? JSON.stringify(`S${m.slice(1, -1)}`) : m;
    return JSON.stringify(`N${m}`);
  });
}

/** 'too-deep' | 'bad' | 'ok' for one line of valid UTF-8. */
function classify(text: string, maxDepth: number): 'too-deep' | 'bad' | 'ok' {
  // find the first bracket that opens level maxDepth + 1, skipping strings naively
  const open: string[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (open.length === maxDepth) {
        const completed = `${text.slice(0, i)} 0${open.map((o) => (o === '{' ? '}' : ']')).reverse().join('')}`;
        try {
          JSON.parse(completed);
          return 'too-deep';
        } catch {
          return 'bad';
        }
      }
      open.push(c);
    } else if (c === '}' || c === ']') open.pop();
  }
  try {
    JSON.parse(text);
    return 'ok';
  } catch {
    return 'bad';
  }
}

/** Decodes `input` per the json_decode contract. */
export function decodeJsonlReference(input: Uint8Array, o: RefJsonlOptions): RefResult {
  const final = o.final ?? true;
  const firstLine = o.firstLine ?? 1;
  const records: RefRecord[] = [];
  const errors: RefError[] = [];
  let pos = 0;
  let lines = 0;
  while (pos < input.length) {
    let lf = input.indexOf(0x0a, pos);
    if (lf < 0 && !final) break;
    if (lf < 0) lf = input.length;
    const start = pos;
    let end = lf;
    if (end > start && input[end - 1] === 0x0d) end--;
    const line = firstLine + lines;
    pos = Math.min(lf + 1, input.length);
    if (lf < input.length) lines++;
    // a blank line, nothing but JSON whitespace, is no record
    if (/^[ \t\r]*$/.test(latin1.decode(input.subarray(start, end)))) continue;
    const reason = judge(input.subarray(start, end), o, records);
    if (reason !== 0) errors.push({ line, reason, start, end });
  }
  return { records, errors, consumed: pos, lines };
}

/** Returns a BadReason code, or 0 after pushing the good record. */
function judge(raw: Uint8Array, o: RefJsonlOptions, records: RefRecord[]): number {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return BadReason.BadUtf8;
  }
  const c = classify(text, o.maxDepth);
  if (c === 'too-deep') return BadReason.TooDeep;
  if (c === 'bad') return BadReason.BadJson;
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return BadReason.NotObject;
  const tagged: unknown = JSON.parse(tagRawTokens(text));

  const k = o.keyPath === null ? '' : lookup(parsed, o.keyPath);
  let key: Uint8Array;
  if (k === MISSING) return BadReason.MissingKey;
  if (typeof k === 'string') {
    if (!k.isWellFormed()) return BadReason.BadUtf8;
    key = enc.encode(k);
  } else if (typeof k === 'number') {
    key = enc.encode((lookup(tagged, o.keyPath!) as string).slice(1));
  } else if (typeof k === 'boolean') {
    key = enc.encode(String(k));
  } else return BadReason.BadKeyType;

  let value = 0;
  if (o.valuePath !== undefined) {
    const v = lookup(parsed, o.valuePath);
    if (v === MISSING) return BadReason.MissingValue;
    if (typeof v !== 'number' && typeof v !== 'string') return BadReason.BadNumber;
    const rawText = (lookup(tagged, o.valuePath) as string).slice(1);
    if (!DECIMAL.test(rawText)) return BadReason.BadNumber;
    value = Number(rawText);
  }
  records.push({ key, value });
  return 0;
}
