// An independent reader of `.log`, `.index` and `.timeindex` files, written from docs/format.md
// alone (it shares no code with src/). Tests use it to find batch boundaries for the corruption
// matrix and to check that what the library writes is what the format document says.
import xxhash from 'xxhash-wasm';

const { h32Raw } = await xxhash();

export const BATCH_HEADER_BYTES = 44;
export const OFFSET_INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;

export interface ParsedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | undefined;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

export interface ParsedBatch {
  position: number;
  batchBytes: number;
  checksum: number;
  baseOffset: number;
  lastOffsetDelta: number;
  recordCount: number;
  baseTimestampMs: number;
  maxTimestampMs: number;
  formatVersion: number;
  durableDelta: number;
  records: ParsedRecord[];
  /** The commit block (attributes bit 1), if the batch has one. */
  commit?: { topic: string; group: string; ranges: Array<[number, number]> };
}

export function xxhash32(bytes: Uint8Array): number {
  return h32Raw(bytes, 0) >>> 0;
}

/** Unsigned LEB128, at most 8 bytes. Returns [value, next position]; throws on a bad varint. */
export function readVarint(buf: Uint8Array, pos: number, end = buf.length): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) throw new Error('varint runs past the end');
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) throw new Error('varint too large');
      return [value, pos];
    }
    scale *= 128;
  }
  throw new Error('varint longer than 8 bytes');
}

export function writeVarint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}

