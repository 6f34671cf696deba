// The end of a topic's life (src/topic.ts): close() (clean: everything durable, then the clean
// marker), shutdown() (deleteTopic, close after a failure: pending appends reject at once) and
// release() (every resource dropped). Moved out of TopicImpl as functions of the narrow
// ClosingTopic (the topic passes itself); logic unchanged.
//
// Invariants: `closed` is set before anything is given up, and nothing runs on the topic after;
// descriptors close only after the fsyncs still running on them (shutdown) and after the
// iterators still inside retired segments leave (Segment.release).
//
// Crash: close records the clean marker last, only when no commit rides in a batch the store has
// not got (the next open scans and re-applies those); see topic-durability.ts. The log writes the
// markers of all its topics in one durable write once they are all closed (log.ts, closedClean):
// a crash before it leaves them "not clean", and the next open scans from the recovery point.
import { SeglogError } from './base/errors.js';
import type { Segment } from './segment/segment.js';
import type { LogContext } from './log/topic-context.js';
import type { RecoveryPoint } from './log/topic-log.js';
import type { TopicWriter } from './log/topic-writer.js';
import type { TopicDurability } from './log/topic-durability.js';
import type { KeyIndex } from './cleaner/key-index.js';
import type { Maintenance } from './cleaner/maintenance.js';
import type { ConsumerGroups } from './consumers/consumer-groups.js';

/** What closing needs of the topic: the facade's parts (TopicImpl's fields). */
export interface ClosingTopic {
  readonly name: string;
  readonly ctx: LogContext;
  readonly writer: TopicWriter<any>;
  readonly durability: TopicDurability;
  readonly maintenance: Maintenance;
  readonly groupsLoaded: ConsumerGroups | undefined;
  readonly keyIndex: KeyIndex | undefined;
  readonly retiredSegments: Set<Segment>;
}

/** Clean close: everything durable, then the clean marker with the exact size of the active segment. */
export async function closeTopic(topic: ClosingTopic): Promise<void> {
  const w = topic.writer;
  const d = topic.durability;
  if (w.closed) return;
  await topic.maintenance.stop();
  if (w.closed) return;
  // Subscriptions end first (pending next() calls settle with done); the positions their groups
  // reached go to the metadata store, which the log flushes and closes after its topics.
  w.tail.endAll();
  if (topic.groupsLoaded !== undefined && !topic.ctx.options.readOnly) topic.groupsLoaded.handToStore();
  topic.groupsLoaded?.close();
  if (!topic.ctx.options.readOnly) {
    try {
      await d.flush();
      topic.keyIndex?.persist(w._endOffset);
      // (commits riding in batches the store has not got yet: the next open scans and re-applies them)
      if (d.dirtyMarked && !d.hasRiddenCommits()) {
        const end: RecoveryPoint = { base: w.active.baseOffset, position: w.active.logBytes, offset: w._endOffset, maxTimestampMs: w.maxTimestampMs };
        // Made durable with every other topic's by the log's close, after this topic's data and
        // indexes were: one metadata write for thousands of topics, not one each.
        topic.ctx.closedClean(topic.name, d.stateFor(true, end));
      }
    } finally {
      releaseTopic(topic, new SeglogError('ERR_CLOSED', `topic ${topic.name} was closed before the append completed`));
    }
  } else {
    releaseTopic(topic, new SeglogError('ERR_CLOSED', `topic ${topic.name} is closed`));
  }
}

/** Drops every resource; pending appends reject with `err`. */
export function releaseTopic(topic: ClosingTopic, err: SeglogError): void {
  const w = topic.writer;
  const d = topic.durability;
  w.closed = true;
  w.tail.endAll();
  topic.groupsLoaded?.close();
  for (const x of w.tickWaiters) x.reject(err);
  for (const x of d.syncWaiters) x.reject(err);
  w.tickWaiters = [];
  d.syncWaiters = [];
  for (const seg of w.segments) seg.release();
  for (const seg of topic.retiredSegments) seg.release();
  topic.retiredSegments.clear();
  topic.ctx.readCache.forgetTopic(w);
}

/**
 * Stops the topic (deleteTopic, close after a failure): pending appends reject with `err` at once,
 * and descriptors are closed only after the fsyncs still running on them have finished.
 */
export async function shutdownTopic(topic: ClosingTopic, err: SeglogError): Promise<void> {
  const w = topic.writer;
  w.closed = true;
  w.tail.endAll();
  topic.groupsLoaded?.close();
  for (const x of w.tickWaiters) x.reject(err);
  w.tickWaiters = [];
  topic.durability.ridden?.forgetFrom(0); // (groups of other topics it held go to the store again)
  const inFlight = topic.durability.fsyncsInFlight(); // (just-rolled segments', the group commit's, flush()'s)
  inFlight.push(...topic.maintenance.inFlight()); // a compaction stops at its next slice once closed is set
  await Promise.allSettled(inFlight);
  releaseTopic(topic, err);
}
