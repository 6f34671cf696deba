// A subscription read by a Node stream (subscription.ts; docs/subscriptions.md, "Node streams"):
// Readable.from, Duplex.from or pipeline with the subscription as its source read ahead of their
// sink, and no call tells which records the sink finished, so records such a stream takes are not
// committed by asking for more (autoCommit): its sink commits them with commit(). noteStream() is
// called when the iterator is taken ([Symbol.asyncIterator] of the subscription or of batches()):
// it tells Node's stream code by the caller's frame, marks the subscription `streamed` and warns
// once per process (SEGLOG_STREAM_COMMIT).
//
// Invariant: the call depth is fixed: noteStream, [Symbol.asyncIterator], its caller — the frame
// calledByNodeStream() looks at. Crash: nothing here is on disk.
import type { GroupState } from './consumer-groups.js';

/** What noteStream() needs of a subscription (SubscriptionImpl's fields). */
export interface StreamedSubscription {
  readonly topic: { readonly name: string };
  readonly group: GroupState | undefined;
  readonly autoCommit: boolean;
  /** Read by a Node stream: asking for more finishes nothing. */
  streamed: boolean;
}

let streamWarned = false;

/** Whether the caller of the caller is Node's stream code (node:internal/streams/...). */
function calledByNodeStream(): boolean {
  const limit = Error.stackTraceLimit;
  const holder: { stack?: string } = {};
  try {
    Error.stackTraceLimit = 3;
    Error.captureStackTrace(holder, calledByNodeStream);
  } finally {
    Error.stackTraceLimit = limit;
  }
  // frames: noteStream, [Symbol.asyncIterator], its caller
  const lines = (holder.stack ?? '').split('\n');
  return lines[3] !== undefined && lines[3].includes('(node:internal/streams/');
}

/**
 * Called when the iterator is taken: a Node stream (Readable.from, Duplex.from, pipeline with the
 * subscription as its source) reads ahead of its sink, and no call here tells which records the
 * sink finished. So records it takes are not committed by asking for more: its sink commits them
 * (docs/subscriptions.md, "Node streams"); close() still commits what commit() covered.
 */
export function noteStream(s: StreamedSubscription): void {
  if (!s.autoCommit || s.streamed) return;
  if (!calledByNodeStream()) return;
  s.streamed = true;
  if (!streamWarned) {
    streamWarned = true;
    process.emitWarning(`a group subscription (topic ${s.topic.name}, group ${s.group!.name}) is read by a Node stream: autoCommit cannot see which records the sink finished, so records are committed only by commit() (in the sink). See docs/subscriptions.md, "Node streams".`, { code: 'SEGLOG_STREAM_COMMIT' });
  }
}
