// The only export surface of the sluice wasm module. Its TypeScript mirror is src/wasm/abi.ts.
//
// Rules every kernel follows (DESIGN.md "Rules that keep this fast"):
//   - memory is imported, shared, and owned by the host: a kernel only touches the (ptr, len) regions
//     it is handed, and bound-checks input against them;
//   - no allocation (`--runtime stub`, no `new`, no strings), no mutable static data: any worker may run
//     any kernel on any region at the same time as another worker runs it on another region;
//   - a kernel that needs more room (a full table, a full output column) stops and returns where it
//     stopped; the host grows the region and calls again from there.
//
// Bump ABI_VERSION whenever a signature or a struct layout below or in src/wasm/abi.ts changes.

// @ts-ignore: decorator
@inline const ABI_VERSION: u32 = 10;

export function abi_version(): u32 {
  return ABI_VERSION;
}

/** First byte the host may use: everything below holds the module's read-only data. */
export function heap_base(): usize {
  return __heap_base;
}

export { murmur2, hash_keys_murmur2, hash_keys_fast, hash_u32 } from "./hash";
export { partition, partition_blocks, partition_range, scatter_range } from "./kernels/partition";
export {
  table_bytes_intern, table_bytes_intern_fast, table_bytes_rehash, table_u32_intern, table_u32_rehash,
} from "./table";
export {
  agg_bytes, agg_bytes_fast, agg_u32, agg_bytes_shards, agg_u32_shards, agg_u32_parts, agg_groups, acc_merge, acc_changed,
} from "./kernels/accumulate";
export { agg_u32_dense, dense_flush } from "./kernels/dense";
export { csv_decode } from "./kernels/decode_csv";
export { json_decode } from "./kernels/decode_json";
export { parse_decimal } from "./kernels/number";
