// A group subscription's commits (subscription.ts): commit() (commitGroup), prepareCommit()
// (prepareGroupCommit: the exactly-once commit that rides in an output batch, exactly-once.ts) and
// the commit close() makes (commitOnClose). Moved out of SubscriptionImpl as functions of the
// narrow CommittingSubscription (the subscription passes itself); none is on a per-record path.
//
// A commit never moves the group's position backwards (ConsumerGroups.advance/commit ignore a
// lower one) and never past the topic's end. It marks the records yielded below its target as
// finished, so that a later close() or break keeps them; while the group has a share
// (group-share.ts) it finishes what this member holds below the target instead. close() commits
// only what was finished (not the record or batch in hand), and only if the subscription was open,
// has autoCommit and the topic is still open; if the log closes meanwhile its close wrote the
// position and the commit's error is dropped.
//
// Crash: the positions are ConsumerGroups' (consumer-groups.ts); nothing here is on disk.
import { SeglogError } from '../base/errors.js';
import { checkOffset } from '../log/reader.js';
import type { ConsumerGroups, GroupState } from './consumer-groups.js';
import type { GroupMember } from './group-member.js';
import type { SegmentLog } from '../log/topic-log.js';

/** The commit state of a subscription (SubscriptionImpl's fields). */
export interface CommittingSubscription<V> {
  readonly topic: SegmentLog<V>;
  readonly groups: ConsumerGroups | undefined;
  readonly group: GroupState | undefined;
  readonly member: GroupMember<V> | undefined;
  readonly autoCommit: boolean;
  readonly closed: boolean;
  /** The next offset it reads. */
  readonly _position: number;
  /** Everything below this was finished. */
  finished: number;
}

/** The commit close() makes (after the subscription ended): what was finished, once durable. */
export function commitOnClose<V>(s: CommittingSubscription<V>, wasOpen: boolean): Promise<void> {
  const commit = wasOpen && s.autoCommit && !s.topic.closed;
  // (with a share, leaving moved the group's position already: the commit makes it durable)
  const target = s.group?.share !== undefined ? s.group.committed : s.finished;
  return commit ? s.groups!.commit(s.group!, target).catch((err: unknown) => {
    if (s.topic.closed) return; // the log closed meanwhile: its close wrote the position
    throw err;
  }) : Promise.resolve();
}

/**
 * For `out.appendBatch(records, { commit: sub })` (exactly-once, ridden.ts): checks the commit
 * as commit() does and says which offsets it finishes; `apply` makes it, in memory, once the
 * output append resolved. `offset` defaults to everything yielded so far (fixed now: records
 * yielded later are not covered).
 */
export function prepareGroupCommit<V>(s: CommittingSubscription<V>, offset: number | undefined): { groups: ConsumerGroups; state: GroupState; ranges: number[]; apply: () => void } {
  if (s.group === undefined) throw new SeglogError('ERR_INVALID_ARGUMENT', `option commit: the subscription of topic ${s.topic.name} has no group (exactly-once commits a group position)`, { value: s.topic.name });
  s.topic.checkOpen();
  if (s.topic.readOnly) throw new SeglogError('ERR_READ_ONLY', `cannot commit a group position: topic ${s.topic.name} was opened read-only`);
  if (s.closed) throw new SeglogError('ERR_CLOSED', `option commit: the subscription of group ${s.group.name} on topic ${s.topic.name} is closed (its records may be another member's now)`, { value: s.group.name });
  const target = offset === undefined ? s._position : checkOffset('commit offset', offset);
  if (target > s.topic.endOffset) {
    throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid commit offset: ${target} is past the end of topic ${s.topic.name} (${s.topic.endOffset})`, { value: target });
  }
  const state = s.group;
  const groups = s.groups!;
  const member = s.member;
  const ranges = member !== undefined && state.share !== undefined ? member.heldBelow(target)
    : ((from) => (target > from ? [from, target] : []))(state.committed >= 0 ? state.committed : s.finished);
  return {
    groups, state, ranges,
    apply: () => {
      if (!s.closed && member !== undefined && state.share !== undefined) {
        member.commitHeld(target);
      } else if (state.share !== undefined) {
        // the subscription closed meanwhile (what it held went back to the group) or the group
        // became shared: the output is written, so these records are finished whoever holds them
        state.share.finishRanges(ranges);
        groups.advance(state, state.share.low());
      } else {
        s.finished = Math.max(s.finished, Math.min(target, s._position));
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
export function commitGroup<V>(s: CommittingSubscription<V>, offset?: number): Promise<void> {
  try {
    if (s.group === undefined) throw new SeglogError('ERR_INVALID_ARGUMENT', `commit() needs a subscription with a group (topic ${s.topic.name})`, { value: offset });
    s.topic.checkOpen();
    if (s.topic.readOnly) throw new SeglogError('ERR_READ_ONLY', `cannot commit a group position: topic ${s.topic.name} was opened read-only`);
    const target = offset === undefined ? s._position : checkOffset('commit offset', offset);
    if (target > s.topic.endOffset) {
      throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid commit offset: ${target} is past the end of topic ${s.topic.name} (${s.topic.endOffset})`, { value: target });
    }
    if (s.member !== undefined && s.group.share !== undefined) return s.groups!.commit(s.group, s.member.commitHeld(offset === undefined ? Infinity : target));
    // the records yielded below the target are finished (so a break after it keeps them)
    s.finished = Math.max(s.finished, Math.min(target, s._position));
    return s.groups!.commit(s.group, target);
  } catch (err) {
    return Promise.reject(err);
  }
}
