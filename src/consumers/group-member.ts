// GroupMember: one open subscription of a consumer group, as the group's share sees it
// (group-share.ts). While its group has a share, the subscription reads through this: a released
// record above the last one it was given (redelivered, with its deliveryCount), else the next
// records from the share's frontier, read with the cursor the share holds for all its members
// (group-reader.ts: not the subscription's own, nor the topic's fan-out window). What it was given
// is finished when it asks for more (autoCommit) or commit() covers it, and released when it
// leaves (close, break, a throw, the signal); a record released `maxDeliveries` times goes to the
// dead-letter topic instead. While the group has no share the subscription reads alone, as it
// always did (subscription.ts), and this object only keeps its place in the group.
//
// After a restart, the first member to join makes the share from what the store kept (records
// finished out of order, records handed out and not finished with their delivery counts); the
// records among them that reached its maxDeliveries go to its dead-letter topic at once.
//
// Crash: nothing here is on disk (see group-share.ts and consumer-groups.ts).
import type { ConsumerGroups, GroupState, OpenMember } from './consumer-groups.js';
import { GroupShare, firstRecord, tooManyInFlight, type ShareMember, type ShareTopic } from './group-share.js';
import type { LogRecord } from '../format/record.js';
import type { DeadLetterTopic } from './subscription-api.js';
import { FrontierReader } from './group-reader.js';
import type { TailedLog } from './subscription-read.js';

/** Default bound on the unfinished records one member of a shared group holds. */
export const MAX_IN_FLIGHT_DEFAULT = 1024;
export const MAX_IN_FLIGHT_MAX = 1_000_000;
/** Header a dead-lettered record carries: `<topic>/<offset>/<group>/<deliveries>`. */
export const DEAD_LETTER_HEADER = 'seglog-dead-letter';

/** What the member needs of its subscription. */
export interface MemberSubscription<V> {
  /** The topic, as the share's frontier reader reads it (group-reader.ts). */
  readonly source: TailedLog<V>;
  /** Where a position removed by retention is reported. */
  readonly onGap: ((gap: { from: number; to: number }) => void) | undefined;
  /** It was given the records up to `position` (read for it at the share's frontier): it reads on from there. */
  movedTo(position: number): void;
  /** [first unfinished, next to read) while it reads alone. */
  soloRange(): { from: number; to: number };
  /** The group's share is gone: read alone on from `position`, with [finished, position) in hand. */
  becomeSolo(finished: number, position: number): void;
  /** Deliver to a pending next() if there is something now (it still waits at the tail if not). */
  wakeShared(): void;
}

export interface MemberOptions<V> {
  maxInFlight: number;
  maxDeliveries: number;
  deadLetter: DeadLetterTopic | undefined;
}

let nextMemberId = 1;

export class GroupMember<V> implements OpenMember, ShareMember {
  readonly memberId = nextMemberId++;
  /** The last offset this member was given while shared (-1: none): offsets given to it only increase. */
  private lastGiven = -1;

  constructor(
    private readonly state: GroupState,
    private readonly groups: ConsumerGroups,
    private readonly topic: ShareTopic<V>,
    private readonly sub: MemberSubscription<V>,
    private readonly options: MemberOptions<V>,
    /** False on a read-only log: the group's position is not moved (it cannot be committed). */
    private readonly commits: boolean,
  ) {}

  private advance(share: GroupShare): void {
    if (!this.commits) return;
    this.groups.advance(this.state, share.low());
    this.groups.markDone(this.state);
  }

  /** Joins the group: with a member already reading alone, the group starts sharing. */
  join(): void {
    const state = this.state;
    if (state.share === undefined && state.open.size > 0) {
      const [alone] = state.open as Set<OpenMember & ShareMember>;
      const { from, to } = alone!.soloRange();
      const share = new GroupShare(Math.max(to, state.committed));
      share.hold(alone!, from, to);
      state.share = share;
    } else if (state.share === undefined && state.committed >= 0 && (state.storedDone !== undefined || (state.storedInFlight?.length ?? 0) > 0)) {
      // records finished out of order before a restart: the members skip them; records handed out
      // and not finished: released, each with the deliveries it had (the one a crash interrupted included)
      const share = state.share = new GroupShare(state.committed, state.storedDone, state.storedInFlight);
      state.storedDone = undefined;
      state.storedInFlight = undefined;
      state.open.add(this);
      const exhausted = this.options.deadLetter === undefined ? [] : share.exhausted(this.options.maxDeliveries);
      for (const offset of exhausted) this.deadLetter(share, offset);
      if (exhausted.length > 0) this.advance(share);
      return;
    }
    state.storedDone = undefined;
    state.storedInFlight = undefined;
    state.open.add(this);
  }

  /** A lone member was given records: what it has in hand goes to the store at the end of the tick. */
  gave(): void {
    if (!this.state.dirty && this.commits) this.groups.touch(this.state);
  }

  soloInFlight(committed: number): number[] {
    const { from, to } = this.sub.soloRange();
    const start = Math.max(from, committed);
    const end = Math.min(to, start + this.options.maxInFlight);
    return end > start ? [start, end, 1] : [];
  }

