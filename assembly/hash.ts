// Kafka-compatible murmur2 (sharding) and the tables' fast hash. Implemented in the kernels issue.
export function murmur2(ptr: usize, len: u32): i32 { return 0; }
export function hash_keys_murmur2(keyOffs: usize, keyBytes: usize, n: u32, outHash: usize): void {}
export function hash_u32(x: u32): u32 { return x; }
