// Batch checksums: xxHash32 (seed 0). The hasher is xxhash-wasm's, which loads asynchronously:
// its load starts when this module is evaluated and openLog()/verify() wait for it
// (checksumReady()); until it has loaded, or where WebAssembly is unavailable, the plain-JS
// xxh32.ts gives the same numbers. No top-level await, so `require('seglog')` (the CommonJS build,
// and require(esm)) can load the module graph synchronously.
// h32Raw copies its input into wasm memory and hashes at ~9 GB/s on the bench machine
// (16 KiB inputs: 37 ms for 20,000 calls), so checksumming every batch on write and on read
// from disk costs a few percent of a scan.
import xxhash from 'xxhash-wasm';
import { CHECKSUM_FROM, H_CHECKSUM, readU32 } from './batch.js';
import { xxh32 } from './xxh32.js';

let wasmH32: ((bytes: Uint8Array, seed?: number) => number) | undefined;
const loaded: Promise<void> = xxhash().then(
  (hasher) => { wasmH32 = hasher.h32Raw; },
  () => { /* no WebAssembly here: xxh32.ts serves, the same function */ },
);

/** Resolves once the fast (wasm) hasher is in use, or it is known not to load; never rejects. */
export function checksumReady(): Promise<void> {
  return loaded;
}

export function checksum(bytes: Uint8Array): number {
  return wasmH32 !== undefined ? wasmH32(bytes, 0) >>> 0 : xxh32(bytes, 0);
}

/** Whether the batch of `batchBytes` at `p` of `buf` has the checksum its header says. */
export function checksumMatches(buf: Uint8Array, p: number, batchBytes: number): boolean {
  return checksum(buf.subarray(p + CHECKSUM_FROM, p + batchBytes)) === readU32(buf, p + H_CHECKSUM);
}
