// encodeBatch: seglog records as ONE uncompressed Kafka record batch v2 (the Fetch hot path).
//
// Layout written (big-endian, Kafka's DefaultRecordBatch):
//   0 baseOffset i64 | 8 batchLength i32 (bytes after this field) | 12 partitionLeaderEpoch i32
//   16 magic i8 = 2 | 17 crc u32 (CRC32C of bytes 21..end) | 21 attributes i16 = 0
//   23 lastOffsetDelta i32 | 27 firstTimestamp i64 | 35 maxTimestamp i64 | 43 producerId i64 = -1
//   51 producerEpoch i16 = -1 | 53 baseSequence i32 = -1 | 57 recordCount i32 | 61 records
// Each record: length varint, attributes i8 = 0, timestampDelta varlong, offsetDelta varint,
// key length varint (-1: none) and bytes, value length varint (-1: tombstone) and bytes, header
// count varint, per header: name length varint, UTF-8 name, value length varint, value.
//
// baseOffset is the first record's offset and every offsetDelta the real offset minus it, so the
// gaps compaction leaves stay gaps (lastOffsetDelta + 1 may exceed the count: Kafka does the same).
// Records are written straight into a pooled 1 MiB chunk (grown for a bigger batch) and the batch
// is a view of it: no copy of the batch, no allocation per record. A record read from seglog
// (RecordView) is re-framed from its raw bytes (key, value and headers copied, no views built);
// seglog's header encoding (unsigned varints, docs/format.md) differs from Kafka's (zigzag), so
// headers are re-encoded, walking their raw bytes. A returned batch keeps its chunk alive.
import { readVarint, varintEnd } from '../../format/batch.js';
import { RecordView, type LogRecord } from '../../format/record.js';
import { crc32c } from './crc32c.js';
import { varintBytes, varlongBytes, writeVarint, writeVarlong } from './varint.js';

export interface EncodeLimits {
  /**
   * Stop before a record that would make the batch (its 61-byte header included) longer than this;
   * the first record is always written, whatever its size (so a consumer always makes progress).
   */
  maxBytes?: number;
  /** Written in the header; default 0. */
  partitionLeaderEpoch?: number;
}

export interface EncodedBatch {
  /** The whole batch, CRC included; empty when there was no record. */
  bytes: Buffer;
  /** Records in the batch. */
  recordCount: number;
  /**
   * Offset of the last record written (-1 when none). When the input had more, the record after
   * it was taken from the iterable and dropped (it did not fit): read again from `lastOffset + 1`.
   */
  lastOffset: number;
}

export const HEADER_BYTES = 61;
const POOL_BYTES = 1 << 20;
export const OFFSET_DELTA_MAX = 0x7fffffff;
const TWO_32 = 4294967296;
const EMPTY = Buffer.alloc(0);

// Keys and values are copied through a staging window at the end of the pool chunk: a span of
// the reader's buffer (up to STAGE_BYTES, from the record being copied on) is copied there with
// one Buffer#copy, and every key and value inside it then moves with copyWithin (same buffer: no
// view, no call into C++). Buffer#copy per value costs about 150 ns (it makes a view, then calls
// TypedArray#set); copyWithin about 50 ns; a key of up to 16 bytes is cheaper still byte by byte.
// (Measured on the development machine, busy: encodeBatch of 1,000 × 100-byte records from
// 2.4M to 3.5M records/s of CPU time; bench/kafka-records.js.)
const STAGE_BYTES = 64 << 10;
const COPY_LOOP_MAX_BYTES = 16;

/** Layout of a chunk: batches in [0, length - STAGE_BYTES), the staging window after. */
let pool = Buffer.allocUnsafe(POOL_BYTES + STAGE_BYTES);
let poolUsed = 0;
let stageSrc: Buffer | undefined;
let stageFrom = 0;
let stageTo = 0;
/** How much of the reader's buffer one staging copies (min(STAGE_BYTES, maxBytes)). */
let stageWantBytes = STAGE_BYTES;

/** Copies `src[from, from + n)` to the pool at `to` (a RecordView's key or value). */
function copyFromReader(src: Buffer, from: number, to: number, n: number): void {
  if (n <= COPY_LOOP_MAX_BYTES) {
    const out = pool;
    for (let i = 0; i < n; i++) out[to + i] = src[from + i]!;
    return;
  }
  if (n > stageWantBytes) {
    src.copy(pool, to, from, from + n);
    return;
  }
  const stageBase = pool.length - STAGE_BYTES;
  if (src !== stageSrc || from < stageFrom || from + n > stageTo) {
    stageSrc = src;
    stageFrom = from;
    stageTo = Math.min(src.length, from + stageWantBytes);
    src.copy(pool, stageBase, stageFrom, stageTo);
  }
  const at = stageBase + from - stageFrom;
  pool.copyWithin(to, at, at + n);
}

