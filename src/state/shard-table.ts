// Keyed state of the shards in shared memory: key -> group tables with their accumulators, which the host grows.
//
// One shard's state is a few regions of the SharedArena, all addressed from two headers that never
// move (so a worker holding the header pointers is never left behind by a growth):
//
//     headers (64 B region)          ByteShardTable (slots zeroed)       U32ShardTable
//     +---------------------+
//     | table header  32 B  |------> slots 16 B x cap (buckets of 4)      slots u64[cap]
//     |                     |        groups   keyOffs u32[groupCap+1]    keys  u32[groupCap]
//     | acc header    32 B  |--+              hashes  u32[groupCap]
//     +---------------------+  |     arena    u8[arenaCap]  key bytes
//                              +---> accumulators  count | sum | min | max  f64[groupCap], stamp u32[groupCap]
//
// The kernels (assembly/table.ts, assembly/kernels/accumulate.ts) never allocate: when a new group
// does not fit they stop and return the index they stopped at. The host then grows exactly what was
// full (doubling it), rehashes through the kernel when the slots grow, releases the old region and
// calls again from that index: `aggregate` does this inline, and `growFor` lets a host that ran the
// kernel on a worker grow the table before re-submitting the rest. Fresh accumulator capacity is
// filled with count 0, sum 0, min +Infinity, max -Infinity, stamp 0 (the ABI's contract).
//
// Nothing here makes a JS object or string per record: per-record work is all in the kernels; the
// host touches a record only to read one key length when a growth happens.

import { OptionError, SluiceError } from '../errors.js';
import type { SharedArena } from '../runtime/memory.js';
import {
  AC_CAP, AC_COUNT, AC_MAX, AC_MIN, AC_STAMP, AC_SUM, AC_SIZE, AGG_MAX, AGG_MIN, DN_CAP, DN_EXT, DN_PAIRS, DN_SIZE,
  BT_ARENA, BT_ARENA_CAP, BT_CAP, BT_COUNT, BT_GROUP_CAP, BT_HASHES, BT_KEY_OFFS, BT_MIN_SLOTS, BT_SIZE, BT_SLOT_BYTES, BT_SLOTS,
  NT_CAP, NT_COUNT, NT_GROUP_CAP, NT_KEYS, NT_SIZE, NT_SLOT_BYTES, NT_SLOTS,
  type KernelExports,
} from '../wasm/abi.js';

/** Initial capacities of a shard table; each grows by doubling when full. */
export interface ShardTableOptions {
  /** Distinct keys (groups) before the group columns grow. Default 1024. */
  groups?: number;
  /** Hash slots, rounded up to a power of two. Default: the smallest holding `groups` at load 3/4. */
  slots?: number;
  /** Key bytes before the key arena grows (byte-key tables only). Default 16 per group. */
  keyBytes?: number;
  /**
   * What a byte-key table hashes its keys with (byte-key tables only). 'murmur2' (the default): Kafka's,
   * what shards and checkpoints go by. 'fast': fastHash (assembly/hash.ts), for a scratch table that
   * folds one batch and merges into murmur2 state (mergeFrom hashes its keys again): its fused kernels
   * read each key once for hash, probe and compare.
   */
  hash?: ByteTableHash;
}

/** The hash function of a byte-key table (ShardTableOptions.hash). */
export type ByteTableHash = 'murmur2' | 'fast';

/** `value` as a ByteTableHash ('murmur2' when undefined); a RangeError naming options.hash otherwise. */
export function byteTableHash(value: unknown): ByteTableHash {
  if (value === undefined) return 'murmur2';
  if (value !== 'murmur2' && value !== 'fast') throw new RangeError(`options.hash must be 'murmur2' or 'fast', not ${String(value)}`);
  return value;
}

/**
 * Byte-string keys of a batch, as the decoders write them (all pointers into the shared memory):
 * key i is keyBytes[keyOffs[i] .. keyOffs[i+1]) and hashes[i] is its hash: murmur2, or fastHash for a
 * table whose `hash` is 'fast'.
 */
export interface ByteKeyInput {
  keyOffs: number;
  keyBytes: number;
  /** u32[n] hash of each key, by the table's hash function; 0 = computed by the kernel. */
  hashes: number;
  /** f64[n] values; 0 when only counting. */
  values: number;
  /** u32 record order (a shard's slice of `partition`'s outPerm); 0 = records in index order. */
  perm: number;
}

/** u32 keys of a batch: keys[i] is record i's key. */
export interface U32KeyInput {
  keys: number;
  /** f64[n] values; 0 when only counting. */
  values: number;
  /** u32 record order; 0 = records in index order. */
  perm: number;
}

/** Rows whose keys are interned already (ShardTable.foldGroups). */
export interface GroupInput {
  /** u32[n]: the group of row j, in the table that interned it. */
  gids: number;
  /** u32[groups]: that table's group g is group map[g] here; 0 = gids are this table's groups. */
  map: number;
  /** Entries in map (the other table's group count); ignored when map is 0. */
  groups: number;
  /** f64[n] values; 0 when only counting. */
  values: number;
}

/** An accumulator column, by group id. */
export type AccColumn = 'count' | 'sum' | 'min' | 'max';

const ACC_FIELD: Record<AccColumn, number> = { count: AC_COUNT, sum: AC_SUM, min: AC_MIN, max: AC_MAX };

/** Bytes of accumulators per group: four f64 columns and the u32 stamp. */
const ACC_BYTES_PER_GROUP = 4 * 8 + 4;
/** The tables' ABI load bound (TABLE_MAX_LOAD): a new group needs (count + 1) * 4 <= cap * 3. */
const fitsLoad = (groups: number, cap: number): boolean => groups * 4 <= cap * 3;
const nextPow2 = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));
/** Largest u32 capacity the wasm32 fields can hold. */
const U32_LIMIT = 0xffffffff;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true }); // keys are byte for byte: keep a leading U+FEFF

