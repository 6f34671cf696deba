// Batch checksums: xxHash32 (seed 0). Three implementations, the same numbers bit for bit
// (test/checksum.test.ts): the addon's (native/seglog_xxh32.c), in use once the default entry point
// has loaded it (io/mmap-addon.ts calls useNativeXxh32: process-wide, as the addon's load is),
// which hashes the bytes where they lie, a segment's mapping included; else xxhash-wasm's, which
// loads asynchronously: its load starts when this module is evaluated and openLog()/verify() wait
// for it (checksumReady()); until it has loaded, or where WebAssembly is unavailable, the plain-JS
// xxh32.ts. seglog/native-free never loads the addon, so only the last two serve it. No top-level
// await, so `require('seglog')` (the CommonJS build, and require(esm)) can load the module graph
// synchronously.
// h32Raw copies its input into wasm memory and hashes at ~9 GB/s on the bench machine (16 KiB
// inputs: 37 ms for 20,000 calls); the addon skips the copy and the subarray (4 KiB: 0.53 µs a call
// against 0.60 µs; 100 B: 46 ns against 92 ns).
// The addon also installs (useBatchVerifier) a check of a run of batches in one call, which forward
// walks use over the bytes in place (native/seglog_xxh32.c verifyBatches: no copy into wasm memory, about 500 ns per 4 KiB batch here against
// about 850 ns for h32Raw's copy and hash); everywhere else verifiedRunEnd says nothing was checked
// and the walk checks each batch with checksumMatches, the same function.
import xxhash from 'xxhash-wasm';
import { CHECKSUM_FROM, H_CHECKSUM, readU32 } from './batch.js';
import { xxh32 } from './xxh32.js';

/** xxHash32 (seed 0) of `buf[start, end)`, as an unsigned 32-bit number: the addon's signature. */
export type Xxh32Range = (buf: Uint8Array, start: number, end: number) => number;

let wasmH32: ((bytes: Uint8Array, seed?: number) => number) | undefined;
let nativeH32: Xxh32Range | undefined;
const loaded: Promise<void> = xxhash().then(
  (hasher) => { wasmH32 = hasher.h32Raw; },
  () => { /* no WebAssembly here: xxh32.ts serves, the same function */ },
);

/** Resolves once the fast (wasm) hasher is in use, or it is known not to load; never rejects. */
export function checksumReady(): Promise<void> {
  return loaded;
}

/**
 * From now on the process checksums with `fn` (the addon's xxh32, io/mmap-addon.ts); undefined goes
 * back to the JavaScript hashers (tests). The numbers do not change, only where they are computed.
 */
export function useNativeXxh32(fn: Xxh32Range | undefined): void {
  nativeH32 = fn;
}

/** Which hasher checksums now (log.stats() does not say; tests and the bench do). */
export function checksumImpl(): 'native' | 'wasm' | 'js' {
  return nativeH32 !== undefined ? 'native' : wasmH32 !== undefined ? 'wasm' : 'js';
}

export function checksum(bytes: Uint8Array): number {
  if (nativeH32 !== undefined) return nativeH32(bytes, 0, bytes.length);
  return wasmH32 !== undefined ? wasmH32(bytes, 0) >>> 0 : xxh32(bytes, 0);
}

/** checksum(buf.subarray(start, end)), without the subarray where the addon serves. */
export function checksumRange(buf: Uint8Array, start: number, end: number): number {
  if (nativeH32 !== undefined) return nativeH32(buf, start, end);
  return checksum(buf.subarray(start, end));
}

/**
 * Checks the whole batches of `buf[start, end)` from `start`: returns the end of the run of them
 * whose stored checksum matches (a batch shorter than its header, running past `end` or not
 * matching ends the run). The addon's (native/seglog_xxh32.c verifyBatches).
 */
export type BatchVerifier = (buf: Uint8Array, start: number, end: number) => number;

let verifier: BatchVerifier | undefined;

/** Installs the addon's batch verifier for the process (io/mmap-addon.ts; never in seglog/native-free). */
export function useBatchVerifier(verify: BatchVerifier | undefined): void {
  verifier = verify;
}

/**
 * The end of the run of whole batches from `start` (up to `end`) whose checksums match, as
 * BatchVerifier; `start` (nothing checked) where no verifier is installed: the caller then checks
 * each batch with checksumMatches. A batch past the returned position is unchecked, not damaged.
 */
export function verifiedRunEnd(buf: Uint8Array, start: number, end: number): number {
  return verifier !== undefined ? verifier(buf, start, end) : start;
}

/** Whether the batch of `batchBytes` at `p` of `buf` has the checksum its header says. */
export function checksumMatches(buf: Uint8Array, p: number, batchBytes: number): boolean {
  return checksumRange(buf, p + CHECKSUM_FROM, p + batchBytes) === readU32(buf, p + H_CHECKSUM);
}
