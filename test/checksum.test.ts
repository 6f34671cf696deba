// The plain-JS xxHash32 (src/format/xxh32.ts), which checksums batches until xxhash-wasm has loaded
// (the module graph has no top-level await, so require() can load it), is the same function as
// xxhash-wasm's h32Raw: published test vectors, every length 0..300 (each tail path and stripe
// boundary), random contents and seeds, and views at odd offsets into a larger buffer.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { xxh32 } from '../src/format/xxh32.js';
import { checksum, checksumImpl, checksumMatches, checksumRange, checksumReady, useNativeXxh32 } from '../src/format/checksum.js';
import { CHECKSUM_FROM, H_BATCH_BYTES, H_CHECKSUM, readU32 } from '../src/format/batch.js';
import { addonXxh32, loadMmapAddon } from '../src/io/mmap-addon.js';

const ROOT = path.resolve(import.meta.dirname, '..');

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

// The addon's xxHash32 (native/seglog_xxh32.c), which the default entry point's checksums use once
// the addon has loaded (io/mmap-addon.ts → useNativeXxh32): it hashes a range of a view in place
// and must give the numbers of the JavaScript hashers for every input.
describe('the addon\'s xxh32 equals the JavaScript hashers', () => {
  const native = addonXxh32(ROOT);
  afterAll(() => useNativeXxh32(undefined));

  test('is built wherever the mapped-reads addon is', () => {
    expect(native).toBeTypeOf('function');
  });

  describe.runIf(native !== undefined)('over ranges of views', () => {
    const f = native!;
    test('published vectors', () => {
      const text = (s: string) => new TextEncoder().encode(s);
      expect(f(new Uint8Array(0), 0, 0)).toBe(0x02cc5d05);
      expect(f(text('a'), 0, 1)).toBe(0x550d7456);
      expect(f(text('xabcx'), 1, 4)).toBe(0x32d153ff);
      expect(f(text('Nobody inspects the spammish repetition'), 0, 39)).toBe(0xe2293b2f);
    });

    test('every length from 0 to 300 bytes at every start 0..7', () => {
      const bytes = new Uint8Array(320);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
      for (let s = 0; s < 8; s++) {
        for (let n = 0; n <= 300; n++) {
          const got = f(bytes, s, s + n);
          if (got !== xxh32(bytes.subarray(s, s + n), 0)) expect({ s, n, got }).toEqual({ s, n, got: xxh32(bytes.subarray(s, s + n), 0) });
        }
      }
    });

    test('random contents and ranges, in a view at an offset of its ArrayBuffer', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 9000 }), fc.nat(31), fc.nat(9000), fc.nat(9000), (bytes, skip, a, b) => {
          const view = bytes.subarray(Math.min(skip, bytes.length)); // byteOffset > 0
          const start = Math.min(a, b, view.length);
          const end = Math.min(Math.max(a, b), view.length);
          const want = wasm.h32Raw(view.subarray(start, end), 0) >>> 0;
          expect(f(view, start, end)).toBe(want);
          expect(f(Buffer.from(view.buffer, view.byteOffset, view.length), start, end)).toBe(want);
        }),
        { numRuns: 500 },
      );
    });

    test('refuses what is not a Uint8Array range', () => {
      const buf = Buffer.alloc(10);
      expect(() => f(buf, 0, 11)).toThrow(RangeError);
      expect(() => f(buf, 5, 4)).toThrow(RangeError);
      expect(() => f(buf, -1, 4)).toThrow(RangeError);
      expect(() => f(new Uint16Array(4) as unknown as Uint8Array, 0, 2)).toThrow(TypeError);
      expect(() => f('abc' as unknown as Uint8Array, 0, 2)).toThrow(TypeError);
    });

    test('checks every batch of the frozen format fixtures as their headers say, installed or not', () => {
      for (const version of ['v1', 'v2']) {
        const log = fs.readFileSync(path.join(ROOT, 'test', 'format-fixtures', version, '00000000000000000000.log'));
        let batches = 0;
        for (let p = 0; p < log.length; p += readU32(log, p + H_BATCH_BYTES), batches++) {
          const stored = readU32(log, p + H_CHECKSUM);
          const end = p + readU32(log, p + H_BATCH_BYTES);
          expect(f(log, p + CHECKSUM_FROM, end), `${version} batch at ${p}`).toBe(stored);
          useNativeXxh32(undefined);
          expect(checksumMatches(log, p, end - p)).toBe(true);
          useNativeXxh32(f);
          expect(checksumImpl()).toBe('native');
          expect(checksumMatches(log, p, end - p)).toBe(true);
          expect(checksum(log.subarray(p + CHECKSUM_FROM, end))).toBe(stored);
          expect(checksumRange(log, p + CHECKSUM_FROM, end)).toBe(stored);
        }
        expect(batches, version).toBeGreaterThan(0);
      }
    });

    test('the default entry point\'s load installs it', () => {
      useNativeXxh32(undefined);
      expect(checksumImpl()).toBe('wasm');
      expect(loadMmapAddon().io).toBe('mmap'); // the first process-wide load of this file
      expect(checksumImpl()).toBe('native');
      const bytes = Buffer.from('Nobody inspects the spammish repetition');
      expect(checksum(bytes)).toBe(0xe2293b2f);
    });
  });
});
