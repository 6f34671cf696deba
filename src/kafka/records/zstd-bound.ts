// The memory a zstd decompression will take, read from the frames' structure before fzstd runs
// (https://github.com/facebook/zstd/blob/dev/doc/zstd_compression_format.md). fzstd allocates the
// frame's declared content size, or its window size (up to 2 GiB) when none is declared, and keeps
// every block it decodes: a few bytes of frame header could make it allocate gigabytes. So the
// frames are walked first: a declared content size over the bound, a window over the bound (or
// over 8 MiB when the bound is smaller: see WINDOW_BYTES_ALLOWED), or
// blocks that could regenerate more than the bound (raw and RLE blocks by their size, compressed
// blocks by the block maximum, min(window, 128 KiB)) refuse the batch before any allocation.
//
// Frame: magic FD2FB528 (LE) | descriptor (content size flag 2 bits, single segment, unused,
// reserved, checksum flag, dictionary id flag 2 bits) | [window descriptor] | [dictionary id] |
// [content size] | blocks: 3-byte LE header (last, type 2 bits: raw, RLE, compressed, reserved;
// size 21 bits) and contents | [checksum u32]. Skippable frames: magic 184D2A50..5F, u32 size.
import { KafkaError, RecordsErrorCode } from './kafka-error.js';

const BLOCK_BYTES_MAX = 128 << 10;
/**
 * A window fzstd may allocate whatever the bound: producers that stream (librdkafka, zstd-jni)
 * declare no content size and a window of 2^21–2^23 bytes even for a small batch (zstd's levels
 * up to 19 use windows up to 8 MiB), so refusing windows over a small bound would refuse them.
 */
const WINDOW_BYTES_ALLOWED = 8 << 20;

function bad(what: string): never {
  throw new KafkaError(RecordsErrorCode.INVALID_RECORD, `zstd: ${what}`);
}

function tooLarge(what: string, maxBytes: number): never {
  throw new KafkaError(RecordsErrorCode.MESSAGE_TOO_LARGE, `zstd: ${what} is over the decompression bound of ${maxBytes} bytes`);
}

function u32(src: Uint8Array, pos: number): number {
  return (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
}

/** Little-endian unsigned integer of `n` (0–8) bytes; Infinity when not below 2^53. */
function uint(src: Uint8Array, pos: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + src[pos + i]!;
  return v > Number.MAX_SAFE_INTEGER ? Infinity : v;
}

/**
 * Checks that the zstd frames of `src` are whole and would decompress to at most `maxBytes`
 * (also bounding what fzstd allocates on the way); returns the largest size they can decode to.
 */
export function zstdCheckBound(src: Uint8Array, maxBytes: number): number {
  let pos = 0;
  let totalBytes = 0;
  while (pos < src.length) {
    if (src.length - pos < 8) bad('truncated frame');
    const magic = u32(src, pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      pos += 8 + u32(src, pos + 4);
      if (pos > src.length) bad('truncated skippable frame');
      continue;
    }
    if (magic !== 0xfd2fb528) bad(`bad frame magic ${magic.toString(16)}`);
    const fhd = src[pos + 4]!;
    const sizeFlag = fhd >> 6;
    const singleSegment = (fhd >> 5) & 1;
    if (fhd & 0x08) bad('reserved bit set in the frame header');
    if ((fhd & 3) !== 0) bad('frames with a dictionary are not supported');
    let p = pos + 5;
    let windowBytes = 0;
    if (!singleSegment) {
      const wd = src[p++]!;
      const base = 2 ** (10 + (wd >> 3));
      windowBytes = base + (base / 8) * (wd & 7);
    }
    const sizeBytes = sizeFlag === 0 ? singleSegment : 1 << sizeFlag;
    if (src.length - p < sizeBytes + 3) bad('truncated frame header');
    let contentBytes = -1;
    if (sizeBytes > 0) contentBytes = uint(src, p, sizeBytes) + (sizeBytes === 2 ? 256 : 0);
    p += sizeBytes;
    if (singleSegment) windowBytes = contentBytes;
    // fzstd allocates the content size, or the window when there is none (or it is 0).
    if (contentBytes > maxBytes) tooLarge(`declared content size ${contentBytes}`, maxBytes);
    if (contentBytes <= 0 && windowBytes > Math.max(maxBytes, WINDOW_BYTES_ALLOWED)) tooLarge(`window of ${windowBytes} bytes`, maxBytes);
    const blockMax = Math.min(BLOCK_BYTES_MAX, windowBytes);
    let frameBytes = 0;
    for (let last = 0; !last;) {
      if (src.length - p < 3) bad('truncated block header');
      const header = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16);
      p += 3;
      last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) bad('reserved block type');
      if (size > blockMax) bad(`block of ${size} bytes over the block maximum`);
      frameBytes += type === 2 ? blockMax : size;
      p += type === 1 ? 1 : size;
      if (p > src.length) bad('truncated block');
    }
    if (fhd & 0x04) p += 4;
    if (p > src.length) bad('truncated checksum');
    if (contentBytes >= 0) {
      if (contentBytes > frameBytes) bad(`declared content size ${contentBytes} more than its blocks can hold`);
      frameBytes = contentBytes;
    }
    totalBytes += frameBytes;
    if (totalBytes > maxBytes) tooLarge(`a batch of up to ${totalBytes} bytes`, maxBytes);
    pos = p;
  }
  return totalBytes;
}