/** Where a table header keeps the fields the two key types share. */
interface HeaderLayout {
  slots: number;
  cap: number;
  count: number;
  groupCap: number;
  size: number;
  /** Bytes of one slot. */
  slotBytes: number;
  /** Fewest slots a table may have (a power of two). */
  minSlots: number;
}
const BYTE_LAYOUT: HeaderLayout = {
  slots: BT_SLOTS, cap: BT_CAP, count: BT_COUNT, groupCap: BT_GROUP_CAP, size: BT_SIZE, slotBytes: BT_SLOT_BYTES, minSlots: BT_MIN_SLOTS,
};
const U32_LAYOUT: HeaderLayout = {
  slots: NT_SLOTS, cap: NT_CAP, count: NT_COUNT, groupCap: NT_GROUP_CAP, size: NT_SIZE, slotBytes: NT_SLOT_BYTES, minSlots: 1,
};
/** Both headers share one region: the table header, then the accumulator header. */
const HEADERS_SIZE = Math.max(BT_SIZE, NT_SIZE) + AC_SIZE;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 30) {
    throw new OptionError(name, `options.${name} must be an integer from 1 to ${2 ** 30}`);
  }
  return value;
}

/** n rounded up to a multiple of 8 (an f64 column's alignment). */
const align8 = (n: number): number => Math.ceil(n / 8) * 8;

function checkRange(from: number, to: number): void {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > U32_LIMIT) {
    throw new RangeError(`record range [${from}, ${to}) must satisfy 0 <= from <= to < 2^32`);
  }
}

function checkStampMask(stamp: number, mask: number): void {
  if (!Number.isInteger(stamp) || stamp < 1 || stamp > U32_LIMIT) {
    throw new RangeError('stamp must be an integer from 1 to 2^32 - 1 (0 marks untouched groups)');
  }
  if (!Number.isInteger(mask) || mask < 1 || mask > 15) {
    throw new RangeError('mask must be a non-empty combination of the AGG_* bits');
  }
}

/**
 * What the byte and u32 tables share: the headers, the accumulators, slot growth, output reads.
 * `I` is the key input a kernel call takes.
 */
export abstract class ShardTable<I> {
  /** Pointer to the table header (BT_* or NT_* layout). Fixed for the table's life. */
  readonly header: number;
  /** Pointer to the accumulator header (AC_* layout). Fixed for the table's life. */
  readonly acc: number;
  protected readonly arena: SharedArena;
  protected readonly kernels: KernelExports;
  private accRegion: number;
  private freed = false;

  private readonly layout: HeaderLayout;

  protected constructor(arena: SharedArena, kernels: KernelExports, layout: HeaderLayout, groups: number, slots: number) {
    this.arena = arena;
    this.kernels = kernels;
    this.layout = layout;
    this.header = arena.alloc(HEADERS_SIZE, true);
    this.acc = this.header + layout.size;
    const cap = Math.max(layout.minSlots, nextPow2(slots));
    this.setField(layout.slots, arena.alloc(cap * layout.slotBytes, true));
    this.setField(layout.cap, cap);
    this.accRegion = this.allocAcc(groups, 0, 0);
  }

  // --- what each key type adds --------------------------------------------------------------------

  protected abstract rehash(newSlots: number, newCap: number): void;
  /** Grows the group columns (keys) to `newCap` groups, keeping groups 0..count-1. */
  protected abstract growGroupColumns(newCap: number): void;
  /** Kernel call: fused intern + accumulate of records perm[j], j in [from, to); returns where it stopped. */
  protected abstract runAggregate(input: I, from: number, to: number, stamp: number, mask: number): number;
  /** Kernel call: intern only; returns where it stopped. */
  protected abstract runIntern(input: I, from: number, to: number, outGid: number): number;
  /** Grows whatever kept the record at position `stop` of `input` out of the table. */
  abstract growFor(input: I, stop: number): void;
  /** This table's keys as an input whose record g is group g, for table `into` to intern. */
  protected abstract groupsInput(into: ShardTable<I>): I;

  // --- kernel runs with the grow loop -------------------------------------------------------------

  /**
   * Folds records perm[j], j in [from, to), of `input` into this table with the AGG_* bits of
   * `mask`, growing the table as often as needed; every touched group gets `stamp`.
   *
   * @example
   *   table.aggregate({ keyOffs, keyBytes, hashes, values, perm: 0 }, 0, n, batchId, AGG_COUNT | AGG_SUM);
   */
  aggregate(input: I, from: number, to: number, stamp: number, mask: number): void {
    this.checkLive();
    checkRange(from, to);
    checkStampMask(stamp, mask);
    let j = from;
    while ((j = this.runAggregate(input, j, to, stamp, mask) >>> 0) < to) this.growFor(input, j);
  }

  /** Interns the keys of records perm[j], j in [from, to), writing u32 outGid[record] = group id. */
  intern(input: I, from: number, to: number, outGid: number): void {
    this.checkLive();
    checkRange(from, to);
    let j = from;
    while ((j = this.runIntern(input, j, to, outGid) >>> 0) < to) this.growFor(input, j);
  }

  /**
   * Folds rows j in [from, to) of `input`, whose keys are interned already, into group map[gids[j]] of
   * this table (map 0: group gids[j]), in row order, with the AGG_* bits of `mask`; every touched group
   * gets `stamp`. The rest of a fold whose later rows another table interned meanwhile (see `groupMap`):
   * each key still folds in input order. Every group must be one of this table's.
   *
   * @example
   *   other.intern(input, half, n, gids);                 // rows half.. into a table of their own
   *   table.aggregate(input, 0, half, stamp, mask);       // meanwhile, rows ..half here
   *   const map = table.groupMap(other);
   *   table.foldGroups({ gids, map, groups: other.count, values: input.values }, half, n, stamp, mask);
   */
  foldGroups(input: GroupInput, from: number, to: number, stamp: number, mask: number): void {
    this.checkLive();
    checkRange(from, to);
    checkStampMask(stamp, mask);
    const mapLen = input.map === 0 ? 0 : input.groups;
    const j = this.kernels.agg_groups(this.acc, input.gids, input.map, mapLen, input.values, from, to, this.count, stamp, mask) >>> 0;
    if (j >= to) return;
    const gid = this.arena.u32[(input.gids >>> 2) + j]!;
    if (input.map !== 0 && gid >= mapLen) throw new RangeError(`row ${j} is in group ${gid}, past the ${mapLen} entries of the map`);
    throw new RangeError(`row ${j} belongs to no group of this table (it has ${this.count})`);
  }

