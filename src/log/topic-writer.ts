// TopicWriter: the append path of a topic, one of the parts the topic facade (src/topic.ts) is
// composed of. It owns the segment list and the log's offsets, the write chunks, the open batch,
// the end-of-tick write and what was handed to the OS; the topic's durability part
// (topic-durability.ts, seen here only as the narrow WriterSync of topic-context.ts) makes written
// bytes durable, and the writer calls it at the first change of a session (markDirty), after a
// write (syncWaiters, startFsync) and at a roll (rolled).
//
// Records are encoded straight into the active segment's newest chunk (a buffer that is never
// reused), into an open batch whose header is published to readers on demand, so readers in this
// process see a record as soon as appendSync returns. At the end of the tick (process.nextTick) the
// batch is sealed (checksum, index entries) and the chunk's new bytes go to the OS in one
// positional write; appends settle as soon as their bytes are written ('os') or queue for the
// group commit ('fsync'). A failed write cuts the file back to its last good
// size. Records whose promises are pending are forgotten: the promises reject and the offsets go
// to the next appends. Records whose offset was already handed out (appendSync, or any append
// under 'none') are kept in memory, readable at their offsets, and the topic refuses appends until
// a retry writes them (retryWrite). The two kinds never wait unwritten together: switching kinds
// writes what is pending first (writeBeforeSwitch). A multi-record append is all or nothing (mark / rollbackTo).
//
// Moved out as functions of the writer (it passes itself; the methods below that remain delegate):
// mark / rollbackTo / writeFailed (write-failure.ts), newChunk and dispatchWritten (tick-write.ts), the roll
// (roll.ts), the indexing rule (segment/index-rule.ts); appendBatch's plain records take frameRun
// (append-run.ts, framing as appendEncoded, which stays here). Fields public for those; not Topic API.
// Crash: what was handed to the OS survives a process crash; recovery.ts repairs a torn tail.
import { SeglogError, ioError } from '../base/errors.js';
import { recordTooLarge } from '../format/append-input.js';
import type { KeySink } from './topic-log.js';
import {
  BATCH_BYTES_MAX, BATCH_HEADER_BYTES, H_BATCH_BYTES, H_CHECKSUM, H_LAST_OFFSET_DELTA, H_MAX_TIMESTAMP, H_RECORD_COUNT, CHECKSUM_FROM, freshRecordBytes, headersBytes, recordFieldsBytes, startBatchHeader, varintBytes, writeHeaders, writeU32, writeU64, writeVarint, zigzag,
  type HeadersInput,
} from '../format/batch.js';
import { checksumRange } from '../format/checksum.js';
import { copyBytes } from '../format/record-spans.js';
import type { ResolvedTopicOptions } from '../format/options.js';
import { SEGMENT_RECORDS_MAX, WRITE_CHUNK_BYTES_MIN } from '../base/limits.js';
import type { Chunk, Segment } from '../segment/segment.js';
import { indexBatch } from '../segment/index-rule.js';
import type { RollReason } from '../base/diagnostics.js';
import { Tail } from './tail.js';
import { dispatchWritten, newChunk } from './tick-write.js';
import { mark, rollbackTo, writeFailed } from './write-failure.js';
import { rollSegment } from './roll.js';

/** A timestamp this far from its batch's base starts a new batch (its zigzag delta stays a safe integer). */
export const TIMESTAMP_DELTA_MAX = 2 ** 51;

/** Recovery point: where the log was fsynced (with its index entries) and checked. */
export type { RecoveryPoint } from './topic-log.js';
export type { LogContext, Mark, Waiter, WriterSync } from './topic-context.js';
import type { LogContext, Mark, Waiter, WriterSync } from './topic-context.js';