  soloRange(): { from: number; to: number } {
    return this.sub.soloRange();
  }

  wake(): void {
    this.sub.wakeShared();
  }

  /** Whether the subscription reads through the share now (drops a share that is empty again). */
  shared(): boolean {
    const share = this.state.share;
    if (share === undefined) return false;
    if (this.state.open.size === 1 && share.soloFor(this)) {
      const held = share.heldCount(this);
      share.reader?.drop();
      this.state.share = undefined;
      this.sub.becomeSolo(share.frontier - held, share.frontier);
      return false;
    }
    return true;
  }

  /** The consumer asked for more: what it holds is finished (autoCommit). */
  finishHeld(): void {
    const share = this.state.share!;
    share.finish(this);
    this.advance(share);
  }

  /** The next record (or batch) for this member, or undefined when there is none now. */
  pull(batch: boolean, maxBuffered: number): LogRecord<V> | Array<LogRecord<V>> | undefined {
    const share = this.state.share!;
    const room = this.options.maxInFlight - share.heldCount(this);
    if (room <= 0) throw tooManyInFlight(this.state.name, this.topic.name, this.options.maxInFlight);
    const again = share.takeReleased(this, this.lastGiven, this.topic);
    if (again !== undefined) {
      (again as { deliveryCount: number } & LogRecord<V>).deliveryCount = share.deliveries(again.offset);
      this.lastGiven = again.offset;
      this.advance(share);
      return batch ? [again] : again;
    }
    share.skipDone();
    const from = share.frontier;
    const reader = (share.reader ??= new FrontierReader<V>(this.sub.source)) as FrontierReader<V>;
    const got = reader.read(from, Math.min(maxBuffered, room, share.nextDoneStart(from) - from), batch, this.sub.onGap);
    if (got === undefined) return undefined;
    const first = Array.isArray(got) ? got[0]!.offset : got.offset;
    const to = reader.position;
    this.sub.movedTo(to);
    share.advanceFrontier(from, to);
    // offsets before the first record (compacted or removed) were never there: finished at once
    share.hold(this, first, to);
    this.lastGiven = to - 1;
    this.advance(share);
    return got;
  }

  /**
   * commit(offset) while shared: what this member holds below `below` is finished, and records never
   * handed out below it are skipped (the frontier moves there, as a lone member's commit ahead
   * does). Returns the group's position.
   */
  /** The offsets commitHeld(below) would finish (flat [from, to) pairs). */
  heldBelow(below: number): number[] {
    return this.state.share!.heldBelow(this, below);
  }

  commitHeld(below: number): number {
    const share = this.state.share!;
    share.finish(this, below);
    if (below !== Infinity && below > share.frontier) share.advanceFrontier(share.frontier, below);
    const low = share.low();
    this.groups.advance(this.state, low);
    return low;
  }

  /**
   * The subscription ended. Unless the topic is closing, what it holds unfinished goes to another
   * member (or, past maxDeliveries, to the dead-letter topic). `unfinished` is what it held while
   * reading alone: a share is made for it so that its delivery count is known.
   */
  leave(topicClosing: boolean, unfinished: { from: number; to: number } | undefined): void {
    const state = this.state;
    state.open.delete(this);
    if (state.open.size === 0) state.share?.reader?.drop(); // (made again by the next member's read)
    if (topicClosing && state.share === undefined && unfinished !== undefined && this.commits && !state.removed) {
      // the log is closing: what a lone member has in hand counts as delivered after the reopen
      // (the close hands it to the store, even when it was given in this very tick)
      state.storedInFlight = this.soloInFlight(state.committed);
      this.groups.touch(state);
    }
    if (topicClosing || state.removed) return;
    let share = state.share;
    if (share === undefined) {
      if (unfinished === undefined || unfinished.to <= unfinished.from) return;
      share = state.share = new GroupShare(unfinished.to);
      share.hold(this, unfinished.from, unfinished.to);
    }
    const exhausted = share.release(this, this.options.maxDeliveries);
    for (const offset of exhausted) this.deadLetter(share, offset);
    this.advance(share);
    // members waiting at the tail may take what was released
    for (const m of state.open) m.wake();
  }

  private deadLetter(share: GroupShare, offset: number): void {
    const dlq = this.options.deadLetter;
    const record = offset >= this.topic.startOffset ? firstRecord(this.topic, offset, offset + 1) : undefined;
    if (record === undefined) {
      share.finishOffset(offset); // gone from the topic meanwhile
      return;
    }
    if (dlq === undefined) {
      share.requeue(offset);
      return;
    }
    try {
      const headers: Record<string, string | Uint8Array> = { ...record.headers };
      headers[DEAD_LETTER_HEADER] = `${this.topic.name}/${offset}/${this.state.name}/${share.deliveries(offset) - 1}`;
      dlq.appendSync(record.value as V, { ...(record.key === undefined ? {} : { key: record.key }), headers, timestamp: record.timestamp });
      share.finishOffset(offset);
    } catch {
      share.requeue(offset); // the dead-letter topic refused it (closed, full disk): deliver it again
    }
  }
}
