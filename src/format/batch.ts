// The on-disk format, version 2 (version 1 batches are still read; docs/format.md is the
// specification; every constant of it lives here and nowhere else). Pure functions over byte
// arrays: no I/O, no allocation per record.
//
// Batch header (44 bytes, little-endian):
//   0 batchBytes u32 | 4 checksum u32 (xxh32 of [8, batchBytes)) | 8 formatVersion u8 | 9 attributes u8
//  10 durableDelta u16 (v2; reserved 0 in v1) | 12 recordCount u32 | 16 baseOffset u64 | 24 lastOffsetDelta u32
//  28 baseTimestampMs u64 | 36 maxTimestampMs u64 | 44 records…
// Record: varint recordBytes | varint offsetDelta | zigzag timestampDelta | varint keyLength+1 | key
//         | varint valueLength+1 (0 = tombstone) | value | varint headerCount | headers…

import { invalidArgument } from '../base/errors.js';

/** The version this code writes. */
export const FORMAT_VERSION = 2;
/** The oldest version this code reads (a v1 batch is a v2 batch whose durableDelta is 0: no claim). */
export const FORMAT_VERSION_MIN = 1;
export const BATCH_HEADER_BYTES = 44;
/** A batch is closed before it would pass this size (unless empty: one big record is its own batch). */
export const BATCH_BYTES_MAX = 4 * 1024;

export const H_BATCH_BYTES = 0;
export const H_CHECKSUM = 4;
export const H_VERSION = 8;
export const H_ATTRIBUTES = 9;
/**
 * Attribute bit 0: the batch was written by compaction, so offsets may be missing before it (its
 * base offset may be past the end of the previous batch). Records inside a batch may have gaps in
 * their offset deltas in any batch; only compaction produces them.
 */
export const ATTR_COMPACTED = 0x01;
/** Attribute bit 1: the batch ends with a commit block (commit-block.ts; exactly-once consume-transform-produce). */
export const ATTR_COMMIT = 0x02;

/** Where the commit block of the batch [pos, pos + batchBytes) starts (its records end there), or -1 if its length field is impossible. */
export function commitBlockStart(buf: Uint8Array, pos: number, batchBytes: number, headerBytes: number): number {
  const end = pos + batchBytes;
  if (batchBytes < headerBytes + 2) return -1;
  const len = buf[end - 2]! | (buf[end - 1]! << 8);
  const start = end - 2 - len;
  return start < pos + headerBytes ? -1 : start;
}
/**
 * v2: what was durable when the batch was written. 0: no claim (v1 batches, compaction output,
 * or the durable end lay too far back); n >= 1: every offset below `baseOffset - (n - 1)` had been
 * covered by a completed fsync before this batch was handed to the OS. A valid batch found after
 * damage thus proves whether the damaged bytes were ever fsynced (recovery.ts).
 */
export const H_DURABLE_DELTA = 10;
/** No claim about durability (the field's value in v1 batches, where it was reserved). */
export const DURABLE_DELTA_NONE = 0;
/** Largest field value: a durable end more than DURABLE_DELTA_MAX - 1 offsets back is not claimed. */
export const DURABLE_DELTA_MAX = 0xffff;
export const H_RECORD_COUNT = 12;
export const H_BASE_OFFSET = 16;
export const H_LAST_OFFSET_DELTA = 24;
export const H_BASE_TIMESTAMP = 28;
export const H_MAX_TIMESTAMP = 36;
/** The checksum covers the batch from this byte to its end. */
export const CHECKSUM_FROM = 8;

export const INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;

export const OFFSET_DIGITS = 20;
export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const TMP_SUFFIX = '.tmp';
/** A compaction writes its new segment files as `<name>.cleaned` (discarded at open without a swap marker). */
export const CLEANED_SUFFIX = '.cleaned';
/** The commit point of a compaction swap: `<base>.swap` names the replaced range and the new segments. */
export const SWAP_SUFFIX = '.swap';
/**
 * Bytes recovery cut after a power cut while valid batches followed (nothing there was fsynced) are
 * kept aside as `<segment>.log.cut` (then `<segment>.log.<n>.cut`): never read, never removed by
 * the library (verify lists them).
 */
export const CUT_SUFFIX = '.cut';
/** A segment file that could not be unlinked while open (Windows) is renamed so; unlinked at open. */
export const SEGMENT_DELETED_SUFFIX = '.deleted';
// Files and folders of the library itself carry a '~', which no topic name can hold, so a topic
// can never collide with them.
export const LOCK_FILE = '~seglog.lock';
/** The marker that says a directory is a seglog log (written at creation; see marker.ts). */
export const MARKER_FILE = '~seglog.dir';
export const LMDB_META_FILE = '~meta.lmdb';
export const JSON_META_FILE = '~meta.json';
/** Emergency ballast (space-reserve.ts): incompressible bytes, given back when the disk fills. */
export const RESERVE_FILE = '~reserve';
/** Committed group positions of the native-free entry point: an append-only, checksummed file. */
export const GROUPS_FILE = '~groups.log';
/** A topic folder being deleted is first renamed to `<topic>~deleted` (finished at the next open). */
export const DELETED_SUFFIX = '~deleted';