export class TopicWriter<V = Buffer> {
  readonly name: string;
  readonly dir: string;
  options: ResolvedTopicOptions<V>;
  segments: Segment[];
  _startOffset: number;
  _endOffset: number;
  /** Running max timestamp of all records (-1: none). */
  maxTimestampMs: number;
  closed = false;
  readonly ctx: LogContext;
  /** The topic's durability part (topic-durability.ts), given by attach() right after construction. */
  sync!: WriterSync;
  /** Called after every roll (the facade schedules retention and compaction). */
  private onRoll: () => void = () => undefined;
  // Append path state: the newest chunk of the active segment and the open batch in it.
  chunk: Chunk | undefined = undefined;
  chunkBytesNext = WRITE_CHUNK_BYTES_MIN;
  batchStart = -1;
  /** appendRidden: the records being appended make one batch (no seal for size, no roll). */
  oneBatch = false;
  batchBase = 0;
  batchBaseTs = 0;
  batchCount = 0;
  batchMaxTs = 0;
  private batchMaxBefore = -1;
  tickScheduled = false;
  tickWaiters: Waiter[] = [];
  /**
   * End offset of the records appended with appendSync (their offset was handed out): while it is
   * above committedEnd those records wait unwritten, and a failed write keeps them (writeFailed).
   */
  keptEnd = 0;
  /** The failure of the write that kept records are waiting for (see writeFailed); appends are refused meanwhile. */
  writeBlocked: SeglogError | undefined = undefined;
  /** End offset and max timestamp of what was handed to the OS. */
  committedEnd: number;
  committedMaxTs: number;
  /** A failed write's error that no append call has reported yet (the next one throws it). */
  pendingError: SeglogError | undefined = undefined;
  /**
   * Times appended records were taken back (a failed write or fsync, a rolled-back batch): their
   * offsets go to later appends. Compaction abandons a pass that relied on records across one.
   */
  takebacks = 0;
  /** Subscriptions, woken at the end of each tick once its records were handed to the OS. */
  readonly tail = new Tail();
  /** key -> newest offset, for compacted topics only (undefined otherwise: no cost on the append path). */
  keyIndex: KeySink | undefined = undefined;
  private readonly flushTickBound = (): void => this.flushTick();

  constructor(ctx: LogContext, name: string, dir: string, options: ResolvedTopicOptions<V>, segments: Segment[],
    startOffset: number, endOffset: number, maxTimestampMs: number) {
    this.ctx = ctx;
    this.name = name;
    this.dir = dir;
    this.options = options;
    this.segments = segments;
    this._startOffset = startOffset;
    this._endOffset = endOffset;
    this.maxTimestampMs = maxTimestampMs;
    this.committedEnd = endOffset;
    this.committedMaxTs = maxTimestampMs;
    for (const seg of segments) { seg.pool = ctx.fdPool; if (seg.fd >= 0) ctx.fdPool.opened(seg); } // (recovery opened some)
    if (segments.length > 0) segments[segments.length - 1]!.pins = Math.max(1, segments[segments.length - 1]!.pins);
  }

  /** Connects the durability part, and what runs after a roll. */
  attach(sync: WriterSync, onRoll: () => void): void {
    this.sync = sync;
    this.onRoll = onRoll;
  }

