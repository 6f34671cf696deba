// Refresh: how a read-only topic picks up what the writer process appended after the open
// (`log.refresh()`, used by `seglog tail --follow` and cross-process followers).
//
// A read-only open sees the segment files as they were; refresh looks again: batches appended to
// the active segment since (each checked: structure, checksum, dense offsets), segments the writer
// rolled to, and segments its retention removed from the front. A batch that fails its check at
// the end of the active segment is taken as a write still in progress and looked at again by the
// next refresh; damage followed by a newer segment is ERR_CORRUPT. Only memory changes: nothing is
// written, so the writer is never disturbed. It never runs on a writable log (off the write path).
//
// A writer's compaction replaces closed segment files by rename (compaction-swap.ts), possibly the
// one this log still takes for the active segment. Refresh tells a replaced file by its identity
// (inode, noted when the segment was listed) and then takes the closed segments afresh from the
// folder, as an open would; iterators inside the old ones finish them through their descriptors.
// While a swap is in progress (its marker is in the folder) refresh leaves everything as it is and
// the next call looks again.
//
// refreshTopic is topic.refresh() of the facade (src/topic.ts), moved out as a function of the
// narrow RefreshingTopic: it publishes what refreshSegments found and wakes waiting subscriptions.
//
// Crash: nothing here is on disk.
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import { LOG_SUFFIX, SWAP_SUFFIX, parseSegmentFileName, segmentFileName } from '../format/batch.js';
import { listedSegment } from './recovery.js';
import { segmentEndMaxTimestamp } from './indexes.js';
import { OffsetIndex } from '../segment/offset-index.js';
import type { Segment } from '../segment/segment.js';
import { TimeIndex } from '../segment/time-index.js';
import { corruptionFound } from '../base/diagnostics.js';
import type { MutableSegmentLog } from './topic-log.js';
import type { Tail } from './tail.js';
import { sealBelow } from './seal.js';
import type { TopicState } from '../store/meta-store.js';

/** What topic.refresh() needs of the topic: its writer's offsets, which it moves (topic-writer.ts). */
export interface RefreshingTopic extends MutableSegmentLog<any> {
  readonly tail: Tail;
  readonly writer: {
    _startOffset: number;
    _endOffset: number;
    maxTimestampMs: number;
    committedEnd: number;
    committedMaxTs: number;
  };
}

/**
 * Read-only topics: picks up what the writer process appended (or rolled, or removed by
 * retention) since the open. Returns how many records became readable; 0 on a writable topic,
 * which always sees its own appends.
 */
export function refreshTopic(topic: RefreshingTopic): number {
  topic.checkOpen();
  if (!topic.readOnly) return 0;
  const w = topic.writer;
  const before = w._endOffset;
  let stored: number | undefined;
  let state: TopicState | undefined;
  try {
    state = topic.meta.getState(topic.name);
    stored = state?.startOffset;
  } catch { stored = undefined; }
  const s = refreshSegments(topic, stored);
  sealBelow(topic.segments, state); // (what the writer will never cut may be mapped: seal.ts)
  w._startOffset = s.startOffset;
  w._endOffset = s.endOffset;
  w.committedEnd = s.endOffset;
  w.maxTimestampMs = s.maxTimestampMs;
  w.committedMaxTs = s.maxTimestampMs;
  // Subscriptions on this read-only log that wait at the tail see the new records.
  if (s.endOffset > before && topic.tail.waitingCount > 0) topic.tail.wake();
  return s.endOffset - before;
}

/** Where a read-only topic stands after a refresh. */
export interface RefreshedState {
  startOffset: number;
  endOffset: number;
  maxTimestampMs: number;
}

/**
 * Brings a read-only topic's segments up to date with the files (see the header). Returns the new
 * start and end offsets and largest timestamp; the caller publishes them.
 */
