// Changes to a topic's segment list and start offset made by retention, compaction and refresh
// (through the topic's spliceSegments and raiseStartOffset, src/topic.ts): moved out of the topic
// facade as functions of the narrow SplicedLog, the topic's writer state; logic unchanged.
//
// Invariants: a segment taken out is detached (Segment.detach) and forgotten by the read cache and
// the fsync set; one that iterators are still reading is kept in `retiredSegments` until they leave
// (its descriptor closes then). The start offset only rises, and is durable before it is visible
// to the caller (TopicState.startOffset; on failure it stays where it was), except on a full disk:
// then it is recorded once the segments below it are gone (recordPendingStartOffset).
//
// Crash: raiseStartOffset writes the topic state before returning; a crash before that keeps the
// old start offset (the records are still there).
import { ioError } from '../base/errors.js';
import { isNoSpace } from '../io/space-reserve.js';
import type { Segment } from '../segment/segment.js';
import type { TopicWriter } from './topic-writer.js';
import type { TopicDurability } from './topic-durability.js';

/** What changing the segment list needs of the topic: its writer (the list) and durability part (the fsync set, the stored state). */
export interface SplicedLog {
  readonly writer: TopicWriter<any>;
  readonly durability: TopicDurability;
  readonly retiredSegments: Set<Segment>;
}

/** Raises the start offset and makes it durable (TopicState.startOffset) before returning. */
export function raiseStartOffset(topic: SplicedLog, offset: number): void {
  const w = topic.writer;
  const d = topic.durability;
  if (offset <= w._startOffset) return;
  const previous = w._startOffset;
  w._startOffset = offset;
  try {
    d.putStateSync(d.stateFor(false, d.checkpointed));
    d.dirtyMarked = true;
  } catch (err) {
    if (isNoSpace(err)) {
      // A full disk (the space reserve given back already) must not keep retention and
      // truncateBefore, the ways to free space, from running: the start offset is raised in memory,
      // the segments below it go, and recordPendingStartOffset() writes it once they freed room
      // (else the next state put does). A crash before that keeps the older start offset: whole
      // segments removed stay removed, records of the first kept one below the offset come back.
      d.dirtyMarked = true;
      d.startOffsetPending = true;
      return;
    }
    w._startOffset = previous;
    throw ioError('write metadata', w.name, err);
  }
}

/** Records a start offset raiseStartOffset() could not record for lack of space (once retention freed room); a disk still full leaves it pending. */
export function recordPendingStartOffset(topic: SplicedLog): void {
  const d = topic.durability;
  if (!d.startOffsetPending || topic.writer.closed) return;
  try {
    d.putStateSync(d.stateFor(false, d.checkpointed));
    d.startOffsetPending = false;
  } catch (err) {
    if (!isNoSpace(err)) throw ioError('write metadata', topic.writer.name, err);
  }
}

/**
 * Replaces `count` segments from index `from` of the list by `replacement` (retention: none;
 * compaction: the cleaned ones). The old segments are detached (Segment.detach): iterators in
 * them finish reading them through their open descriptor.
 */
export function spliceSegments(topic: SplicedLog, from: number, count: number, replacement: Segment[]): Segment[] {
  const ctx = topic.writer.ctx;
  const old = topic.writer.segments.splice(from, count, ...replacement);
  for (const s of replacement) { s.pool = ctx.fdPool; if (s.fd >= 0) ctx.fdPool.opened(s); } // (a descriptor opened before: pooled too)
  for (const s of old) {
    ctx.readCache.forgetSegment(s);
    topic.durability.dirtySegments.delete(s);
    s.detach();
    if (s.readers > 0) topic.retiredSegments.add(s);
  }
  for (const s of topic.retiredSegments) if (s.readers <= 0) topic.retiredSegments.delete(s);
  if (replacement.length > 0 && !ctx.options.readOnly) topic.durability.sealDurable(true); // (a read-only log: refresh seals)
  return old;
}