const TWO_32 = 4294967296;
/** Largest value a u64 field may hold (safe integers only). */
const U64_HI_MAX = 0x1fffff;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(OFFSET_DIGITS, '0') + suffix;
}

/** The name of the n-th file of cut bytes of the `.log` named `logName` (n = 0, 1, ...). */
export function cutFileName(logName: string, n: number): string {
  return n === 0 ? logName + CUT_SUFFIX : `${logName}.${n}${CUT_SUFFIX}`;
}

/** Whether `name` is a file of cut bytes (cutFileName of a segment's `.log`). */
export function isCutFileName(name: string): boolean {
  return /^[0-9]{20}\.log(\.[0-9]+)?\.cut$/.test(name);
}

/** Whether a batch's formatVersion byte is one this code reads. */
export function knownVersion(version: number | undefined): boolean {
  return version !== undefined && version >= FORMAT_VERSION_MIN && version <= FORMAT_VERSION;
}

/** The durableDelta field for a batch at `baseOffset` written while offsets below `durableOffset` were fsynced (-1: unknown). */
export function durableDelta(baseOffset: number, durableOffset: number): number {
  if (durableOffset < 0 || durableOffset > baseOffset) return DURABLE_DELTA_NONE;
  const n = baseOffset - durableOffset + 1;
  return n <= DURABLE_DELTA_MAX ? n : DURABLE_DELTA_NONE;
}

/** The durable end a valid batch at `pos` claims: every offset below it was fsynced (-1: no claim). */
export function claimedDurableOffset(buf: Uint8Array, pos: number): number {
  if (buf[pos + H_VERSION]! < 2) return -1;
  const n = buf[pos + H_DURABLE_DELTA]! | (buf[pos + H_DURABLE_DELTA + 1]! << 8);
  if (n === DURABLE_DELTA_NONE) return -1;
  const base = readU64(buf, pos + H_BASE_OFFSET);
  return base < 0 ? -1 : Math.max(0, base - (n - 1));
}

/** Parses `<20 digits><suffix>`; returns the base offset or -1. */
export function parseSegmentFileName(name: string, suffix: string): number {
  if (name.length !== OFFSET_DIGITS + suffix.length || !name.endsWith(suffix)) return -1;
  const digits = name.slice(0, OFFSET_DIGITS);
  if (!/^[0-9]+$/.test(digits)) return -1;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : -1;
}

export function writeU64(buf: Uint8Array, pos: number, value: number): void {
  const lo = value % TWO_32;
  const hi = (value - lo) / TWO_32;
  buf[pos] = lo; buf[pos + 1] = lo >>> 8; buf[pos + 2] = lo >>> 16; buf[pos + 3] = lo >>> 24;
  buf[pos + 4] = hi; buf[pos + 5] = hi >>> 8; buf[pos + 6] = hi >>> 16; buf[pos + 7] = hi >>> 24;
}

/** Reads a u64; returns -1 when it is not a safe integer (corruption). */
export function readU64(buf: Uint8Array, pos: number): number {
  const lo = (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16)) + buf[pos + 3]! * 0x1000000;
  const hi = (buf[pos + 4]! | (buf[pos + 5]! << 8) | (buf[pos + 6]! << 16)) + buf[pos + 7]! * 0x1000000;
  if (hi > U64_HI_MAX) return -1;
  return hi * TWO_32 + lo;
}

export function writeU32(buf: Uint8Array, pos: number, value: number): void {
  buf[pos] = value; buf[pos + 1] = value >>> 8; buf[pos + 2] = value >>> 16; buf[pos + 3] = value >>> 24;
}

export function readU32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16)) + buf[pos + 3]! * 0x1000000;
}

export function varintBytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let n = 4;
  let v = Math.floor(value / 0x10000000);
  while (v > 0) { n++; v = Math.floor(v / 128); }
  return n;
}

/** Writes an unsigned LEB128 varint (value < 2^53); returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  if (value < 0x10000000) {
    while (value >= 0x80) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    return pos;
  }
  while (value >= 0x80) {
    buf[pos++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}

/** Position after the varint read by the last readVarint call (module-level cursor: no allocation). */
export let varintEnd = 0;

