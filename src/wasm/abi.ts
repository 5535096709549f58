// TypeScript mirror of the wasm ABI (assembly/index.ts): export signatures and struct layouts.
//
// All pointers are byte offsets into the one shared WebAssembly.Memory. A wasm i32 result arrives in
// JS as a signed number: read u32 results with `>>> 0`. Every struct is an array of little-endian
// 32-bit fields at the byte offsets below; the host writes inputs, the kernel writes outputs.

/** Must equal assembly/index.ts ABI_VERSION; checked when the module is instantiated. */
export const ABI_VERSION = 10;

/** Aggregation bits passed as `mask` to the accumulate kernels. avg is sum and count together. */
export const AGG_COUNT = 1;
export const AGG_SUM = 2;
export const AGG_MIN = 4;
export const AGG_MAX = 8;

/**
 * Byte-string key table (assembly/table.ts): open addressing, key -> dense group id.
 *
 *     header (32 bytes)          slots: cap lanes, BT_SLOT_BYTES each, in 64-byte buckets of 4 lanes:
 *     +-----------+              +----------+----------+--------------+----------------+
 *     | slots   --+------------> | hash x4  | gid+1 x4 | key off x4   | key len + 1 x4 |  0 = empty lane
 *     | cap       |              +----------+----------+--------------+----------------+
 *     | count     |              groups (0..count-1): keyOffs u32[groupCap+1]: key g is
 *     | keyOffs ..|              arena[keyOffs[g] .. keyOffs[g+1]); hashes u32[groupCap]: murmur2 of key g
 *     +-----------+              (then arena, arenaCap, groupCap, hashes)
 *
 * cap is a power of two >= BT_MIN_SLOTS. A new group is inserted only while count < groupCap,
 * keyOffs[count] + keyLen <= arenaCap and (count + 1) * 4 <= cap * 3; otherwise the kernel stops and
 * the host grows (TABLE_MAX_LOAD).
 */
export const BT_SLOTS = 0;
export const BT_CAP = 4;
export const BT_COUNT = 8;
export const BT_KEY_OFFS = 12;
export const BT_ARENA = 16;
export const BT_ARENA_CAP = 20;
export const BT_GROUP_CAP = 24;
export const BT_HASHES = 28;
export const BT_SIZE = 32;
/** Bytes of one byte-table slot (a lane of a 4-lane, 64-byte bucket). */
export const BT_SLOT_BYTES = 16;
/** A byte table has at least one bucket: cap >= 4. */
export const BT_MIN_SLOTS = 4;

/** u32 key table: slots u32[2*cap] = (key, gid+1); keys u32[groupCap] holds the key of group g. */
export const NT_SLOTS = 0;
export const NT_CAP = 4;
export const NT_COUNT = 8;
export const NT_KEYS = 12;
export const NT_GROUP_CAP = 16;
export const NT_SIZE = 32;
/** Bytes of one u32-table slot: (key, gid + 1). */
export const NT_SLOT_BYTES = 8;

/**
 * Accumulators of one shard, columnar by group id. The host fills fresh capacity with
 * count 0, sum 0, min +Infinity, max -Infinity, stamp 0 before a kernel may use it.
 */
export const AC_CAP = 0;
export const AC_COUNT = 4; // f64[cap]
export const AC_SUM = 8; // f64[cap]
export const AC_MIN = 12; // f64[cap]
export const AC_MAX = 16; // f64[cap]
export const AC_STAMP = 20; // u32[cap]: batch stamp of the last update
export const AC_SIZE = 32;

/**
 * Dense set of the dense fold (assembly/kernels/dense.ts): R slots for u32 keys base .. base + R - 1.
 * pairs f64x2[R] holds (count, sum) per slot, ext f64x2[R] (min, max), or ext = 0 when no mask asks for
 * them. Fresh slots are (0, 0) and (+Infinity, -Infinity); dense_flush leaves the slots it merges fresh.
 */
export const DN_CAP = 0;
export const DN_PAIRS = 4;
export const DN_EXT = 8;
export const DN_SIZE = 16;

