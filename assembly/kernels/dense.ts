// The dense fold of u32 keys in a narrow range (DuckDB calls it perfect hash aggregation): a key k with
// k - base < R folds straight into slot k - base of a dense set, with no hash and no probe; any other key
// folds into the shard table as agg_u32 would. dense_flush then merges the touched slots into the table.
//
//     dense header (16 B)        pairs f64x2[R]: (count, sum) of slot d, one v128 per row's fold
//     | cap = R | pairs | ext |  ext   f64x2[R]: (min, max) of slot d, or ext = 0 when the mask has neither
//
// Fresh slots are (0, 0) and (+Inf, -Inf); the host fills them once and dense_flush leaves each slot it
// merges fresh again, so one dense set serves batch after batch. A slot's count is kept whatever the mask
// (the flush merges only the slots a batch touched), so count + sum cost one v128 add per row.
//
// Exactness: each key folds into exactly one place (the key decides, not the row), one `+` per row in
// input order, so a batch's sum per key is the left-to-right fold of its values from 0 (min/max: wasm
// f64x2.min/max, which agree with f64.min/max and Math.min/Math.max). The flush adds that partial into the
// table as acc_merge does: for a key new to the table (every key of a fresh table) the result is
// bit-identical to agg_u32's fold; a key the table already held gets state + partial.

import { AC_CAP, AC_COUNT, AC_MAX, AC_MIN, AC_STAMP, AC_SUM, AGG_COUNT, AGG_MAX, AGG_MIN, AGG_SUM, AGG_VALUES, foldAt } from "./accumulate";
import { NT_CAP, NT_COUNT, NT_GROUP_CAP, NT_KEYS, NT_SLOTS, NO_ROOM, maxGroupsFor, probedCap, slotShift, u32FindOrInsert } from "../table";

// @ts-ignore: decorator
@inline export const DN_CAP: usize = 0;
// @ts-ignore: decorator
@inline export const DN_PAIRS: usize = 4;
// @ts-ignore: decorator
@inline export const DN_EXT: usize = 8;

/** Folds value v into dense slot d (the mask a constant: its branches fold away). */
// @ts-ignore: decorator
@inline function denseRow(pairs: usize, ext: usize, d: u32, v: f64, mask: u32): void {
  const p = pairs + (<usize>d << 4);
  v128.store(p, f64x2.add(v128.load(p), f64x2.replace_lane(f64x2.splat(1.0), 1, mask & AGG_SUM ? v : 0.0)));
  if (mask & (AGG_MIN | AGG_MAX)) {
    const q = ext + (<usize>d << 4);
    const x = v128.load(q);
    const s = f64x2.splat(v);
    v128.store(q, v128.shuffle<f64>(f64x2.min(x, s), f64x2.max(x, s), 0, 3));
  }
}

/**
 * Rows [from, to) into the dense slots while their keys are in range, two rows a step. Returns `to`, or
 * the first row whose key is not in [base, base + R). Out of line from the table fallback: the loop then
 * holds only what a dense row needs (a call in its body costs V8 registers, and a row twice as long).
 */
// @ts-ignore: decorator
@inline function denseRun(pairs: usize, ext: usize, range: u32, base: u32, keys: usize, values: usize, from: u32, to: u32, mask: u32): u32 {
  let j = from;
  const pairEnd = from + ((to - from) & ~1);
  for (; j < pairEnd; j += 2) {
    const at = keys + (<usize>j << 2);
    const d0 = load<u32>(at) - base;
    const d1 = load<u32>(at, 4) - base;
    if (max(d0, d1) >= range) break;
    let v0 = 0.0;
    let v1 = 0.0;
    if (mask & AGG_VALUES) {
      v0 = load<f64>(values + (<usize>j << 3));
      v1 = load<f64>(values + (<usize>j << 3), 8);
    }
    denseRow(pairs, ext, d0, v0, mask);
    denseRow(pairs, ext, d1, v1, mask);
  }
  for (; j < to; j++) {
    const d = load<u32>(keys + (<usize>j << 2)) - base;
    if (d >= range) break;
    denseRow(pairs, ext, d, mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0, mask);
  }
  return j;
}

// denseRun for each common mask as a function of its own (see u32FoldCount in accumulate.ts).
function denseRunCount(pairs: usize, range: u32, base: u32, keys: usize, from: u32, to: u32): u32 {
  return denseRun(pairs, 0, range, base, keys, 0, from, to, AGG_COUNT);
}
function denseRunCountSum(pairs: usize, range: u32, base: u32, keys: usize, values: usize, from: u32, to: u32): u32 {
  return denseRun(pairs, 0, range, base, keys, values, from, to, AGG_COUNT | AGG_SUM);
}
function denseRunAll(pairs: usize, ext: usize, range: u32, base: u32, keys: usize, values: usize, from: u32, to: u32): u32 {
  return denseRun(pairs, ext, range, base, keys, values, from, to, AGG_COUNT | AGG_SUM | AGG_MIN | AGG_MAX);
}

