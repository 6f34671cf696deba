// encodeLogBatch: the records of a seglog topic, straight from the bytes of its batches, as ONE
// uncompressed Kafka record batch v2 (the Fetch path; docs/kafka.md, "Record batches").
//
// The same batch as encodeBatch (batch-writer.ts) writes for the same records — baseOffset the
// first record's offset, real offset deltas (compaction's gaps stay gaps), the same header, limits
// and KIP-74 rule — but read from the cursor's batches (Cursor.nextRawBatch, after its checksum and
// offset checks) instead of one RecordView per record: a 1 MiB Fetch of 100-byte records is ~10,000
// records, and their views were the Fetch's largest cost after the copies (the garbage collector's
// share of the server's profile under `kcat -C` was larger than the encoding's).
//
// Each seglog batch (4 KiB unless one record is larger) is first copied whole into a staging
// window at the end of the output chunk (one Buffer#copy per batch); every record is then decoded
// there and its key and value moved with copyWithin (same buffer: no view, no call into C++; a
// piece of up to 16 bytes byte by byte). A batch larger than the window is read where it is.
// seglog's record framing (unsigned lengths, length + 1 for key and value) becomes Kafka's (zigzag,
// an attributes byte); headers are re-encoded (kafkaHeadersBytes/writeKafkaHeaders).
//
// Output: a pooled 1 MiB chunk (grown for a bigger batch), the batch a view of it. A chunk is
// written over only once every batch in it was released (releaseLogBatch: the server does that
// when the socket's write of the answer completed); the chunk then serves again, from its start.
// Fresh chunks cost more than their bytes: a 1 MiB allocation is new pages, faulted in and zeroed
// by the kernel on first touch, and external memory that brings mark-compacts — reusing one took
// the encoder from 1.0 to 2.5M records per second in a loop of 1 MiB fetches. Only
// SPARE_MAX released chunks are kept; a batch never released costs only the reuse of its chunk.
import { readVarint, unzigzag, varintEnd } from '../../format/batch.js';
import type { RawBatch } from '../../log/cursor.js';
import { HEADER_BYTES, OFFSET_DELTA_MAX, kafkaHeadersBytes, writeBatchHeader, writeKafkaHeaders, type EncodeLimits, type EncodedBatch } from './batch-writer.js';
import { varintBytes, varlongBytes, writeVarint, writeVarlong } from './varint.js';

/** What encodeLogBatch reads: a log Cursor (its raw batches). */
export interface RawBatchSource {
  nextRawBatch(): RawBatch | undefined;
}

const POOL_BYTES = 1 << 20;
const STAGE_BYTES = 64 << 10;
const COPY_LOOP_MAX_BYTES = 16;
/** Released chunks of the standard size kept for reuse (the rest is left to the garbage collector). */
const SPARE_MAX = 4;
const EMPTY = Buffer.alloc(0);

/**
 * A chunk of output: batches in [0, length - STAGE_BYTES), the staging window after. `holds`
 * counts the batches written into it and not released yet (releaseLogBatch); a chunk is written
 * over only when it has none: the current one from its start again, a retired one once it is
 * taken from the spares.
 */
interface Chunk { buf: Buffer; holds: number; current: boolean }

/** A batch of encodeLogBatch; `chunk` is what releaseLogBatch gives back (once). */
export interface EncodedLogBatch extends EncodedBatch {
  chunk: Chunk | undefined;
}

const spares: Buffer[] = [];
let chunk: Chunk = { buf: Buffer.allocUnsafe(POOL_BYTES + STAGE_BYTES), holds: 0, current: true };
let pool = chunk.buf;
let poolUsed = 0;

function retire(c: Chunk): void {
  c.current = false;
  if (c.holds === 0) spare(c.buf);
}

function spare(buf: Buffer): void {
  if (buf.length === POOL_BYTES + STAGE_BYTES && spares.length < SPARE_MAX) spares.push(buf);
}

function use(buf: Buffer): void {
  chunk = { buf, holds: 0, current: true };
  pool = buf;
  poolUsed = 0;
}

