// Reader: the read path of a topic — sequential reads (read()), random reads (get()) and time
// lookups (offsetForTime()).
//
// Bytes come from the active segment's chunks when they are still in memory, otherwise from large
// positional reads into fresh buffers; records are views into those buffers, never copies, and no
// buffer is ever reused, so a record stays valid for as long as the caller holds it. Batches read
// from a file have their checksum checked before any record of theirs is returned. get() reads one
// index interval (from an index entry to the next) and keeps it in a bounded cache shared by the log.
import { SeglogError, invalidArgument } from '../base/errors.js';
import { ATTR_COMPACTED, BATCH_HEADER_BYTES, H_ATTRIBUTES, H_BASE_OFFSET, H_BASE_TIMESTAMP, H_BATCH_BYTES, H_LAST_OFFSET_DELTA, H_RECORD_COUNT, readU32, readU64 } from '../format/batch.js';
import { READ_CHUNK_BYTES, READ_SPAN_BYTES } from '../base/limits.js';
import { Region, type ReadCache } from '../segment/read-cache.js';
import { decodeRecord, recordEnd, skipRecord, type LogRecord, type RecordView } from '../format/record.js';
import { checksumMatches, type Segment } from '../segment/segment.js';
import type { SegmentLog } from './topic-log.js';
import { rebuildIndexes } from './recovery.js';
import { corruptionFound } from '../base/diagnostics.js';

export interface ReadOptions {
  from?: number | Date;
  maxRecords?: number;
  maxBytes?: number;
}

export function checkOffset(what: string, offset: unknown): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw invalidArgument(what, offset, 'a non-negative integer offset');
  }
  return offset;
}

function toTimeMs(time: unknown): number {
  const ms = time instanceof Date ? time.getTime() : time;
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw invalidArgument('time', time, 'a Date or a number of milliseconds since the epoch');
  return ms;
}

export class Reader<V> {
  constructor(private readonly topic: SegmentLog<V>, private readonly cache: ReadCache) {}

