// SubscriptionImpl: a tail cursor on one topic (topic.subscribe()), an async iterator of records
// that first yields what the topic holds from its start position, then waits at the end and yields
// new records once the writer has handed them to the OS (woken through the topic's Tail at the end
// of the tick: no polling, no timers).
//
// Records are read through the topic's Reader (a tail Cursor): the same zero-copy LogRecord views
// as read(), taken from the active segment's memory at the tail or from large reads of the
// segment files behind it. The cursor follows the written end (it pauses there and reads on after
// the next write) instead of being made again at every wake. Nothing is queued: a subscription
// holds its cursor (at most one read buffer) and hands out at most `maxBuffered` records per
// batches() step, so memory stays bounded however far behind a consumer is, and slow
// subscriptions never hold up appends or other ones.
//
// While two or more subscriptions are open, those positioned together share the records the
// first of them read (the topic's FanOut window, fan-out.ts): one decode per record, not one per
// subscription, and a batch is a slice of the window. A subscription behind the window reads with
// its own cursor until it gets there.
//
// With a group, the start position is the group's committed position; autoCommit moves it once
// the consumer asks for the next record (at-least-once: a crash re-delivers at most the record
// being processed). close(), break, a throw out of for await and the signal commit only what came
// before the record (or batch) in hand: that one is delivered again. A position removed by retention
// continues at the topic's startOffset and is reported to `onGap`.
//
// Several open subscriptions of one group share its records (group-member.ts, group-share.ts):
// while the group has a share, take() reads through it (the share's one frontier cursor,
// group-reader.ts) instead of from this subscription's own position.
//
// The reading at the position (the fan-out window, the own cursor, gaps) is subscription-read.ts,
// the commits (commit(), prepareCommit(), close()'s) subscription-commit.ts, and telling a Node
// stream apart subscription-stream.ts: functions this class passes itself to, so the fields they
// use are not private (nothing outside these files touches them).
//
// Crash: nothing here is on disk; committed positions are ConsumerGroups' (consumer-groups.ts).
import { SeglogError, invalidArgument } from '../base/errors.js';
import type { ConsumerGroups, GroupState } from './consumer-groups.js';
import { GroupMember, MAX_IN_FLIGHT_DEFAULT, type MemberSubscription } from './group-member.js';
import { SUBSCRIPTION_BUFFERED_DEFAULT, checkOptions } from './subscribe-options.js';
export { GROUP_NAME_LENGTH_MAX, SUBSCRIPTION_BUFFERED_DEFAULT, SUBSCRIPTION_BUFFERED_MAX } from './subscribe-options.js';
import { dropCursor, idle, pull, pullBatch } from './subscription-read.js';
import { commitGroup, commitOnClose, prepareGroupCommit } from './subscription-commit.js';
import { noteStream } from './subscription-stream.js';
import type { Cursor } from '../log/reader.js';
import type { LogRecord } from '../format/record.js';
import type { TailMember } from '../log/tail.js';
import type { SubscribeOptions, Subscription } from './subscription-api.js';
import type { Tail } from '../log/tail.js';
import type { FanOutLog } from './fan-out.js';
import type { ShareTopic } from './group-share.js';

/** What a subscription needs of its topic. */
export interface SubscribedLog<V> extends FanOutLog<V>, ShareTopic<V> {
  /** The topic's subscriptions, and those waiting at its end. */
  readonly tail: Tail;
  /** The first offset at or after `time` (endOffset if none). */
  offsetForTime(time: Date | number): number;
  /** Hands the open batch to the OS soon (a subscription waits for it). */
  writeSoon(): void;
}

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined }) as IteratorResult<never>;

interface Pending<T> {
  resolve: (r: IteratorResult<T>) => void;
  reject: (err: unknown) => void;
  batch: boolean;
}

export class SubscriptionImpl<V> implements Subscription<V>, AsyncIterableIterator<LogRecord<V>>, TailMember, MemberSubscription<V> {
  // (not private: subscription-read.ts, subscription-commit.ts and subscription-stream.ts use them)
  _position: number;
  /**
   * Everything below this was finished: the consumer asked for more after it was yielded
   * (autoCommit), or commit() covered it.
   */
  finished: number;
  cursor: Cursor<V> | undefined = undefined;
  /** The end the cursor reads to (the topic's written end when it was created). */
  cursorEnd = 0;
  closed = false;
  /** Its place in the group (group-member.ts), from the constructor until the end. */
  member: GroupMember<V> | undefined = undefined;
  private closing: Promise<void> | undefined = undefined;
  private pending: Pending<any> | undefined = undefined;
  private pendingPromise: Promise<unknown> | undefined = undefined;
  readonly groups: ConsumerGroups | undefined;
  readonly group: GroupState | undefined;
  readonly autoCommit: boolean;
  /** Read by a Node stream (noteStream()): asking for more finishes nothing. */
  streamed = false;
  readonly maxBuffered: number;
  private readonly signal: AbortSignal | undefined;
  readonly onGap: ((gap: { from: number; to: number }) => void) | undefined;
  private readonly onAbort = (): void => this.finish();