  /**
   * Interns every key of `src` here, in src's group order, and returns a region u32[src.count] (at
   * least 4 bytes) holding src group g's id in this table: `map` for foldGroups, `gidMap` for acc_merge.
   * The caller releases it (arena.release).
   */
  groupMap(src: ShardTable<I>): number {
    this.checkLive();
    src.checkLive();
    const n = src.count;
    const map = this.arena.alloc(Math.max(1, n) * 4);
    try {
      this.intern(src.groupsInput(this), 0, n, map);
    } catch (err) {
      this.arena.release(map);
      throw err;
    }
    return map;
  }

  /**
   * Folds another table's groups into this one (partial -> final merge): its keys are interned here,
   * then its accumulators merged with the AGG_* bits of `mask`, stamped `stamp`.
   */
  mergeFrom(src: ShardTable<I>, stamp: number, mask: number): void {
    this.checkLive();
    src.checkLive();
    checkStampMask(stamp, mask);
    const n = src.count;
    if (n === 0) return;
    const gidMap = this.groupMap(src);
    try {
      this.kernels.acc_merge(this.acc, src.acc, gidMap, n, stamp, mask);
    } finally {
      this.arena.release(gidMap);
    }
  }

  // --- reads --------------------------------------------------------------------------------------

  /** Number of groups (distinct keys); group ids are 0 .. count-1 in first-seen order. */
  get count(): number {
    return this.field(this.layout.count);
  }

  /** Groups the table holds before its group columns grow. */
  get groupCapacity(): number {
    return this.field(this.layout.groupCap);
  }

  /** Hash slots (a power of two). */
  get slotCapacity(): number {
    return this.field(this.layout.cap);
  }

  /**
   * An accumulator column over groups 0..count-1: a view of the shared memory, valid until the
   * table next grows or is freed (copy it to keep it).
   */
  column(name: AccColumn): Float64Array {
    this.checkLive();
    const base = this.accField(ACC_FIELD[name]) >>> 3;
    return this.arena.f64.subarray(base, base + this.count);
  }

  /** The four accumulator columns over groups 0..count-1 (views, like `column`). */
  accumulators(): Record<AccColumn, Float64Array> {
    return { count: this.column('count'), sum: this.column('sum'), min: this.column('min'), max: this.column('max') };
  }

  /** The stamp column over groups 0..count-1 (a view, like `column`). */
  stamps(): Uint32Array {
    this.checkLive();
    const base = this.accField(AC_STAMP) >>> 2;
    return this.arena.u32.subarray(base, base + this.count);
  }

  /** Ids of the groups whose stamp is `stamp` (updated by that batch), ascending, as a new array. */
  changed(stamp: number): Uint32Array {
    this.checkLive();
    const n = this.count;
    if (n === 0) return new Uint32Array(0);
    const out = this.arena.alloc(n * 4);
    try {
      const k = this.kernels.acc_changed(this.acc, n, stamp >>> 0, out) >>> 0;
      return this.arena.u32.slice(out >>> 2, (out >>> 2) + k);
    } finally {
      this.arena.release(out);
    }
  }

  /** Ids of the groups whose stamp is in (fromStamp, toStamp]: the groups those batches changed. */
  changedIn(fromStamp: number, toStamp: number): Uint32Array {
    if (toStamp <= fromStamp || this.count === 0) return new Uint32Array(0);
    if (toStamp === fromStamp + 1) return this.changed(toStamp);
    const parts: Uint32Array[] = [];
    let n = 0;
    for (let s = fromStamp + 1; s <= toStamp; s++) {
      const c = this.changed(s);
      parts.push(c);
      n += c.length;
    }
    const out = new Uint32Array(n);
    let at = 0;
    for (const c of parts) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** Returns every region to the arena. The table must not be used afterwards. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.releaseRegions();
    this.arena.release(this.field(this.layout.slots));
    this.arena.release(this.accRegion);
    this.arena.release(this.header);
  }

  // --- growth -------------------------------------------------------------------------------------

  /**
   * Grows what keeps one more group of `keyLen` key bytes out; throws if nothing was full (a kernel
   * that stops with room left is a bug, and retrying would loop forever).
   */
  protected growToFit(keyLen: number, stop: number): void {
    this.checkLive();
    const count = this.count;
    let grew = false;
    const groupCap = this.groupCapacity;
    if (count >= groupCap || count >= this.accField(AC_CAP)) {
      const newCap = Math.max(groupCap * 2, count + 1);
      if (newCap > U32_LIMIT) throw new SluiceError('ERR_MEMORY', `a shard table cannot hold more than ${U32_LIMIT} groups`);
      this.growGroupColumns(newCap);
      this.setField(this.layout.groupCap, newCap);
      this.growAcc(newCap);
      grew = true;
    }
    if (this.growArenaFor(keyLen)) grew = true;
    const cap = this.slotCapacity;
    if (!fitsLoad(count + 1, cap)) {
      let newCap = Math.max(2, this.layout.minSlots, cap * 2);
      while (!fitsLoad(count + 1, newCap)) newCap *= 2;
      this.growSlots(newCap);
      grew = true;
    }
    if (!grew) {
      throw new SluiceError('ERR_STATE', `shard table kernel stopped at record position ${stop} although the table had room`);
    }
  }

  /** Byte tables grow their key arena here; returns whether it grew. */
  protected growArenaFor(_keyLen: number): boolean {
    return false;
  }

  /** Releases the key-type-specific regions (group columns, arena). */
  protected abstract releaseRegions(): void;

  private growSlots(newCap: number): void {
    const old = this.field(this.layout.slots);
    const slots = this.arena.alloc(newCap * this.layout.slotBytes, true);
    this.rehash(slots, newCap);
    if (this.field(this.layout.slots) !== slots) {
      this.arena.release(slots);
      throw new SluiceError('ERR_STATE', `shard table rehash to ${newCap} slots was refused by the kernel`);
    }
    this.arena.release(old);
  }

