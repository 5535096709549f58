// Decimal literal -> correctly rounded f64. Stub.
export function parse_decimal(ptr: usize, len: u32, outStatus: usize): f64 { return 0; }
