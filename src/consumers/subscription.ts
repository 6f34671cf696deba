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
// while the group has a share, take() reads through it instead of from this cursor's own position.
//
// Crash: nothing here is on disk; committed positions are ConsumerGroups' (consumer-groups.ts).
import { SeglogError, invalidArgument } from '../base/errors.js';
import type { ConsumerGroups, GroupState } from './consumer-groups.js';
import { FanOut, shareableCodec } from './fan-out.js';
import { GroupMember, MAX_IN_FLIGHT_DEFAULT, type MemberSubscription } from './group-member.js';
import { SUBSCRIPTION_BUFFERED_DEFAULT, checkOptions } from './subscribe-options.js';
export { GROUP_NAME_LENGTH_MAX, SUBSCRIPTION_BUFFERED_DEFAULT, SUBSCRIPTION_BUFFERED_MAX } from './subscribe-options.js';
import { Cursor, checkOffset } from '../log/reader.js';
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

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined }) as IteratorResult<never>;
/** pullBatch() found nothing (never handed out). */
const NOTHING: never[] = [];

interface Pending<T> {
  resolve: (r: IteratorResult<T>) => void;
  reject: (err: unknown) => void;
  batch: boolean;
}

export class SubscriptionImpl<V> implements Subscription<V>, AsyncIterableIterator<LogRecord<V>>, TailMember, MemberSubscription<V> {
  private _position: number;
  /**
   * Everything below this was finished: the consumer asked for more after it was yielded
   * (autoCommit), or commit() covered it.
   */
  private finished: number;
  private cursor: Cursor<V> | undefined = undefined;
  /** The end the cursor reads to (the topic's written end when it was created). */
  private cursorEnd = 0;
  private closed = false;
  /** Its place in the group (group-member.ts), from the constructor until the end. */
  private member: GroupMember<V> | undefined = undefined;
  private closing: Promise<void> | undefined = undefined;
  private pending: Pending<any> | undefined = undefined;
  private pendingPromise: Promise<unknown> | undefined = undefined;
  private readonly groups: ConsumerGroups | undefined;
  private readonly group: GroupState | undefined;
  private readonly autoCommit: boolean;
  /** Read by a Node stream (noteStream()): asking for more finishes nothing. */
  private streamed = false;
  private readonly maxBuffered: number;
  private readonly signal: AbortSignal | undefined;
  private readonly onGap: ((gap: { from: number; to: number }) => void) | undefined;
  private readonly onAbort = (): void => this.finish();

  constructor(private readonly topic: SubscribedLog<V>, options: SubscribeOptions | undefined, groups: () => ConsumerGroups) {
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
    this.noteStream();
    return this;
  }

  /**
   * Called when the iterator is taken: a Node stream (Readable.from, Duplex.from, pipeline with the
   * subscription as its source) reads ahead of its sink, and no call here tells which records the
   * sink finished. So records it takes are not committed by asking for more: its sink commits them
   * (docs/subscriptions.md, "Node streams"); close() still commits what commit() covered.
   */
  private noteStream(): void {
    if (!this.autoCommit || this.streamed) return;
    if (!calledByNodeStream()) return;
    this.streamed = true;
    if (!streamWarned) {
      streamWarned = true;
      process.emitWarning(`a group subscription (topic ${this.topic.name}, group ${this.group!.name}) is read by a Node stream: autoCommit cannot see which records the sink finished, so records are committed only by commit() (in the sink). See docs/subscriptions.md, "Node streams".`, { code: 'SEGLOG_STREAM_COMMIT' });
    }
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
        this.noteStream();
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
        this.idle();
        return Promise.resolve({ done: false, value });
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const promise = new Promise<IteratorResult<LogRecord<V> | LogRecord<V>[]>>((resolve, reject) => {
      this.pending = { resolve, reject, batch };
    });
    this.pendingPromise = promise;
    this.idle();
    this.topic.tail.wait(this);
    this.topic.writeSoon();
    return promise;
  }

  /** The next record (or batch) for this subscription, through its group's share if it has one. */
  private take(batch: boolean): LogRecord<V> | Array<LogRecord<V>> | undefined {
    if (this.member !== undefined && this.group!.share !== undefined) return this.member.pull(batch, this.maxBuffered);
    if (!batch) return this.pull();
    const records = this.pullBatch();
    return records.length > 0 ? records : undefined;
  }

  // MemberSubscription (group-member.ts)
  readAt(from: number, max: number, batch: boolean): LogRecord<V> | Array<LogRecord<V>> | undefined {
    if (this._position !== from) {
      this.dropCursor();
      this._position = from;
    }
    if (!batch) return this.pull();
    const records = this.pullBatch(max);
    return records.length > 0 ? records : undefined;
  }