  get readOnly(): boolean {
    return this.ctx.options.readOnly;
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /**
   * Appends one record whose value is already encoded and whose meta was checked. appendSpans
   * (the Kafka server's records, format/record-spans.ts) gives the value and the key as ranges of
   * buffers instead (`valuePos`, `valueLength` -1: a tombstone; `keyPos`, `keyLength` -1: no key),
   * copied by copyBytes. One body for both: a wrapper around a second method cost appendBatch
   * about 10 % per record (an in-process loop of 200 × 1,000 records, CPU time).
   */
  appendEncoded(value: Uint8Array | null, keyIn: string | Uint8Array | undefined, headers: HeadersInput | undefined, timestamp: number,
    valuePos = 0, valueLength = value === null ? -1 : value.length, keyPos = 0, keyLength?: number): number {
    const key = typeof keyIn === 'string' ? Buffer.from(keyIn, 'utf8') : keyIn;
    const keyLen = keyLength ?? (key === undefined ? -1 : key.length);
    const valueLen = valueLength;
    // Hot path (bench W1/W2): single-byte varints are the rule and are handled inline.
    const hBytes = headers === undefined ? 1 : headersBytes(headers);
    const fixedBytes = recordFieldsBytes(keyLen, valueLen, hBytes);
    const freshBody = 2 + fixedBytes;
    const freshBytes = freshRecordBytes(fixedBytes);
    const options = this.options;
    if (freshBytes > options.maxRecordBytes) throw recordTooLarge(freshBytes, options.maxRecordBytes, this.name);
    if (!this.sync.dirtyMarked) this.sync.markDirty();
    const offset = this._endOffset;
    let seg = this.active;
    let chunk = this.chunk;
    // Roll before the record if the segment is full, too old, or out of relative offsets. A new
    // batch header is counted even when the record could join the open batch: the batch may be
    // sealed for size right below, and the segment must not pass segmentBytes either way.
    const segEnd = chunk !== undefined && !chunk.retired ? chunk.filePos + chunk.len : seg.endPosition();
    if (options.segmentMs !== Infinity && seg.firstTimestampMs < 0 && seg.logBytes > 0) seg.firstTimestampMs = seg.readFirstTimestamp();
    if (segEnd > 0 && !this.oneBatch && (segEnd + BATCH_HEADER_BYTES + freshBytes > options.segmentBytes
      || (options.segmentMs !== Infinity && seg.firstTimestampMs >= 0 && timestamp - seg.firstTimestampMs > options.segmentMs)
      || offset - seg.baseOffset >= SEGMENT_RECORDS_MAX)) {
      // (the reason is worked out again here, off the per-record path: rolls are rare)
      this.roll(segEnd + BATCH_HEADER_BYTES + freshBytes > options.segmentBytes ? 'bytes' : offset - seg.baseOffset >= SEGMENT_RECORDS_MAX ? 'records' : 'time');
      seg = this.active;
      chunk = this.chunk;
    }
    let body = freshBody;
    let recordBytes = freshBytes;
    if (this.batchStart >= 0 && Math.abs(timestamp - this.batchBaseTs) > TIMESTAMP_DELTA_MAX && !this.oneBatch) this.sealBatch();
    if (this.batchStart >= 0) {
      const od = offset - this.batchBase;
      const tz = zigzag(timestamp - this.batchBaseTs);
      body = (od < 128 ? 1 : varintBytes(od)) + (tz < 128 ? 1 : varintBytes(tz)) + fixedBytes;
      recordBytes = (body < 128 ? 1 : varintBytes(body)) + body;
      if ((chunk!.len - this.batchStart + recordBytes > BATCH_BYTES_MAX || chunk!.buf.length - chunk!.len < recordBytes) && !this.oneBatch) {
        this.sealBatch();
        body = freshBody;
        recordBytes = freshBytes;
      }
    }
    if (this.batchStart < 0) {
      if (chunk === undefined || chunk.retired || chunk.buf.length - chunk.len < BATCH_HEADER_BYTES + recordBytes) {
        chunk = this.newChunk(BATCH_HEADER_BYTES + recordBytes);
      }
      this.openBatch(chunk, offset, timestamp);
    }
    const buf = chunk!.buf;
    let p = chunk!.len;
    if (body < 128) buf[p++] = body; else p = writeVarint(buf, p, body);
    const od = offset - this.batchBase;
    if (od < 128) buf[p++] = od; else p = writeVarint(buf, p, od);
    const tz = zigzag(timestamp - this.batchBaseTs);
    if (tz < 128) buf[p++] = tz; else p = writeVarint(buf, p, tz);
    if (keyLen < 127) buf[p++] = keyLen + 1; else p = writeVarint(buf, p, keyLen + 1);
    if (keyLen > 0) { copyBytes(buf, p, key!, keyPos, keyLen); p += keyLen; }
    if (valueLen < 127) buf[p++] = valueLen + 1; else p = writeVarint(buf, p, valueLen + 1);
    if (valueLen > 0) { copyBytes(buf, p, value!, valuePos, valueLen); p += valueLen; }
    if (headers === undefined) buf[p++] = 0; else p = writeHeaders(buf, p, headers);
    chunk!.len = p;
    // The open batch's header is brought up to date only when a reader looks (publishOpenBatch)
    // or at seal: four header writes per record were measurable in bench W1.
    this.batchCount++;
    if (timestamp > this.batchMaxTs) this.batchMaxTs = timestamp;
    if (timestamp > this.maxTimestampMs) this.maxTimestampMs = timestamp;
    if (seg.firstTimestampMs < 0) seg.firstTimestampMs = timestamp;
    if (this.keyIndex !== undefined && keyLen >= 0) this.keyIndex.note(keyPos === 0 && keyLen === key!.length ? key! : key!.subarray(keyPos, keyPos + keyLen), offset);
    this._endOffset = offset + 1;
    if (!this.tickScheduled) {
      this.tickScheduled = true;
      process.nextTick(this.flushTickBound);
    }
    return offset;
  }

  /** Where the log stands before a multi-record append (write-failure.ts). */
  mark(): Mark {
    return mark(this);
  }

  /** Undoes everything appended since `mark` (write-failure.ts). */
  rollbackTo(mark: Mark, error: SeglogError): void {
    rollbackTo(this, mark, error);
  }

  /**
   * After a failed fsync under 'fsync': takes back everything past `mark` (the last good fsync),
   * whose appends are about to reject, so that none of it shows up to readers or after a reopen.
   */
  takeBackTo(mark: Mark, error: SeglogError): void {
    this.takebacks++;
    this.rollbackTo(mark, error);
    this.committedEnd = Math.min(this.committedEnd, this._endOffset);
    this.committedMaxTs = Math.min(this.committedMaxTs, this.maxTimestampMs);
  }

  private openBatch(chunk: Chunk, offset: number, timestamp: number): void {
    this.batchStart = chunk.len;
    // The batch claims what a completed fsync covered when it was opened (format v2 durableDelta):
    // it reaches the OS no earlier, so after a power cut it proves those bytes were durable.
    startBatchHeader(chunk.buf, chunk.len, offset, timestamp, this.sync.durableOffset);
    chunk.len += BATCH_HEADER_BYTES;
    this.batchBase = offset;
    this.batchBaseTs = timestamp;
    this.batchCount = 0;
    this.batchMaxTs = timestamp;
    this.batchMaxBefore = this.maxTimestampMs;
  }

  /**
   * Writes the open batch's header fields as they stand, so that readers in this process can walk
   * it like a sealed batch (read-your-writes). Called by readers before they look at memory.
   */
  publishOpenBatch(): void {
    const s = this.batchStart;
    if (s < 0) return;
    const buf = this.chunk!.buf;
    writeU32(buf, s + H_BATCH_BYTES, this.chunk!.len - s);
    writeU32(buf, s + H_RECORD_COUNT, this.batchCount);
    writeU32(buf, s + H_LAST_OFFSET_DELTA, this._endOffset - 1 - this.batchBase);
    writeU64(buf, s + H_MAX_TIMESTAMP, this.batchMaxTs);
  }

  /** Closes the open batch: checksum, and index entries if it starts an index interval. */
  sealBatch(): void {
    this.publishOpenBatch();
    const chunk = this.chunk!;
    const s = this.batchStart;
    writeU32(chunk.buf, s + H_CHECKSUM, checksumRange(chunk.buf, s + CHECKSUM_FROM, chunk.len));
    this.indexBatch(this.active, this.batchBase, chunk.filePos + s, this.batchMaxBefore);
    this.batchStart = -1;
  }

  /** Adds index entries for a batch per the rule of docs/format.md (segment/index-rule.ts; shared with recovery). */
  indexBatch(seg: Segment, baseOffset: number, position: number, maxTimestampBefore: number): void {
    indexBatch(seg, this.options.indexIntervalBytes, baseOffset, position, maxTimestampBefore);
  }

  /** A fresh chunk for the active segment (tick-write.ts). */
  private newChunk(minBytes: number): Chunk {
    return newChunk(this, minBytes);
  }

  /** Hands the sealed bytes of the newest chunk to the OS. Throws (after rolling back) on failure. */
  writePending(): void {
    const chunk = this.chunk;
    if (chunk === undefined) return;
    const to = this.batchStart >= 0 ? this.batchStart : chunk.len;
    const from = chunk.written;
    if (to <= from) return;
    const seg = this.active;
    if (this.ctx.markersUncommitted) {
      // "not clean" (and a new topic's options) durable before the session's first byte reaches the OS
      try { this.ctx.commitMarkers(); } catch (err) { throw writeFailed(this, seg, err as SeglogError); }
    }
    try {
      seg.writeLog(chunk.buf.subarray(from, to), chunk.filePos + from);
    } catch (err) {
      throw writeFailed(this, seg, ioError('write', seg.logPath, err));
    }
    chunk.written = to;
    seg.logBytes = chunk.filePos + to;
    this.committedEnd = this.batchStart >= 0 ? this.batchBase : this._endOffset;
    this.committedMaxTs = this.batchStart >= 0 ? this.batchMaxBefore : this.maxTimestampMs;
    this.sync.dirtySegments.add(seg);
    if (this.tickWaiters.length > 0 && this.ctx.options.durability !== 'none') dispatchWritten(this, false);
  }

  /** End of tick: seal the open batch, hand it to the OS, settle or queue the tick's appends. */
  private flushTick(): void {
    this.tickScheduled = false;
    if (this.closed) return;
    try {
      if (this.batchStart >= 0) this.sealBatch();
      // Subscriptions deliver only what was handed to the OS (an offset delivered is never reused
      // after a failed write), so under 'none' a topic with subscriptions writes each tick too.
      if (this.ctx.options.durability !== 'none' || this.tail.members.size > 0) this.writePending();
    } catch {
      // writeFailed has rejected the appends that were not written; those written earlier in the
      // tick still wait for their fsync.
      if (this.sync.syncWaiters.length > 0 && this.ctx.options.durability === 'fsync') this.sync.startFsync();
      if (this.tail.waitingCount > 0) this.tail.wake();
      if (this.keyIndex !== undefined) this.keyIndex.persist(this.committedEnd);
      return;
    }
    this.writeBlocked = undefined;
    dispatchWritten(this, true);
    if (this.keyIndex !== undefined) this.keyIndex.persist(this.committedEnd);
  }

  /** End offset of what was handed to the OS: what subscriptions may deliver. */
  get writtenEnd(): number {
    return this.committedEnd;
  }

  /**
   * A subscription waits for records that were appended but not handed to the OS (under 'none',
   * before the topic had subscriptions): write them at the end of this tick.
   */
  writeSoon(): void {
    if (this.tickScheduled || this.closed || this._endOffset <= this.committedEnd) return;
    this.tickScheduled = true;
    process.nextTick(this.flushTickBound);
  }

  /** Ends this tick's appends now, if any are open (the group commit joins them before it starts). */
  endTickNow(): void {
    if (this.tickScheduled) this.flushTick();
  }

  /** Starts a new segment at the current end offset (roll.ts); the durability part makes the old one durable. */
  roll(reason: RollReason): void {
    rollSegment(this, reason);
    this.onRoll();
  }

  /**
   * Writes the records that wait for a failed write (writeFailed kept them: their offsets were
   * handed out). Called by the next append call, flush() and so the log's timer; throws the
   * failure, and keeps them, while it lasts.
   */
  retryWrite(): void {
    if (this.batchStart >= 0) this.sealBatch();
    this.writePending();
    this.writeBlocked = undefined;
    dispatchWritten(this, true); // subscriptions and the group commit, as at the end of a tick
  }

  /**
   * Before an append of the other kind (a promise, or an offset handed out at once): hands what is
   * pending to the OS, so that a failed write never finds both kinds waiting (writeFailed).
   */
  writeBeforeSwitch(): void {
    if (this.batchStart >= 0) this.sealBatch();
    this.writePending();
  }

  /**
   * Hands everything appended so far to the OS (flush()): this tick's appends, records a failed
   * write kept. Throws the failure of a write that lost records appended before (they cannot be
   * made durable), once.
   */
  writeAll(): void {
    this.endTickNow();
    if (this.writeBlocked !== undefined) this.retryWrite();
    this.throwPendingError();
    this.writePending();
  }

  /** Throws (once) the error of a failed write that no append call has reported yet. */
  throwPendingError(): void {
    if (this.pendingError !== undefined) {
      const err = this.pendingError;
      this.pendingError = undefined;
      throw err;
    }
  }
}
