// The public types of subscriptions (SPEC.md "Subscriptions" and "Consumer groups"), and of the
// exactly-once option of appendBatch. Types only; topic-api.ts re-exports them.
import type { AppendMeta, LogRecord } from '../format/record.js';

/** Where a group's dead letters go: a topic (only its appendSync is used). */
export interface DeadLetterTopic {
  appendSync(value: any, meta?: AppendMeta): number;
}

/** Options of `topic.appendBatch(records, options)`. */
export interface AppendBatchOptions {
  /**
   * Exactly-once consume-transform-produce: commit a group subscription (of a topic of the same
   * log) in the same atomic step as the append — after any crash both are there or neither is. A
   * subscription commits everything it yielded so far; `{ subscription, offset }` commits up to
   * `offset` (the next offset its group reads), as `sub.commit(offset)` would.
   */
  commit?: Subscription<any> | { subscription: Subscription<any>; offset?: number };
}

/** Options of `topic.subscribe()`. */
export interface SubscribeOptions {
  /** Where to start when the group has no committed position (default `'earliest'`). */
  from?: number | Date | 'earliest' | 'latest';
  /** A consumer group: its committed position is stored durably per (topic, group) and survives restarts. */
  group?: string;
  /** Default true with a group: a record counts as processed (committed) once the consumer asks for the next one. */
  autoCommit?: boolean;
  /** Ends the subscription when aborted. */
  signal?: AbortSignal;
  /** Bound on the records one batches() step hands out (default 1024); nothing else is read ahead. */
  maxBuffered?: number;
  /**
   * Called when the subscription's position was removed by retention (or was below startOffset
   * at subscribe): it continues at `to` (the topic's startOffset); offsets `from` to `to - 1` are gone.
   */
  onGap?: (gap: { from: number; to: number }) => void;
  /**
   * Group members only: the most records this member holds unfinished while its group shares work
   * (default 1024); with autoCommit a step hands out at most this many.
   */
  maxInFlight?: number;
  /** With `deadLetter`: a record given to members this many times without being finished goes there instead. */
  maxDeliveries?: number;
  /** The topic that records which failed `maxDeliveries` times are appended to (with header `seglog-dead-letter`). */
  deadLetter?: DeadLetterTopic;
}

/**
 * A tail cursor: an async iterable that yields existing records from its start, then waits at the
 * tail and yields new ones as they are appended, in offset order, without polling.
 */
export interface Subscription<V> extends AsyncIterable<LogRecord<V>> {
  /** The next offset this subscription will yield. */
  readonly position: number;
  /** `endOffset - position`. */
  readonly lag: number;
  /** Commits the group's position (default: everything yielded so far). Never moves it backwards. */
  commit(offset?: number): Promise<void>;
  /** Ends the subscription; a pending `next()` settles as done. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** The subscription is its own async iterator: the next record (waits at the tail). */
  next(): Promise<IteratorResult<LogRecord<V>>>;
  /** What `break` in for await calls: close(). */
  return(): Promise<IteratorResult<LogRecord<V>>>;
  /** Arrays of the records readable now (1 to maxBuffered per step), for throughput. */
  batches(): AsyncIterableIterator<LogRecord<V>[]>;
}
