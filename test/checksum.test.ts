// The plain-JS xxHash32 (src/format/xxh32.ts), which checksums batches until xxhash-wasm has loaded
// (the module graph has no top-level await, so require() can load it), is the same function as
// xxhash-wasm's h32Raw: published test vectors, every length 0..300 (each tail path and stripe
// boundary), random contents and seeds, and views at odd offsets into a larger buffer.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { xxh32 } from '../src/format/xxh32.js';
import { checksum, checksumReady } from '../src/format/checksum.js';

const wasm = await xxhash();

describe('xxh32 (plain JS) equals xxhash-wasm h32Raw', () => {
  test('published vectors', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(xxh32(new Uint8Array(0), 0)).toBe(0x02cc5d05);
    expect(xxh32(text('a'), 0)).toBe(0x550d7456);
    expect(xxh32(text('abc'), 0)).toBe(0x32d153ff);
    expect(xxh32(text('Nobody inspects the spammish repetition'), 0)).toBe(0xe2293b2f);
  });

  test('every length from 0 to 300 bytes', () => {
    const bytes = new Uint8Array(300);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
    for (let n = 0; n <= bytes.length; n++) {
      const view = bytes.subarray(0, n);
      expect(xxh32(view, 0), `length ${n}`).toBe(wasm.h32Raw(view, 0) >>> 0);
    }
  });

  test('random contents, seeds and offsets into a larger buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(16), fc.integer({ min: 0, max: 0xffffffff }), (bytes, skip, seed) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(xxh32(view, seed)).toBe(wasm.h32Raw(view, seed) >>> 0);
      }),
      { numRuns: 300 },
    );
  });

  test('checksum() gives the same numbers before and after the wasm hasher is ready', async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
    await checksumReady();
    expect(checksum(bytes)).toBe(xxh32(bytes, 0));
    expect(checksum(bytes.subarray(3, 19))).toBe(xxh32(bytes.subarray(3, 19), 0));
  });
});
