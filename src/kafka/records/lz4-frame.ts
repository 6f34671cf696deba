// LZ4 frame decoding (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) for Kafka's
// codec 3, with every bound checked. This is our own decoder, not lz4js's: lz4js (used by the tests
// as an independent encoder) checks nothing — a match or literal run past the end of the output is
// silently dropped and the loop runs on, its size bound trusts the frame's block sizes, and one
// crafted block can cost a billion loop turns — so a hostile producer could spend the server's CPU
// and memory. Here the output buffer is sized before decoding from the frame's own structure
// (content size when declared, else the block sizes), capped by the caller's bound, and every
// literal run and match is checked against the input and the output before it is copied.
//
// Frame: magic 184D2204 (LE) | FLG (version 01, block independence, block checksum, content size,
// content checksum, reserved, dictionary id) | BD (block max size 4..7 = 64 KiB..4 MiB) |
// [content size u64 LE] | [dictionary id u32] | header checksum u8 | blocks: u32 LE size (high bit:
// stored uncompressed; 0: end mark), data, [block checksum u32] | [content checksum u32].
// Frames may be concatenated; skippable frames (magic 184D2A50..5F, u32 LE size) are skipped.
// Checksums are not verified: the batch's CRC32C already covers the compressed bytes.
import { KafkaError, RecordsErrorCode } from './kafka-error.js';

const MAGIC = 0x184d2204;
const BLOCK_BYTES_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

function bad(what: string): never {
  throw new KafkaError(RecordsErrorCode.INVALID_RECORD, `lz4: ${what}`);
}

function u32(src: Uint8Array, pos: number): number {
  return (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
}

interface FrameInfo {
  /** Where the first block header is. */
  blocksPos: number;
  blockChecksum: boolean;
  contentChecksum: boolean;
  blockBytesMax: number;
}

function readFrameHeader(src: Uint8Array, pos: number): FrameInfo & { contentBytes: number } {
  if (src.length - pos < 7) bad('truncated frame header');
  const flg = src[pos + 4]!;
  const bd = src[pos + 5]!;
  if (flg >> 6 !== 1) bad(`frame version ${flg >> 6}`);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) bad('reserved bits set in the frame descriptor');
  const blockBytesMax = BLOCK_BYTES_MAX[(bd >> 4) & 7]!;
  if (blockBytesMax === 0) bad(`block size code ${(bd >> 4) & 7}`);
  let p = pos + 6;
  let contentBytes = -1;
  if (flg & 0x08) {
    if (src.length - p < 8) bad('truncated frame header');
    const hi = u32(src, p + 4);
    contentBytes = hi >= 0x200000 ? Infinity : hi * 4294967296 + u32(src, p);
    p += 8;
  }
  if (flg & 0x01) bad('frames with a dictionary are not supported');
  p += 1; // header checksum
  return { blocksPos: p, blockChecksum: (flg & 0x10) !== 0, contentChecksum: (flg & 0x04) !== 0, blockBytesMax, contentBytes };
}

/**
 * Decompresses the LZ4 frames of `src`; refuses (MESSAGE_TOO_LARGE) an output over `maxBytes`.
 */