/** Reads a varint that must end before `end`; returns -1 on malformed or truncated input. */
export function readVarint(buf: Uint8Array, pos: number, end: number): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) return -1;
    const b = buf[pos++]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      varintEnd = pos;
      return result <= Number.MAX_SAFE_INTEGER ? result : -1;
    }
    scale *= 128;
  }
  return -1;
}

/**
 * Bytes of a record's key, value and headers fields with their length varints (keyLen/valueLen -1:
 * absent/tombstone). Single-byte varints are the rule and are counted inline (hot path).
 */
export function recordFieldsBytes(keyLen: number, valueLen: number, headersBytes: number): number {
  return (keyLen < 127 ? 1 + (keyLen > 0 ? keyLen : 0) : varintBytes(keyLen + 1) + keyLen)
    + (valueLen < 127 ? 1 + (valueLen > 0 ? valueLen : 0) : varintBytes(valueLen + 1) + valueLen) + headersBytes;
}

/** Whole size of a record as it stands first in a batch (both deltas 0): what maxRecordBytes limits. */
export function freshRecordBytes(fieldsBytes: number): number {
  const body = 2 + fieldsBytes;
  return (body < 128 ? 1 : varintBytes(body)) + body;
}

export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

export interface HeaderFields {
  batchBytes: number;
  recordCount: number;
  baseOffset: number;
  lastOffsetDelta: number;
  baseTimestampMs: number;
  maxTimestampMs: number;
}

/**
 * Writes the fixed fields of a batch header that never change while the batch fills.
 * `durableOffset`: every offset below it is fsynced now (-1, the default: no claim).
 */
export function startBatchHeader(buf: Uint8Array, pos: number, baseOffset: number, baseTimestampMs: number, durableOffset = -1): void {
  writeU32(buf, pos + H_BATCH_BYTES, BATCH_HEADER_BYTES);
  writeU32(buf, pos + H_CHECKSUM, 0);
  buf[pos + H_VERSION] = FORMAT_VERSION;
  buf[pos + H_ATTRIBUTES] = 0;
  const delta = durableDelta(baseOffset, durableOffset);
  buf[pos + H_DURABLE_DELTA] = delta;
  buf[pos + H_DURABLE_DELTA + 1] = delta >>> 8;
  writeU32(buf, pos + H_RECORD_COUNT, 0);
  writeU64(buf, pos + H_BASE_OFFSET, baseOffset);
  writeU32(buf, pos + H_LAST_OFFSET_DELTA, 0);
  writeU64(buf, pos + H_BASE_TIMESTAMP, baseTimestampMs);
  writeU64(buf, pos + H_MAX_TIMESTAMP, baseTimestampMs);
}

/**
 * Checks the structure of the batch at `pos` (not its checksum): sizes, version, counts, and that
 * its records parse exactly to its end. Returns null when valid, or the reason it is not.
 * `available` is how many bytes from `pos` are known to exist.
 */
export function checkBatchStructure(buf: Uint8Array, pos: number, available: number): string | null {
  if (available < BATCH_HEADER_BYTES) return 'truncated batch header';
  const batchBytes = readU32(buf, pos + H_BATCH_BYTES);
  if (batchBytes < BATCH_HEADER_BYTES) return `batch length ${batchBytes} is below the header size`;
  if (batchBytes > available) return `batch length ${batchBytes} runs past the end of the data (${available} bytes left)`;
  if (!knownVersion(buf[pos + H_VERSION])) return `unknown format version ${buf[pos + H_VERSION]}`;
  const count = readU32(buf, pos + H_RECORD_COUNT);
  if (count < 1) return 'batch with no records';
  const lastDelta = readU32(buf, pos + H_LAST_OFFSET_DELTA);
  if (lastDelta < count - 1) return `last offset delta ${lastDelta} is below the record count ${count}`;
  if (readU64(buf, pos + H_BASE_OFFSET) < 0 || readU64(buf, pos + H_BASE_TIMESTAMP) < 0 || readU64(buf, pos + H_MAX_TIMESTAMP) < 0) {
    return 'a u64 header field is out of range';
  }
  let end = pos + batchBytes;
  if ((buf[pos + H_ATTRIBUTES]! & ATTR_COMMIT) !== 0) {
    end = commitBlockStart(buf, pos, batchBytes, BATCH_HEADER_BYTES);
    if (end < 0) return 'bad commit block length';
  }
  let p = pos + BATCH_HEADER_BYTES;
  let prevDelta = -1;
  for (let i = 0; i < count; i++) {
    const len = readVarint(buf, p, end);
    if (len < 0) return `record ${i}: bad length`;
    const recEnd = varintEnd + len;
    if (recEnd > end) return `record ${i}: runs past the batch`;
    const delta = readVarint(buf, varintEnd, recEnd);
    if (delta < 0 || delta <= prevDelta || delta > lastDelta) return `record ${i}: bad offset delta`;
    prevDelta = delta;
    if (readVarint(buf, varintEnd, recEnd) < 0) return `record ${i}: bad timestamp delta`;
    const keyLen = readVarint(buf, varintEnd, recEnd);
    if (keyLen < 0 || varintEnd + (keyLen > 0 ? keyLen - 1 : 0) > recEnd) return `record ${i}: bad key length`;
    const valueLen = readVarint(buf, varintEnd + (keyLen > 0 ? keyLen - 1 : 0), recEnd);
    if (valueLen < 0 || varintEnd + (valueLen > 0 ? valueLen - 1 : 0) > recEnd) return `record ${i}: bad value length`;
    let hp = varintEnd + (valueLen > 0 ? valueLen - 1 : 0);
    const headerCount = readVarint(buf, hp, recEnd);
    if (headerCount < 0) return `record ${i}: bad header count`;
    hp = varintEnd;
    for (let h = 0; h < headerCount; h++) {
      const nameLen = readVarint(buf, hp, recEnd);
      if (nameLen < 0 || varintEnd + nameLen > recEnd) return `record ${i}: bad header name`;
      const vLen = readVarint(buf, varintEnd + nameLen, recEnd);
      if (vLen < 0 || varintEnd + vLen > recEnd) return `record ${i}: bad header value`;
      hp = varintEnd + vLen;
    }
    if (hp !== recEnd) return `record ${i}: length does not match its fields`;
    p = recEnd;
  }
  if (prevDelta !== lastDelta) return 'last offset delta does not match the last record';
  if (p !== end) return 'records do not fill the batch exactly';
  if (end !== pos + batchBytes && knownVersion(buf[pos + H_VERSION]) && buf[pos + H_VERSION] !== FORMAT_VERSION) return 'commit block in a version 1 batch';
  return null;
}