  /** Allocates accumulators for `cap` groups, copying groups [0, keep) from `from` (an old region, or 0). */
  private allocAcc(cap: number, from: number, keep: number): number {
    const region = this.arena.alloc(cap * ACC_BYTES_PER_GROUP);
    const f64 = this.arena.f64;
    const u32 = this.arena.u32;
    const cols = [AC_COUNT, AC_SUM, AC_MIN, AC_MAX] as const;
    const fresh = [0, 0, Infinity, -Infinity] as const;
    for (let c = 0; c < 4; c++) {
      const dst = (region >>> 3) + c * cap;
      if (keep > 0) {
        const src = this.accField(cols[c]) >>> 3;
        f64.copyWithin(dst, src, src + keep);
      }
      f64.fill(fresh[c], dst + keep, dst + cap);
      this.setAccField(cols[c], region + c * cap * 8);
    }
    const stampDst = (region + 32 * cap) >>> 2;
    if (keep > 0) {
      const src = this.accField(AC_STAMP) >>> 2;
      u32.copyWithin(stampDst, src, src + keep);
    }
    u32.fill(0, stampDst + keep, stampDst + cap);
    this.setAccField(AC_STAMP, region + 32 * cap);
    this.setAccField(AC_CAP, cap);
    return region;
  }

  private growAcc(newCap: number): void {
    const old = this.accRegion;
    this.accRegion = this.allocAcc(newCap, old, this.count);
    this.arena.release(old);
  }

  // --- header access ------------------------------------------------------------------------------

  protected field(offset: number): number {
    return this.arena.u32[(this.header + offset) >>> 2]!;
  }
  protected setField(offset: number, value: number): void {
    this.arena.u32[(this.header + offset) >>> 2] = value;
  }
  private accField(offset: number): number {
    return this.arena.u32[(this.acc + offset) >>> 2]!;
  }
  private setAccField(offset: number, value: number): void {
    this.arena.u32[(this.acc + offset) >>> 2] = value;
  }
  protected checkLive(): void {
    if (this.freed) throw new SluiceError('ERR_STATE', 'shard table used after free()');
  }
  protected checkGroup(g: number): void {
    if (!Number.isInteger(g) || g < 0 || g >= this.count) {
      throw new RangeError(`group id ${g} is not in [0, ${this.count})`);
    }
  }
}

/**
 * A shard's table of UTF-8 byte-string keys (BT_* layout) with its accumulators.
 *
 * @example
 *   const t = new ByteShardTable(arena, kernels);
 *   t.aggregate({ keyOffs, keyBytes, hashes, values, perm: 0 }, 0, n, 1, AGG_COUNT | AGG_SUM);
 *   for (let g = 0; g < t.count; g++) out.push([t.keyString(g), t.column('sum')[g]]);
 */
export class ByteShardTable extends ShardTable<ByteKeyInput> {
  /** What the keys are hashed with (ShardTableOptions.hash). */
  readonly hash: ByteTableHash;
  private groupsRegion: number;
  private arenaRegion: number;

  constructor(arena: SharedArena, kernels: KernelExports, options: ShardTableOptions = {}) {
    const groups = positiveInt('groups', options.groups, 1024);
    const slots = positiveInt('slots', options.slots, Math.max(2, nextPow2(Math.ceil((groups * 4) / 3))));
    const keyBytes = positiveInt('keyBytes', options.keyBytes, 16 * groups);
    const hash = byteTableHash(options.hash);
    super(arena, kernels, BYTE_LAYOUT, groups, slots);
    this.hash = hash;
    this.groupsRegion = this.allocGroups(groups, 0);
    this.setField(BT_GROUP_CAP, groups);
    this.arenaRegion = arena.alloc(keyBytes);
    this.setField(BT_ARENA, this.arenaRegion);
    this.setField(BT_ARENA_CAP, keyBytes);
  }

  /** Bytes of key data the arena holds before it grows. */
  get keyBytesCapacity(): number {
    return this.field(BT_ARENA_CAP);
  }

  /** Bytes of key data stored (all keys, back to back). */
  get keyBytesUsed(): number {
    return this.arena.u32[(this.field(BT_KEY_OFFS) >>> 2) + this.count]!;
  }

  /** The key of group g: a view of the shared memory, valid until the table grows or is freed. */
  key(g: number): Uint8Array {
    this.checkLive();
    this.checkGroup(g);
    const offs = this.field(BT_KEY_OFFS) >>> 2;
    const u32 = this.arena.u32;
    const base = this.field(BT_ARENA);
    return this.arena.u8.subarray(base + u32[offs + g]!, base + u32[offs + g + 1]!);
  }

  /**
   * Every group's key at once, as views of the shared memory valid until the table grows or is freed
   * (copy them to keep them): key g is bytes[offsets[g] .. offsets[g+1]), hashes[g] its hash (murmur2
   * unless the table's `hash` is 'fast').
   * What a checkpoint reads, without a call per group.
   */
  keyColumns(): { offsets: Uint32Array; bytes: Uint8Array; hashes: Uint32Array } {
    this.checkLive();
    const n = this.count;
    const offs = this.field(BT_KEY_OFFS) >>> 2;
    const hashes = this.field(BT_HASHES) >>> 2;
    const base = this.field(BT_ARENA);
    const u32 = this.arena.u32;
    return {
      offsets: u32.subarray(offs, offs + n + 1),
      bytes: this.arena.u8.subarray(base, base + u32[offs + n]!),
      hashes: u32.subarray(hashes, hashes + n),
    };
  }

  /** The key of group g decoded as UTF-8 (invalid sequences become U+FFFD): for output only. */
  keyString(g: number): string {
    return utf8.decode(this.key(g));
  }

  /** The hash of the key of group g (unsigned): murmur2, unless the table's `hash` is 'fast'. */
  keyHash(g: number): number {
    this.checkLive();
    this.checkGroup(g);
    return this.arena.u32[(this.field(BT_HASHES) >>> 2) + g]!;
  }

  protected groupsInput(into: ShardTable<ByteKeyInput>): ByteKeyInput {
    // a table's keyOffs + arena + hashes are exactly a batch's key columns; hashed again by a table of another hash
    const hashes = (into as ByteShardTable).hash === this.hash ? this.field(BT_HASHES) : 0;
    return { keyOffs: this.field(BT_KEY_OFFS), keyBytes: this.field(BT_ARENA), hashes, values: 0, perm: 0 };
  }