  read(options: ReadOptions = {}): Iterable<LogRecord<V>> {
    if (options === null || typeof options !== 'object') throw invalidArgument('read options', options, 'an object { from?, maxRecords?, maxBytes? }');
    const topic = this.topic;
    let from: number;
    if (options.from === undefined) from = topic.startOffset;
    else if (options.from instanceof Date) from = this.offsetForTime(options.from);
    else from = checkOffset('from', options.from);
    if (from < topic.startOffset) {
      throw new SeglogError('ERR_OFFSET_OUT_OF_RANGE', `offset ${from} of topic ${topic.name} is below its start offset ${topic.startOffset}`, { value: from });
    }
    const maxRecords = options.maxRecords ?? Infinity;
    if (maxRecords !== Infinity && (typeof maxRecords !== 'number' || !Number.isSafeInteger(maxRecords) || maxRecords < 0)) {
      throw invalidArgument('maxRecords', maxRecords, 'a non-negative integer');
    }
    const maxBytes = options.maxBytes ?? Infinity;
    if (maxBytes !== Infinity && (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
      throw invalidArgument('maxBytes', maxBytes, 'a non-negative integer');
    }
    const reader = this;
    return {
      [Symbol.iterator](): Iterator<LogRecord<V>> {
        topic.checkOpen();
        return new Cursor<V>(reader.topic, from, topic.endOffset, maxRecords, maxBytes);
      },
    };
  }

  get(offsetIn: number): LogRecord<V> | undefined {
    const topic = this.topic;
    const offset = checkOffset('offset', offsetIn);
    if (offset >= topic.endOffset) return undefined;
    if (offset < topic.startOffset) {
      throw new SeglogError('ERR_OFFSET_OUT_OF_RANGE', `offset ${offset} of topic ${topic.name} is below its start offset ${topic.startOffset}`, { value: offset });
    }
    const seg = topic.indexesOf(topic.segments[topic.segmentIndexFor(offset)]!);
    if (seg === topic.active) topic.publishOpenBatch();
    try {
      return this.getIn(seg, offset);
    } catch (err) {
      if (!(err instanceof SuspectIndex)) throw err;
      // The index may point at something that is not a batch start: rebuild it from the log once.
      rebuildIndexes(topic, seg, 'an index entry does not point at a batch');
      try {
        return this.getIn(seg, offset);
      } catch (err2) {
        if (err2 instanceof SuspectIndex) throw seg.corrupt(err2.position, err2.message);
        throw err2;
      }
    }
  }

  /** Finds the record at `offset` in its segment; every offset in [startOffset, endOffset) exists. */
  private getIn(seg: Segment, offset: number): LogRecord<V> | undefined {
    const rec = this.findIn(seg, offset);
    if (rec === undefined && this.topic.options.cleanup !== 'delete') return undefined; // compacted away
    if (rec === undefined) {
      throw corruptionFound(new SeglogError('ERR_CORRUPT', `offset ${offset} of topic ${this.topic.name} is missing from ${seg.logPath}`, { file: seg.logPath, value: offset }), this.topic.dir);
    }
    return rec;
  }

  private findIn(seg: Segment, offset: number): LogRecord<V> | undefined {
    const index = seg.index!;
    const entry = index.floor(offset - seg.baseOffset);
    // Fast path: the region of this index entry is (or can be) cached: a closed region wholly in
    // the file. The last region of the active segment still grows and is walked instead.
    if (entry >= 0 && this.cache.maxBytes > 0 && (entry + 1 < index.count || seg !== this.topic.active)) {
      const end = entry + 1 < index.count ? index.positionAt(entry + 1) : seg.logBytes;
      if (end <= seg.memFrom) {
        const region = this.cache.get(seg, entry) ?? this.loadRegions(seg, entry);
        const rp = region.find(offset);
        if (rp === -2) throw seg.corrupt(region.badPosition, 'checksum mismatch');
        if (rp < 0) return undefined;
        return decodeRecord(region.buf, rp, region.buf.length, region.foundBatchBase, region.foundBatchTs, this.topic.codec);
      }
    }
    // Walk path: the growing last region of the active segment, memory, or no cache. Batches read
    // from the file are checked before their headers are believed; a damaged one is skipped and,
    // if the offset is not found elsewhere, reported.
    let pos = entry >= 0 ? index.positionAt(entry) : 0;
    const regionEnd = entry >= 0 && entry + 1 < index.count ? index.positionAt(entry + 1) : seg.endPosition();
    const codec = this.topic.codec;
    let damagedAt = -1;
    while (pos < regionEnd) {
      let buf: Buffer;
      let p: number;
      let limit: number;
      let bufFilePos: number;
      let fromFile: boolean;
      if (pos >= seg.memFrom) {
        const chunk = seg.chunkAt(pos);
        if (chunk === undefined) break;
        buf = chunk.buf;
        bufFilePos = chunk.filePos;
        p = pos - chunk.filePos;
        limit = Math.min(chunk.len, regionEnd - chunk.filePos);
        fromFile = false;
      } else {
        buf = seg.readLog(pos, Math.min(regionEnd, seg.memFrom) - pos);
        checkFraming(buf, pos);
        bufFilePos = pos;
        p = 0;
        limit = buf.length;
        fromFile = true;
      }
      while (p + BATCH_HEADER_BYTES <= limit) {
        const batchBytes = readU32(buf, p + H_BATCH_BYTES);
        if (batchBytes < BATCH_HEADER_BYTES) throw new SuspectIndex(bufFilePos + p, 'batch length below the header size');
        if (fromFile && !checksumMatches(buf, p, batchBytes)) {
          if (damagedAt < 0) damagedAt = bufFilePos + p;
          p += batchBytes;
          continue;
        }
        const base = readU64(buf, p + H_BASE_OFFSET);
        const last = base + readU32(buf, p + H_LAST_OFFSET_DELTA);
        if (offset >= base && offset <= last) {
          const count = readU32(buf, p + H_RECORD_COUNT);
          const end = p + batchBytes;
          let rp = p + BATCH_HEADER_BYTES;
          for (let k = 0; k < count; k++) {
            const delta = skipRecord(buf, rp, end);
            if (base + delta === offset) return decodeRecord(buf, rp, end, base, readU64(buf, p + H_BASE_TIMESTAMP), codec);
            if (base + delta > offset) break;
            rp = recordEnd;
          }
          break;
        }
        p += batchBytes;
      }
      pos = bufFilePos + p;
      if (p + BATCH_HEADER_BYTES <= limit) break; // found the batch but not the record
    }
    if (damagedAt >= 0) throw seg.corrupt(damagedAt, 'checksum mismatch');
    return undefined;
  }


  /**
   * Reads the region of index entry `entry` from the file, with the regions that follow it up to
   * READ_SPAN_BYTES in the same read (one syscall for several misses), verifies their batches and
   * caches them. Returns the region of `entry`.
   */
  private loadRegions(seg: Segment, entry: number): Region {
    const index = seg.index!;
    const limit = Math.min(seg.logBytes, seg.memFrom);
    const last = seg === this.topic.active ? index.count - 1 : index.count; // the active's last region grows
    const start = index.positionAt(entry);
    let stop = entry + 1;
    while (stop < last && seg.regions[stop] === undefined
      && (stop + 1 < index.count ? index.positionAt(stop + 1) : limit) - start <= READ_SPAN_BYTES) stop++;
    const end = stop < index.count ? index.positionAt(stop) : limit;
    const buf = seg.readLog(start, end - start, this.cache.allocate(end - start));
    let first: Region | undefined;
    for (let e = entry; e < stop; e++) {
      const from = index.positionAt(e) - start;
      const to = e + 1 < index.count ? index.positionAt(e + 1) - start : end - start;
      // Each region on its own: an index entry that points into the middle of a batch must not
      // pass because the walk from an earlier entry happened to frame the bytes another way.
      checkFraming(buf.subarray(from, to), start + from);
      const region = new Region(buf.subarray(from, to), start + from);
      if (e === entry) first = region;
      this.cache.put(seg, e, region);
    }
    return first!;
  }

  offsetForTime(time: Date | number): number {
    const t = toTimeMs(time);
    const topic = this.topic;
    const end = topic.endOffset;
    if (topic.startOffset >= end) return end;
    const segs = topic.segments;
    // The last segment whose running max before its first record (first time entry) is below t.
    let lo = topic.segmentIndexFor(topic.startOffset);
    let hi = segs.length - 1;
    let found = lo;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const ti = topic.indexesOf(segs[mid]!).timeIndex!;
      if (ti.count > 0 && ti.timestampAt(0) < t) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    for (let si = found; si < segs.length; si++) {
      const seg = topic.indexesOf(segs[si]!);
      const ti = seg.timeIndex!;
      const index = seg.index!;
      let startRel = 0;
      let running = ti.count > 0 ? ti.timestampAt(0) : -1;
      if (ti.count > 0) {
        const k = ti.lastBelow(t);
        if (k >= 0) {
          startRel = ti.relativeOffsetAt(k);
          running = ti.timestampAt(k);
          const stopRel = k + 1 < ti.count ? ti.relativeOffsetAt(k + 1) - 1 : Infinity;
          const q = stopRel === Infinity ? index.count - 1 : index.floor(stopRel);
          if (q >= 0 && index.relativeOffsetAt(q) > startRel) startRel = index.relativeOffsetAt(q);
        }
      }
      const from = Math.max(seg.baseOffset + startRel, topic.startOffset);
      const segEnd = si + 1 < segs.length ? segs[si + 1]!.baseOffset : end;
      const cursor = new Cursor<V>(topic, from, Math.min(segEnd, end), Infinity, Infinity);
      for (let r = cursor.next(); !r.done; r = cursor.next()) {
        const rec = r.value as RecordView<V>;
        if (rec.timestamp > running) running = rec.timestamp;
        if (running >= t) return Math.max(rec.offset, topic.startOffset);
      }
    }
    return end;
  }
}

class SuspectIndex extends Error {
  constructor(readonly position: number, message: string) {
    super(message);
  }
}

/**
 * Checks that a region read from a file is whole batches end to end. If not, the index entry that
 * led here is suspect (rebuilt once); checksums are checked per batch when a record is looked up.
 */
function checkFraming(buf: Buffer, filePos: number): void {
  let p = 0;
  while (p < buf.length) {
    if (p + BATCH_HEADER_BYTES > buf.length) throw new SuspectIndex(filePos + p, 'region does not end on a batch boundary');
    const batchBytes = readU32(buf, p + H_BATCH_BYTES);
    if (batchBytes < BATCH_HEADER_BYTES || p + batchBytes > buf.length) throw new SuspectIndex(filePos + p, `bad batch length ${batchBytes}`);
    p += batchBytes;
  }
}

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
      if (this.fromFile && !checksumMatches(buf, p, batchBytes)) throw seg.corrupt(this.pos, 'checksum mismatch');
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
    if (pos >= seg.memFrom) {
      const chunk = seg.chunkAt(pos);
      if (chunk === undefined) throw seg.corrupt(pos, 'position not in memory');
      this.buf = chunk.buf;
      this.bufFilePos = chunk.filePos;
      this.bufEnd = chunk.len;
      this.fromFile = false;
      return;
    }
    const limit = seg.memFrom;
    const len = Math.min(Math.max(READ_CHUNK_BYTES, minBytes), limit - pos);
    const buf = seg.readLog(pos, len);
    if (buf.length < Math.min(minBytes, len)) throw seg.corrupt(pos, `segment ends after ${buf.length} bytes at this position`);
    this.buf = buf;
    this.bufFilePos = pos;
    this.bufEnd = buf.length;
    this.fromFile = true;
  }
}