/**
 * Decode job (csv_decode, json_decode). Offsets of fields in the 128-byte job struct.
 * Inputs are written by the host; outputs (from DJ_CONSUMED on) by the kernel. The outputs are
 * appended to: a run starts at the DJ_RECORDS / DJ_ERROR_COUNT / DJ_SLOW_COUNT already in the struct
 * (the host sets 0 for a fresh batch) and at key byte keyOffs[records], so after a *Full status the
 * host can grow or drain that output, advance DJ_IN by DJ_CONSUMED, and run again.
 */
export const DJ_IN = 0; // ptr: input bytes
export const DJ_IN_LEN = 4;
export const DJ_FINAL = 8; // 1: the input ends here, so a last record without a newline is complete
export const DJ_FIRST_LINE = 12; // 1-based physical line number of the first input byte
export const DJ_KEY_COL = 16; // csv: 0-based key column, DJ_NO_KEY_COLUMN = no key field (every key empty)
/** DJ_KEY_COL of a csv job whose records have no key field: the host supplies the keys (a Kafka message's key). */
export const DJ_NO_KEY_COLUMN = 0xffffffff;
export const DJ_VAL_COL = 20; // csv: 0-based value column, -1 = no value
export const DJ_KEY_PATH = 24; // json: ptr to the key path: UTF-8 steps separated by 0xFF (src/codec/field-path.ts), 0 = no key field (every key empty)
export const DJ_KEY_PATH_LEN = 28;
export const DJ_VAL_PATH = 32; // json: ptr to the value path (as DJ_KEY_PATH), 0 = no value
export const DJ_VAL_PATH_LEN = 36;
export const DJ_MAX_RECORDS = 40;
export const DJ_KEY_OFFS = 44; // ptr u32[maxRecords+1] out, keyOffs[0] = 0 (set by the host)
export const DJ_KEY_BYTES = 48; // ptr u8[keyBytesCap] out
export const DJ_KEY_BYTES_CAP = 52;
export const DJ_VALUES = 56; // ptr f64[maxRecords] out (0 when there is no value)
export const DJ_HASHES = 60; // ptr u32[maxRecords] out: the hash of each key (DJ_HASH; 0 = do not compute)
export const DJ_ERRORS = 64; // ptr ErrorEntry[maxErrors] out
export const DJ_MAX_ERRORS = 68;
export const DJ_SLOW = 72; // ptr SlowEntry[maxSlow] out
export const DJ_MAX_SLOW = 76;
export const DJ_SCRATCH = 80; // ptr scratch (json nesting stack, one byte per level)
export const DJ_SCRATCH_LEN = 84;
export const DJ_DELIM = 88; // csv field delimiter byte
export const DJ_CONSUMED = 92; // out: bytes consumed (whole records and their line terminators)
export const DJ_RECORDS = 96; // in/out: good records in the outputs (appended after those already there)
export const DJ_ERROR_COUNT = 100; // in/out: ErrorEntries in DJ_ERRORS
export const DJ_SLOW_COUNT = 104; // in/out: SlowEntries in DJ_SLOW (record = index in the outputs)
export const DJ_LINES = 108; // out: physical lines consumed (newlines inside `consumed`)
export const DJ_STATUS = 112; // out: DecodeStatus
export const DJ_HASH = 116; // the hash of each key into DJ_HASHES: 0 murmur2 (Kafka's), 1 fastHash (assembly/hash.ts)
export const DJ_SIZE = 128;

/** Why a decode kernel returned. */
export const DecodeStatus = {
  /** All input consumed; or, when !final, everything up to the last complete record. */
  Done: 0,
  RecordsFull: 1,
  KeyBytesFull: 2,
  ErrorsFull: 3,
  SlowFull: 4,
} as const;

/** ErrorEntry: u32 line, u32 reason, u32 start, u32 end (raw record bytes relative to DJ_IN, no terminator). */
export const ERROR_ENTRY_SIZE = 16;
/** SlowEntry: u32 record, u32 start, u32 end, u32 pad: value text (relative to DJ_IN) to parse with Number(). */
export const SLOW_ENTRY_SIZE = 16;

/** Reason codes of bad records (ErrorEntry.reason). */
export const BadReason = {
  MissingKey: 1,
  MissingValue: 2,
  EmptyValue: 3,
  BadNumber: 4,
  BadUtf8: 5,
  BadQuote: 6,
  UnterminatedQuote: 7,
  BadJson: 8,
  NotObject: 9,
  BadKeyType: 10,
  TooDeep: 11,
} as const;