  /** Grows the table for the record at position `stop` of `input`, where a kernel (maybe on a worker) stopped. */
  growFor(input: ByteKeyInput, stop: number): void {
    const u32 = this.arena.u32;
    const r = input.perm === 0 ? stop : u32[(input.perm >>> 2) + stop]!;
    const o = (input.keyOffs >>> 2) + r;
    this.growToFit(u32[o + 1]! - u32[o]!, stop);
  }

  protected runAggregate(input: ByteKeyInput, from: number, to: number, stamp: number, mask: number): number {
    if (this.hash === 'fast' && input.hashes === 0) {
      return this.kernels.agg_bytes_fast(this.header, this.acc, input.keyOffs, input.keyBytes, input.values, input.perm, from, to, stamp, mask);
    }
    return this.kernels.agg_bytes(
      this.header, this.acc, input.keyOffs, input.keyBytes, input.hashes, input.values, input.perm, from, to, stamp, mask,
    );
  }

  protected runIntern(input: ByteKeyInput, from: number, to: number, outGid: number): number {
    if (this.hash === 'fast' && input.hashes === 0) {
      return this.kernels.table_bytes_intern_fast(this.header, input.keyOffs, input.keyBytes, input.perm, from, to, outGid);
    }
    return this.kernels.table_bytes_intern(
      this.header, input.keyOffs, input.keyBytes, input.hashes, input.perm, from, to, outGid,
    );
  }

  protected rehash(newSlots: number, newCap: number): void {
    this.kernels.table_bytes_rehash(this.header, newSlots, newCap);
  }

  /** keyOffs u32[cap+1] then hashes u32[cap], in one region; copies `keep` groups from the current one. */
  private allocGroups(cap: number, keep: number): number {
    const region = this.arena.alloc((2 * cap + 1) * 4);
    const u32 = this.arena.u32;
    const offs = region >>> 2;
    const hashes = offs + cap + 1;
    if (keep > 0) {
      const oldOffs = this.field(BT_KEY_OFFS) >>> 2;
      const oldHashes = this.field(BT_HASHES) >>> 2;
      u32.copyWithin(offs, oldOffs, oldOffs + keep + 1);
      u32.copyWithin(hashes, oldHashes, oldHashes + keep);
    } else {
      u32[offs] = 0; // keyOffs[0]: the first key starts at the arena's start
    }
    this.setField(BT_KEY_OFFS, region);
    this.setField(BT_HASHES, hashes << 2);
    return region;
  }

  protected growGroupColumns(newCap: number): void {
    const old = this.groupsRegion;
    this.groupsRegion = this.allocGroups(newCap, this.count);
    this.arena.release(old);
  }

  protected override growArenaFor(keyLen: number): boolean {
    const used = this.keyBytesUsed;
    const cap = this.keyBytesCapacity;
    if (used + keyLen <= cap) return false;
    const newCap = Math.min(U32_LIMIT, Math.max(cap * 2, used + keyLen));
    if (used + keyLen > newCap) {
      throw new SluiceError('ERR_MEMORY', `a shard table cannot hold more than ${U32_LIMIT} bytes of keys`);
    }
    const region = this.arena.alloc(newCap);
    const old = this.arenaRegion;
    this.arena.u8.copyWithin(region, old, old + used);
    this.arenaRegion = region;
    this.setField(BT_ARENA, region);
    this.setField(BT_ARENA_CAP, newCap);
    this.arena.release(old);
    return true;
  }

  protected releaseRegions(): void {
    this.arena.release(this.groupsRegion);
    this.arena.release(this.arenaRegion);
  }
}

/**
 * A shard's table of u32 keys (NT_* layout) with its accumulators.
 *
 * @example
 *   const t = new U32ShardTable(arena, kernels);
 *   t.aggregate({ keys, values, perm: 0 }, 0, n, 1, AGG_COUNT);
 */
export class U32ShardTable extends ShardTable<U32KeyInput> {
  private keysRegion: number;

  constructor(arena: SharedArena, kernels: KernelExports, options: ShardTableOptions = {}) {
    const groups = positiveInt('groups', options.groups, 1024);
    const slots = positiveInt('slots', options.slots, Math.max(2, nextPow2(Math.ceil((groups * 4) / 3))));
    super(arena, kernels, U32_LAYOUT, groups, slots);
    this.keysRegion = arena.alloc(groups * 4);
    this.setField(NT_KEYS, this.keysRegion);
    this.setField(NT_GROUP_CAP, groups);
  }

  /** The key of group g. */
  key(g: number): number {
    this.checkLive();
    this.checkGroup(g);
    return this.arena.u32[(this.keysRegion >>> 2) + g]!;
  }

  protected groupsInput(): U32KeyInput {
    return { keys: this.keysRegion, values: 0, perm: 0 };
  }

  /** Grows the table where a kernel (maybe on a worker) stopped; u32 keys need no arena. */
  growFor(_input: U32KeyInput, stop: number): void {
    this.growToFit(0, stop);
  }

  /**
   * The dense fold of rows [from, to) of `input` (perm ignored: rows in order): keys in `dense`'s range
   * fold into its slots, any other key into this table (agg_u32_dense), growing the table as needed;
   * then the touched slots merge into the table (flushDense). Every touched group gets `stamp`.
   *
   * @example
   *   const dense = new DenseSlots(arena, 0, 1024, false); // keys 0..1023
   *   table.aggregateDense({ keys, values, perm: 0 }, dense, 0, n, 1, AGG_COUNT | AGG_SUM);
   */
  aggregateDense(input: U32KeyInput, dense: DenseSlots, from: number, to: number, stamp: number, mask: number): void {
    this.foldDense(input, dense, from, to, stamp, mask);
    this.flushDense(dense, stamp, mask);
  }

