// appendSpans: a multi-record append whose records are byte ranges of buffers (RecordSpans,
// format/record-spans.ts) — the Kafka server's Produce — written through the writer's per-record
// appendEncoded (its range form) with no record object or view per record of its own. Same
// contract as appendBatch of bytes (the codec not applied): every record is checked first (size
// against maxRecordBytes, timestamp), so a refusal appends nothing; a failure half-way (the I/O of
// a roll or a chunk switch) rolls back to where the append began; the promise settles like
// appendBatch's under the log's durability.
//
// The records between two boundaries (a new batch, a chunk switch, a roll: what appendEncoded
// decides per record) go through appendRun: the same bytes as appendEncoded writes, in one loop
// with the writer's state in locals and the boundary conditions worked out once per run (the
// per-record path was the largest item of `seglog serve`'s profile under kcat: bench/kafka.js).
// The first record of a run, a record with headers, and every record of a compacted topic (its
// key index) take appendEncoded itself.
//
// Crash: what the writer leaves (topic-writer.ts).
import { SeglogError, invalidArgument, ioError } from '../base/errors.js';
import { recordTooLarge } from '../format/append-input.js';
import { BATCH_BYTES_MAX, BATCH_HEADER_BYTES, freshRecordBytes, headersBytes, recordFieldsBytes, varintBytes, writeVarint, type HeadersInput } from '../format/batch.js';
import { copyBytes, type RecordSpans } from '../format/record-spans.js';
import { CHUNK_STAGE_BYTES, SEGMENT_RECORDS_MAX } from '../base/limits.js';
import type { Mark, Waiter } from './topic-context.js';
import { settledNone } from './turns.js';

/** What appendSpans needs of the topic's writer (TopicWriter). */
export interface SpansWriter {
  readonly name: string;
  readonly dir: string;
  readonly options: { readonly maxRecordBytes: number; readonly segmentBytes: number; readonly segmentMs: number };
  readonly keptEnd: number;
  readonly committedEnd: number;
  readonly tickWaiters: Waiter[];
  _endOffset: number;
  writeBeforeSwitch(): void;
  mark(): Mark;
  rollbackTo(mark: Mark, error: SeglogError): void;
  appendEncoded(value: Uint8Array | null, keyIn: Uint8Array | undefined, headers: HeadersInput | undefined, timestamp: number,
    valuePos: number, valueLength: number, keyPos: number, keyLength: number): number;
  // what appendRun reads and moves on (TopicWriter's append-path state)
  readonly keyIndex: unknown;
  readonly oneBatch: boolean;
  readonly active: { readonly baseOffset: number; readonly firstTimestampMs: number };
  readonly chunk: { readonly buf: Buffer; len: number; readonly filePos: number; readonly retired: boolean } | undefined;
  readonly batchStart: number;
  readonly batchBase: number;
  readonly batchBaseTs: number;
  batchCount: number;
  batchMaxTs: number;
  maxTimestampMs: number;
}

/** A timestamp this far from its batch's base starts a new batch (topic-writer.ts's TIMESTAMP_DELTA_MAX). */
const TIMESTAMP_DELTA_MAX = 2 ** 51;

/** Throws what the append would refuse, before anything is appended. */
function checkSpans(w: SpansWriter, spans: RecordSpans): void {
  const n = spans.count;
  if (!Number.isInteger(n) || n < 1) throw invalidArgument('records', n, 'a non-empty set of records');
  const max = w.options.maxRecordBytes;
  for (let i = 0; i < n; i++) {
    const kl = spans.keyLen[i]!;
    const vl = spans.valueLen[i]!;
    const h = spans.anyHeaders ? spans.headers[i] : undefined;
    // (a record without headers and shorter than the bound by more than its framing cannot pass it)
    if (h !== undefined || kl + vl + 24 > max) {
      const bytes = freshRecordBytes(recordFieldsBytes(kl, vl, h === undefined ? 1 : headersBytes(h)));
      if (bytes > max) throw recordTooLarge(bytes, max, w.name);
    }
    const ts = spans.timestamps[i]!;
    if (ts >= 0 && !Number.isSafeInteger(ts)) throw invalidArgument('timestamp', ts, 'a non-negative integer of milliseconds since the epoch');
  }
}