  get readPosition(): number {
    return this._position;
  }

  soloRange(): { from: number; to: number } {
    return { from: Math.min(this.finished, this._position), to: this._position };
  }

  becomeSolo(finished: number, position: number): void {
    if (this._position !== position) {
      this.dropCursor();
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
    this.idle();
    this.settle();
    p.resolve({ done: false, value });
  }

  /** The topic's shared window, when this subscription reads through it (fan-out.ts). */
  private window(): FanOut<V> | undefined {
    const tail = this.topic.tail;
    if (tail.members.size < 2 || !shareableCodec(this.topic.codec)) return undefined;
    return (tail.window ??= new FanOut<V>(this.topic, tail.members)) as FanOut<V>;
  }

  /** The next readable record, or undefined at the written end. */
  private pull(): LogRecord<V> | undefined {
    const fan = this.window();
    if (fan !== undefined) {
      const topic = this.topic;
      if (this._position < topic.startOffset) this.gap();
      const position = this._position;
      if (position >= topic.writtenEnd) return undefined;
      const i = fan.reach(position, position + 1);
      if (i >= 0 && i < fan.records.length) {
        this.dropCursor();
        this._position = position + 1;
        return fan.records[i];
      }
    }
    return this.pullOwn();
  }

  /**
   * The next readable record through this subscription's own cursor. The cursor reads
   * [position, cursorEnd); at cursorEnd it pauses, and reads on once the written end has moved.
   */
  private pullOwn(): LogRecord<V> | undefined {
    const topic = this.topic;
    for (;;) {
      if (this._position < topic.startOffset) this.gap();
      let cursor = this.cursor;
      if (cursor !== undefined && topic.writtenEnd < this.cursorEnd) {
        // The written end moved back (a failed write was rolled back): what the cursor would read
        // past it may be replaced.
        this.dropCursor();
        cursor = undefined;
      }
      if (cursor !== undefined && this._position >= this.cursorEnd) {
        const end = topic.writtenEnd;
        if (this._position >= end) return undefined;
        if (cursor.extendTo(end)) {
          this.cursorEnd = end;
        } else {
          this.dropCursor();
          cursor = undefined;
        }
      }
      if (cursor === undefined) {
        const end = topic.writtenEnd;
        if (this._position >= end) return undefined;
        cursor = this.cursor = new Cursor<V>(topic, this._position, end, Infinity, Infinity, true);
        this.cursorEnd = end;
      }
      const r = cursor.next();
      if (r.done !== true) {
        const record = r.value;
        this._position = record.offset + 1;
        return record;
      }
      // The cursor covered [position, cursorEnd): offsets in it that it did not yield were
      // compacted away.
      if (this.cursorEnd > this._position) this._position = this.cursorEnd;
    }
  }

  /** At least one and at most maxBuffered readable records, or none at the written end. */
  private pullBatch(max = this.maxBuffered): Array<LogRecord<V>> {
    const fan = this.window();
    if (fan === undefined) {
      const record = this.pullOwn();
      if (record === undefined) return NOTHING;
      const out = [record];
      while (out.length < max) {
        const next = this.pullOwn();
        if (next === undefined) break;
        out.push(next);
      }
      return out;
    }
    const topic = this.topic;
    let out: Array<LogRecord<V>> | undefined;
    let count = 0;
    while (count < max) {
      if (this._position < topic.startOffset) this.gap();
      const position = this._position;
      if (position >= topic.writtenEnd) break;
      const i = fan.reach(position, position + (max - count));
      const records = fan.records;
      const n = i < 0 ? 0 : Math.min(max - count, records.length - i);
      if (n > 0) {
        this.dropCursor();
        if (out === undefined) {
          out = records.slice(i, i + n);
        } else {
          for (let k = i; k < i + n; k++) out.push(records[k]!);
        }
        count += n;
        this._position = position + n;
        continue;
      }
      // Behind the window (or at a compacted gap it skipped): read up to it with our own cursor.
      const record = this.pullOwn();
      if (record === undefined) break;
      (out ??= []).push(record);
      count++;
      while (count < max && this._position < fan.base) {
        const next = this.pullOwn();
        if (next === undefined) break;
        out.push(next);
        count++;
      }
    }
    return out ?? NOTHING;
  }

  /** The position was removed by retention: continue at startOffset and say so. */
  private gap(): void {
    const from = this._position;
    const to = this.topic.startOffset;
    this._position = to;
    this.dropCursor();
    if (this.onGap !== undefined) this.onGap({ from, to });
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
      this.idle();
      this.topic.tail.wait(this); // nothing new for this one (still at the written end)
      return;
    }
    this.idle();
    this.settle();
    p.resolve({ done: false, value });
  }