  /** aggregateDense without the flush: further rows of the batch may follow before flushDense. */
  foldDense(input: U32KeyInput, dense: DenseSlots, from: number, to: number, stamp: number, mask: number): void {
    this.checkLive();
    checkRange(from, to);
    checkStampMask(stamp, mask);
    dense.check(mask);
    let j = from;
    while ((j = this.kernels.agg_u32_dense(this.header, this.acc, dense.header, dense.base, input.keys, input.values, j, to, stamp, mask) >>> 0) < to) {
      this.growToFit(0, j);
    }
  }

  /** Merges the slots of `dense` that a fold touched into this table (dense_flush), growing it as needed; leaves them fresh. */
  flushDense(dense: DenseSlots, stamp: number, mask: number): void {
    this.checkLive();
    checkStampMask(stamp, mask);
    dense.check(mask);
    let i = 0;
    while ((i = this.kernels.dense_flush(this.header, this.acc, dense.header, dense.base, i, stamp, mask) >>> 0) < dense.range) {
      this.growToFit(0, i);
    }
  }

  protected runAggregate(input: U32KeyInput, from: number, to: number, stamp: number, mask: number): number {
    return this.kernels.agg_u32(this.header, this.acc, input.keys, input.values, input.perm, from, to, stamp, mask);
  }

  protected runIntern(input: U32KeyInput, from: number, to: number, outGid: number): number {
    return this.kernels.table_u32_intern(this.header, input.keys, input.perm, from, to, outGid);
  }

  protected rehash(newSlots: number, newCap: number): void {
    this.kernels.table_u32_rehash(this.header, newSlots, newCap);
  }

  protected growGroupColumns(newCap: number): void {
    const region = this.arena.alloc(newCap * 4);
    const old = this.keysRegion;
    this.arena.u32.copyWithin(region >>> 2, old >>> 2, (old >>> 2) + this.count);
    this.keysRegion = region;
    this.setField(NT_KEYS, region);
    this.arena.release(old);
  }

  protected releaseRegions(): void {
    this.arena.release(this.keysRegion);
  }
}

/**
 * The dense slots of the dense fold (assembly/kernels/dense.ts): one (count, sum) pair, and with
 * `extremes` one (min, max) pair, per u32 key base .. base + range - 1, fresh. A fold of keys in a narrow
 * range then costs no hash and no probe per row (the kernel suite's K1 and K3); the slots stay fresh
 * after each flush, so one set serves batch after batch.
 */
export class DenseSlots {
  readonly header: number;
  private readonly pairs: number;
  private readonly ext: number;
  private freed = false;

  constructor(private readonly arena: SharedArena, readonly base: number, readonly range: number, readonly extremes: boolean) {
    if (!Number.isInteger(base) || base < 0 || base > U32_LIMIT) throw new RangeError(`dense base ${base} must be a u32`);
    if (!Number.isInteger(range) || range < 1 || range > 2 ** 24) throw new RangeError(`dense range ${range} must be an integer from 1 to 2^24`);
    this.header = arena.alloc(DN_SIZE, true);
    this.pairs = arena.alloc(range * 16, true);
    this.ext = 0;
    if (extremes) {
      this.ext = arena.alloc(range * 16);
      const f = arena.f64;
      for (let i = this.ext >>> 3, end = i + 2 * range; i < end; i += 2) {
        f[i] = Infinity;
        f[i + 1] = -Infinity;
      }
    }
    const u = arena.u32;
    u[(this.header + DN_CAP) >>> 2] = range;
    u[(this.header + DN_PAIRS) >>> 2] = this.pairs;
    u[(this.header + DN_EXT) >>> 2] = this.ext;
  }

  /** Throws unless these slots can take a fold with `mask` (min/max need extremes). */
  check(mask: number): void {
    if (this.freed) throw new SluiceError('ERR_STATE', 'dense slots used after free()');
    if (mask & (AGG_MIN | AGG_MAX) && !this.extremes) throw new RangeError('min/max need dense slots made with extremes');
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const p of [this.pairs, this.ext, this.header]) if (p !== 0) this.arena.release(p);
  }
}

/** Where `ShardSet.partition` put a batch's records: pointers into the set's scratch, valid until the next call. */
export interface BatchPartition {
  /** u32[shards+1]: shard s holds positions starts[s] .. starts[s+1] of perm. */
  starts: number;
  /** u32[n]: record indexes grouped by shard, input order kept within a shard. */
  perm: number;
}

/**
 * Where phase 1 of the partitioned fold puts a batch (see `ShardSet.rangePartition`): `parts` blocks
 * of `block` rows, each sorted by shard on its own into its slice of one perm column.
 *
 *     starts u32[parts*(S+1)]   range t, shard s: perm[starts[t*(S+1)+s] .. starts[t*(S+1)+s+1])
 *     perm   u32[n]             range t writes perm[lo_t, hi_t): absolute row indexes
 */
export interface RangePartition {
  /** Rows of each part (the last one may be shorter). */
  block: number;
  parts: number;
  starts: number;
  perm: number;
}

/** One phase-1 task's share of a RangePartition: rows [lo, hi), whole blocks, their starts from `starts`. */
export interface PartitionSlice {
  lo: number;
  hi: number;
  starts: number;
}

/**
 * Where phase 1 of the scattered fold puts a batch of u32-keyed rows (see `ShardSet.scatterBuffers`):
 * row range t's rows, stably sorted by shard (scatter_range), in its slice of the key and value columns.
 *
 *     starts u32[T*(S+1)]   range t, shard s: rows [starts[t*(S+1)+s], starts[t*(S+1)+s+1]) of keys/values
 *     keys u32[n], values f64[n]
 *
 * A shard's rows in input order are range 0's segment, then range 1's, ...: contiguous runs that
 * agg_u32_shards folds as one shard of one table (the table's pointers at tablePtrs + 4s, accPtrs + 4s).
 */
export interface ScatterPartition {
  /** The row range of each phase-1 task, with its starts. */
  ranges: PartitionSlice[];
  keys: number;
  values: number;
}

type InputOf<T> = T extends ShardTable<infer I> ? I : never;

/** One routing-kernel call (agg_bytes_shards / agg_u32_shards) over shards [0, S): returns where it stopped. */
type RouteRun<I> = (
  tables: number, accs: number, shards: number, input: I, hashes: number, from: number, to: number, stamp: number, mask: number,
) => number;

