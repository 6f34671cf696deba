// Cursor: the forward walk over the records of a topic behind read(), subscriptions, fan-out and
// the key index (reader.ts makes it for read() and offsetForTime()).
//
// Bytes come from the active segment's chunks when they are still in memory, otherwise from
// positional reads of READ_CHUNK_BYTES into fresh buffers, or from a view of a sealed segment's
// mapping (Segment.bytesFrom decides; the walk is the same); records are views into those buffers,
// never copies, and no buffer is reused. A batch read from a file has its checksum checked before
// any record of it is handed out; offsets never go backwards from one batch to the next, and a gap
// is damage unless compaction or retention may have made it. The cursor counts itself in the
// readers of the segment it is in (`seg.readers`), never while paused. Where the addon checks
// batches in place (format/checksum.ts verifiedRunEnd), a file buffer's batches are checked a run
// of up to VERIFY_AHEAD_BYTES at a time, before any record of them is handed out (one native call
// instead of a copy into wasm memory and a hash per batch: bench W7 members); a batch the run does
// not cover is checked alone, as everywhere else.
import { SeglogError } from '../base/errors.js';
import { ATTR_COMPACTED, BATCH_HEADER_BYTES, H_ATTRIBUTES, H_BASE_OFFSET, H_BASE_TIMESTAMP, H_BATCH_BYTES, H_LAST_OFFSET_DELTA, H_RECORD_COUNT, readU32, readU64 } from '../format/batch.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';
import { decodeRecord, recordEnd, type LogRecord } from '../format/record.js';
import { checksumMatches, type Segment } from '../segment/segment.js';
import { verifiedRunEnd } from '../format/checksum.js';
import type { SegmentLog } from './topic-log.js';
import { corruptionFound } from '../base/diagnostics.js';

/**
 * One batch as bytes (Cursor.nextRawBatch): `count` records (docs/format.md) from `pos` of `buf`,
 * within the batch that ends at `end` (a commit block may follow the records); offsets are
 * `baseOffset` + each record's delta, timestamps `baseTimestamp` + its zigzag delta.
 */
export interface RawBatch {
  buf: Buffer;
  pos: number;
  end: number;
  count: number;
  baseOffset: number;
  baseTimestamp: number;
}
/** Bytes of file buffer whose batches are checked in one call (16 batches of 4 KiB). */
const VERIFY_AHEAD_BYTES = 64 * 1024;

const PAUSED: IteratorResult<never> = Object.freeze({ done: true, value: undefined }) as IteratorResult<never>;

/**
 * A forward walk over the records of a topic in [from, end): the iterator behind read().
 *
 * It holds the segment it reads (counted in `seg.readers`), not a position in the topic's list:
 * retention and compaction may remove or replace segments meanwhile. A removed segment keeps its
 * descriptor while the cursor is in it; the cursor then moves on by offset (the segment that now
 * holds the next offset), skipping what it has already passed.
 *
 * A cursor made with `follow` (subscriptions) pauses at `end` instead of finishing, and extendTo()
 * moves its end on when more is written, so a tail reader keeps one cursor instead of making one
 * per wake. A paused cursor holds no buffer and no segment (it may wait for as long as its
 * consumer likes, and must not keep a segment that retention removed open): it remembers the
 * segment and the position, and on resume reads on there if the segment is still the topic's,
 * else enters the segment that now holds the next offset.
 */
export class Cursor<V> implements IterableIterator<LogRecord<V>> {
  private seg: Segment | undefined = undefined;
  /** While paused: the segment it paused in (not counted in its readers) and `pos` in it. */
  private pausedSeg: Segment | undefined = undefined;
  private pos = 0;
  private buf: Buffer | undefined = undefined;
  private bufFilePos = 0;
  private bufEnd = 0;
  private fromFile = false;
  /** File position up to which `buf`'s batches are checked (a run verifiedRunEnd found; 0: none). */
  private verifiedTo = 0;
  private recLeft = 0;
  private recPos = 0;
  private batchEnd = 0;
  private batchBase = 0;
  private batchBaseTs = 0;
  /** Offset after the last batch entered: once it reaches `end` there is nothing more to read. */
  private expected: number;
  /** Records below this offset are skipped (before `from`, or already yielded). */
  private minOffset: number;
  private count = 0;
  private bytes = 0;
  /** Offset after the last batch walked over (-1 before the first): the next batch may not start below it. */
  private prevEnd = -1;
  private readonly result: IteratorResult<LogRecord<V>> = { done: false, value: undefined as unknown as LogRecord<V> };
  private raw: RawBatch | undefined = undefined;