export function zigzagDecode(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

export function zigzagEncode(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

function readU64(buf: Buffer, pos: number): number {
  const v = buf.readBigUInt64LE(pos);
  if (v >= 2n ** 53n) throw new Error(`u64 at ${pos} too large`);
  return Number(v);
}

/** Parses the batch at `pos`; throws with a reason when it is not valid per docs/format.md. */
export function parseBatch(buf: Buffer, pos: number, expectedBaseOffset?: number): ParsedBatch {
  if (pos + BATCH_HEADER_BYTES > buf.length) throw new Error('header past end of file');
  const batchBytes = buf.readUInt32LE(pos);
  if (batchBytes < BATCH_HEADER_BYTES) throw new Error(`batchBytes ${batchBytes} < 44`);
  if (pos + batchBytes > buf.length) throw new Error('batch past end of file');
  const checksum = buf.readUInt32LE(pos + 4);
  const actual = xxhash32(buf.subarray(pos + 8, pos + batchBytes));
  if (actual !== checksum) throw new Error(`checksum ${checksum} != ${actual}`);
  const formatVersion = buf[pos + 8]!;
  if (formatVersion !== 1 && formatVersion !== 2) throw new Error(`formatVersion ${formatVersion}`);
  // v2: u16 durableDelta at 10 (0: no claim; n: offsets below baseOffset - (n - 1) were fsynced); v1: reserved
  const durableDelta = formatVersion === 2 ? buf.readUInt16LE(pos + 10) : 0;
  const recordCount = buf.readUInt32LE(pos + 12);
  if (recordCount < 1) throw new Error('recordCount 0');
  const baseOffset = readU64(buf, pos + 16);
  if (expectedBaseOffset !== undefined && baseOffset !== expectedBaseOffset) {
    throw new Error(`baseOffset ${baseOffset}, expected ${expectedBaseOffset}`);
  }
  const lastOffsetDelta = buf.readUInt32LE(pos + 24);
  const baseTimestampMs = readU64(buf, pos + 28);
  const maxTimestampMs = readU64(buf, pos + 36);
  const attributes = buf[pos + 9]!;
  let end = pos + batchBytes;
  let commit: ParsedBatch['commit'];
  if ((attributes & 0x02) !== 0) {
    // commit block: ..., u16 blockBytes at the very end; the records end where the block starts
    if (batchBytes < BATCH_HEADER_BYTES + 2) throw new Error('no room for a commit block');
    const blockBytes = buf.readUInt16LE(end - 2);
    const start = end - 2 - blockBytes;
    if (start < pos + BATCH_HEADER_BYTES) throw new Error('commit block runs into the header');
    let q = start;
    let n: number;
    [n, q] = readVarint(buf, q, end - 2);
    const topic = buf.toString('utf8', q, q + n);
    q += n;
    [n, q] = readVarint(buf, q, end - 2);
    const group = buf.toString('utf8', q, q + n);
    q += n;
    let count: number;
    [count, q] = readVarint(buf, q, end - 2);
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < count; i++) {
      let from: number, length: number;
      [from, q] = readVarint(buf, q, end - 2);
      [length, q] = readVarint(buf, q, end - 2);
      ranges.push([from, from + length]);
    }
    if (q !== end - 2) throw new Error('commit block fields do not fill it');
    commit = { topic, group, ranges };
    end = start;
  }
  let p = pos + BATCH_HEADER_BYTES;
  const records: ParsedRecord[] = [];
  for (let i = 0; i < recordCount; i++) {
    let recordBytes: number;
    [recordBytes, p] = readVarint(buf, p, end);
    const recordEnd = p + recordBytes;
    if (recordEnd > end) throw new Error('record past end of batch');
    let offsetDelta: number, tsZig: number, keyLen: number, valueLen: number, headerCount: number;
    [offsetDelta, p] = readVarint(buf, p, recordEnd);
    [tsZig, p] = readVarint(buf, p, recordEnd);
    [keyLen, p] = readVarint(buf, p, recordEnd);
    let key: Buffer | undefined;
    if (keyLen > 0) {
      key = buf.subarray(p, p + keyLen - 1);
      p += keyLen - 1;
    }
    [valueLen, p] = readVarint(buf, p, recordEnd);
    let value: Buffer | null = null;
    if (valueLen > 0) {
      value = buf.subarray(p, p + valueLen - 1);
      p += valueLen - 1;
    }
    [headerCount, p] = readVarint(buf, p, recordEnd);
    const headers: Record<string, Buffer> = {};
    for (let h = 0; h < headerCount; h++) {
      let nameLen: number, valLen: number;
      [nameLen, p] = readVarint(buf, p, recordEnd);
      const name = buf.toString('utf8', p, p + nameLen);
      p += nameLen;
      [valLen, p] = readVarint(buf, p, recordEnd);
      headers[name] = buf.subarray(p, p + valLen);
      p += valLen;
    }
    if (p !== recordEnd) throw new Error(`record parses to ${p}, recordBytes says ${recordEnd}`);
    records.push({ offset: baseOffset + offsetDelta, timestamp: baseTimestampMs + zigzagDecode(tsZig), key, value, headers });
  }
  if (p !== end) throw new Error(`records end at ${p}, batch ends at ${end}`);
  return { position: pos, batchBytes, checksum, baseOffset, lastOffsetDelta, recordCount, baseTimestampMs, maxTimestampMs, formatVersion, durableDelta, records, ...(commit === undefined ? {} : { commit }) };
}

export interface ScanResult {
  batches: ParsedBatch[];
  /** bytes up to the end of the last valid batch */
  validBytes: number;
  /** why scanning stopped before the end of the buffer, if it did */
  error?: string;
}

/** Walks the batches of a `.log` file from its start, stopping at the first invalid one. */
export function scanLog(buf: Buffer, segmentBase?: number): ScanResult {
  const batches: ParsedBatch[] = [];
  let pos = 0;
  let expected = segmentBase;
  while (pos < buf.length) {
    let batch: ParsedBatch;
    try {
      batch = parseBatch(buf, pos, expected);
    } catch (e) {
      return { batches, validBytes: pos, error: `at ${pos}: ${(e as Error).message}` };
    }
    batches.push(batch);
    pos += batch.batchBytes;
    expected = batch.baseOffset + batch.lastOffsetDelta + 1;
  }
  return { batches, validBytes: pos };
}

export function parseOffsetIndex(buf: Buffer): Array<{ relativeOffset: number; position: number }> {
  const out = [];
  for (let p = 0; p + OFFSET_INDEX_ENTRY_BYTES <= buf.length; p += OFFSET_INDEX_ENTRY_BYTES) {
    out.push({ relativeOffset: buf.readUInt32LE(p), position: buf.readUInt32LE(p + 4) });
  }
  return out;
}

export function parseTimeIndex(buf: Buffer): Array<{ timestampMs: number; relativeOffset: number }> {
  const out = [];
  for (let p = 0; p + TIME_INDEX_ENTRY_BYTES <= buf.length; p += TIME_INDEX_ENTRY_BYTES) {
    out.push({ timestampMs: Number(buf.readBigUInt64LE(p)), relativeOffset: buf.readUInt32LE(p + 8) });
  }
  return out;
}

/**
 * Rewrites every batch of a `.log` file as if it had been written before any fsync completed: its
 * durableDelta (format v2) set to 0, "no claim", and its checksum recomputed. Tests use it to make
 * the files a power cut leaves when the batches after the damage were written ahead of the fsync.
 */
export function dropDurableClaims(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  for (const b of scanLog(out).batches) {
    if (out[b.position + 8] !== 2) continue;
    out.writeUInt16LE(0, b.position + 10);
    out.writeUInt32LE(xxhash32(out.subarray(b.position + 8, b.position + b.batchBytes)), b.position + 4);
  }
  return out;
}
