// Segment indexes: loading a closed segment's `.index`/`.timeindex` files on first use, checking
// them, and rebuilding them from the `.log` when they cannot be trusted (missing, short, too long,
// out of order, pointing past the log, or describing another `.log` than a read-only log listed);
// and the running maximum timestamp at the end of a closed segment.
//
// Invariants: an index that is set on a segment was either decoded and checked here (every time
// entry on an offset-index point, both empty or both not, not shorter than its log by the indexing
// rule) or rebuilt from every batch of the `.log` (damage there is ERR_CORRUPT). A rebuild is
// written back except in a read-only or closed topic; a failing write keeps the in-memory indexes.
import { recoveryAction } from '../base/diagnostics.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';
import { BATCH_HEADER_BYTES, H_BATCH_BYTES, H_MAX_TIMESTAMP, readU32, readU64 } from '../format/batch.js';
import { OffsetIndex } from '../segment/offset-index.js';
import type { Segment } from '../segment/segment.js';
import { TimeIndex } from '../segment/time-index.js';
import type { SegmentLog } from './topic-log.js';

/** Reads and checks a segment's index files; undefined when either cannot be trusted. */
export function decodeIndexes(topic: SegmentLog<any>, seg: Segment): { index: OffsetIndex; timeIndex: TimeIndex } | undefined {
  const files = seg.readIndexFiles();
  if (files.index === undefined || files.timeIndex === undefined) return undefined;
  const segIdx = topic.segments.indexOf(seg);
  const nextBase = segIdx >= 0 && segIdx + 1 < topic.segments.length ? topic.segments[segIdx + 1]!.baseOffset : Infinity;
  const index = OffsetIndex.decode(files.index, seg.logBytes);
  const timeIndex = TimeIndex.decode(files.timeIndex, nextBase - seg.baseOffset);
  if (index === undefined || timeIndex === undefined) return undefined;
  if ((index.count > 0) !== (timeIndex.count > 0) || !timeEntriesOnIndexPoints(index, timeIndex)) return undefined;
  return { index, timeIndex };
}

/** Loads a segment's indexes on first use, or rebuilds them from its `.log` when they cannot be trusted. */
export function loadIndexes(topic: SegmentLog<any>, seg: Segment): void {
  if (seg.readOnly && seg.ino !== undefined) {
    // A writer's compaction may have replaced the files since this read-only log listed them: the
    // index files on disk then describe another `.log` than the one this segment reads.
    const st = topic.io.stat(seg.logPath);
    if (st === undefined || (st.ino !== undefined && st.ino !== seg.ino)) {
      rebuildIndexes(topic, seg, 'the writer replaced the segment files (compaction) after this read-only log listed them');
      return;
    }
  }
  const decoded = decodeIndexes(topic, seg);
  const reason = decoded === undefined ? 'index files missing or inconsistent'
    : (decoded.index.count > 0) !== (seg.logBytes > 0) ? 'index empty for a non-empty log (or the reverse)'
      : isShort(seg, decoded.index, topic.options.indexIntervalBytes) ? 'index shorter than its log' : undefined;
  if (reason !== undefined) {
    rebuildIndexes(topic, seg, reason);
    return;
  }
  seg.setIndexes(decoded!.index, decoded!.timeIndex, false);
}

/** Every time entry must sit on an offset-index point. */
function timeEntriesOnIndexPoints(index: OffsetIndex, timeIndex: TimeIndex): boolean {
  for (let k = 0; k < timeIndex.count; k++) {
    const rel = timeIndex.relativeOffsetAt(k);
    const e = index.floor(rel);
    if (e < 0 || index.relativeOffsetAt(e) !== rel) return false;
  }
  return true;
}

/**
 * An index is short when a batch that the indexing rule would have indexed follows its last entry.
 * Walks the batch headers after the last entry (at most one index interval of them).
 */
function isShort(seg: Segment, index: OffsetIndex, intervalBytes: number): boolean {
  if (index.count === 0) return false;
  const last = index.lastPosition();
  const end = seg.logBytes;
  let p = last;
  while (p < end) {
    const header = seg.readLog(p, 4);
    if (header.length < 4) return false;
    const len = readU32(header, H_BATCH_BYTES);
    if (len < BATCH_HEADER_BYTES) return false; // damage: the reader will report it
    p += len;
    if (p - last >= intervalBytes) return p < end;
  }
  return false;
}

/** Rebuilds both indexes of a segment from its `.log` (every batch checked) and rewrites their files. */
export function rebuildIndexes(topic: SegmentLog<any>, seg: Segment, reason: string): void {
  seg.setIndexes(new OffsetIndex(), new TimeIndex(), true);
  rebuildRange(topic, seg, seg.logBytes);
  recoveryAction(topic.dir, 'rebuild-index', topic.readOnly ? `${reason} (in memory only: read-only open)` : reason, { file: seg.indexPath, bytes: seg.logBytes });
  if (topic.closed || topic.readOnly) return;
  try {
    seg.persistIndexes();
    if (seg !== topic.active) seg.closeIndexFiles();
  } catch {
    // A failing disk: the indexes in memory serve this process; the next open rebuilds again.
  }
}

/** Indexes the batches of [0, upTo) of a segment; damage there is ERR_CORRUPT. */
function rebuildRange(topic: SegmentLog<any>, seg: Segment, upTo: number): void {
  const segIdx = topic.segments.indexOf(seg);
  let running = segIdx > 0 ? segmentEndMaxTimestamp(topic, topic.segments[segIdx - 1]!) : -1;
  const result = seg.scan(0, seg.baseOffset, running, (b) => {
    if (b.position >= upTo) return;
    topic.indexBatch(seg, b.baseOffset, b.position, running);
    if (b.maxTimestampMs > running) running = b.maxTimestampMs;
  });
  if (result.invalidAt !== undefined && result.invalidAt < upTo) throw seg.corrupt(result.invalidAt, result.reason ?? 'invalid batch');
}

/** Largest timestamp of all records up to the end of a closed segment (running max). */
export function segmentEndMaxTimestamp(topic: SegmentLog<any>, seg: Segment): number {
  if (seg.endMaxTimestampMs >= 0) return seg.endMaxTimestampMs;
  topic.indexesOf(seg);
  const ti = seg.timeIndex!;
  let max = ti.count > 0 ? ti.timestampAt(ti.count - 1) : -1;
  const index = seg.index!;
  // The batches after the last index entry (about one index interval): one read, headers walked in memory.
  const from = index.count > 0 ? index.lastPosition() : 0;
  const tail = seg.readLog(from, Math.min(seg.logBytes - from, READ_CHUNK_BYTES));
  let p = 0;
  while (from + p < seg.logBytes) {
    const header = p + BATCH_HEADER_BYTES <= tail.length ? tail.subarray(p, p + BATCH_HEADER_BYTES) : seg.readLog(from + p, BATCH_HEADER_BYTES);
    if (header.length < BATCH_HEADER_BYTES) break;
    const len = readU32(header, H_BATCH_BYTES);
    const ts = readU64(header, H_MAX_TIMESTAMP);
    if (ts > max) max = ts;
    if (len < BATCH_HEADER_BYTES) break;
    p += len;
  }
  if (seg !== topic.active) seg.endMaxTimestampMs = max;
  return max;
}