  /**
   * At the written end (about to wait, or handing out the last records written): the cursor
   * pauses (it holds no buffer and no segment until the subscription reads on, however long that
   * takes), or goes if it cannot read on from where it is.
   */
  private idle(): void {
    const cursor = this.cursor;
    if (cursor !== undefined && this._position >= this.topic.writtenEnd && !cursor.park()) this.dropCursor();
  }

  /** Lets go of the cursor before its end (it releases the segment it holds). */
  private dropCursor(): void {
    const cursor = this.cursor;
    this.cursor = undefined;
    cursor?.return();
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
    this.dropCursor();
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
    const commit = wasOpen && this.autoCommit && !this.topic.closed;
    // (with a share, leaving moved the group's position already: the commit makes it durable)
    const target = this.group?.share !== undefined ? this.group.committed : this.finished;
    this.closing = commit ? this.groups!.commit(this.group!, target).catch((err: unknown) => {
      if (this.topic.closed) return; // the log closed meanwhile: its close wrote the position
      throw err;
    }) : Promise.resolve();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * For `out.appendBatch(records, { commit: this })` (exactly-once, ridden.ts): checks the commit
   * as commit() does and says which offsets it finishes; `apply` makes it, in memory, once the
   * output append resolved. `offset` defaults to everything yielded so far (fixed now: records
   * yielded later are not covered).
   */
  prepareCommit(offset: number | undefined): { groups: ConsumerGroups; state: GroupState; ranges: number[]; apply: () => void } {
    if (this.group === undefined) throw new SeglogError('ERR_INVALID_ARGUMENT', `option commit: the subscription of topic ${this.topic.name} has no group (exactly-once commits a group position)`, { value: this.topic.name });
    this.topic.checkOpen();
    if (this.topic.readOnly) throw new SeglogError('ERR_READ_ONLY', `cannot commit a group position: topic ${this.topic.name} was opened read-only`);
    if (this.closed) throw new SeglogError('ERR_CLOSED', `option commit: the subscription of group ${this.group.name} on topic ${this.topic.name} is closed (its records may be another member's now)`, { value: this.group.name });
    const target = offset === undefined ? this._position : checkOffset('commit offset', offset);
    if (target > this.topic.endOffset) {
      throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid commit offset: ${target} is past the end of topic ${this.topic.name} (${this.topic.endOffset})`, { value: target });
    }
    const state = this.group;
    const groups = this.groups!;
    const member = this.member;
    const ranges = member !== undefined && state.share !== undefined ? member.heldBelow(target)
      : ((from) => (target > from ? [from, target] : []))(state.committed >= 0 ? state.committed : this.finished);
    return {
      groups, state, ranges,
      apply: () => {
        if (!this.closed && member !== undefined && state.share !== undefined) {
          member.commitHeld(target);
        } else if (state.share !== undefined) {
          // the subscription closed meanwhile (what it held went back to the group) or the group
          // became shared: the output is written, so these records are finished whoever holds them
          state.share.finishRanges(ranges);
          groups.advance(state, state.share.low());
        } else {
          this.finished = Math.max(this.finished, Math.min(target, this._position));
          groups.advance(state, target);
        }
      },
    };
  }

  /**
   * Commits `offset` as the group's position (the next offset it reads; Kafka's convention), by
   * default everything yielded so far. A position below the committed one is ignored (positions
   * never move backwards). Resolves once the position is durable.
   */
  commit(offset?: number): Promise<void> {
    try {
      if (this.group === undefined) throw new SeglogError('ERR_INVALID_ARGUMENT', `commit() needs a subscription with a group (topic ${this.topic.name})`, { value: offset });
      this.topic.checkOpen();
      if (this.topic.readOnly) throw new SeglogError('ERR_READ_ONLY', `cannot commit a group position: topic ${this.topic.name} was opened read-only`);
      const target = offset === undefined ? this._position : checkOffset('commit offset', offset);
      if (target > this.topic.endOffset) {
        throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid commit offset: ${target} is past the end of topic ${this.topic.name} (${this.topic.endOffset})`, { value: target });
      }
      if (this.member !== undefined && this.group.share !== undefined) return this.groups!.commit(this.group, this.member.commitHeld(offset === undefined ? Infinity : target));
      // the records yielded below the target are finished (so a break after it keeps them)
      this.finished = Math.max(this.finished, Math.min(target, this._position));
      return this.groups!.commit(this.group, target);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