/**
 * Appends every record of `spans` (the caller checked that the topic takes appends); resolves with
 * the first record's offset. `durabilityNone`: the log's durability is 'none'.
 */
export function appendSpans(w: SpansWriter, spans: RecordSpans, durabilityNone: boolean): Promise<number> {
  let first: number;
  let mark: Mark | undefined;
  try {
    checkSpans(w, spans);
    if (w.keptEnd > w.committedEnd && !durabilityNone) w.writeBeforeSwitch();
    first = w._endOffset;
    const now = Date.now(); // one clock read for the records that carry no timestamp
    mark = w.mark();
    const { sources, keyPos, keyLen, valuePos, valueLen, timestamps, anyHeaders, headers } = spans;
    const run = w.keyIndex === undefined && !w.oneBatch;
    try {
      for (let i = 0; i < spans.count;) {
        const src = sources[i]!;
        const ts = timestamps[i]!;
        w.appendEncoded(src, src, anyHeaders ? headers[i] : undefined, ts >= 0 ? ts : now, valuePos[i]!, valueLen[i]!, keyPos[i]!, keyLen[i]!);
        i = run ? appendRun(w, spans, i + 1, now) : i + 1;
      }
    } catch (err) {
      w.rollbackTo(mark, err instanceof SeglogError ? err : ioError('append', w.dir, err));
      throw err;
    }
  } catch (err) {
    return Promise.reject(err);
  }
  return settleAppended(w, first, mark, durabilityNone);
}

/**
 * The promise of a multi-record append whose records (from `first` up to the writer's end) were
 * handed to the writer: settled at once under 'none', else when the log's durability covers the
 * last of them (a waiter of the tick; `mark` cuts back to where the append began if a write fails).
 */
export function settleAppended(w: { readonly tickWaiters: Waiter[]; readonly _endOffset: number }, first: number, mark: Mark | undefined, durabilityNone: boolean): Promise<number> {
  if (durabilityNone) return settledNone(first);
  return new Promise<number>((resolve, reject) => {
    w.tickWaiters.push({ resolve, reject, offset: first, last: w._endOffset - 1, mark });
  });
}

/**
 * The copies of appendRun. Buffer#copy of a range makes a view inside (Node 20's _copyActual) and
 * cost more than the rest of the loop (about 50 ns for 100 B, against 15 ns for copyWithin, which
 * takes no view but moves bytes only within one buffer): so the source bytes are first copied,
 * STAGE_BYTES at a time in one set(), into the room a write chunk has behind its end (newChunk,
 * tick-write.ts, allocates it), and each key and value moves from there with copyWithin. A chunk
 * without that room, or a key or value larger than it, takes copyBytes. Nothing of a source is
 * kept past the run (end()).
 */
class Stage {
  /** The chunk's memory from its start through the room behind it; undefined: copyBytes. */
  private all: Uint8Array | undefined = undefined;
  /** Where the room starts in `all` (the chunk's length). */
  private at = 0;
  private src: Uint8Array | undefined = undefined;
  private from = 0;
  private to = 0;

  begin(buf: Buffer): void {
    const ab = buf.buffer;
    this.all = ab.byteLength - buf.byteOffset - buf.length >= CHUNK_STAGE_BYTES ? new Uint8Array(ab, buf.byteOffset, buf.length + CHUNK_STAGE_BYTES) : undefined;
    this.at = buf.length;
    this.src = undefined;
  }

  end(): void {
    this.all = undefined;
    this.src = undefined;
  }

  copy(dst: Buffer, p: number, src: Uint8Array, pos: number, length: number): void {
    const all = this.all;
    if (all === undefined || length > CHUNK_STAGE_BYTES) { copyBytes(dst, p, src, pos, length); return; }
    if (src !== this.src || pos < this.from || pos + length > this.to) {
      const to = Math.min(src.length, pos + CHUNK_STAGE_BYTES);
      all.set(new Uint8Array(src.buffer, src.byteOffset + pos, to - pos), this.at);
      this.src = src;
      this.from = pos;
      this.to = to;
    }
    const from = this.at + pos - this.from;
    all.copyWithin(p, from, from + length);
  }
}

