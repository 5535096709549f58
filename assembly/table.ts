// Open-addressing key -> group id tables. Stub.
export function table_bytes_intern(table: usize, keyOffs: usize, keyBytes: usize, hashes: usize, perm: usize, from: u32, to: u32, outGid: usize): u32 { return from; }
export function table_bytes_rehash(table: usize, newSlots: usize, newCap: u32): void {}
export function table_u32_intern(table: usize, keys: usize, perm: usize, from: u32, to: u32, outGid: usize): u32 { return from; }
export function table_u32_rehash(table: usize, newSlots: usize, newCap: u32): void {}
