// The failure side of the append path (moved out of TopicWriter, topic-writer.ts, as functions of
// the narrow FailingWriter: the writer passes itself): mark (where the log stands before a
// multi-record append), rollbackTo (undo everything appended since a mark) and writeFailed (a
// write to the OS failed). They run per multi-record append or on failure, never per record.
//
// Invariants: an offset that was handed out (appendSync, or any append under 'none') is never
// given to another record: writeFailed keeps such records in memory and blocks appends until a
// retry writes them. Otherwise what was not handed to the OS is forgotten, every promise that
// covered it rejects, and the file and the indexes are cut back to the last good size. A
// multi-record append is all or nothing (mark / rollbackTo).
//
// Crash: what was handed to the OS survives a process crash; recovery.ts repairs a torn tail.
import { ioError, type SeglogError } from '../base/errors.js';
import type { Chunk, Segment } from '../segment/segment.js';
import type { KeySink } from './topic-log.js';
import type { LogContext, Mark, Waiter, WriterSync } from './topic-context.js';

/** What the failure handling needs of the writer (TopicWriter's fields). */
export interface FailingWriter {
  readonly ctx: LogContext;
  segments: Segment[];
  readonly active: Segment;
  chunk: Chunk | undefined;
  batchStart: number;
  _endOffset: number;
  maxTimestampMs: number;
  keptEnd: number;
  writeBlocked: SeglogError | undefined;
  committedEnd: number;
  committedMaxTs: number;
  takebacks: number;
  tickWaiters: Waiter[];
  readonly sync: WriterSync;
  keyIndex: KeySink | undefined;
  sealBatch(): void;
}

/** Where the log stands before a multi-record append (the open batch is sealed first). */
export function mark(w: FailingWriter): Mark {
  if (w.batchStart >= 0) w.sealBatch();
  const seg = w.active;
  return {
    seg,
    segments: w.segments.length,
    position: seg.endPosition(),
    endOffset: w._endOffset,
    maxTimestampMs: w.maxTimestampMs,
  };
}

/**
 * Undoes everything appended since `mark`: segments rolled since are deleted, the file is cut
 * back if part of it was written, and memory forgets the rest. Appends from before the mark that
 * still wait to be written stay pending.
 */
export function rollbackTo(w: FailingWriter, mark: Mark, error: SeglogError): void {
  w.takebacks++;
  while (w.segments.length > mark.segments) {
    const s = w.segments.pop()!;
    w.sync.dirtySegments.delete(s);
    try { s.deleteFiles(); } catch (err) { w.ctx.fail(ioError('delete a rolled-back segment', s.logPath, err)); }
  }
  const seg = mark.seg;
  if (seg.logBytes > mark.position) {
    try {
      seg.truncateLog(mark.position); // (never into the sealed prefix: log/seal.ts)
    } catch (err) {
      w.ctx.fail(ioError('truncate after a failed append', seg.logPath, err));
    }
    seg.logBytes = mark.position;
    w.committedEnd = mark.endOffset;
    w.committedMaxTs = mark.maxTimestampMs;
  }
  while (seg.chunks.length > 0 && seg.chunks[seg.chunks.length - 1]!.filePos >= mark.position && seg.chunks.length > 1) seg.chunks.pop();
  const chunk = seg.chunks.length > 0 ? seg.chunks[seg.chunks.length - 1]! : undefined;
  if (chunk !== undefined) {
    chunk.len = Math.min(chunk.len, Math.max(0, mark.position - chunk.filePos));
    chunk.written = Math.min(chunk.written, chunk.len);
    chunk.retired = true;
  }
  w.chunk = chunk;
  w.batchStart = -1;
  w._endOffset = Math.min(w._endOffset, mark.endOffset);
  w.keptEnd = Math.min(w.keptEnd, w._endOffset);
  w.keyIndex?.forgetFrom(w._endOffset);
  w.sync.ridden?.forgetFrom(w._endOffset);
  w.maxTimestampMs = Math.min(w.maxTimestampMs, mark.maxTimestampMs);
  w.committedEnd = Math.min(w.committedEnd, w._endOffset);
  // Appends whose records were just forgotten settle now, with the error that forgot them.
  const end = w._endOffset;
  const keepTick = w.tickWaiters.filter((x) => x.last < end);
  const keepSync = w.sync.syncWaiters.filter((x) => x.last < end);
  for (const x of w.tickWaiters) if (x.last >= end) x.reject(error);
  for (const x of w.sync.syncWaiters) if (x.last >= end) x.reject(error);
  w.tickWaiters = keepTick;
  w.sync.syncWaiters = keepSync;
  seg.pins = Math.max(seg.pins, 1); // it is the active segment again
  // (not loaded: the deferred load failed before the first record of the session went in; nothing to cut)
  seg.index?.truncateToPosition(mark.position);
  seg.timeIndex?.truncateToRelativeOffset(mark.endOffset - seg.baseOffset);
}

/**
 * A write failed: cut the file back to its last good size. Records whose offset was handed out
 * already (appendSync; every append under 'none', which resolves at once) stay in memory, and
 * appends are refused until a retry writes them (SPEC: such an offset is never given to another
 * record). Otherwise every record that was not handed to the OS is forgotten and the promises
 * reject. Either way the log's 'error' event hears of it.
 */
export function writeFailed(w: FailingWriter, seg: Segment, error: SeglogError): SeglogError {
  if (error.code === 'ERR_NO_SPACE') w.ctx.reserve?.release(); // appends wait for space from here on
  try {
    seg.truncateLog(seg.logBytes); // (its written size: past the sealed prefix)
  } catch (err) {
    w.ctx.fail(ioError('truncate after a failed write', seg.logPath, err));
  }
  if (w.tickWaiters.length === 0 && (w.keptEnd > w.committedEnd || w.ctx.options.durability === 'none')) {
    if (w.writeBlocked === undefined) w.ctx.emitError(error); // (once, not at every retry)
    w.writeBlocked = error;
    return error;
  }
  w.takebacks++;
  const chunk = w.chunk!;
  chunk.len = chunk.written;
  chunk.retired = true;
  w.batchStart = -1;
  w._endOffset = w.committedEnd;
  w.keyIndex?.forgetFrom(w._endOffset);
  w.maxTimestampMs = w.committedMaxTs;
  seg.index!.truncateToPosition(seg.logBytes);
  seg.timeIndex!.truncateToRelativeOffset(w.committedEnd - seg.baseOffset);
  const waiters = w.tickWaiters;
  w.tickWaiters = [];
  for (const x of waiters) x.reject(error);
  // A rejected batch whose first records were already written (before a roll or chunk switch in
  // the same tick) must not keep them: cut back to where it began.
  let partial: Mark | undefined;
  for (const x of waiters) if (x.mark !== undefined && x.offset < w.committedEnd && (partial === undefined || x.offset < partial.endOffset)) partial = x.mark;
  if (partial !== undefined) rollbackTo(w, partial, error);
  w.ctx.emitError(error);
  return error;
}
