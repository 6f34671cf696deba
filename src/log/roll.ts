// The roll of a topic's active segment, writer side (a function of the narrow RollingWriter: the
// writer, topic-writer.ts, passes itself): the open batch is sealed and written, the old segment's
// index entries are persisted, and a new segment starts at the current end offset. Making the old
// segment durable and moving the recovery point into the new one is the durability part's
// (TopicDurability.rolled, topic-durability.ts). Rolls are rare: off the per-record path.
//
// Invariants: everything appended before the roll is handed to the OS first; the chunk in use is
// retired (never written again); the new segment is the active one and pinned (retention and
// compaction leave it alone; the pool may still close its idle descriptor, reopened on the next
// write: fd-pool.ts).
//
// Crash: the new segment's files exist empty; recovery lists it (or, if its creation is not
// durable, the old one stays the last: recovery.ts).
import path from 'node:path';
import { publish, type RollReason } from '../base/diagnostics.js';
import { Segment, type Chunk } from '../segment/segment.js';
import type { LogContext, WriterSync } from './topic-context.js';

/** What a roll needs of the writer (TopicWriter's fields). */
export interface RollingWriter {
  readonly ctx: LogContext;
  readonly name: string;
  readonly dir: string;
  readonly sync: WriterSync;
  readonly segments: Segment[];
  readonly active: Segment;
  readonly _endOffset: number;
  chunk: Chunk | undefined;
  batchStart: number;
  sealBatch(): void;
  writePending(): void;
}

export function rollSegment(w: RollingWriter, reason: RollReason): void {
  // A roll with no append before it in this session (compact() rolls first) changes the segment
  // list: the stored state must stop claiming a clean close of the old active segment.
  if (!w.sync.dirtyMarked) w.sync.markDirty();
  if (w.ctx.markersUncommitted) w.ctx.commitMarkers(); // (durable before the segment list changes on disk)
  const old = w.active;
  if (w.batchStart >= 0) w.sealBatch();
  w.writePending();
  if (w.chunk !== undefined) w.chunk.retired = true;
  w.chunk = undefined;
  old.persistIndexes();
  old.dropChunks(0);
  const seg = Segment.create(w.ctx.io, w.dir, w._endOffset);
  seg.pool = w.ctx.fdPool;
  seg.pins = 1; // the active segment: retention and compaction leave it alone
  w.ctx.fdPool.opened(seg);
  w.segments.push(seg);
  publish('roll', { dir: path.dirname(w.dir), topic: w.name, oldBase: old.baseOffset, newBase: seg.baseOffset, reason, oldBytes: old.logBytes });
  w.sync.rolled(old, seg);
}
