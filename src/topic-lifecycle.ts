// The end of a topic's life (src/topic.ts): close() (clean: everything durable, then the clean
// marker), shutdown() (deleteTopic, close after a failure: pending appends reject at once) and
// release() (every resource dropped). Moved out of TopicImpl as functions of the narrow
// ClosingTopic (the topic passes itself); logic unchanged.
//
// Invariants: `closed` is set before anything is given up, and nothing runs on the topic after;
// descriptors close only after the fsyncs still running on them (shutdown) and after the
// iterators still inside retired segments leave (Segment.release).
//
// Crash: close writes the clean marker last, only when no commit rides in a batch the store has
// not got (the next open scans and re-applies those); see topic-durability.ts.
import { SeglogError } from './base/errors.js';
import type { Segment } from './segment/segment.js';
import type { TopicState } from './store/meta-store.js';
import type { LogContext, Waiter } from './log/topic-context.js';
import type { RecoveryPoint } from './log/topic-log.js';
import type { Tail } from './log/tail.js';
import type { RiddenCommits } from './log/ridden.js';
import type { KeyIndex } from './cleaner/key-index.js';
import type { Maintenance } from './cleaner/maintenance.js';
import type { ConsumerGroups } from './consumers/consumer-groups.js';

/** What closing needs of the topic (TopicImpl's fields and its writer's). */
export interface ClosingTopic {
  readonly name: string;
  closed: boolean;
  readonly ctx: LogContext;
  readonly maintenance: Maintenance;
  readonly tail: Tail;
  readonly groupsLoaded: ConsumerGroups | undefined;
  readonly keyIndex: KeyIndex | undefined;
  readonly ridden: RiddenCommits | undefined;
  readonly segments: Segment[];
  readonly retiredSegments: Set<Segment>;
  readonly active: Segment;
  readonly maxTimestampMs: number;
  readonly endOffset: number;
  dirtyMarked: boolean;
  tickWaiters: Waiter[];
  syncWaiters: Waiter[];
  flush(): Promise<void>;
  fsyncsInFlight(): Array<Promise<unknown>>;
  putStateSync(state: TopicState): void;
  stateFor(clean: boolean, rp: RecoveryPoint): TopicState;
}

/** Clean close: everything durable, then the clean marker with the exact size of the active segment. */
export async function closeTopic(topic: ClosingTopic): Promise<void> {
  if (topic.closed) return;
  await topic.maintenance.stop();
  if (topic.closed) return;
  // Subscriptions end first (pending next() calls settle with done); the positions their groups
  // reached go to the metadata store, which the log flushes and closes after its topics.
  topic.tail.endAll();
  if (topic.groupsLoaded !== undefined && !topic.ctx.options.readOnly) topic.groupsLoaded.handToStore();
  topic.groupsLoaded?.close();
  if (!topic.ctx.options.readOnly) {
    try {
      await topic.flush();
      topic.keyIndex?.persist(topic.endOffset);
      // (commits riding in batches the store has not got yet: the next open scans and re-applies them)
      if (topic.dirtyMarked && (topic.ridden === undefined || topic.ridden.entries.length === 0)) {
        const end: RecoveryPoint = { base: topic.active.baseOffset, position: topic.active.logBytes, offset: topic.endOffset, maxTimestampMs: topic.maxTimestampMs };
        topic.putStateSync(topic.stateFor(true, end));
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
  topic.closed = true;
  topic.tail.endAll();
  topic.groupsLoaded?.close();
  for (const w of topic.tickWaiters) w.reject(err);
  for (const w of topic.syncWaiters) w.reject(err);
  topic.tickWaiters = [];
  topic.syncWaiters = [];
  for (const seg of topic.segments) seg.release();
  for (const seg of topic.retiredSegments) seg.release();
  topic.retiredSegments.clear();
  topic.ctx.readCache.forgetTopic(topic);
}

/**
 * Stops the topic (deleteTopic, close after a failure): pending appends reject with `err` at once,
 * and descriptors are closed only after the fsyncs still running on them have finished.
 */
export async function shutdownTopic(topic: ClosingTopic, err: SeglogError): Promise<void> {
  topic.closed = true;
  topic.tail.endAll();
  topic.groupsLoaded?.close();
  for (const w of topic.tickWaiters) w.reject(err);
  topic.tickWaiters = [];
  topic.ridden?.forgetFrom(0); // (groups of other topics it held go to the store again)
  const inFlight = topic.fsyncsInFlight(); // (just-rolled segments', the group commit's, flush()'s)
  inFlight.push(...topic.maintenance.inFlight()); // a compaction stops at its next slice once closed is set
  await Promise.allSettled(inFlight);
  releaseTopic(topic, err);
}