function copySmall(src: Buffer, to: number): void {
  const n = src.length;
  if (n <= COPY_LOOP_MAX_BYTES) {
    const out = pool;
    for (let i = 0; i < n; i++) out[to + i] = src[i]!;
  } else {
    src.copy(pool, to);
  }
}

/** Moves the batch being written (`[start, pos)` of the pool) to the start of a bigger chunk. */
function grow(start: number, pos: number, needBytes: number): void {
  const usedBytes = pos - start;
  const next = Buffer.allocUnsafe(Math.max(POOL_BYTES, 2 * (usedBytes + needBytes)) + STAGE_BYTES);
  pool.copy(next, 0, start, pos);
  pool = next;
  poolUsed = 0;
  stageSrc = undefined;
}

/** Bytes of the Kafka form of the seglog-encoded headers at `pos` of `src`. */
export function kafkaHeadersBytes(src: Buffer, pos: number): number {
  const end = src.length;
  const count = readVarint(src, pos, end);
  let p = varintEnd;
  let bytes = varintBytes(count);
  for (let i = 0; i < count; i++) {
    const nameBytes = readVarint(src, p, end);
    p = varintEnd + nameBytes;
    const valueBytes = readVarint(src, p, end);
    p = varintEnd + valueBytes;
    bytes += varintBytes(nameBytes) + nameBytes + varintBytes(valueBytes) + valueBytes;
  }
  return bytes;
}

/** Writes the Kafka form of the seglog-encoded headers at `at` of `src`; returns the end. */
export function writeKafkaHeaders(out: Buffer, pos: number, src: Buffer, at: number): number {
  const end = src.length;
  const count = readVarint(src, at, end);
  let p = varintEnd;
  pos = writeVarint(out, pos, count);
  for (let i = 0; i < count; i++) {
    for (let part = 0; part < 2; part++) { // name, then value
      const bytes = readVarint(src, p, end);
      p = varintEnd;
      pos = writeVarint(out, pos, bytes);
      src.copy(out, pos, p, p + bytes);
      pos += bytes;
      p += bytes;
    }
  }
  return pos;
}

/** Bytes of the Kafka form of a headers object (a LogRecord that is not a RecordView). */
function objectHeadersBytes(headers: Record<string, Buffer>, names: string[]): number {
  let bytes = varintBytes(names.length);
  for (const name of names) {
    const nameBytes = Buffer.byteLength(name);
    const valueBytes = headers[name]!.length;
    bytes += varintBytes(nameBytes) + nameBytes + varintBytes(valueBytes) + valueBytes;
  }
  return bytes;
}

function writeObjectHeaders(out: Buffer, pos: number, headers: Record<string, Buffer>, names: string[]): number {
  pos = writeVarint(out, pos, names.length);
  for (const name of names) {
    const nameBytes = Buffer.byteLength(name);
    pos = writeVarint(out, pos, nameBytes);
    pos += out.write(name, pos, 'utf8');
    const value = headers[name]!;
    pos = writeVarint(out, pos, value.length);
    pos += value.copy(out, pos);
  }
  return pos;
}

function writeInt64(out: Buffer, pos: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  out.writeInt32BE(hi, pos);
  out.writeUInt32BE(v - hi * TWO_32, pos + 4);
}

/** Writes the 61-byte header of the batch `[start, end)` of `out` whose records are written, CRC last. */
export function writeBatchHeader(out: Buffer, start: number, end: number, baseOffset: number, lastOffset: number,
  firstTimestamp: number, maxTimestamp: number, count: number, partitionLeaderEpoch: number): void {
  writeInt64(out, start, baseOffset);
  out.writeInt32BE(end - start - 12, start + 8);
  out.writeInt32BE(partitionLeaderEpoch, start + 12);
  out[start + 16] = 2;
  out.writeInt16BE(0, start + 21);
  out.writeInt32BE(lastOffset - baseOffset, start + 23);
  writeInt64(out, start + 27, firstTimestamp);
  writeInt64(out, start + 35, maxTimestamp);
  out.writeInt32BE(-1, start + 43); // producerId -1
  out.writeInt32BE(-1, start + 47);
  out.writeInt16BE(-1, start + 51); // producerEpoch
  out.writeInt32BE(-1, start + 53); // baseSequence
  out.writeInt32BE(count, start + 57);
  out.writeUInt32BE(crc32c(out, start + 21, end), start + 17);
}

/**
 * Writes `records` (in increasing offset order) as one uncompressed record batch v2, stopping
 * before the first record that would take it past `limits.maxBytes` (never before the first) or
 * whose offset is more than 2^31 - 1 past the first one's.
 */
