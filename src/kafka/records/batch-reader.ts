// readProducedSpans: the `records` field of one Produce partition — record batches v2 back to
// back — checked and decoded into a ProducedSpans (produced-spans.ts): per record the positions of
// its key, value and headers in the request's bytes (or in the decompressed block) and its
// timestamp, in typed arrays — no view or object per record (what the server's Produce appends).
// readProducedBatches gives the same records as ProducedRecord objects (key, value and header
// values are views; nothing is copied), for tests and other callers; both go through one reader.
//
// Checked, in order, per batch (the batch layout is in batch-writer.ts):
//   - at least 17 bytes (up to the magic byte), else CORRUPT_MESSAGE;
//   - magic 2; 0 and 1 (message sets before Kafka 0.11) are UNSUPPORTED_FOR_MESSAGE_FORMAT, any
//     other value CORRUPT_MESSAGE;
//   - batchLength at least 49 (a header with no record) and no more than the bytes present:
//     CORRUPT_MESSAGE (a truncated request);
//   - CRC32C of bytes 21..end: CORRUPT_MESSAGE (damaged in transit: a retry may succeed).
// From here the bytes are what the producer meant to send, so a fault is INVALID_RECORD (not
// retriable), as in Kafka's LogValidator:
//   - codec 5–7: UNSUPPORTED_COMPRESSION_TYPE; transactional or control batches: INVALID_RECORD
//     (no transactions are served);
//   - recordCount >= 1 and lastOffsetDelta = recordCount - 1 (Kafka's "inconsistent batch offset
//     range and record count");
//   - timestamps within the safe-integer range;
//   - decompression, bounded (decompress.ts);
//   - every record: its length varint within the batch, then attributes, timestampDelta
//     (varlong), offsetDelta, key length (>= -1) and key, value length (>= -1) and value, header
//     count (>= 0), each header's key length (>= 0), key, value length (>= -1) and value, none
//     read past the record's end, and the record ending exactly where its length says;
//   - exactly recordCount records, ending exactly at the batch's end.
// Offset deltas are read but not checked: the server assigns offsets itself.
//
// Timestamps: CreateTime batches give firstTimestamp + timestampDelta; LogAppendTime batches (a
// producer should not send them) give maxTimestamp to every record, as Kafka's reader does. A
// producer that sets no timestamp sends -1 (NO_TIMESTAMP): it comes through as -1.
import { crc32c } from './crc32c.js';
import { decompressRecords } from './decompress.js';
import { KafkaError, RecordsErrorCode } from './kafka-error.js';
import { ProducedSpans } from './produced-spans.js';
import { readVarint, readVarlong, varEnd } from './varint.js';

/** One record of a produced batch. */
export interface ProducedRecord {
  /** A view of the request (or of the decompressed records); null when the record has none. */
  key: Buffer | null;
  /** A view, as the key; null for a tombstone. */
  value: Buffer | null;
  /** In the order sent; a name may repeat; a null value is Kafka's null header value. */
  headers: Array<[string, Buffer | null]>;
  /** Milliseconds since the epoch (see the file header for LogAppendTime batches). */
  timestamp: number;
}

export interface ReadBatchesOptions {
  /**
   * Bound on the bytes decompression may produce for one call (all its batches together); a
   * batch past it is refused with MESSAGE_TOO_LARGE. Default 100 MiB (Kafka's default
   * socket.request.max.bytes: no produce request can carry more, uncompressed).
   */
  maxDecompressedBytes?: number;
}

export const DECOMPRESSED_BYTES_MAX_DEFAULT = 100 * 1024 * 1024;

const HEADER_BYTES = 61;
/** batchLength counts the bytes after itself: the header's 49 of them and the records. */
const LENGTH_FIELD_END = 12;
const ATTR_CODEC = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/**
 * A Buffer view of `buf[start, start + length)`. Buffer#subarray looks up the species constructor
 * and re-checks offsets: about 120 ns a view on the development machine (busy), against 55 ns for
 * constructing this subclass of Uint8Array whose prototype chain runs through Buffer.prototype (so
 * it is a Buffer: Buffer.isBuffer, instanceof Buffer and every Buffer method work). Two views a
 * record (key, value) made a quarter of readProducedBatches' time (bench/kafka-records.js).
 */
class BufferView extends Uint8Array {
  constructor(buffer: ArrayBuffer, byteOffset: number, length: number) {
    super(buffer, byteOffset, length);
  }
}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);

function view(buf: Buffer, start: number, length: number): Buffer {
  return new BufferView(buf.buffer as ArrayBuffer, buf.byteOffset + start, length) as unknown as Buffer;
}

