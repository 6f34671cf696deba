// Retention: removing whole closed segments from the front of a topic — by age
// (`retention.maxAgeMs`, against the largest timestamp up to the segment's end), by size (oldest
// first while the topic is over `retention.maxBytes`), or explicitly (`truncateBefore`, Kafka's
// deleteRecords). The active segment is never removed, nor a segment whose fsync is still running.
//
// Order: the new start offset is made durable first (TopicState.startOffset), then the segments
// leave the topic's list (iterators still in one keep reading it through its open descriptor, see
// Segment.detach), then their files are unlinked, in parallel on the thread pool when the FileIO
// can (a crash leaves some of them: index files without their log, which the next open removes,
// or logs below the start offset, which the next retention pass removes).
//
// Crash: before the state write, nothing happened; after it, reads start at the new start offset
// and any segment file left below it is removed by the next retention pass. A file that could not
// be unlinked while open (Windows) is renamed `<file>.deleted` and unlinked at the next open.
import { SeglogError, invalidArgument } from '../base/errors.js';
import { unlinkAll } from '../io/unlink.js';
import path from 'node:path';
import { publish } from '../base/diagnostics.js';
import { checkOffset } from '../log/reader.js';
import { segmentEndMaxTimestamp } from '../log/indexes.js';
import type { MutableSegmentLog } from '../log/topic-log.js';

/** What retention needs of a topic: its segment list, and two things of the facade. */
export interface RetentionLog extends MutableSegmentLog<any> {
  /** Raises the start offset durably (reads below it fail from now on). */
  raiseStartOffset(offset: number): void;
  /** Records a raised start offset that a full disk kept from being recorded, if any (room was just freed). */
  recordPendingStartOffset(): void;
  /** Work the topic's close waits for. */
  trackBackground(work: Promise<void>): void;
}

export interface RetentionResult {
  segmentsDeleted: number;
  bytesFreed: number;
}

/** Checks truncateBefore's argument (before anything changes). */
export function checkTruncateOffset(topic: RetentionLog, offsetIn: unknown): number {
  const offset = checkOffset('offset', offsetIn);
  if (offset > topic.endOffset) {
    throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid offset ${offset} for truncateBefore on topic ${topic.name}: it is beyond the end offset ${topic.endOffset}`, { value: offset });
  }
  return offset;
}

/** Checks enforceRetention's `now` (milliseconds since the epoch). */
export function checkNow(now: unknown): number {
  if (typeof now !== 'number' || !Number.isSafeInteger(now) || now < 0) {
    throw invalidArgument('now', now, 'a non-negative integer of milliseconds since the epoch');
  }
  return now;
}

/**
 * How many segments from the front of the topic retention removes at `now` (and what they free).
 * Stops at the first segment that is kept: removal is strictly oldest first.
 */
export function segmentsToExpire(topic: RetentionLog, now: number): number {
  const { maxAgeMs, maxBytes } = topic.options.retention;
  if (topic.options.cleanup === 'compact' || (maxAgeMs === Infinity && maxBytes === Infinity)) return 0;
  const segs = topic.segments;
  let total = 0;
  if (maxBytes !== Infinity) for (const s of segs) total += s.endPosition();
  let n = 0;
  while (n < segs.length - 1) {
    const s = segs[n]!;
    if (s.pins > 0) break; // an fsync is running on it (just rolled): next time
    const overSize = maxBytes !== Infinity && total > maxBytes;
    const expired = !overSize && maxAgeMs !== Infinity && segmentEndMaxTimestamp(topic, s) < now - maxAgeMs;
    if (!overSize && !expired) break;
    total -= s.endPosition();
    n++;
  }
  return n;
}

/** Number of whole segments below `offset` that can go (never the active one). */
export function segmentsBelow(topic: RetentionLog, offset: number): number {
  const segs = topic.segments;
  let n = 0;
  while (n < segs.length - 1 && segs[n + 1]!.baseOffset <= offset && segs[n]!.pins === 0) n++;
  return n;
}

/**
 * Removes the first `count` segments: start offset raised durably to at least the first kept
 * segment's base, segments detached from the topic, files unlinked.
 */
export async function removeFrontSegments(topic: RetentionLog, count: number, reason: string): Promise<RetentionResult> {
  if (count <= 0) return { segmentsDeleted: 0, bytesFreed: 0 };
  const keepFrom = topic.segments[count]!;
  topic.raiseStartOffset(keepFrom.baseOffset);
  const removed = topic.spliceSegments(0, count, []);
  let bytesFreed = 0;
  const logs: string[] = [];
  const indexes: string[] = [];
  for (const seg of removed) {
    bytesFreed += seg.logBytes;
    logs.push(seg.logPath);
    indexes.push(seg.indexPath, seg.timeIndexPath);
  }
  // The data is gone when this resolves; the small index files follow in the background (an
  // index file without its `.log` is removed at open anyway), which halves the wait (bench W9).
  const data = unlinkAll(topic.io, logs);
  topic.trackBackground(data.catch(() => undefined).then(() => unlinkAll(topic.io, indexes)));
  await data;
  try {
    topic.io.fsyncDir(topic.dir);
  } catch {
    // Not durable yet: a file that comes back after a power cut lies below the start offset and
    // goes at the next retention pass.
  }
  topic.recordPendingStartOffset();
  publish('retention', { dir: path.dirname(topic.dir), topic: topic.name, segmentsDeleted: removed.length, bytesFreed, startOffset: topic.startOffset, reason });
  return { segmentsDeleted: removed.length, bytesFreed };
}
