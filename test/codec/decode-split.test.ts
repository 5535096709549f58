// DecodeJob.splitTo: the pending input cut in two at a line feed past the middle, each half decoded
// by its own job, joined when the cut was a record boundary and undone when it fell inside quotes.

import { describe, expect, it } from 'vitest';
import { DecodeJob, type DecodeJobOptions } from '../../src/codec/decode-job.js';
import { loadTestKernels } from '../helpers/wasm.js';

const t = loadTestKernels('debug');
const enc = new TextEncoder();
const dec = new TextDecoder();
const OPTIONS: DecodeJobOptions = { format: 'csv', keyColumn: 0, valueColumn: 1, maxRecords: 1024 };

function keys(job: DecodeJob): string[] {
  const offs = job.keyOffsets();
  const bytes = job.keyBytes();
  const out: string[] = [];
  for (let i = 0; i < job.records; i++) out.push(dec.decode(bytes.subarray(offs[i], offs[i + 1])));
  return out;
}

function splitAndDecode(text: string): { head: DecodeJob; tail: DecodeJob; holds: boolean } {
  const head = new DecodeJob(t.arena, OPTIONS);
  const tail = new DecodeJob(t.arena, OPTIONS);
  head.write(enc.encode(text));
  expect(head.splitTo(tail)).toBe(true);
  expect(head.decode(t.k)).toBe('done');
  expect(tail.decode(t.k)).toBe('done');
  return { head, tail, holds: tail.splitHolds(head) };
}

describe('DecodeJob.splitTo', () => {
  it('a cut at a record boundary holds: the halves give the records in order and the tail lines continue the head', () => {
    // 24 bytes: the middle (byte 12) starts line 4, so the cut comes after line 4's line feed
    const { head, tail, holds } = splitAndDecode('a,1\nb,2\nc,x\nd,4\ne,5\nf,y\n');
    expect(holds).toBe(true);
    tail.joinSplit(head);
    expect([keys(head), keys(tail)]).toEqual([['a', 'b', 'd'], ['e']]);
    expect(head.takeBadRecords().map((b) => [b.line, dec.decode(b.raw)])).toEqual([[3, 'c,x']]);
    expect(tail.takeBadRecords().map((b) => [b.line, dec.decode(b.raw)])).toEqual([[6, 'f,y']]);
    expect(tail.line).toBe(7);
    head.release();
    tail.release();
  });

  it('a cut inside a quoted field does not hold: undone, the head decodes everything itself', () => {
    const text = 'k,1\n"multi\nline\nkey\nwith\nmany\nlines",2\nz,3\n';
    const { head, tail, holds } = splitAndDecode(text);
    expect(holds).toBe(false);
    tail.undoSplit(head);
    expect(tail.records).toBe(0);
    expect(tail.takeBadRecords()).toEqual([]);
    expect(head.decode(t.k)).toBe('done');
    expect(keys(head)).toEqual(['k', 'multi\nline\nkey\nwith\nmany\nlines', 'z']);
    expect(head.pendingBytes).toBe(0);
    expect(head.line).toBe(9);
    head.release();
    tail.release();
  });

  it('the tail decodes its half in the head\'s region; what it leaves undecoded is its own after joinSplit', () => {
    // 22 bytes: the cut comes after line 3's line feed; the tail's half ends in a partial record
    const text = 'a,1\nb,2\nc,3\nd,4\ne,5\nf,';
    const { head, tail, holds } = splitAndDecode(text);
    expect(holds).toBe(true);
    tail.joinSplit(head);
    expect(tail.pendingBytes).toBe(2); // "f," waits for the rest of its record
    head.write(enc.encode('z'.repeat(text.length))); // the head's region is the head's again
    tail.write(enc.encode('6\n'));
    expect(tail.decode(t.k, true)).toBe('done');
    expect(keys(tail)).toEqual(['d', 'e', 'f']);
    expect(Array.from(tail.values())).toEqual([4, 5, 6]);
    expect(tail.line).toBe(7);
    head.release();
    tail.release();
  });

  it('no line feed past the middle: no split', () => {
    const head = new DecodeJob(t.arena, OPTIONS);
    const tail = new DecodeJob(t.arena, OPTIONS);
    head.write(enc.encode('a,1\nbbbbbbbbbbbbbbbbbbbb,2'));
    expect(head.splitTo(tail)).toBe(false);
    expect([head.pendingBytes, tail.pendingBytes]).toEqual([26, 0]);
    head.release();
    tail.release();
  });
});

