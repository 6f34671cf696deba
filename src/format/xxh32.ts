// xxHash32 in plain JavaScript: the same function as xxhash-wasm's h32Raw, bit for bit (checked
// against it on random inputs in test/checksum.test.ts). format/checksum.ts uses it only until the
// WebAssembly hasher has loaded (or where WebAssembly is unavailable): the wasm build is several
// times faster on long inputs, this one needs no asynchronous start, so the module graph has no
// top-level await and `require('seglog')` can load it synchronously. Pure function, no state.
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function u32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
}

/** xxHash32 of `bytes` with `seed`, as an unsigned 32-bit number. */
export function xxh32(bytes: Uint8Array, seed = 0): number {
  const n = bytes.length;
  let p = 0;
  let h: number;
  if (n >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const stripesEnd = n - 16;
    while (p <= stripesEnd) {
      v1 = round(v1, u32le(bytes, p));
      v2 = round(v2, u32le(bytes, p + 4));
      v3 = round(v3, u32le(bytes, p + 8));
      v4 = round(v4, u32le(bytes, p + 12));
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + n) | 0;
  while (p + 4 <= n) {
    h = Math.imul(rotl((h + Math.imul(u32le(bytes, p), P3)) | 0, 17), P4);
    p += 4;
  }
  while (p < n) {
    h = Math.imul(rotl((h + Math.imul(bytes[p]!, P5)) | 0, 11), P1);
    p++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