function corrupt(message: string): never {
  throw new KafkaError(RecordsErrorCode.CORRUPT_MESSAGE, message);
}

function invalid(message: string): never {
  throw new KafkaError(RecordsErrorCode.INVALID_RECORD, message);
}

/** A big-endian int64 as a number; INVALID_RECORD when it is not a safe integer. */
function readInt64(buf: Buffer, pos: number, what: string): number {
  const hi = buf.readInt32BE(pos);
  if (hi >= 0x200000 || hi < -0x200000) invalid(`${what} ${buf.readBigInt64BE(pos)} is out of range`);
  return hi * 4294967296 + buf.readUInt32BE(pos + 4);
}

/** Decodes and checks every batch of a Produce partition's `records` into records with views. */
export function readProducedBatches(records: Buffer, options: ReadBatchesOptions = {}): ProducedRecord[] {
  const spans = readProducedSpans(records, new ProducedSpans(), options);
  const out: ProducedRecord[] = new Array(spans.count);
  for (let i = 0; i < spans.count; i++) {
    const buf = spans.sources[i]!;
    const kl = spans.keyLen[i]!;
    const vl = spans.valueLen[i]!;
    out[i] = {
      key: kl < 0 ? null : view(buf, spans.keyPos[i]!, kl),
      value: vl < 0 ? null : view(buf, spans.valuePos[i]!, vl),
      headers: spans.headerCount[i] === 0 ? [] : readHeaders(buf, spans.headerPos[i]!, spans.headerCount[i]!),
      timestamp: spans.timestamps[i]!,
    };
  }
  return out;
}

/**
 * The headers of a record readProducedSpans checked (`pos` and `count` from its headerPos and
 * headerCount), in the order sent: names decoded, values as views (null: Kafka's null value).
 */
export function readHeaders(buf: Buffer, pos: number, count: number): Array<[string, Buffer | null]> {
  const headers: Array<[string, Buffer | null]> = new Array(count);
  let p = pos;
  for (let h = 0; h < count; h++) {
    const nameLength = readVarint(buf, p, buf.length);
    p = varEnd;
    const name = buf.toString('utf8', p, p + nameLength);
    p += nameLength;
    const valueLength = readVarint(buf, p, buf.length);
    p = varEnd;
    let value: Buffer | null = null;
    if (valueLength >= 0) {
      value = view(buf, p, valueLength);
      p += valueLength;
    }
    headers[h] = [name, value];
  }
  return headers;
}

/**
 * Checks every batch of a Produce partition's `records` and appends its records to `spans` (which
 * the caller reset). Throws a KafkaError on the first fault; `spans` then holds some of the records.
 */
