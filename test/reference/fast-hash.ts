// Plain TypeScript reference of fastHash (assembly/hash.ts): the hash of 'fast' scratch byte tables.
//
// A chunk is four little-endian u32 lanes; rot(c, r) is c rotated by r lanes (lane i takes lane i + r);
// mix(c, k) is (c ^ c >>> 15) * k lane by lane, mod 2^32. For 16..64 bytes: chunks at 0, min(16, len-16),
// max(len-32, 0), len-16, rotated by 0..3 lanes, times K0..K3, xor-ed. Longer: acc = mix(rot(acc ^ chunk, 1),
// K0) over the 16-byte steps before len-16, then acc ^ chunk(len-16) * K3. Shorter: one chunk of
// (u64 at 0, u64 at len-8), or (u32 at 0, u32 at len-4, 0, 0), or (byte 0, byte len>>1, byte len-1, 0),
// times K0. The lanes then fold as mix32(l0 ^ rotl(l1, 8) ^ rotl(l2, 16) ^ rotl(l3, 24) ^ len * 0x9e3779b1).

import { hashU32 } from './murmur2.js';

type Lanes = [number, number, number, number];

const K0: Lanes = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f];
const K1: Lanes = [0x165667b1, 0xd3a2646d, 0xfd7046c5, 0xb55a4f09];
const K2: Lanes = [0x7feb352d, 0x846ca68b, 0x5bd1e995, 0xcc9e2d51];
const K3: Lanes = [0x1b873593, 0xe6546b65, 0x85ebca6b, 0xc2b2ae35];

const u32At = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const chunk = (b: Uint8Array, at: number): Lanes => [u32At(b, at), u32At(b, at + 4), u32At(b, at + 8), u32At(b, at + 12)];
const rot = (c: Lanes, r: number): Lanes => [c[r % 4]!, c[(r + 1) % 4]!, c[(r + 2) % 4]!, c[(r + 3) % 4]!];
/** (c ^ c >>> 15) * k, lane by lane. */
const mix = (c: Lanes, k: Lanes): Lanes => c.map((x, i) => Math.imul(x ^ (x >>> 15), k[i]!) >>> 0) as Lanes;
const xor = (a: Lanes, b: Lanes): Lanes => a.map((x, i) => (x ^ b[i]!) >>> 0) as Lanes;
const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

function fold(acc: Lanes, len: number): number {
  return hashU32(acc[0] ^ rotl(acc[1], 8) ^ rotl(acc[2], 16) ^ rotl(acc[3], 24) ^ Math.imul(len, 0x9e3779b1));
}

/** fastHash of `b`, unsigned. */
export function fastHash(b: Uint8Array): number {
  const len = b.length;
  if (len >= 16 && len <= 64) {
    const last = len - 16;
    const at = [0, Math.min(16, last), Math.max(len - 32, 0), last];
    const ks = [K0, K1, K2, K3];
    let acc: Lanes = [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) acc = xor(acc, mix(rot(chunk(b, at[i]!), i), ks[i]!));
    return fold(acc, len);
  }
  if (len > 64) {
    let acc: Lanes = [0, 0, 0, 0];
    const last = len - 16;
    for (let i = 0; i < last; i += 16) acc = mix(rot(xor(acc, chunk(b, i)), 1), K0);
    return fold(xor(acc, mix(chunk(b, last), K3)), len);
  }
  let c: Lanes = [0, 0, 0, 0];
  if (len >= 8) c = [u32At(b, 0), u32At(b, 4), u32At(b, len - 8), u32At(b, len - 4)];
  else if (len >= 4) c = [u32At(b, 0), u32At(b, len - 4), 0, 0];
  else if (len > 0) c = [b[0]!, b[len >> 1]!, b[len - 1]!, 0];
  return fold(mix(c, K0), len);
}