  constructor(private readonly topic: SegmentLog<V>, from: number, private end: number,
    private readonly maxRecords: number, private readonly maxBytes: number, private readonly follow = false) {
    this.expected = from;
    this.minOffset = from;
    topic.publishOpenBatch();
    if (from >= end) return;
    this.enter(topic.segments[topic.segmentIndexFor(from)]!, from);
  }

  [Symbol.iterator](): IterableIterator<LogRecord<V>> {
    return this;
  }

  next(): IteratorResult<LogRecord<V>> {
    for (;;) {
      if (this.recLeft > 0) {
        const rec = decodeRecord(this.buf!, this.recPos, this.batchEnd, this.batchBase, this.batchBaseTs, this.topic.codec);
        this.recPos = recordEnd;
        this.recLeft--;
        const offset = rec.offset;
        if (offset < this.minOffset) continue;
        if (offset >= this.end || this.count >= this.maxRecords) return this.finish();
        if (this.maxBytes !== Infinity) {
          if (this.count > 0 && this.bytes + rec.sizeBytes > this.maxBytes) return this.finish();
          this.bytes += rec.sizeBytes;
        }
        this.count++;
        this.minOffset = offset + 1;
        this.result.value = rec;
        return this.result;
      }
      if (!this.nextBatch()) {
        if (this.follow && this.expected >= this.end && this.seg !== undefined) return this.pause();
        return this.finish();
      }
    }
  }

  return(): IteratorResult<LogRecord<V>> {
    return this.finish();
  }

  /**
   * @internal For code that re-frames records from their bytes, with no record object each (the
   * Kafka Fetch, kafka/records/log-batch-writer.ts): enters the next batch that holds records at
   * or past the cursor's position, after the same checks as next() (checksum of what was read from
   * a file, offsets never going back, gaps), and hands it over whole: the caller walks its
   * `count` records from `pos`, passes over those below the offset the cursor started at, and
   * calls return() when done. The cursor's end is a batch boundary; maxRecords and maxBytes are not
   * applied (the caller keeps its own budget). Undefined when there is no more (the cursor has
   * finished). The object is the cursor's own, overwritten by the next call.
   */
  nextRawBatch(): RawBatch | undefined {
    this.recLeft = 0; // (what is left of a batch next() was in is passed over)
    if (!this.nextBatch()) {
      this.finish();
      return undefined;
    }
    const raw = this.raw ??= { buf: this.buf!, pos: 0, end: 0, count: 0, baseOffset: 0, baseTimestamp: 0 };
    raw.buf = this.buf!;
    raw.pos = this.recPos;
    raw.end = this.batchEnd;
    raw.count = this.recLeft;
    raw.baseOffset = this.batchBase;
    raw.baseTimestamp = this.batchBaseTs;
    this.recLeft = 0;
    return raw;
  }

  /**
   * A follower that has handed out everything up to its end pauses now, instead of at its next
   * call (its owner is about to wait: nothing is held meanwhile). True when it is paused; false
   * when it cannot be (it finished, is not a follower, or has records left past its end).
   */
  park(): boolean {
    if (this.pausedSeg !== undefined) return true;
    if (!this.follow || this.seg === undefined || this.recLeft > 0 || this.expected < this.end) return false;
    this.pause();
    return true;
  }