/**
 * The S shards of one keyed state: a table per shard, and the arrays of their header pointers in
 * shared memory (u32[S] table headers, u32[S] accumulator headers), so a kernel can address a
 * range of shards by index. Headers never move, so the arrays stay valid across growth.
 *
 *     tablePtrs u32[S] ──▶ tables[s].header        accPtrs u32[S] ──▶ tables[s].acc
 *
 * @example
 *   const set = ShardSet.bytes(arena, kernels, 8);
 *   set.aggregate({ keyOffs, keyBytes, hashes, values, perm: 0 }, hashes, n, batchId, AGG_ALL);
 */
export class ShardSet<T extends ShardTable<ByteKeyInput> | ShardTable<U32KeyInput>> {
  /** The shards' tables; shard s holds the keys whose (murmur2 & 0x7fffffff) % S is s. */
  readonly tables: readonly T[];
  /** u32[S]: tables[s].header. */
  readonly tablePtrs: number;
  /** u32[S]: tables[s].acc. */
  readonly accPtrs: number;
  private readonly arena: SharedArena;
  private readonly kernels: KernelExports;
  private readonly route: RouteRun<InputOf<T>>;
  private readonly make: () => T;
  private scratch = 0;
  private scratchBytes = 0;

  /** S shards of byte-string keys. */
  static bytes(arena: SharedArena, kernels: KernelExports, shards: number, options: ShardTableOptions = {}): ShardSet<ByteShardTable> {
    return new ShardSet<ByteShardTable>(
      arena, kernels, shards, () => new ByteShardTable(arena, kernels, options),
      (tables, accs, S, input, hashes, from, to, stamp, mask) => kernels.agg_bytes_shards(
        tables, accs, S, 0, S, input.keyOffs, input.keyBytes, hashes, input.values, from, to, stamp, mask,
      ),
    );
  }

  /** S shards of u32 keys (sharded by a hash column the caller supplies, e.g. hash_u32 of each key). */
  static u32(arena: SharedArena, kernels: KernelExports, shards: number, options: ShardTableOptions = {}): ShardSet<U32ShardTable> {
    return new ShardSet<U32ShardTable>(
      arena, kernels, shards, () => new U32ShardTable(arena, kernels, options),
      (tables, accs, S, input, hashes, from, to, stamp, mask) => kernels.agg_u32_shards(
        tables, accs, S, 0, S, input.keys, hashes, input.values, from, to, stamp, mask,
      ),
    );
  }

  private constructor(arena: SharedArena, kernels: KernelExports, shards: number, make: () => T, route: RouteRun<InputOf<T>>) {
    if (!Number.isInteger(shards) || shards < 1 || shards > 65536) {
      throw new OptionError('shards', 'options.shards must be an integer from 1 to 65536');
    }
    this.arena = arena;
    this.kernels = kernels;
    this.route = route;
    this.make = make;
    const tables: T[] = [];
    for (let s = 0; s < shards; s++) tables.push(make());
    this.tables = tables;
    this.tablePtrs = arena.alloc(shards * 8);
    this.accPtrs = this.tablePtrs + shards * 4;
    const u32 = arena.u32;
    for (let s = 0; s < shards; s++) {
      u32[(this.tablePtrs >>> 2) + s] = tables[s]!.header;
      u32[(this.accPtrs >>> 2) + s] = tables[s]!.acc;
    }
  }

  /**
   * Empties shard s: its table is freed and replaced by a fresh one (a Kafka partition that moved to
   * another member, or whose state is restored again). No task may be running on the set.
   */
  reset(s: number): void {
    if (!Number.isInteger(s) || s < 0 || s >= this.tables.length) throw new RangeError(`shard ${s} is not in [0, ${this.tables.length})`);
    const fresh = this.make();
    this.tables[s]!.free();
    (this.tables as T[])[s] = fresh;
    const u32 = this.arena.u32;
    u32[(this.tablePtrs >>> 2) + s] = fresh.header;
    u32[(this.accPtrs >>> 2) + s] = fresh.acc;
  }

  /** Number of shards S. */
  get size(): number {
    return this.tables.length;
  }

  /** Total groups over all shards. */
  get count(): number {
    let n = 0;
    for (const t of this.tables) n += t.count;
    return n;
  }

  /** The shard of a murmur2 hash: Kafka's default partitioner, (h & 0x7fffffff) % S. */
  shardOf(hash: number): number {
    return (hash & 0x7fffffff) % this.tables.length;
  }

  /**
   * Stable-sorts records 0..n-1 by the shard of hashes[i] (the `partition` kernel) into the set's
   * scratch, for tasks that each take a range of shards and run agg_bytes over its slice of perm.
   */
  partition(hashes: number, n: number): BatchPartition {
    checkRange(0, n);
    const S = this.tables.length;
    const starts = this.scratchFor((S + 1 + n) * 4);
    const perm = starts + (S + 1) * 4;
    this.kernels.partition(hashes, n, S, starts, perm);
    return { starts, perm };
  }

  /**
   * The buffers of a partitioned fold of n records in `parts` consecutive row ranges (blocks), in the
   * set's scratch (reused across batches, valid until the next call): each phase-1 task partitions its
   * blocks into their starts slices (partition_range / partition_blocks), then each phase-2 task folds
   * a shard range's lists (agg_*_parts).
   */
  rangePartition(n: number, block: number): RangePartition {
    checkRange(0, n);
    if (!Number.isInteger(block) || block < 1 || block > U32_LIMIT) throw new RangeError(`block must be a positive integer, not ${block}`);
    const parts = Math.ceil(n / block);
    const startsBytes = parts * (this.tables.length + 1) * 4;
    const starts = this.scratchFor(startsBytes + n * 4);
    return { block, parts, starts, perm: starts + startsBytes };
  }