export function lz4Decompress(src: Uint8Array, maxBytes: number): Buffer {
  // Pass 1: walk the frames' structure, bound the output.
  let boundBytes = 0;
  let pos = 0;
  while (pos < src.length) {
    if (src.length - pos < 8) bad('truncated frame');
    const magic = u32(src, pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      pos += 8 + u32(src, pos + 4);
      if (pos > src.length) bad('truncated skippable frame');
      continue;
    }
    if (magic !== MAGIC) bad(`bad frame magic ${magic.toString(16)}`);
    const f = readFrameHeader(src, pos);
    let p = f.blocksPos;
    let frameBound = 0;
    for (;;) {
      if (src.length - p < 4) bad('truncated block header');
      const word = u32(src, p);
      p += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > f.blockBytesMax) bad(`block of ${size} bytes over the frame's maximum ${f.blockBytesMax}`);
      // A compressed block expands at most 255 times (a match length byte adds 255), plus a little.
      frameBound += word & 0x80000000 ? size : Math.min(f.blockBytesMax, size * 255 + 16);
      p += size + (f.blockChecksum ? 4 : 0);
      if (p > src.length) bad('truncated block');
    }
    if (f.contentChecksum) p += 4;
    if (p > src.length) bad('truncated content checksum');
    if (f.contentBytes >= 0) {
      if (f.contentBytes > maxBytes) tooLarge(f.contentBytes, maxBytes);
      if (f.contentBytes > frameBound) bad(`declared content size ${f.contentBytes} more than its blocks can hold`);
      frameBound = f.contentBytes;
    }
    boundBytes += frameBound;
    pos = p;
  }
  // Capped: the structure allows more than maxBytes, so running out of room is "too large".
  const capped = boundBytes > maxBytes;
  const dst = Buffer.allocUnsafe(capped ? maxBytes : boundBytes);
  // Pass 2: decode.
  let d = 0;
  pos = 0;
  while (pos < src.length) {
    const magic = u32(src, pos);
    if (magic !== MAGIC) {
      pos += 8 + u32(src, pos + 4);
      continue;
    }
    const f = readFrameHeader(src, pos);
    const frameStart = d;
    let p = f.blocksPos;
    for (;;) {
      const word = u32(src, p);
      p += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      const blockLimit = d + f.blockBytesMax;
      const end = word & 0x80000000 ? copyBlock(src, p, size, dst, d) : decodeBlock(src, p, p + size, dst, d, Math.min(dst.length, blockLimit));
      if (end < 0) {
        if (capped && blockLimit > dst.length) tooLarge(dst.length + 1, maxBytes);
        bad(`a block decodes to more than ${f.contentBytes >= 0 ? 'the frame\'s declared content size' : 'its frame\'s maximum block size'}`);
      }
      d = end;
      p += size + (f.blockChecksum ? 4 : 0);
    }
    if (f.contentChecksum) p += 4;
    if (f.contentBytes >= 0 && d - frameStart !== f.contentBytes) {
      bad(`frame declared ${f.contentBytes} bytes and held ${d - frameStart}`);
    }
    pos = p;
  }
  return d === dst.length ? dst : dst.subarray(0, d);
}

function tooLarge(bytes: number, maxBytes: number): never {
  throw new KafkaError(RecordsErrorCode.MESSAGE_TOO_LARGE, `lz4: decompressed batch of at least ${bytes} bytes is over the bound of ${maxBytes}`);
}

/** Copies a stored (uncompressed) block; -1 when it does not fit in `dst`. */
function copyBlock(src: Uint8Array, from: number, n: number, dst: Uint8Array, to: number): number {
  if (n > dst.length - to) return -1;
  dst.set(src.subarray(from, from + n), to);
  return to + n;
}

/**
 * Decodes one LZ4 block `src[s, sEnd)` to `dst` at `d`, writing nothing at or past `dEnd`; returns
 * the end of the output, or -1 when it would pass `dEnd`. Matches may reach back into the blocks
 * before (frames whose blocks are not independent): the whole output is one buffer.
 */
function decodeBlock(src: Uint8Array, s: number, sEnd: number, dst: Uint8Array, d: number, dEnd: number): number {
  for (;;) {
    if (s >= sEnd) bad('truncated sequence');
    const token = src[s++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      for (;;) {
        if (s >= sEnd) bad('truncated literal length');
        const b = src[s++]!;
        literals += b;
        if (b !== 255) break;
      }
    }
    if (literals > sEnd - s) bad('literals past the end of the block');
    if (literals > dEnd - d) return -1;
    for (let i = 0; i < literals; i++) dst[d++] = src[s++]!;
    if (s === sEnd) return d; // the last sequence has literals only
    if (sEnd - s < 2) bad('truncated match offset');
    const distance = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (distance === 0 || distance > d) bad(`match distance ${distance} before the start of the output`);
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      for (;;) {
        if (s >= sEnd) bad('truncated match length');
        const b = src[s++]!;
        length += b;
        if (b !== 255) break;
      }
    }
    if (length > dEnd - d) return -1;
    let from = d - distance;
    for (let i = 0; i < length; i++) dst[d++] = dst[from++]!;
  }
}
