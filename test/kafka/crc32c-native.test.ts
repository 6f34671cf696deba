// The addon's hardware CRC32C (native/seglog_crc32c.c, SSE4.2) against the JavaScript one
// (src/kafka/records/crc32c.ts) and a bitwise reference: random bytes at every alignment, every
// length from 0 to past three interleaved blocks, continued computations; the server installs it
// when the process has the addon loaded, and crc32c() then agrees with the JavaScript path.
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addonCrc32c, loadMmapAddon, loadedCrc32c } from '../../src/io/mmap-addon.js';
import { crc32c, crc32cJs, hardwareCrc32cInUse, NATIVE_MIN_BYTES, useHardwareCrc32c } from '../../src/kafka/records/crc32c.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const hw = addonCrc32c(ROOT);
/** The hardware path exists (and must be built) on x86-64; elsewhere the addon exports no crc32c. */
const expectHardware = os.arch() === 'x64';

function bitwise(buf: Uint8Array, start: number, end: number, crc = 0): number {
  let c = ~crc;
  for (let i = start; i < end; i++) {
    c ^= buf[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

/** A deterministic generator (xorshift32), so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

function randomBytes(n: number, next: () => number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

afterAll(() => useHardwareCrc32c(undefined));

describe('hardware CRC32C (the addon)', () => {
  it.runIf(expectHardware)('is built on x86-64', () => {
    expect(hw).toBeTypeOf('function');
  });

  describe.runIf(hw !== undefined)('agrees with the JavaScript CRC32C', () => {
    const f = hw!;
    it('gives the published check value and Kafka-sized vectors', () => {
      const check = Buffer.from('123456789');
      expect(f(check, 0, 9, 0)).toBe(0xe3069283);
      expect(f(Buffer.alloc(32), 0, 32, 0)).toBe(0x8a9136aa); // RFC 3720 B.4: 32 zero bytes
      expect(f(Buffer.alloc(32, 0xff), 0, 32, 0)).toBe(0x62a8ab43); // 32 bytes of 0xff
      expect(f(check, 0, 0, 0)).toBe(0);
      expect(f(check, 4, 4, 0x12345678)).toBe(0x12345678); // an empty range continues nothing
    });

    it('every length 0..600 at every alignment 0..15 (random bytes)', () => {
      const next = rng(1);
      const buf = randomBytes(640, next);
      for (let off = 0; off < 16; off++) {
        for (let n = 0; n <= 600; n++) {
          const js = crc32cJs(buf, off, off + n);
          const got = f(buf, off, off + n, 0);
          if (got !== js) expect({ off, n, got }).toEqual({ off, n, got: js });
        }
      }
      expect(f(buf, 3, 603, 0)).toBe(bitwise(buf, 3, 603));
    });

    it('long ranges: around one, three and several interleaved blocks, unaligned', () => {
      const next = rng(7);
      const buf = randomBytes(64 * 1024 + 64, next);
      const block = 4096; // BLOCK_BYTES of seglog_crc32c.c
      const lengths = [3 * block - 9, 3 * block - 1, 3 * block, 3 * block + 1, 3 * block + 7, 6 * block, 6 * block + 13, 9 * block + 5, 64 * 1024];
      for (const n of lengths) {
        for (const off of [0, 1, 5, 8, 13, 63]) {
          expect(f(buf, off, off + n, 0), `length ${n} at ${off}`).toBe(crc32cJs(buf, off, off + n));
        }
      }
      expect(f(buf, 1, 1 + 3 * block + 7, 0)).toBe(bitwise(buf, 1, 1 + 3 * block + 7));
    });

    it('continues a computation: crc(a then b) = crc(b, crc(a)), and views of other buffers', () => {
      const next = rng(42);
      for (let t = 0; t < 300; t++) {
        const n = next() % 40_000;
        const buf = randomBytes(n + 32, next);
        const start = next() % 16;
        const end = start + n;
        const cut = start + (n === 0 ? 0 : next() % n);
        const whole = crc32cJs(buf, start, end);
        expect(f(buf, cut, end, f(buf, start, cut, 0))).toBe(whole);
        expect(f(buf, cut, end, crc32cJs(buf, start, cut))).toBe(whole);
        const view = new Uint8Array(buf.buffer, buf.byteOffset + start, n);
        expect(f(view, 0, n, 0)).toBe(whole);
      }
    });

    it('refuses a range outside the view, and what is not a Uint8Array', () => {
      const buf = Buffer.alloc(10);
      expect(() => f(buf, 0, 11, 0)).toThrow(RangeError);
      expect(() => f(buf, 5, 4, 0)).toThrow(RangeError);
      expect(() => f(buf, -1, 4, 0)).toThrow(RangeError);
      expect(() => f(new Uint16Array(4) as unknown as Uint8Array, 0, 2, 0)).toThrow(TypeError);
      expect(() => f({} as Uint8Array, 0, 0, 0)).toThrow(TypeError);
    });

    it('crc32c() with it installed gives what the JavaScript path gives, short ranges and long', () => {
      const next = rng(99);
      const buf = randomBytes(20_000, next);
      useHardwareCrc32c(f);
      try {
        expect(hardwareCrc32cInUse()).toBe(true);
        for (const n of [0, 1, NATIVE_MIN_BYTES - 1, NATIVE_MIN_BYTES, 1000, 12_289, 19_990]) {
          expect(crc32c(buf, 3, 3 + n)).toBe(crc32cJs(buf, 3, 3 + n));
          expect(crc32c(buf, 3, 3 + n, 0xdeadbeef)).toBe(crc32cJs(buf, 3, 3 + n, 0xdeadbeef));
        }
      } finally {
        useHardwareCrc32c(undefined);
      }
      expect(hardwareCrc32cInUse()).toBe(false);
    });
  });

  it('loadedCrc32c gives the hardware CRC32C only once the process-wide addon load gave mapped reads', () => {
    // This test file may run before or after anything else loaded it; what it checks is the order.
    const choice = loadMmapAddon();
    if (choice.mapper === undefined || hw === undefined) expect(loadedCrc32c()).toBeUndefined();
    else expect(loadedCrc32c()).toBeTypeOf('function');
  });
});