export function refreshSegments(topic: MutableSegmentLog<any>, storedStartOffset: number | undefined): RefreshedState {
  const io = topic.io;
  const dir = topic.dir;
  let names: string[];
  try {
    names = io.readdir(dir);
  } catch (err) {
    throw ioError('readdir', dir, err);
  }
  const unchanged = { startOffset: topic.startOffset, endOffset: topic.endOffset, maxTimestampMs: topic.maxTimestampMs };
  if (swapInProgress(names)) return unchanged;
  const onDisk = new Set<number>();
  for (const f of names) {
    const base = parseSegmentFileName(f, LOG_SUFFIX);
    if (base >= 0) onDisk.add(base);
  }
  const segments = topic.segments;
  // Segments removed by the writer's retention (never the active one). Detached as retention does
  // it: iterators inside one finish it through their open descriptor.
  while (segments.length > 1 && !onDisk.has(segments[0]!.baseOffset)) topic.spliceSegments(0, 1, []);

  let end = topic.endOffset;
  let maxTs = topic.maxTimestampMs;
  const sorted = [...onDisk].sort((a, b) => a - b);
  const compacted = sorted.length === 0 ? 'no' : compactedSince(topic, sorted);
  if (compacted !== 'no') {
    // Take the new files only if no swap began meanwhile (the listing would mix old and new).
    let again: string[];
    try { again = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
    if (swapInProgress(again) || again.filter((f) => parseSegmentFileName(f, LOG_SUFFIX) >= 0).length !== sorted.length) return unchanged;
    const activeBase = topic.active.baseOffset;
    const closedBases = compacted === 'closed' ? sorted.filter((b) => b < activeBase) : sorted.slice(0, -1);
    const closed = closedBases.map((b) => listedSegment(io, dir, b, true));
    for (const s of closed) s.pool = topic.active.pool;
    if (compacted === 'closed') {
      topic.spliceSegments(0, segments.length - 1, closed);
    } else {
      // The segment read as the active one was rolled past and compacted: the writer's newest
      // segment becomes the active one, read from its start.
      const base = sorted[sorted.length - 1]!;
      const next = newActive(topic, base);
      topic.active.pins = 0;
      topic.spliceSegments(0, segments.length, [...closed, next]);
      end = base;
      if (closed.length > 0) maxTs = Math.max(maxTs, segmentEndMaxTimestamp(topic, closed[closed.length - 1]!));
    }
  }
  const newer = sorted.filter((b) => b > topic.active.baseOffset);
  for (;;) {
    const seg = topic.active;
    // Through the open descriptor when there is one: if the writer has since replaced the file
    // (compaction swaps by rename), the bytes this segment was read from are still those.
    const fileBytes = seg.fd >= 0 ? seg.fileSizeNow() : io.stat(seg.logPath)?.size ?? 0;
    if (fileBytes > seg.logBytes) {
      topic.indexesOf(seg);
      let running = maxTs;
      const result = seg.scan(seg.logBytes, end, maxTs, (b) => {
        topic.indexBatch(seg, b.baseOffset, b.position, running);
        if (b.maxTimestampMs > running) running = b.maxTimestampMs;
      });
      seg.logBytes = result.endPosition;
      seg.memFrom = result.endPosition;
      end = result.nextOffset;
      maxTs = result.maxTimestampMs;
      if (result.invalidAt !== undefined && newer.length > 0) throw seg.corrupt(result.invalidAt, result.reason ?? 'invalid batch');
      if (result.invalidAt !== undefined) break; // a write in progress: the next refresh looks again
    }
    const base = newer.shift();
    if (base === undefined) break;
    if (base !== end) {
      const file = path.join(dir, segmentFileName(base, LOG_SUFFIX));
      throw corruptionFound(new SeglogError('ERR_CORRUPT', `segment ${file} of topic ${topic.name} starts at offset ${base} but the previous one ends at ${end}`, { file, position: 0 }), dir);
    }
    // The writer rolled: the new segment becomes the active one (pinned: see newActive).
    const next = newActive(topic, base);
    next.pool = seg.pool;
    seg.pins = Math.max(0, seg.pins - 1);
    segments.push(next);
  }
  const first = segments[0]!.baseOffset;
  const start = Math.min(end, Math.max(topic.startOffset, first, storedStartOffset ?? 0));
  return { startOffset: start, endOffset: end, maxTimestampMs: maxTs };
}

function swapInProgress(names: string[]): boolean {
  return names.some((n) => parseSegmentFileName(n, SWAP_SUFFIX) >= 0);
}

/**
 * Whether the writer replaced segment files since this log listed them: 'no'; 'closed' (closed
 * segments only); 'active' (also the one this log reads as its active segment, which the writer
 * has rolled past). `onDisk`: the `.log` bases in the folder, sorted.
 */
function compactedSince(topic: MutableSegmentLog<any>, onDisk: number[]): 'no' | 'closed' | 'active' {
  const segments = topic.segments;
  const active = topic.active;
  // A file replaced under the same name has another inode (or, an inode number reused, another
  // size: a closed segment's size is fixed).
  const replaced = (s: Segment, closed: boolean): boolean => {
    if (s.ino === undefined) return false;
    const st = topic.io.stat(s.logPath);
    return st === undefined || (st.ino !== undefined && st.ino !== s.ino) || (closed && st.size !== s.logBytes);
  };
  // Only compacted topics have files replaced (one stat per segment per refresh); a topic whose
  // options are not stored (a read-only open without metadata) may be one.
  const compacts = topic.options.cleanup !== 'delete' || topic.meta.getTopicOptions(topic.name) === undefined;
  if (!onDisk.includes(active.baseOffset) || (compacts && replaced(active, false))) return 'active';
  const closedOnDisk = onDisk.filter((b) => b < active.baseOffset);
  if (closedOnDisk.length !== segments.length - 1) return 'closed';
  for (let i = 0; i < closedOnDisk.length; i++) if (closedOnDisk[i] !== segments[i]!.baseOffset) return 'closed';
  if (compacts) for (let i = 0; i < segments.length - 1; i++) if (replaced(segments[i]!, true)) return 'closed';
  return 'no';
}

/** The writer's segment at `base` as this log's active one: read from its start, pinned (its descriptor is pooled like any other). */
function newActive(topic: MutableSegmentLog<any>, base: number): Segment {
  const seg = listedSegment(topic.io, topic.dir, base, true);
  seg.logBytes = 0;
  seg.memFrom = 0;
  seg.setIndexes(new OffsetIndex(), new TimeIndex(), false);
  seg.pins = 1;
  return seg;
}