/**
 * Says that `batch`'s bytes are no longer needed (the socket has taken them: the write's callback
 * ran), so its chunk may be written over once every batch in it was released. Later calls for the
 * same batch do nothing; a batch never released only keeps its chunk from being reused.
 */
export function releaseLogBatch(batch: EncodedLogBatch): void {
  const c = batch.chunk;
  if (c === undefined) return;
  batch.chunk = undefined;
  if (--c.holds > 0) return;
  if (c.current) poolUsed = 0;
  else spare(c.buf);
}

/** Moves the batch being written (`[start, pos)`) and the staging window to a chunk with room for `needBytes` more. */
function grow(start: number, pos: number, needBytes: number): void {
  const usedBytes = pos - start;
  const next = Buffer.allocUnsafe(Math.max(POOL_BYTES, 2 * (usedBytes + needBytes)) + STAGE_BYTES);
  pool.copy(next, 0, start, pos);
  pool.copy(next, next.length - STAGE_BYTES, pool.length - STAGE_BYTES);
  retire(chunk);
  use(next);
}

/** Copies `n` bytes at `from` of `src` (the staging window of the pool, or a large batch) to the pool at `to`. */
function copyPiece(src: Buffer, from: number, to: number, n: number): void {
  const out = pool;
  if (n <= COPY_LOOP_MAX_BYTES) {
    for (let i = 0; i < n; i++) out[to + i] = src[from + i]!;
  } else if (src === out) {
    out.copyWithin(to, from, from + n);
  } else {
    src.copy(out, to, from, from + n);
  }
}

/**
 * Reads `source`'s batches from offset `from` on (records below it, in the first batch, are
 * passed over) and writes them as one uncompressed record batch v2, stopping before the first
 * record that would take it past `limits.maxBytes` (never before the first one) or whose offset is
 * more than 2^31 - 1 past the first one's. The caller releases the source (Cursor.return()).
 */