  /** The blocks of a RangePartition of n rows shared out to `tasks` phase-1 tasks (partition_blocks each), whole blocks each. */
  partitionSlices(part: RangePartition, n: number, tasks: number): PartitionSlice[] {
    const T = Math.max(1, Math.min(tasks, part.parts));
    const stride = (this.tables.length + 1) * 4;
    const out: PartitionSlice[] = [];
    for (let t = 0; t < T; t++) {
      const b0 = Math.floor((t * part.parts) / T);
      const b1 = Math.floor(((t + 1) * part.parts) / T);
      out.push({ lo: Math.min(n, b0 * part.block), hi: Math.min(n, b1 * part.block), starts: part.starts + b0 * stride });
    }
    return out;
  }

  /**
   * The buffers of a scattered fold of n u32-keyed rows (values f64 unless `values` is false) in `tasks`
   * row ranges, in the set's scratch (reused across batches, valid until the next call): each phase-1 task
   * scatters its range (scatter_range), then each shard's segments fold one after the other (ScatterPartition).
   */
  scatterBuffers(n: number, tasks: number, values = true): ScatterPartition {
    checkRange(0, n);
    const T = Math.max(1, Math.min(tasks, n));
    const stride = (this.tables.length + 1) * 4;
    const startsBytes = align8(T * stride);
    const keysBytes = align8(n * 4);
    const starts = this.scratchFor(startsBytes + keysBytes + (values ? n * 8 : 0));
    const ranges: PartitionSlice[] = [];
    for (let t = 0; t < T; t++) ranges.push({ lo: Math.floor((t * n) / T), hi: Math.floor(((t + 1) * n) / T), starts: starts + t * stride });
    return { ranges, keys: starts + startsBytes, values: values ? starts + startsBytes + keysBytes : 0 };
  }

  /** Shard s's segments of a scattered batch (after phase 1), in fold order: [from, to) rows of its keys/values. */
  scatteredSegments(part: ScatterPartition, s: number): Array<[number, number]> {
    const u32 = this.arena.u32;
    return part.ranges.map((r) => [u32[(r.starts >>> 2) + s]!, u32[(r.starts >>> 2) + s + 1]!] as [number, number]);
  }

  /** Rows of shards [shardLo, shardHi) in a range partition: the position agg_*_parts returns when done. */
  partsTotal(part: RangePartition, shardLo: number, shardHi: number): number {
    const u32 = this.arena.u32;
    const stride = this.tables.length + 1;
    let total = 0;
    for (let t = 0; t < part.parts; t++) {
      const at = (part.starts >>> 2) + t * stride;
      total += u32[at + shardHi]! - u32[at + shardLo]!;
    }
    return total;
  }

  /**
   * After agg_*_parts over shards [shardLo, shardHi) stopped at position `pos` (its lists in fold
   * order: part by part, each part's shards in order), grows the table of that row's shard; returns
   * the shard.
   */
  growPartFor(input: InputOf<T>, part: RangePartition, shardLo: number, shardHi: number, pos: number): number {
    const u32 = this.arena.u32;
    const stride = this.tables.length + 1;
    let p = 0;
    for (let t = 0; t < part.parts; t++) {
      for (let s = shardLo; s < shardHi; s++) {
        const at = (part.starts >>> 2) + t * stride + s;
        const a = u32[at]!;
        const len = u32[at + 1]! - a;
        if (pos < p + len) {
          (this.tables[s] as ShardTable<InputOf<T>>).growFor({ ...input, perm: part.perm }, a + pos - p);
          return s;
        }
        p += len;
      }
    }
    throw new SluiceError('ERR_STATE', `partitioned fold stopped at position ${pos}, beyond the ${p} rows of shards [${shardLo}, ${shardHi})`);
  }

  /** The set's scratch region, at least `bytes` long (its contents are not kept). */
  private scratchFor(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratch !== 0) this.arena.release(this.scratch);
      this.scratch = 0;
      this.scratchBytes = 0;
      const size = Math.max(bytes, this.scratchBytes * 2);
      this.scratch = this.arena.alloc(size);
      this.scratchBytes = size;
    }
    return this.scratch;
  }

  /**
   * Aggregates a batch of n records on the calling thread: each record, in input order, goes to
   * the table of its shard by `hashes` (u32[n] murmur2), in one pass over the batch with no
   * partition (agg_bytes_shards / agg_u32_shards). `input.perm` is ignored.
   */
  aggregate(input: InputOf<T>, hashes: number, n: number, stamp: number, mask: number): void {
    checkRange(0, n);
    checkStampMask(stamp, mask);
    if (n === 0) return;
    let j = 0;
    while ((j = this.route(this.tablePtrs, this.accPtrs, this.size, input, hashes, j, n, stamp, mask) >>> 0) < n) {
      this.growShardFor(input, hashes, j);
    }
  }

  /**
   * After a routing kernel stopped at record `stop` (records in input order, no perm), grows the
   * table of that record's shard; returns the shard.
   */
  growShardFor(input: InputOf<T>, hashes: number, stop: number): number {
    const s = this.shardOf(this.arena.u32[(hashes >>> 2) + stop]!);
    this.growShard(s, input, stop);
    return s;
  }

  /** After a kernel folding rows of shard s alone (a scattered segment, say) stopped at row `stop`, grows shard s's table. */
  growShard(s: number, input: InputOf<T>, stop: number): void {
    (this.tables[s] as ShardTable<InputOf<T>>).growFor({ ...input, perm: 0 }, stop);
  }

  /**
   * Puts `table` (made over the same arena and kernels, holding only keys of shard s) in place of
   * shard s's table, which is freed: how a restored or compacted table joins the set.
   */
  replaceTable(s: number, table: T): void {
    if (!Number.isInteger(s) || s < 0 || s >= this.tables.length) throw new RangeError(`shard ${s} is not in [0, ${this.tables.length})`);
    const old = this.tables[s]!;
    if (old === table) return;
    (this.tables as T[])[s] = table;
    const u32 = this.arena.u32;
    u32[(this.tablePtrs >>> 2) + s] = table.header;
    u32[(this.accPtrs >>> 2) + s] = table.acc;
    old.free();
  }

  /** Frees every table, the pointer arrays and the scratch. */
  free(): void {
    for (const t of this.tables) t.free();
    this.arena.release(this.tablePtrs);
    if (this.scratch !== 0) this.arena.release(this.scratch);
    this.scratch = 0;
    this.scratchBytes = 0;
  }
}
