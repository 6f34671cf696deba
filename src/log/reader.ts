// Reader: the read path of a topic — range reads (read(): forwards, or backwards with `reverse`),
// random reads (get()) and time lookups (offsetForTime()). The walk behind read() is the Cursor
// (cursor.ts, re-exported here), backwards the ReverseCursor (reverse-cursor.ts).
//
// Bytes come from the active segment's chunks when they are still in memory, otherwise from large
// positional reads into fresh buffers or views of a sealed segment's mapping (Segment.readRegion
// decides); records are views into those buffers, never copies, and no
// buffer is ever reused, so a record stays valid for as long as the caller holds it. Batches read
// from a file have their checksum checked before any record of theirs is returned. get() reads one
// index interval (from an index entry to the next) and keeps it in a bounded cache shared by the log.
import { SeglogError, invalidArgument, refuseUnknownKeys } from '../base/errors.js';
import { BATCH_HEADER_BYTES, H_BASE_OFFSET, H_BASE_TIMESTAMP, H_BATCH_BYTES, H_LAST_OFFSET_DELTA, H_RECORD_COUNT, readU32, readU64 } from '../format/batch.js';
import { READ_SPAN_BYTES } from '../base/limits.js';
import { Region, type ReadCache } from '../segment/read-cache.js';
import { RecordTable, TABLE_CHUNK_BYTES, TABLE_CHUNK_SHIFT } from '../segment/record-table.js';
import { decodeRecord, decodeRecordAt, recordEnd, skipRecord, type LogRecord, type RecordView } from '../format/record.js';
import { checksumMatches, type Segment } from '../segment/segment.js';
import type { SegmentLog } from './topic-log.js';
import { rebuildIndexes } from './indexes.js';
import { corruptionFound } from '../base/diagnostics.js';
import { Cursor } from './cursor.js';
import { ReverseCursor } from './reverse-cursor.js';

export { Cursor } from './cursor.js';

export interface ReadOptions {
  /** First offset (inclusive), or the first record at or after a time. Default `startOffset`. */
  from?: number | Date;
  /** End offset (exclusive), or the first record at or after a time. Default `endOffset` (when the walk starts). */
  to?: number | Date;
  /** From the end (`to`, else `endOffset`) down to `from`: the last 50 are `{ reverse: true, maxRecords: 50 }`. */
  reverse?: boolean;
  maxRecords?: number;
  maxBytes?: number;
}

/** The keys of ReadOptions (SPEC's range reads): read() refuses any other. */
const READ_OPTION_KEYS: ReadonlySet<string> = new Set(['from', 'to', 'reverse', 'maxRecords', 'maxBytes']);

export function checkOffset(what: string, offset: unknown): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw invalidArgument(what, offset, 'a non-negative integer offset');
  }
  return offset;
}

function toTimeMs(time: unknown, what = 'time'): number {
  const ms = time instanceof Date ? time.getTime() : time;
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw invalidArgument(what, time, 'a Date or a number of milliseconds since the epoch');
  return ms;
}

/** `to` and `reverse` of read(): the end of the range (an offset; Infinity: the end when the walk starts). */
function rangeEnd(options: ReadOptions, offsetForTime: (ms: number) => number): { to: number; reverse: boolean } {
  const reverse = options.reverse === undefined ? false : options.reverse;
  if (typeof reverse !== 'boolean') throw invalidArgument('reverse', reverse, 'true or false');
  const to = options.to;
  if (to === undefined) return { to: Infinity, reverse };
  if (to instanceof Date) return { to: offsetForTime(toTimeMs(to, 'to')), reverse };
  return { to: checkOffset('to', to), reverse };
}

export class Reader<V> {
  constructor(private readonly topic: SegmentLog<V>, private readonly cache: ReadCache) {}