export function encodeBatch(records: Iterable<LogRecord<unknown>>, limits: EncodeLimits = {}): EncodedBatch {
  const maxBytes = limits.maxBytes ?? Infinity;
  if (pool.length - STAGE_BYTES - poolUsed < HEADER_BYTES + 64) {
    pool = Buffer.allocUnsafe(POOL_BYTES + STAGE_BYTES);
    poolUsed = 0;
    stageSrc = undefined;
  }
  stageSrc = undefined; // a call that threw may have left one
  stageWantBytes = Math.min(STAGE_BYTES, Math.max(4096, maxBytes));
  let out = pool;
  let start = poolUsed;
  let pos = start + HEADER_BYTES;
  let count = 0;
  let baseOffset = 0;
  let lastOffset = -1;
  let firstTimestamp = 0;
  let maxTimestamp = 0;
  for (const r of records) {
    const offset = r.offset;
    const timestamp = r.timestamp;
    if (count === 0) {
      baseOffset = offset;
      firstTimestamp = maxTimestamp = timestamp;
    } else if (offset <= lastOffset) {
      throw new Error(`encodeBatch: offset ${offset} after ${lastOffset} (records must be in increasing offset order)`);
    }
    const offsetDelta = offset - baseOffset;
    if (offsetDelta > OFFSET_DELTA_MAX) break;
    const timestampDelta = timestamp - firstTimestamp;
    let bodyBytes: number;
    if (r instanceof RecordView) {
      const src = r.rawBuffer;
      const keyBytes = r.rawKeyLength;
      const valueBytes = r.rawValueLength;
      const headersPos = r.rawHeadersPos;
      const headersBytes = src[headersPos] === 0 ? 1 : kafkaHeadersBytes(src, headersPos);
      bodyBytes = 1 + varlongBytes(timestampDelta) + varintBytes(offsetDelta) + varintBytes(keyBytes) + varintBytes(valueBytes)
        + (keyBytes > 0 ? keyBytes : 0) + (valueBytes > 0 ? valueBytes : 0) + headersBytes;
      const recordBytes = varintBytes(bodyBytes) + bodyBytes;
      if (count > 0 && pos + recordBytes - start > maxBytes) break;
      if (pos + recordBytes > out.length - STAGE_BYTES) {
        grow(start, pos, recordBytes);
        out = pool;
        pos -= start;
        start = 0;
      }
      pos = writeVarint(out, pos, bodyBytes);
      out[pos++] = 0;
      pos = writeVarlong(out, pos, timestampDelta);
      pos = writeVarint(out, pos, offsetDelta);
      pos = writeVarint(out, pos, keyBytes);
      if (keyBytes > 0) {
        copyFromReader(src, r.rawKeyPos, pos, keyBytes);
        pos += keyBytes;
      }
      pos = writeVarint(out, pos, valueBytes);
      if (valueBytes > 0) {
        copyFromReader(src, r.rawValuePos, pos, valueBytes);
        pos += valueBytes;
      }
      if (headersBytes === 1) out[pos++] = 0;
      else pos = writeKafkaHeaders(out, pos, src, headersPos);
    } else {
      const key = r.key;
      const value = r.valueBytes;
      const headers = r.headers;
      const names = Object.keys(headers);
      const keyBytes = key === undefined ? -1 : key.length;
      const valueBytes = value === null ? -1 : value.length;
      const headersBytes = names.length === 0 ? 1 : objectHeadersBytes(headers, names);
      bodyBytes = 1 + varlongBytes(timestampDelta) + varintBytes(offsetDelta) + varintBytes(keyBytes) + varintBytes(valueBytes)
        + (keyBytes > 0 ? keyBytes : 0) + (valueBytes > 0 ? valueBytes : 0) + headersBytes;
      const recordBytes = varintBytes(bodyBytes) + bodyBytes;
      if (count > 0 && pos + recordBytes - start > maxBytes) break;
      if (pos + recordBytes > out.length - STAGE_BYTES) {
        grow(start, pos, recordBytes);
        out = pool;
        pos -= start;
        start = 0;
      }
      pos = writeVarint(out, pos, bodyBytes);
      out[pos++] = 0;
      pos = writeVarlong(out, pos, timestampDelta);
      pos = writeVarint(out, pos, offsetDelta);
      pos = writeVarint(out, pos, keyBytes);
      if (keyBytes > 0) {
        copySmall(key!, pos);
        pos += keyBytes;
      }
      pos = writeVarint(out, pos, valueBytes);
      if (valueBytes > 0) {
        copySmall(value!, pos);
        pos += valueBytes;
      }
      pos = writeObjectHeaders(out, pos, headers, names);
    }
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    lastOffset = offset;
    count++;
  }
  stageSrc = undefined; // hold no reader's buffer between calls
  if (count === 0) return { bytes: EMPTY, recordCount: 0, lastOffset: -1 };
  writeBatchHeader(out, start, pos, baseOffset, lastOffset, firstTimestamp, maxTimestamp, count, limits.partitionLeaderEpoch ?? 0);
  // The next batch starts 8-byte aligned, so its CRC'd range starts at the same word phase.
  poolUsed = (pos + 7) & ~7;
  return { bytes: out.subarray(start, pos), recordCount: count, lastOffset };
}