const stage = new Stage();

/**
 * Appends the records of `spans` from `i` on for as long as each one joins the open batch the way
 * appendEncoded would append it — no headers, no roll (segment bytes, records or age), no new
 * batch (timestamp delta, batch bytes, room in the chunk) — writing exactly appendEncoded's bytes;
 * returns the first record it did not take (the caller hands that one to appendEncoded, which
 * crosses the boundary). Called right after appendEncoded appended a record, so the batch is open,
 * the chunk is the active one, the session is marked dirty and the end-of-tick write scheduled.
 */
function appendRun(w: SpansWriter, spans: RecordSpans, i: number, now: number): number {
  const chunk = w.chunk;
  const n = spans.count;
  if (i >= n || w.batchStart < 0 || chunk === undefined || chunk.retired) return i;
  const seg = w.active;
  const { segmentBytes, segmentMs } = w.options;
  const buf = chunk.buf;
  const batchBase = w.batchBase;
  const baseTs = w.batchBaseTs;
  // appendEncoded's conditions, as bounds on the write position p and the offset:
  const batchEnd = Math.min(buf.length, w.batchStart + BATCH_BYTES_MAX); // seal: batch bytes, room in the chunk
  const segRoom = segmentBytes - chunk.filePos - BATCH_HEADER_BYTES; // roll: p + freshBytes past it
  const offsetsEnd = seg.baseOffset + SEGMENT_RECORDS_MAX; // roll: out of relative offsets
  const segFirstTs = seg.firstTimestampMs;
  const { sources, keyPos, keyLen, valuePos, valueLen, timestamps, anyHeaders, headers } = spans;
  let p = chunk.len;
  let offset = w._endOffset;
  let count = w.batchCount;
  let maxTs = w.batchMaxTs;
  stage.begin(buf);
  for (; i < n; i++) {
    if (anyHeaders && headers[i] !== undefined) break;
    const kl = keyLen[i]!;
    const vl = valueLen[i]!;
    const t = timestamps[i]!;
    const ts = t >= 0 ? t : now;
    const fixedBytes = (kl < 127 ? 1 + (kl > 0 ? kl : 0) : varintBytes(kl + 1) + kl) + (vl < 127 ? 1 + (vl > 0 ? vl : 0) : varintBytes(vl + 1) + vl) + 1;
    const freshBody = 2 + fixedBytes;
    if (p + (freshBody < 128 ? 1 : varintBytes(freshBody)) + freshBody > segRoom || offset >= offsetsEnd) break;
    if (segmentMs !== Infinity && segFirstTs >= 0 && ts - segFirstTs > segmentMs) break;
    const d = ts - baseTs;
    if (d > TIMESTAMP_DELTA_MAX || d < -TIMESTAMP_DELTA_MAX) break;
    const od = offset - batchBase;
    const tz = d >= 0 ? d * 2 : -d * 2 - 1;
    const body = (od < 128 ? 1 : varintBytes(od)) + (tz < 128 ? 1 : varintBytes(tz)) + fixedBytes;
    if (p + (body < 128 ? 1 : varintBytes(body)) + body > batchEnd) break;
    if (body < 128) buf[p++] = body; else p = writeVarint(buf, p, body);
    if (od < 128) buf[p++] = od; else p = writeVarint(buf, p, od);
    if (tz < 128) buf[p++] = tz; else p = writeVarint(buf, p, tz);
    const src = sources[i]!;
    if (kl < 127) buf[p++] = kl + 1; else p = writeVarint(buf, p, kl + 1);
    if (kl > 0) { stage.copy(buf, p, src, keyPos[i]!, kl); p += kl; }
    if (vl < 127) buf[p++] = vl + 1; else p = writeVarint(buf, p, vl + 1);
    if (vl > 0) { stage.copy(buf, p, src, valuePos[i]!, vl); p += vl; }
    buf[p++] = 0; // no headers
    count++;
    if (ts > maxTs) maxTs = ts;
    offset++;
  }
  stage.end();
  chunk.len = p;
  w.batchCount = count;
  w.batchMaxTs = maxTs;
  if (maxTs > w.maxTimestampMs) w.maxTimestampMs = maxTs;
  w._endOffset = offset;
  return i;
}