  read(options: ReadOptions = {}): Iterable<LogRecord<V>> {
    if (options === null || typeof options !== 'object') throw invalidArgument('read options', options, 'an object { from?, to?, reverse?, maxRecords?, maxBytes? }');
    refuseUnknownKeys('read option', options, READ_OPTION_KEYS);
    const topic = this.topic;
    let from: number;
    if (options.from === undefined) from = topic.startOffset;
    else if (options.from instanceof Date) from = this.offsetForTime(toTimeMs(options.from, 'from'));
    else from = checkOffset('from', options.from);
    const { to, reverse } = rangeEnd(options, (ms) => this.offsetForTime(ms));
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
        const end = Math.min(to, topic.endOffset);
        if (reverse) return new ReverseCursor<V>(reader.topic, from, end, maxRecords, maxBytes);
        return new Cursor<V>(reader.topic, from, end, maxRecords, maxBytes);
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
    // Fast path: the record was verified in the segment's mapping before (record-table.ts).
    const table = seg.mapTable;
    if (table !== undefined) {
      const rel = offset - seg.baseOffset;
      const chunk = table.chunks[rel >>> TABLE_CHUNK_SHIFT];
      if (chunk !== undefined) {
        const s = RecordTable.slot(rel);
        const rp = chunk[s]!;
        if (rp !== 0) return decodeRecordAt(seg.mapping!, rp - 1, seg.mapping!.length, offset, readU64(seg.mapping!, chunk[s + 1]! + H_BASE_TIMESTAMP), topic.codec);
      }
    }
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
        const mapped = this.fillTable(seg, entry, end, offset);
        if (mapped !== undefined) return mapped;
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
        chunk.shared = true; // (views of it are handed out: its buffer is never reused)
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
   * The region of index entry `entry` (up to `end`) lies in the segment's mapping: its batches are
   * verified there and entered in the segment's record table, and the record at `offset` comes
   * from it. Undefined when the region is not mapped, or the record is not in the table (absent,
   * or in a batch that failed its checksum: the Region path finds out which). The regions that
   * follow, up to READ_SPAN_BYTES from `entry`'s, are verified and entered too (fillAhead).
   */
  private fillTable(seg: Segment, entry: number, end: number, offset: number): RecordView<V> | undefined {
    if (this.cache.maxBytes < TABLE_CACHE_BYTES_MIN) return undefined;
    const buf = seg.mapped(end);
    if (buf === undefined) return undefined;
    const table = seg.mapTable ??= new RecordTable();
    const start = seg.index!.positionAt(entry);
    const bad = table.fill(buf, start, end, seg.baseOffset, (c, chunk) => this.cache.putChunk(seg, c, chunk));
    if (bad >= 0) throw new SuspectIndex(bad, 'region is not whole batches');
    this.fillAhead(seg, buf, table, entry + 1, start + READ_SPAN_BYTES);
    const rel = offset - seg.baseOffset;
    const chunk = table.chunks[rel >>> TABLE_CHUNK_SHIFT];
    if (chunk === undefined) return undefined;
    const s = RecordTable.slot(rel);
    const rp = chunk[s]!;
    return rp === 0 ? undefined : decodeRecordAt(buf, rp - 1, buf.length, offset, readU64(buf, chunk[s + 1]! + H_BASE_TIMESTAMP), this.topic.codec);
  }

  /**
   * Verifies and enters the regions from index entry `from` on that end by `limit` (a file position),
   * as the positional path reads READ_SPAN_BYTES at once: one walk through neighbouring batches costs
   * less than the same batches touched one at a time by later gets (bench W4: 0.90-0.92 against
   * 1.01-1.05 µs of CPU per cold get; whole segments at once gained nothing more and would make the
   * first get of a segment wait for all of it). Stops at a region already entered, one not wholly
   * in the mapping (or the active segment's growing last one), and one that is not whole batches
   * (its own get reports it). Batches whose checksum fails are left out, as fill() does.
   */
  private fillAhead(seg: Segment, buf: Buffer, table: RecordTable, from: number, limit: number): void {
    const index = seg.index!;
    const last = seg === this.topic.active ? index.count - 1 : index.count;
    const stop = Math.min(limit, buf.length, seg.memFrom);
    for (let e = from; e < last; e++) {
      const pos = index.positionAt(e);
      const to = e + 1 < index.count ? index.positionAt(e + 1) : seg.logBytes;
      if (to > stop || pos + BATCH_HEADER_BYTES > to) return;
      // Entered already? Asked of the index entry (its batch's first offset), not of the batch's
      // header: reading that first would wait for a line of the mapping before the hash asks for all
      // of them (a wrong entry only stops the walk early or has a region entered again).
      const rel = index.relativeOffsetAt(e);
      const chunk = table.chunks[rel >>> TABLE_CHUNK_SHIFT];
      if (chunk !== undefined && chunk[RecordTable.slot(rel)] !== 0) return;
      if (table.fill(buf, pos, to, seg.baseOffset, (c, ch) => this.cache.putChunk(seg, c, ch)) >= 0) return;
    }
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
    const buf = seg.readRegion(start, end - start, this.cache); // (a view into the mapping, or read into a slab)
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

/** Below this read cache budget, no record tables (each chunk would evict the last). */
const TABLE_CACHE_BYTES_MIN = 16 * TABLE_CHUNK_BYTES;

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
