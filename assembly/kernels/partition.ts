// Stable counting sort of records by shard. Stub.
export function partition(hashes: usize, n: u32, shards: u32, outStarts: usize, outPerm: usize): void {}