/**
 * Headers as an append takes them: a plain object, or a Map with string keys (append-input.ts
 * checks the keys). Values are strings (stored as UTF-8) or bytes.
 */
export type HeadersInput = Readonly<Record<string, string | Uint8Array>> | ReadonlyMap<string, string | Uint8Array>;

/** Encoded size of one header (name and value with their length varints); throws ERR_INVALID_ARGUMENT for a value that is not a string or bytes. */
function headerBytes(name: string, v: unknown): number {
  const nameLen = Buffer.byteLength(name, 'utf8');
  const vLen = typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v instanceof Uint8Array ? v.length : -1;
  if (vLen < 0) throw invalidArgument(`header ${JSON.stringify(name)}`, v, 'a string or Uint8Array');
  return varintBytes(nameLen) + nameLen + varintBytes(vLen) + vLen;
}

/** Encoded size of a headers object or Map (its count varint included); throws as headerBytes does. */
export function headersBytes(headers: HeadersInput): number {
  let bytes = 0;
  let count = 0;
  if (headers instanceof Map) {
    for (const [name, v] of headers as ReadonlyMap<string, unknown>) { bytes += headerBytes(name, v); count++; }
    return bytes + varintBytes(count);
  }
  const record = headers as Readonly<Record<string, string | Uint8Array>>;
  for (const name in record) {
    if (!Object.prototype.hasOwnProperty.call(record, name)) continue;
    bytes += headerBytes(name, record[name]);
    count++;
  }
  return bytes + varintBytes(count);
}

export function writeHeaders(buf: Buffer, pos: number, headers: HeadersInput | undefined): number {
  if (headers === undefined) {
    buf[pos] = 0;
    return pos + 1;
  }
  if (headers instanceof Map) {
    pos = writeVarint(buf, pos, headers.size);
    for (const [name, v] of headers as ReadonlyMap<string, string | Uint8Array>) pos = writeHeader(buf, pos, name, v);
    return pos;
  }
  const record = headers as Readonly<Record<string, string | Uint8Array>>;
  let count = 0;
  for (const name in record) if (Object.prototype.hasOwnProperty.call(record, name)) count++;
  pos = writeVarint(buf, pos, count);
  for (const name in record) {
    if (!Object.prototype.hasOwnProperty.call(record, name)) continue;
    pos = writeHeader(buf, pos, name, record[name]!);
  }
  return pos;
}

function writeHeader(buf: Buffer, pos: number, name: string, v: string | Uint8Array): number {
  const nameLen = Buffer.byteLength(name, 'utf8');
  pos = writeVarint(buf, pos, nameLen);
  pos += buf.write(name, pos, 'utf8');
  if (typeof v === 'string') {
    const vLen = Buffer.byteLength(v, 'utf8');
    pos = writeVarint(buf, pos, vLen);
    pos += buf.write(v, pos, 'utf8');
  } else {
    pos = writeVarint(buf, pos, v.length);
    buf.set(v, pos);
    pos += v.length;
  }
  return pos;
}