/** parse_decimal status (written to its outStatus pointer). */
export const ParseStatus = { Ok: 0, Invalid: 1, Slow: 2 } as const;

/** The wasm module's exports, as the host sees them. */
export interface KernelExports {
  abi_version(): number;
  heap_base(): number;

  /** Kafka's Utils.murmur2 (seed 0x9747b28c) over [ptr, ptr+len): a signed 32-bit result. */
  murmur2(ptr: number, len: number): number;
  /** outHash[i] = murmur2(key i) for keys given as offsets u32[n+1] + bytes. */
  hash_keys_murmur2(keyOffs: number, keyBytes: number, n: number, outHash: number): void;
  /** outHash[i] = fastHash of key i (assembly/hash.ts): the hash of 'fast' byte tables, not Kafka's. */
  hash_keys_fast(keyOffs: number, keyBytes: number, n: number, outHash: number): void;
  /** The tables' fast hash of a u32 key (a 32-bit finaliser); `>>> 0` for the unsigned value. */
  hash_u32(x: number): number;

  /**
   * Stable counting sort of records by shard = (hashes[i] & 0x7fffffff) % shards.
   * outStarts u32[shards+1]; outPerm u32[n]: records of shard s are outPerm[outStarts[s] .. outStarts[s+1]).
   */
  partition(hashes: number, n: number, shards: number, outStarts: number, outPerm: number): void;
  /**
   * partition of rows [lo, hi) alone, all indexes absolute: writes outPerm[lo, hi) (row indexes) and
   * outStarts u32[shards+1] (positions of outPerm, outStarts[0] = lo, outStarts[shards] = hi). Phase 1
   * of the partitioned fold: W tasks each sort their row range into one perm at once.
   */
  partition_range(hashes: number, lo: number, hi: number, shards: number, outStarts: number, outPerm: number): void;
  /**
   * partition_range of rows [lo, hi) in blocks of `block` rows (the last one shorter): block k's
   * starts are outStarts + k*(shards+1)*4. block >= 1.
   */
  partition_blocks(hashes: number, lo: number, hi: number, block: number, shards: number, outStarts: number, outPerm: number): void;
  /**
   * partition_range that moves the rows: u32 keys[i] (and f64 values[i], unless values = 0) of rows
   * [lo, hi), stably sorted by shard of hashes[i], into outKeys[lo, hi) (outValues[lo, hi)); shard s's
   * rows at [outStarts[s], outStarts[s+1]), positions absolute. Phase 1 of the scattered fold.
   */
  scatter_range(
    hashes: number, keys: number, values: number, lo: number, hi: number, shards: number,
    outStarts: number, outKeys: number, outValues: number,
  ): void;

  /**
   * Interns keys of records perm[j] (j in [from, to); perm = 0 means record j) into a byte table,
   * writing outGid[record] = group id. Returns the first j not processed (to when done).
   */
  table_bytes_intern(
    table: number, keyOffs: number, keyBytes: number, hashes: number,
    perm: number, from: number, to: number, outGid: number,
  ): number;
  /** table_bytes_intern into a table keyed by fastHash, computed from each key's bytes as it is read. */
  table_bytes_intern_fast(table: number, keyOffs: number, keyBytes: number, perm: number, from: number, to: number, outGid: number): number;
  /** Re-inserts every group into newSlots (zeroed, u32[2*newCap]) and points the header at it. */
  table_bytes_rehash(table: number, newSlots: number, newCap: number): void;
  table_u32_intern(table: number, keys: number, perm: number, from: number, to: number, outGid: number): number;
  table_u32_rehash(table: number, newSlots: number, newCap: number): void;