export function encodeLogBatch(source: RawBatchSource, from: number, limits: EncodeLimits = {}): EncodedLogBatch {
  const maxBytes = limits.maxBytes ?? Infinity;
  if (pool.length - STAGE_BYTES - poolUsed < HEADER_BYTES + 64) {
    retire(chunk);
    use(spares.pop() ?? Buffer.allocUnsafe(POOL_BYTES + STAGE_BYTES));
  }
  let out = pool;
  let start = poolUsed;
  let pos = start + HEADER_BYTES;
  let count = 0;
  let baseOffset = 0;
  let lastOffset = -1;
  let firstTimestamp = 0;
  let maxTimestamp = 0;
  let raw: RawBatch | undefined;
  batches: while ((raw = source.nextRawBatch()) !== undefined) {
    const staged = raw.end - raw.pos <= STAGE_BYTES;
    let src: Buffer;
    let p: number;
    let end: number;
    if (staged) {
      p = out.length - STAGE_BYTES;
      raw.buf.copy(out, p, raw.pos, raw.end);
      end = p + raw.end - raw.pos;
      src = out;
    } else {
      src = raw.buf;
      p = raw.pos;
      end = raw.end;
    }
    const batchBase = raw.baseOffset;
    const batchTs = raw.baseTimestamp;
    for (let left = raw.count; left > 0; left--) {
      // seglog's record (docs/format.md): length | offsetDelta | zigzag timestampDelta | key length + 1 | key | value length + 1 | value | headers
      let b = src[p]!;
      let len: number;
      if (b < 0x80) { len = b; p++; } else { len = readVarint(src, p, end); p = varintEnd; }
      const stop = p + len;
      b = src[p]!;
      let delta: number;
      if (b < 0x80) { delta = b; p++; } else { delta = readVarint(src, p, end); p = varintEnd; }
      const offset = batchBase + delta;
      if (offset < from) { p = stop; continue; }
      b = src[p]!;
      let tsZig: number;
      if (b < 0x80) { tsZig = b; p++; } else { tsZig = readVarint(src, p, end); p = varintEnd; }
      b = src[p]!;
      let keyBytes: number;
      if (b < 0x80) { keyBytes = b - 1; p++; } else { keyBytes = readVarint(src, p, end) - 1; p = varintEnd; }
      let keyPos = p;
      if (keyBytes > 0) p += keyBytes;
      b = src[p]!;
      let valueBytes: number;
      if (b < 0x80) { valueBytes = b - 1; p++; } else { valueBytes = readVarint(src, p, end) - 1; p = varintEnd; }
      let valuePos = p;
      let headersPos = valueBytes > 0 ? p + valueBytes : p;
      p = stop;

      const timestamp = batchTs + unzigzag(tsZig);
      if (count === 0) {
        baseOffset = offset;
        firstTimestamp = maxTimestamp = timestamp;
      } else if (offset <= lastOffset) {
        throw new Error(`encodeLogBatch: offset ${offset} after ${lastOffset} (batches must be in increasing offset order)`);
      }
      const offsetDelta = offset - baseOffset;
      if (offsetDelta > OFFSET_DELTA_MAX) break batches;
      const timestampDelta = timestamp - firstTimestamp;
      const headersBytes = src[headersPos] === 0 ? 1 : kafkaHeadersBytes(src, headersPos);
      const bodyBytes = 1 + varlongBytes(timestampDelta) + varintBytes(offsetDelta) + varintBytes(keyBytes) + varintBytes(valueBytes)
        + (keyBytes > 0 ? keyBytes : 0) + (valueBytes > 0 ? valueBytes : 0) + headersBytes;
      const recordBytes = varintBytes(bodyBytes) + bodyBytes;
      if (count > 0 && pos + recordBytes - start > maxBytes) break batches;
      if (pos + recordBytes > out.length - STAGE_BYTES) {
        const stageWas = out.length - STAGE_BYTES;
        grow(start, pos, recordBytes);
        out = pool;
        pos -= start;
        start = 0;
        if (staged) { // the staged batch moved with the window: read on there
          const shift = out.length - STAGE_BYTES - stageWas;
          src = out;
          p += shift;
          end += shift;
          keyPos += shift;
          valuePos += shift;
          headersPos += shift;
        }
      }
      pos = writeRecord(out, pos, src, bodyBytes, timestampDelta, offsetDelta, keyBytes, keyPos, valueBytes, valuePos, headersBytes, headersPos);
      if (timestamp > maxTimestamp) maxTimestamp = timestamp;
      lastOffset = offset;
      count++;
    }
  }
  if (count === 0) return { bytes: EMPTY, recordCount: 0, lastOffset: -1, chunk: undefined };
  writeBatchHeader(out, start, pos, baseOffset, lastOffset, firstTimestamp, maxTimestamp, count, limits.partitionLeaderEpoch ?? 0);
  // The next batch starts 8-byte aligned, so its CRC'd range starts at the same word phase.
  poolUsed = (pos + 7) & ~7;
  chunk.holds++;
  return { bytes: out.subarray(start, pos), recordCount: count, lastOffset, chunk };
}

/** Writes one Kafka record at `pos` of `out` (the pool) from its parts in `src`; returns the end. */
function writeRecord(out: Buffer, pos: number, src: Buffer, bodyBytes: number, timestampDelta: number, offsetDelta: number,
  keyBytes: number, keyPos: number, valueBytes: number, valuePos: number, headersBytes: number, headersPos: number): number {
  pos = writeVarint(out, pos, bodyBytes);
  out[pos++] = 0; // attributes
  pos = writeVarlong(out, pos, timestampDelta);
  pos = writeVarint(out, pos, offsetDelta);
  pos = writeVarint(out, pos, keyBytes);
  if (keyBytes > 0) {
    copyPiece(src, keyPos, pos, keyBytes);
    pos += keyBytes;
  }
  pos = writeVarint(out, pos, valueBytes);
  if (valueBytes > 0) {
    copyPiece(src, valuePos, pos, valueBytes);
    pos += valueBytes;
  }
  if (headersBytes === 1) out[pos++] = 0;
  else pos = writeKafkaHeaders(out, pos, src, headersPos);
  return pos;
}