/** A key outside the dense range: find-or-insert in the table and fold (agg_u32's row). False when a new group did not fit. */
function tableRow(table: usize, acc: usize, key: u32, v: f64, stamp: u32, mask: u32): bool {
  const cap = probedCap(load<u32>(table + NT_CAP));
  if (cap < 2) return false;
  const limit = min(min(load<u32>(table + NT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
  const count = load<u32>(table + NT_COUNT);
  const g = u32FindOrInsert(<usize>load<u32>(table + NT_SLOTS), cap - 1, slotShift(cap), <usize>load<u32>(table + NT_KEYS), count, limit, key);
  if (g == NO_ROOM) return false;
  if (g == count) store<u32>(table + NT_COUNT, count + 1);
  foldAt(acc, g, v, stamp, mask);
  return true;
}

/**
 * Folds u32 rows [from, to) with the AGG_* bits of `mask`: a key k with k - base < R (unsigned: keys
 * below base wrap past R) into dense slot k - base, any other key into the table with `stamp`, as
 * agg_u32 does. Returns `to` when done, else the row whose new table group did not fit (grow the table,
 * call again from there). values = 0 folds counts alone, whatever the mask; ext may be 0 unless the mask
 * asks for min or max.
 * The dense slots need dense_flush before the table is read.
 */
export function agg_u32_dense(
  table: usize, acc: usize, dense: usize, base: u32, keys: usize, values: usize, from: u32, to: u32, stamp: u32, mask: u32,
): u32 {
  const range = load<u32>(dense + DN_CAP);
  const pairs = <usize>load<u32>(dense + DN_PAIRS);
  const ext = <usize>load<u32>(dense + DN_EXT);
  if (values == 0) mask &= AGG_COUNT;
  assert(ext != 0 || !(mask & (AGG_MIN | AGG_MAX)), "agg_u32_dense: min/max need the dense set's ext column");
  let j = from;
  while (j < to) {
    if (!(mask & AGG_VALUES)) j = denseRunCount(pairs, range, base, keys, j, to);
    else if (mask & (AGG_MIN | AGG_MAX)) j = denseRunAll(pairs, ext, range, base, keys, values, j, to);
    else j = denseRunCountSum(pairs, range, base, keys, values, j, to);
    if (j >= to) break;
    const v = mask & AGG_VALUES ? load<f64>(values + (<usize>j << 3)) : 0.0;
    if (!tableRow(table, acc, load<u32>(keys + (<usize>j << 2)), v, stamp, mask)) return j;
    j++;
  }
  return to;
}

/**
 * Merges dense slots [from, R) that a batch touched (count > 0) into the table as keys base + slot, in
 * slot order, with `stamp` and the AGG_* bits of `mask` (acc_merge's arithmetic: state + partial), and
 * leaves each merged slot fresh. Returns R when done, else the slot whose new table group did not fit
 * (grow the table, call again from there). Without ext, min and max are left as they are.
 */
export function dense_flush(table: usize, acc: usize, dense: usize, base: u32, from: u32, stamp: u32, mask: u32): u32 {
  const range = load<u32>(dense + DN_CAP);
  const pairs = <usize>load<u32>(dense + DN_PAIRS);
  const ext = <usize>load<u32>(dense + DN_EXT);
  const cap = probedCap(load<u32>(table + NT_CAP));
  if (cap < 2) return from;
  const slots = <usize>load<u32>(table + NT_SLOTS);
  const shift = slotShift(cap);
  const tKeys = <usize>load<u32>(table + NT_KEYS);
  const limit = min(min(load<u32>(table + NT_GROUP_CAP), load<u32>(acc + AC_CAP)), maxGroupsFor(cap));
  const dCnt = <usize>load<u32>(acc + AC_COUNT);
  const dSum = <usize>load<u32>(acc + AC_SUM);
  const dMin = <usize>load<u32>(acc + AC_MIN);
  const dMax = <usize>load<u32>(acc + AC_MAX);
  const dStamp = <usize>load<u32>(acc + AC_STAMP);
  let count = load<u32>(table + NT_COUNT);
  let i = from;
  for (; i < range; i++) {
    const p = pairs + (<usize>i << 4);
    const c = load<f64>(p);
    if (c == 0.0) continue;
    const g = u32FindOrInsert(slots, cap - 1, shift, tKeys, count, limit, base + i);
    if (g == NO_ROOM) break;
    if (g == count) count++;
    const d = <usize>g << 3;
    if (mask & AGG_COUNT) store<f64>(dCnt + d, load<f64>(dCnt + d) + c);
    if (mask & AGG_SUM) store<f64>(dSum + d, load<f64>(dSum + d) + load<f64>(p, 8));
    v128.store(p, f64x2.splat(0.0));
    if (mask & (AGG_MIN | AGG_MAX) && ext != 0) {
      const q = ext + (<usize>i << 4);
      if (mask & AGG_MIN) store<f64>(dMin + d, min<f64>(load<f64>(dMin + d), load<f64>(q)));
      if (mask & AGG_MAX) store<f64>(dMax + d, max<f64>(load<f64>(dMax + d), load<f64>(q, 8)));
      v128.store(q, f64x2.replace_lane(f64x2.splat(Infinity), 1, -Infinity));
    }
    store<u32>(dStamp + (<usize>g << 2), stamp);
  }
  store<u32>(table + NT_COUNT, count);
  return i;
}