  /**
   * Fused intern + accumulate of records perm[j], j in [from, to), into (table, acc) with the
   * AGG_* bits of mask; every touched group gets acc.stamp = stamp. Returns the first j not processed.
   * values may be 0 when mask is AGG_COUNT.
   */
  agg_bytes(
    table: number, acc: number, keyOffs: number, keyBytes: number, hashes: number, values: number,
    perm: number, from: number, to: number, stamp: number, mask: number,
  ): number;
  /** agg_bytes into a table keyed by fastHash, computed from each key's bytes as it is read. */
  agg_bytes_fast(
    table: number, acc: number, keyOffs: number, keyBytes: number, values: number,
    perm: number, from: number, to: number, stamp: number, mask: number,
  ): number;
  agg_u32(
    table: number, acc: number, keys: number, values: number,
    perm: number, from: number, to: number, stamp: number, mask: number,
  ): number;
  /**
   * agg_bytes over shards [shardLo, shardHi) of a ShardSet without a partition pass: records j in
   * [from, to), in input order, each routed to shard s = (hashes[j] & 0x7fffffff) % shards, whose
   * headers are u32 tables[s] and accs[s]; other shards' records are skipped. hashes is required.
   * Returns the first j not processed: `to`, or a record whose new group did not fit its shard.
   */
  agg_bytes_shards(
    tables: number, accs: number, shards: number, shardLo: number, shardHi: number,
    keyOffs: number, keyBytes: number, hashes: number, values: number,
    from: number, to: number, stamp: number, mask: number,
  ): number;
  /** agg_bytes_shards for u32 keys[j]; hashes[j] picks the shard. */
  agg_u32_shards(
    tables: number, accs: number, shards: number, shardLo: number, shardHi: number,
    keys: number, hashes: number, values: number, from: number, to: number, stamp: number, mask: number,
  ): number;
  /**
   * Phase 2 of the partitioned fold: for each part t = 0 .. parts-1 in turn (starts u32[parts*(shards+1)]
   * as partition_range / partition_blocks wrote them, perm u32[rows]), folds part t's list of each shard
   * s in [shardLo, shardHi) into tables[s] / accs[s], so each key folds in input order. Positions count
   * the lists' rows in that order: starts at `from`, returns the position it stopped at (the total
   * when done, else a row whose new group did not fit its shard: grow it, call again from there).
   */
  agg_u32_parts(
    tables: number, accs: number, shards: number, shardLo: number, shardHi: number, keys: number, values: number,
    starts: number, parts: number, perm: number, from: number, stamp: number, mask: number,
  ): number;
  /**
   * The dense fold of u32 rows [from, to): key k with (k - base) mod 2^32 < R into dense slot k - base,
   * any other key into (table, acc) with `stamp` as agg_u32 does. Returns the first row not folded (to
   * when done, else a row whose new group did not fit the table: grow it, call again from there).
   * values = 0 folds counts alone, whatever the mask.
   */
  agg_u32_dense(
    table: number, acc: number, dense: number, base: number, keys: number, values: number,
    from: number, to: number, stamp: number, mask: number,
  ): number;
  /**
   * Merges dense slots [from, R) with count > 0 into (table, acc) as keys base + slot, in slot order
   * (acc_merge's arithmetic), with `stamp`, and leaves them fresh. Returns R when done, else the slot
   * whose new group did not fit the table (grow it, call again from there).
   */
  dense_flush(table: number, acc: number, dense: number, base: number, from: number, stamp: number, mask: number): number;
  /**
   * Folds rows j in [from, to) into group map[gids[j]] (map = 0: gids[j]; else u32[mapLen]) of `acc`, in
   * row order, with `stamp`: rows interned already, into this table (map 0) or into a table of their own
   * whose keys this one interned into map. Returns the first row whose gid is not below mapLen or whose
   * group is not below min(limit, acc cap), or `to`. values may be 0 (counts alone).
   */
  agg_groups(
    acc: number, gids: number, map: number, mapLen: number, values: number,
    from: number, to: number, limit: number, stamp: number, mask: number,
  ): number;
  /** Folds src groups j in [0, n) into dst groups gidMap[j]. */
  acc_merge(dst: number, src: number, gidMap: number, n: number, stamp: number, mask: number): void;
  /** Writes the ids of groups g < n with stamp[g] == stamp to out (u32[]); returns how many. */
  acc_changed(acc: number, n: number, stamp: number, out: number): number;

  /** Decodes CSV records per the job struct at `job` (DJ_*). Returns the status also stored at DJ_STATUS. */
  csv_decode(job: number): number;
  /** Decodes JSON lines per the job struct at `job` (DJ_*). */
  json_decode(job: number): number;
  /** Parses a decimal literal; writes a ParseStatus to u32 at outStatus. Result valid only when Ok. */
  parse_decimal(ptr: number, len: number, outStatus: number): number;
}