describe('DecodeJob.reserveAhead', () => {
  /** Splits `text`, decodes both halves, and reads `ahead` into the tail's own region meanwhile. */
  function splitWithAhead(text: string, ahead: string, options = OPTIONS): { head: DecodeJob; tail: DecodeJob } {
    const head = new DecodeJob(t.arena, options);
    const tail = new DecodeJob(t.arena, options);
    head.write(enc.encode(text));
    expect(head.splitTo(tail)).toBe(true);
    const bytes = enc.encode(ahead);
    const view = tail.reserveAhead(bytes.length + 5);
    view.set(bytes);
    expect(head.decode(t.k)).toBe('done');
    expect(tail.decode(t.k)).toBe('done');
    tail.commitAhead(bytes.length);
    return { head, tail };
  }

  it('joinSplit puts what the tail leaves right before the input read ahead: the next decode reads both in order', () => {
    const { head, tail } = splitWithAhead('a,1\nb,2\nc,3\nd,4\ne,5\nf,', '6\ng,7\nh,x\n');
    expect(tail.pendingBytes).toBe(2); // the ahead input is not pending until joinSplit
    expect(tail.splitHolds(head)).toBe(true);
    tail.joinSplit(head);
    expect(tail.pendingBytes).toBe(2 + 10);
    tail.clearRecords();
    expect(tail.decode(t.k, true)).toBe('done');
    expect(keys(tail)).toEqual(['f', 'g']);
    expect(Array.from(tail.values())).toEqual([6, 7]);
    expect(tail.takeBadRecords().map((b) => [b.line, dec.decode(b.raw)])).toEqual([[8, 'h,x']]);
    head.release();
    tail.release();
  });

  it('a rest longer than the gap before the ahead input still comes first', () => {
    // short lines as long as the partial record after them, so the cut comes before it
    const long = 'k'.repeat(70 * 1024);
    const { head, tail } = splitWithAhead(`${'a,1\n'.repeat(20 * 1024)}${long}`, ',9\nz,1\n', { ...OPTIONS, maxRecords: 1 << 15 });
    expect(tail.splitHolds(head)).toBe(true);
    tail.joinSplit(head);
    expect(tail.pendingBytes).toBe(long.length + 7);
    tail.clearRecords();
    expect(tail.decode(t.k, true)).toBe('done');
    expect(keys(tail)).toEqual([long, 'z']);
    expect(Array.from(tail.values())).toEqual([9, 1]);
    head.release();
    tail.release();
  });

  it('undoSplit hands the ahead input to the head, after the halves it takes back', () => {
    const { head, tail } = splitWithAhead('k,1\n"multi\nline\nkey\nwith\nmany\nlines",2\nz,', '3\ny,4\n');
    expect(tail.splitHolds(head)).toBe(false);
    tail.undoSplit(head);
    expect(tail.pendingBytes).toBe(0);
    expect(head.decode(t.k, true)).toBe('done');
    expect(keys(head)).toEqual(['k', 'multi\nline\nkey\nwith\nmany\nlines', 'z', 'y']);
    expect(Array.from(head.values())).toEqual([1, 2, 3, 4]);
    head.release();
    tail.release();
  });

  it('refuses a job that is not a split tail, and a commit past what was reserved', () => {
    const job = new DecodeJob(t.arena, OPTIONS);
    expect(() => job.reserveAhead(16)).toThrow('DecodeJob.reserveAhead: only a split tail with no input of its own can take input ahead');
    const head = new DecodeJob(t.arena, OPTIONS);
    head.write(enc.encode('a,1\nb,2\nc,3\nd,4\n'));
    expect(head.splitTo(job)).toBe(true);
    job.reserveAhead(8);
    expect(() => job.commitAhead(9)).toThrow('DecodeJob.commitAhead: 9 bytes do not fit the input reserved ahead');
    head.release();
    job.release();
  });
});
