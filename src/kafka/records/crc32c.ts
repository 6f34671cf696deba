// CRC32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of Kafka's record batch v2,
// computed over every produced and every fetched batch. Node has no CRC32C of its own (zlib's crc32
// is the IEEE polynomial), so this is plain JavaScript, slicing-by-16: sixteen 256-entry tables
// let one loop turn consume 16 bytes with 16 independent table loads instead of 16 dependent
// steps. On a little-endian machine the aligned middle of a long range is read as 32-bit words
// through an Int32Array view (four loads a turn instead of sixteen): 0.7 → 1.0–1.2 GB/s on the
// development machine (bench/kafka-records.js; docs/kafka.md, "Record batches").
//
// Where the project's addon is loaded (a log of the default entry point), the server installs the
// addon's CRC32C (native/seglog_crc32c.c: the CPU's crc32 instruction, SSE4.2) with
// useHardwareCrc32c, and ranges of NATIVE_MIN_BYTES and more go there (~1 GB/s -> over 10 GB/s);
// the JavaScript below stays for short ranges, for seglog/native-free and where the CPU has no such
// instruction. test/kafka/crc32c-native.test.ts checks that both give the same values.

/** T[k * 256 + b]: the CRC register after byte b followed by k zero bytes. */
const T = new Int32Array(16 * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  T[b] = c;
}
for (let b = 0; b < 256; b++) {
  let c = T[b]!;
  for (let k = 1; k < 16; k++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[k * 256 + b] = c;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes the word view costs more than it saves. */
const WORDS_MIN_BYTES = 256;

/** A CRC32C of the same contract as crc32c() (the addon's, Crc32cFunction in io/mmap-addon.ts). */
export type HardwareCrc32c = (buf: Uint8Array, start: number, end: number, crc: number) => number;

/**
 * Below this many bytes the JavaScript loop is as fast as the call into the addon (~0.1 µs a call;
 * measured with bench/kafka-records.js). Every batch a Kafka client sends or fetches is longer.
 */
export const NATIVE_MIN_BYTES = 128;

let hardware: HardwareCrc32c | undefined;

/** Sends ranges of NATIVE_MIN_BYTES and more to `fn` from now on (undefined: JavaScript only again). */
export function useHardwareCrc32c(fn: HardwareCrc32c | undefined): void {
  hardware = fn;
}

/** Whether crc32c() uses a hardware CRC32C for long ranges. */
export function hardwareCrc32cInUse(): boolean {
  return hardware !== undefined;
}

/**
 * The CRC32C of `buf[start, end)` as an unsigned 32-bit number. `crc` continues an earlier
 * computation (the value it returned for the bytes before `start`); omit it to start afresh.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  if (hardware !== undefined && end - start >= NATIVE_MIN_BYTES) return hardware(buf, start, end, crc);
  return crc32cJs(buf, start, end, crc);
}

/** crc32c() in JavaScript only (slicing-by-16), whatever is installed. */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  const t = T;
  if (LITTLE_ENDIAN && end - i >= WORDS_MIN_BYTES) {
    while (((buf.byteOffset + i) & 3) !== 0) c = t[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
    const w = new Int32Array(buf.buffer, buf.byteOffset + i, ((end - i) >>> 4) << 2);
    const n = w.length;
    for (let j = 0; j < n; j += 4) {
      const a = c ^ w[j]!;
      const b = w[j + 1]!;
      const d = w[j + 2]!;
      const e = w[j + 3]!;
      c = t[0xf00 | (a & 0xff)]! ^ t[0xe00 | ((a >>> 8) & 0xff)]! ^ t[0xd00 | ((a >>> 16) & 0xff)]! ^ t[0xc00 | (a >>> 24)]!
        ^ t[0xb00 | (b & 0xff)]! ^ t[0xa00 | ((b >>> 8) & 0xff)]! ^ t[0x900 | ((b >>> 16) & 0xff)]! ^ t[0x800 | (b >>> 24)]!
        ^ t[0x700 | (d & 0xff)]! ^ t[0x600 | ((d >>> 8) & 0xff)]! ^ t[0x500 | ((d >>> 16) & 0xff)]! ^ t[0x400 | (d >>> 24)]!
        ^ t[0x300 | (e & 0xff)]! ^ t[0x200 | ((e >>> 8) & 0xff)]! ^ t[0x100 | ((e >>> 16) & 0xff)]! ^ t[e >>> 24]!;
    }
    i += n << 2;
  } else {
    const stop16 = end - 15;
    while (i < stop16) {
      const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
      c = t[0xf00 | (a & 0xff)]! ^ t[0xe00 | ((a >>> 8) & 0xff)]! ^ t[0xd00 | ((a >>> 16) & 0xff)]! ^ t[0xc00 | (a >>> 24)]!
        ^ t[0xb00 | buf[i + 4]!]! ^ t[0xa00 | buf[i + 5]!]! ^ t[0x900 | buf[i + 6]!]! ^ t[0x800 | buf[i + 7]!]!
        ^ t[0x700 | buf[i + 8]!]! ^ t[0x600 | buf[i + 9]!]! ^ t[0x500 | buf[i + 10]!]! ^ t[0x400 | buf[i + 11]!]!
        ^ t[0x300 | buf[i + 12]!]! ^ t[0x200 | buf[i + 13]!]! ^ t[0x100 | buf[i + 14]!]! ^ t[buf[i + 15]!]!;
      i += 16;
    }
  }
  while (i < end) c = t[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
