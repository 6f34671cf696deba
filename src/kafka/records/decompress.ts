// Decompression of a record batch's records (attributes bits 0–2): 1 gzip, 2 snappy (raw, or the
// xerial framing Java producers write), 3 lz4 (frame format), 4 zstd. Every codec is bounded by
// `maxBytes` before it allocates: a decompression bomb is MESSAGE_TOO_LARGE, malformed compressed
// bytes INVALID_RECORD (they are inside a batch whose CRC matched, so a retry would send them
// again), and no other exception type leaves this file.
//   gzip    node:zlib gunzipSync with maxOutputLength (inflate stops at the bound).
//   snappy  snappyjs (pure JS; Node has no snappy). The raw stream's declared length is checked
//           first; xerial: magic 82 'SNAPPY' 00, version and compatible version (BE u32), then
//           blocks of BE u32 length + raw snappy stream.
//   lz4     lz4-frame.ts (our own bounded decoder: see its header for why not lz4js).
//   zstd    fzstd (pure JS; Node 20's zlib has no zstd), after zstd-bound.ts has bounded its
//           allocations from the frame headers.
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import * as snappy from 'snappyjs';
import { KafkaError, RecordsErrorCode } from './kafka-error.js';
import { lz4Decompress } from './lz4-frame.js';
import { zstdCheckBound } from './zstd-bound.js';

export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

function invalid(codec: string, err: unknown): KafkaError {
  const why = err instanceof Error ? err.message : String(err);
  return new KafkaError(RecordsErrorCode.INVALID_RECORD, `${codec}: the compressed records do not decompress (${why})`);
}

function tooLarge(codec: string, bytes: number | string, maxBytes: number): KafkaError {
  return new KafkaError(RecordsErrorCode.MESSAGE_TOO_LARGE, `${codec}: decompressed records of ${bytes} bytes are over the bound of ${maxBytes}`);
}

function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Decompresses `src` (the bytes after a batch's header) with codec 1–4; at most `maxBytes` out. */
export function decompressRecords(codec: number, src: Buffer, maxBytes: number): Buffer {
  switch (codec) {
    case 1:
      try {
        return gunzipSync(src, { maxOutputLength: Math.max(1, maxBytes) });
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('gzip', 'more than that', maxBytes);
        throw invalid('gzip', err);
      }
    case 2:
      return src.length >= 16 && src.subarray(0, 8).equals(XERIAL_MAGIC) ? xerialSnappy(src, maxBytes) : rawSnappy(src, 0, src.length, maxBytes);
    case 3:
      try {
        return lz4Decompress(src, maxBytes);
      } catch (err) {
        if (err instanceof KafkaError) throw err;
        throw invalid('lz4', err);
      }
    case 4: {
      zstdCheckBound(src, maxBytes);
      let out: Uint8Array;
      try {
        out = zstdDecompress(src);
      } catch (err) {
        throw invalid('zstd', err);
      }
      if (out.length > maxBytes) throw tooLarge('zstd', out.length, maxBytes);
      return asBuffer(out);
    }
    default:
      throw new KafkaError(RecordsErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec} is not one of 0–4`);
  }
}

/** The length a raw snappy stream declares (its leading varint, at most 32 bits); -1 if bad. */
function snappyLength(src: Buffer, pos: number, end: number): number {
  let v = 0;
  for (let shift = 0; shift < 35 && pos < end; shift += 7) {
    const b = src[pos++]!;
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return v <= 0xffffffff ? v : -1;
  }
  return -1;
}

function rawSnappy(src: Buffer, start: number, end: number, maxBytes: number): Buffer {
  const length = snappyLength(src, start, end);
  if (length < 0) throw invalid('snappy', new Error('bad length header'));
  if (length > maxBytes) throw tooLarge('snappy', length, maxBytes);
  try {
    return asBuffer(snappy.uncompress(src.subarray(start, end), maxBytes));
  } catch (err) {
    throw invalid('snappy', err);
  }
}

function xerialSnappy(src: Buffer, maxBytes: number): Buffer {
  const blocks: Array<[number, number]> = [];
  let totalBytes = 0;
  for (let p = 16; p < src.length;) {
    if (src.length - p < 4) throw invalid('snappy', new Error('truncated xerial block length'));
    const blockBytes = src.readUInt32BE(p);
    p += 4;
    if (blockBytes > src.length - p) throw invalid('snappy', new Error('truncated xerial block'));
    const length = snappyLength(src, p, p + blockBytes);
    if (length < 0) throw invalid('snappy', new Error('bad length header'));
    totalBytes += length;
    if (totalBytes > maxBytes) throw tooLarge('snappy', totalBytes, maxBytes);
    blocks.push([p, p + blockBytes]);
    p += blockBytes;
  }
  const parts = blocks.map(([from, to]) => rawSnappy(src, from, to, maxBytes));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, totalBytes);
}
