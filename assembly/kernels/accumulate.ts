// Accumulate count/sum/min/max by group id. Stub.
export function agg_bytes(table: usize, acc: usize, keyOffs: usize, keyBytes: usize, hashes: usize, values: usize, perm: usize, from: u32, to: u32, stamp: u32, mask: u32): u32 { return from; }
export function agg_u32(table: usize, acc: usize, keys: usize, values: usize, perm: usize, from: u32, to: u32, stamp: u32, mask: u32): u32 { return from; }
export function acc_merge(dst: usize, src: usize, gidMap: usize, n: u32, stamp: u32, mask: u32): void {}
export function acc_changed(acc: usize, n: u32, stamp: u32, out: usize): u32 { return 0; }