  /**
   * A follower that has handed out everything up to its end (paused, or about to pause) reads on
   * to `end` (a batch boundary: the topic's written end). False when it cannot (see park()): the
   * caller makes a new cursor.
   */
  extendTo(end: number): boolean {
    if (!this.park()) return false;
    const paused = this.pausedSeg!;
    this.pausedSeg = undefined;
    if (end > this.end) this.end = end;
    this.topic.checkOpen();
    // By offset, as when it moves on from a segment: the one that holds the next offset now.
    // Still the one it paused in (and not cut back below the position by a failed write): on at
    // the same position, a batch boundary. Else (it rolled, retention or compaction removed it):
    // into that segment at the index point before the offset (nextBatch() says whether the
    // offsets skipped on the way may be missing).
    const seg = this.topic.segments[this.topic.segmentIndexFor(this.expected)]!;
    if (seg === paused && !seg.removed && this.pos <= seg.endPosition()) {
      seg.enter();
      this.seg = seg;
    } else {
      this.enter(seg, this.expected);
    }
    return true;
  }

  /**
   * Stops at `end` between two batches, keeping the position. The buffer and the segment are let
   * go: the bytes past the end are read afresh on resume (a write that failed meanwhile may have
   * replaced them).
   */
  private pause(): IteratorResult<LogRecord<V>> {
    this.pausedSeg = this.seg;
    this.leave();
    this.buf = undefined;
    this.bufEnd = 0;
    this.verifiedTo = 0;
    return PAUSED;
  }

  private finish(): IteratorResult<LogRecord<V>> {
    this.recLeft = 0;
    this.leave();
    this.pausedSeg = undefined;
    this.buf = undefined;
    return { done: true, value: undefined };
  }

  /** Positions the cursor in `seg` at the index point at or before `offset`. */
  private enter(segIn: Segment, offset: number): void {
    const seg = this.topic.indexesOf(segIn);
    seg.enter();
    this.seg = seg;
    const index = seg.index!;
    const entry = index.floor(offset - seg.baseOffset);
    this.pos = entry >= 0 ? index.positionAt(entry) : 0;
    this.buf = undefined;
    this.verifiedTo = 0;
    // The walk restarts at an index point: in a segment that begins below where the cursor is (a
    // compaction output that replaced the one it read, re-batched), the first batches may start
    // below the previous batch's end; they are passed over, never handed out again. Below the
    // segment's base is still damage.
    if (this.prevEnd > seg.baseOffset) this.prevEnd = seg.baseOffset;
  }

  private leave(): void {
    if (this.seg !== undefined) {
      this.seg.leave();
      this.seg = undefined;
    }
  }

  /** Offsets may be missing before `offset`: compacted away, or removed by retention. */
  private gapAllowed(): boolean {
    return this.topic.options.cleanup !== 'delete' || this.expected < this.topic.startOffset;
  }