  constructor(readonly topic: SubscribedLog<V>, options: SubscribeOptions | undefined, groups: () => ConsumerGroups) {
    const o = checkOptions(options);
    const readOnly = topic.readOnly;
    if (o.autoCommit === true && o.group === undefined) throw invalidArgument('option autoCommit', true, 'false or left out when no group is given (autoCommit commits a group position)');
    if (o.autoCommit === true && readOnly) throw new SeglogError('ERR_READ_ONLY', `autoCommit needs a writable log: topic ${topic.name} was opened read-only`);
    this.maxBuffered = o.maxBuffered ?? SUBSCRIPTION_BUFFERED_DEFAULT;
    this.onGap = o.onGap;
    this.signal = o.signal;
    if (o.group !== undefined) {
      this.groups = groups();
      this.group = this.groups.get(o.group);
    }
    this.autoCommit = this.group !== undefined && !readOnly && o.autoCommit !== false;
    let start: number;
    if (this.group !== undefined && this.group.committed >= 0) {
      // (a position past the end: the log lost data a power cut took under 'os'/'none')
      start = Math.min(this.group.committed, topic.endOffset);
    } else if (o.from === undefined || o.from === 'earliest') {
      start = topic.startOffset;
    } else if (o.from === 'latest') {
      start = topic.endOffset;
    } else if (o.from instanceof Date) {
      start = topic.offsetForTime(o.from);
    } else {
      start = o.from;
      if (start > topic.endOffset) {
        throw new SeglogError('ERR_OFFSET_OUT_OF_RANGE', `subscribe from offset ${start}: topic ${topic.name} ends at ${topic.endOffset}`, { value: start });
      }
    }
    this._position = start;
    this.finished = start;
    if (this.signal?.aborted) {
      this.closed = true;
      return;
    }
    topic.tail.members.add(this);
    if (this.group !== undefined) {
      this.member = new GroupMember<V>(this.group, this.groups!, topic, this, {
        maxInFlight: o.maxInFlight ?? MAX_IN_FLIGHT_DEFAULT,
        maxDeliveries: o.maxDeliveries ?? Infinity,
        deadLetter: o.deadLetter as never,
      }, !readOnly);
      this.member.join();
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    // A new group records where it starts, so that a restart before the first record is consumed
    // resumes here (and not at a later 'latest').
    if (this.autoCommit && this.group!.committed < 0) this.groups!.advance(this.group!, Math.max(start, topic.startOffset));
  }

  /** The topic it reads. */
  get source(): SubscribedLog<V> {
    return this.topic;
  }

  /** The next offset this subscription will yield (startOffset when retention removed its position). */
  get position(): number {
    return Math.max(this._position, this.topic.startOffset);
  }

  get lag(): number {
    return Math.max(0, this.topic.endOffset - this.position);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LogRecord<V>> {
    noteStream(this);
    return this;
  }

  next(): Promise<IteratorResult<LogRecord<V>>> {
    return this.step(false) as Promise<IteratorResult<LogRecord<V>>>;
  }

  /**
   * `break`, `return` or a throw out of for await: ends the subscription, committing only what came
   * before the record in hand (a record whose processing failed is delivered again).
   */
  async return(): Promise<IteratorResult<LogRecord<V>>> {
    await this.close();
    return DONE;
  }

  /**
   * Batch consumption: each step yields the records readable now (at least one, at most
   * maxBuffered), waiting at the tail like next(). Shares the position with the record iterator.
   */
  batches(): AsyncIterableIterator<LogRecord<V>[]> {
    const iterator: AsyncIterableIterator<LogRecord<V>[]> = {
      next: () => this.step(true) as Promise<IteratorResult<LogRecord<V>[]>>,
      return: async () => {
        await this.close();
        return DONE;
      },
      [Symbol.asyncIterator]: () => {
        noteStream(this);
        return iterator;
      },
    };
    return iterator;
  }

  private step(batch: boolean): Promise<IteratorResult<LogRecord<V> | LogRecord<V>[]>> {
    // Ended (close(), break, the signal, log.close()): the record in hand stays unfinished.
    if (this.closed) return Promise.resolve(DONE);
    if (this.pendingPromise !== undefined) {
      // next() called again before the last one settled: in turn
      const after = this.pendingPromise.then(() => this.step(batch), () => this.step(batch));
      return after;
    }
    // The consumer asks for more: what it was given counts as processed.
    if (this.member !== undefined && this.member.shared()) {
      if (this.autoCommit && !this.streamed) this.member.finishHeld();
    } else if (this.autoCommit && !this.streamed) {
      this.finished = this._position;
      if (this._position > this.group!.committed) this.groups!.advance(this.group!, this._position);
    }
    try {
      const value = this.take(batch);
      if (value !== undefined) {
        idle(this);
        return Promise.resolve({ done: false, value });
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const promise = new Promise<IteratorResult<LogRecord<V> | LogRecord<V>[]>>((resolve, reject) => {
      this.pending = { resolve, reject, batch };
    });
    this.pendingPromise = promise;
    idle(this);
    this.topic.tail.wait(this);
    this.topic.writeSoon();
    return promise;
  }

  /** The next record (or batch) for this subscription, through its group's share if it has one. */
  private take(batch: boolean): LogRecord<V> | Array<LogRecord<V>> | undefined {
    const member = this.member;
    if (member !== undefined && this.group!.share !== undefined) return member.pull(batch, this.maxBuffered);
    // (a lone member's records in hand go to the store at the end of the tick: their deliveries count after a crash)
    if (!batch) {
      const record = pull(this);
      if (record !== undefined && member !== undefined) member.gave();
      return record;
    }
    const records = pullBatch(this);
    if (records.length === 0) return undefined;
    if (member !== undefined) member.gave();
    return records;
  }

  // MemberSubscription (group-member.ts)
  movedTo(position: number): void {
    if (this.cursor !== undefined) dropCursor(this); // (its own cursor, from before the group was shared)
    this._position = position;
  }

  soloRange(): { from: number; to: number } {
    return { from: Math.min(this.finished, this._position), to: this._position };
  }

  becomeSolo(finished: number, position: number): void {
    if (this._position !== position) {
      dropCursor(this);
      this._position = position;
    }
    this.finished = finished;
  }

  /** The group's share changed (a member left records to take): deliver to a pending next(). */
  wakeShared(): void {
    const p = this.pending;
    if (p === undefined || this.closed) return;
    let value: LogRecord<V> | Array<LogRecord<V>> | undefined;
    try {
      value = this.take(p.batch);
    } catch (err) {
      this.settle();
      p.reject(err);
      return;
    }
    if (value === undefined) return; // (still waiting at the tail)
    idle(this);
    this.settle();
    p.resolve({ done: false, value });
  }

  /** Called by the Tail at the end of a tick in which records were written. */
  wake(): void {
    const p = this.pending;
    if (p === undefined || this.closed) return;
    let value: LogRecord<V> | Array<LogRecord<V>> | undefined;
    try {
      value = this.take(p.batch);
    } catch (err) {
      this.settle();
      p.reject(err);
      return;
    }
    if (value === undefined) {
      idle(this);
      this.topic.tail.wait(this); // nothing new for this one (still at the written end)
      return;
    }
    idle(this);
    this.settle();
    p.resolve({ done: false, value });
  }

  private settle(): void {
    this.pending = undefined;
    this.pendingPromise = undefined;
  }

  /** The topic is closing or deleted: end without committing anything more. */
  end(): void {
    this.finish(true);
  }

  /** Ends the subscription (idempotent): pending next() settles with done; nothing is kept. */
  private finish(topicClosing = false): void {
    if (this.closed && this.pending === undefined) return;
    this.closed = true;
    const member = this.member;
    if (member !== undefined) {
      this.member = undefined;
      // what it holds unfinished goes to another member (or the next one)
      member.leave(topicClosing, this.group!.share === undefined ? this.soloRange() : undefined);
    }
    this.topic.tail.forget(this);
    this.signal?.removeEventListener('abort', this.onAbort);
    dropCursor(this);
    const p = this.pending;
    this.settle();
    p?.resolve(DONE);
  }

  /**
   * Ends the subscription; with autoCommit, commits what was finished (not the record or batch in
   * hand) and resolves once that is durable.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const wasOpen = !this.closed;
    this.finish();
    this.closing = commitOnClose(this, wasOpen);
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** For `out.appendBatch(records, { commit: this })` (exactly-once): see subscription-commit.ts. */
  prepareCommit(offset: number | undefined): { groups: ConsumerGroups; state: GroupState; ranges: number[]; apply: () => void } {
    return prepareGroupCommit(this, offset);
  }

  /**
   * Commits `offset` as the group's position (the next offset it reads; Kafka's convention), by
   * default everything yielded so far. A position below the committed one is ignored (positions
   * never move backwards). Resolves once the position is durable.
   */
  commit(offset?: number): Promise<void> {
    return commitGroup(this, offset);
  }
}