export function readProducedSpans(records: Buffer, spans: ProducedSpans, options: ReadBatchesOptions = {}): ProducedSpans {
  let budgetBytes = options.maxDecompressedBytes ?? DECOMPRESSED_BYTES_MAX_DEFAULT;
  if (records.length === 0) invalid('the records hold no record batch');
  let pos = 0;
  while (pos < records.length) {
    const present = records.length - pos;
    if (present < 17) corrupt(`a record batch header truncated to ${present} bytes at byte ${pos}`);
    const magic = records[pos + 16]!;
    if (magic === 0 || magic === 1) {
      throw new KafkaError(RecordsErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `message format v${magic} (before Kafka 0.11) is not supported: only record batch v2`);
    }
    if (magic !== 2) corrupt(`record batch magic ${magic} at byte ${pos + 16} (only 2 is known)`);
    const batchLength = records.readInt32BE(pos + 8);
    if (batchLength < HEADER_BYTES - LENGTH_FIELD_END) corrupt(`record batch length ${batchLength} at byte ${pos + 8} is less than a header`);
    const end = pos + LENGTH_FIELD_END + batchLength;
    if (end > records.length) corrupt(`record batch at byte ${pos} says ${LENGTH_FIELD_END + batchLength} bytes, only ${present} are present`);
    const crc = records.readUInt32BE(pos + 17);
    const actual = crc32c(records, pos + 21, end);
    if (crc !== actual) corrupt(`record batch at byte ${pos}: CRC32C ${actual.toString(16)} does not match ${crc.toString(16)}`);

    const attributes = records.readInt16BE(pos + 21);
    const codec = attributes & ATTR_CODEC;
    if (codec > 4) throw new KafkaError(RecordsErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec} is not one of 0–4`);
    if (attributes & ATTR_CONTROL) invalid('control batches may not be produced');
    if (attributes & ATTR_TRANSACTIONAL) invalid('transactional batches are not supported');
    const lastOffsetDelta = records.readInt32BE(pos + 23);
    const firstTimestamp = readInt64(records, pos + 27, 'firstTimestamp');
    const maxTimestamp = readInt64(records, pos + 35, 'maxTimestamp');
    const count = records.readInt32BE(pos + 57);
    if (count <= 0) invalid(`record batch at byte ${pos} has a record count of ${count}`);
    if (lastOffsetDelta !== count - 1) invalid(`record batch at byte ${pos}: lastOffsetDelta ${lastOffsetDelta} for ${count} records`);

    let body = records;
    let p = pos + HEADER_BYTES;
    let bodyEnd = end;
    if (codec !== 0) {
      body = decompressRecords(codec, records.subarray(p, end), budgetBytes);
      budgetBytes -= body.length;
      p = 0;
      bodyEnd = body.length;
    }
    const logAppendTime = (attributes & ATTR_LOG_APPEND_TIME) !== 0;
    spans.reserve(count);
    p = readRecords(body, p, bodyEnd, count, logAppendTime ? maxTimestamp : firstTimestamp, logAppendTime, spans);
    if (p !== bodyEnd) invalid(`record batch at byte ${pos}: ${bodyEnd - p} bytes after its ${count} records`);
    pos = end;
  }
  return spans;
}

/**
 * Reads `count` records from `buf[p, end)` into `spans` (room reserved); returns where the last one ended.
 * In a LogAppendTime batch every record gets `baseTimestamp` (the batch's maxTimestamp), else
 * `baseTimestamp` is firstTimestamp and deltas are added.
 */
function readRecords(buf: Buffer, p: number, end: number, count: number, baseTimestamp: number, logAppendTime: boolean, spans: ProducedSpans): number {
  let row = spans.count;
  for (let i = 0; i < count; i++) {
    if (p >= end) invalid(`the batch ends after ${i} of its ${count} records`);
    const length = readVarint(buf, p, end);
    p = varEnd;
    // attributes, timestampDelta, offsetDelta, key length, value length, header count: 6 bytes at least.
    if (length < 6 || length > end - p) invalid(`record ${i}: length ${length} with ${end - p} bytes left in the batch`);
    const recordEnd = p + length;
    const timestampDelta = readVarlong(buf, p + 1, recordEnd);
    readVarint(buf, varEnd, recordEnd); // offsetDelta
    const keyLength = readVarint(buf, varEnd, recordEnd);
    p = varEnd;
    const keyPos = p;
    if (keyLength >= 0) {
      if (keyLength > recordEnd - p) invalid(`record ${i}: key of ${keyLength} bytes past the record's end`);
      p += keyLength;
    } else if (keyLength !== -1) invalid(`record ${i}: key length ${keyLength}`);
    const valueLength = readVarint(buf, p, recordEnd);
    p = varEnd;
    const valuePos = p;
    if (valueLength >= 0) {
      if (valueLength > recordEnd - p) invalid(`record ${i}: value of ${valueLength} bytes past the record's end`);
      p += valueLength;
    } else if (valueLength !== -1) invalid(`record ${i}: value length ${valueLength}`);
    const headerCount = readVarint(buf, p, recordEnd);
    p = varEnd;
    if (headerCount < 0) invalid(`record ${i}: header count ${headerCount}`);
    const headerPos = p;
    for (let h = 0; h < headerCount; h++) {
      const nameLength = readVarint(buf, p, recordEnd);
      p = varEnd;
      if (nameLength < 0 || nameLength > recordEnd - p) invalid(`record ${i}: header ${h} name length ${nameLength}`);
      p += nameLength;
      const headerLength = readVarint(buf, p, recordEnd);
      p = varEnd;
      if (headerLength >= 0) {
        if (headerLength > recordEnd - p) invalid(`record ${i}: header ${h} value of ${headerLength} bytes past the record's end`);
        p += headerLength;
      } else if (headerLength !== -1) invalid(`record ${i}: header ${h} value length ${headerLength}`);
    }
    if (p !== recordEnd) invalid(`record ${i}: ${recordEnd - p} bytes after its last field`);
    spans.sources[row] = buf;
    spans.keyPos[row] = keyPos;
    spans.keyLen[row] = keyLength;
    spans.valuePos[row] = valuePos;
    spans.valueLen[row] = valueLength;
    spans.headerPos[row] = headerPos;
    spans.headerCount[row] = headerCount;
    if (headerCount > 0) spans.anyHeaders = true;
    spans.timestamps[row] = logAppendTime ? baseTimestamp : baseTimestamp + timestampDelta;
    spans.count = ++row;
  }
  return p;
}