  private nextBatch(): boolean {
    this.topic.checkOpen(); // an iterator outliving close() or deleteTopic() says so (ERR_CLOSED)
    for (;;) {
      const seg = this.seg;
      if (this.expected >= this.end || seg === undefined) return false;
      if (this.pos >= seg.endPosition()) {
        // The segment that holds the next offset now (segments may have been removed or replaced).
        const segs = this.topic.segments;
        let i = this.topic.segmentIndexFor(this.expected);
        if (segs[i] === seg) i++;
        if (i >= segs.length) return false;
        const nextSeg = segs[i]!;
        if (nextSeg.baseOffset > this.expected && !this.gapAllowed()) {
          throw corruptionFound(new SeglogError('ERR_CORRUPT', `offsets ${this.expected} to ${nextSeg.baseOffset - 1} of topic ${this.topic.name} are missing: ${seg.logPath} ends before ${nextSeg.logPath} begins`, { file: nextSeg.logPath, position: 0 }), this.topic.dir);
        }
        // Nothing lies in the gap: skip it, so the cursor never goes back to an earlier segment.
        if (nextSeg.baseOffset > this.expected) this.expected = nextSeg.baseOffset;
        seg.scanned(); // walked through: its mapped pages may leave RSS
        this.leave();
        this.enter(nextSeg, this.expected);
        continue;
      }
      let p = this.pos - this.bufFilePos;
      if (this.buf === undefined || p < 0 || p + BATCH_HEADER_BYTES > this.bufEnd) {
        this.load(seg, BATCH_HEADER_BYTES);
        p = this.pos - this.bufFilePos;
      }
      let buf = this.buf!;
      const batchBytes = readU32(buf, p + H_BATCH_BYTES);
      if (batchBytes < BATCH_HEADER_BYTES) throw seg.corrupt(this.pos, `bad batch length ${batchBytes}`);
      if (p + batchBytes > this.bufEnd) {
        this.load(seg, batchBytes);
        p = this.pos - this.bufFilePos;
        buf = this.buf!;
        if (p + batchBytes > this.bufEnd) throw seg.corrupt(this.pos, `batch of ${batchBytes} bytes runs past the end of the segment`);
      }
      if (this.fromFile && this.pos + batchBytes > this.verifiedTo) {
        const runEnd = verifiedRunEnd(buf, p, Math.min(this.bufEnd, p + Math.max(VERIFY_AHEAD_BYTES, batchBytes)));
        if (runEnd >= p + batchBytes) this.verifiedTo = this.bufFilePos + runEnd;
        else if (!checksumMatches(buf, p, batchBytes)) throw seg.corrupt(this.pos, 'checksum mismatch');
      }
      const base = readU64(buf, p + H_BASE_OFFSET);
      const last = base + readU32(buf, p + H_LAST_OFFSET_DELTA);
      if (base > this.expected && (buf[p + H_ATTRIBUTES]! & ATTR_COMPACTED) === 0 && !this.gapAllowed()) {
        throw seg.corrupt(this.pos, `batch starts at offset ${base}, expected ${this.expected}`);
      }
      // The walk may start below `from` (at an index point), but offsets never go backwards from one
      // batch to the next: that is damage (e.g. a segment file copied over another), never records
      // to hand out.
      if (base < this.prevEnd) throw seg.corrupt(this.pos, `batch starts at offset ${base}, below the expected ${this.prevEnd}`);
      if (base >= this.end) return false; // (before moving on: a follower resumes at this batch)
      this.prevEnd = last + 1;
      this.pos += batchBytes;
      if (last + 1 > this.expected) this.expected = last + 1;
      if (last < this.minOffset) continue;
      this.recLeft = readU32(buf, p + H_RECORD_COUNT);
      this.recPos = p + BATCH_HEADER_BYTES;
      this.batchEnd = p + batchBytes;
      this.batchBase = base;
      this.batchBaseTs = readU64(buf, p + H_BASE_TIMESTAMP);
      return true;
    }
  }

  /** Makes `buf` cover at least `minBytes` from `pos` (memory when there, else a fresh file read). */
  private load(seg: Segment, minBytes: number): void {
    const pos = this.pos;
    this.verifiedTo = 0; // (checked runs belong to the buffer they were checked in)
    if (pos >= seg.memFrom) {
      const chunk = seg.chunkAt(pos);
      if (chunk === undefined) throw seg.corrupt(pos, 'position not in memory');
      chunk.shared = true; // (this cursor, and what it hands out, may outlive the chunk: its buffer is never reused)
      this.buf = chunk.buf;
      this.bufFilePos = chunk.filePos;
      this.bufEnd = chunk.len;
      this.fromFile = false;
      return;
    }
    const limit = seg.memFrom;
    const len = Math.min(Math.max(READ_CHUNK_BYTES, minBytes), limit - pos);
    const buf = seg.bytesFrom(pos, len); // (mapped: a view of the rest of the segment)
    if (buf.length < Math.min(minBytes, len)) throw seg.corrupt(pos, `segment ends after ${buf.length} bytes at this position`);
    this.buf = buf;
    this.bufFilePos = pos;
    this.bufEnd = buf.length;
    this.fromFile = true;
  }
}

