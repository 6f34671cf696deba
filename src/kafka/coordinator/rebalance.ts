// The rebalance machinery of membership.ts: the transitions a group makes on its own and the timers
// that drive them (Kafka's DelayedJoin, InitialDelayedJoin, DelayedSync and DelayedHeartbeat).
// - prepare: a rebalance starts; members waiting in SyncGroup are told REBALANCE_IN_PROGRESS. It
//   waits until every known member (and handed-out member id) rejoined, or the rebalance timeout;
//   a rebalance of an empty group first waits the initial delay, again each time a member joins
//   meanwhile (up to the rebalance timeout), and never completes earlier;
// - completeJoin: members that did not rejoin are removed, the next generation begins, every
//   waiting JoinGroup is answered; members that do not send SyncGroup within the rebalance
//   timeout are then removed and the group rebalances again;
// - touch / sessionExpired: a member's session timer (never fires on a member waiting in
//   JoinGroup or SyncGroup: the timers above bound those);
// - removeMember / afterRemoval / maybeForget: a member goes, its waiting requests are answered,
//   the group rebalances or, empty, is forgotten.
//
// Crash: nothing here is on disk (group.ts).
import type { CoordinatorConfig } from './config.js';
import { ErrorCode } from '../protocol/index.js';
import type { Group, Member } from './group.js';
import type { SyncGroupResponse } from './messages.js';
import { joinAnswer, joinError, syncError } from './responses.js';

export class Rebalancer {
  constructor(
    private readonly config: CoordinatorConfig,
    /** Drops an empty group from the coordinator's map. */
    private readonly forget: (group: Group) => void,
  ) {}

  maybePrepare(group: Group): void {
    if (group.state !== 'PreparingRebalance') this.prepare(group);
  }

  prepare(group: Group): void {
    if (group.state === 'CompletingRebalance') {
      for (const member of group.members.values()) this.answerSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    }
    this.clearGroupTimers(group);
    group.pendingSync.clear();
    const fromEmpty = group.state === 'Empty';
    group.state = 'PreparingRebalance';
    const rebalanceMs = group.rebalanceTimeoutMs();
    if (fromEmpty) {
      const delayMs = Math.min(this.config.initialRebalanceDelayMs, rebalanceMs);
      group.initialDelay = true;
      group.newMemberAdded = false;
      group.initialDelayRemainingMs = rebalanceMs - delayMs;
      group.joinTimer = this.config.setTimer(() => this.initialDelayPassed(group), delayMs);
    } else {
      group.initialDelay = false;
      group.joinTimer = this.config.setTimer(() => this.completeJoin(group), rebalanceMs);
    }
  }

  private initialDelayPassed(group: Group): void {
    group.joinTimer = undefined;
    if (group.newMemberAdded && group.initialDelayRemainingMs > 0) {
      const delayMs = Math.min(this.config.initialRebalanceDelayMs, group.initialDelayRemainingMs);
      group.newMemberAdded = false;
      group.initialDelayRemainingMs -= delayMs;
      group.joinTimer = this.config.setTimer(() => this.initialDelayPassed(group), delayMs);
      return;
    }
    this.completeJoin(group);
  }

  tryCompleteJoin(group: Group): void {
    if (group.state === 'PreparingRebalance' && !group.initialDelay && group.allMembersJoined()) this.completeJoin(group);
  }

  /** The rebalance ends: members that did not rejoin are removed, the next generation begins. */
  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    this.clearGroupTimers(group);
    group.initialDelay = false;
    for (const member of [...group.members.values()]) {
      if (member.joinWaiter === null) this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    group.generationId++;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocolName = null;
      this.maybeForget(group);
      return;
    }
    group.state = 'CompletingRebalance';
    group.protocolName = group.selectProtocol();
    for (const member of group.members.values()) {
      member.joinedGeneration = group.generationId;
      member.assignment = Buffer.alloc(0);
      group.pendingSync.add(member.memberId);
      const resolve = member.joinWaiter!;
      member.joinWaiter = null;
      this.touch(group, member);
      resolve(joinAnswer(group, member, member.joinVersion));
    }
    const generationId = group.generationId;
    group.syncTimer = this.config.setTimer(() => this.syncExpired(group, generationId), group.rebalanceTimeoutMs());
  }

  synced(group: Group, memberId: string): void {
    group.pendingSync.delete(memberId);
    if (group.pendingSync.size === 0 && group.syncTimer !== undefined) {
      this.config.clearTimer(group.syncTimer);
      group.syncTimer = undefined;
    }
  }

  private syncExpired(group: Group, generationId: number): void {
    group.syncTimer = undefined;
    if (generationId !== group.generationId || group.pendingSync.size === 0) return;
    if (group.state !== 'CompletingRebalance' && group.state !== 'Stable') return;
    for (const memberId of [...group.pendingSync]) this.removeMember(group, group.members.get(memberId)!, ErrorCode.UNKNOWN_MEMBER_ID);
    this.prepare(group);
    this.tryCompleteJoin(group);
  }

  /** Resets a member's session timer. */
  touch(group: Group, member: Member): void {
    if (member.sessionTimer !== undefined) this.config.clearTimer(member.sessionTimer);
    member.lastSeenMs = this.config.now();
    member.sessionTimer = this.config.setTimer(() => this.sessionExpired(group, member), member.sessionTimeoutMs);
  }

  private sessionExpired(group: Group, member: Member): void {
    member.sessionTimer = undefined;
    if (group.members.get(member.memberId) !== member) return;
    if (member.joinWaiter !== null || member.syncWaiter !== null) {
      this.touch(group, member);
      return;
    }
    this.removeMember(group, member, ErrorCode.UNKNOWN_MEMBER_ID);
    this.afterRemoval(group);
  }

  pendingExpired(group: Group, memberId: string): void {
    if (!group.pending.delete(memberId)) return;
    this.afterRemoval(group);
  }

  /** Takes a member out: its waiting requests are answered with `errorCode`, its timer cleared. */
  removeMember(group: Group, member: Member, errorCode: number): void {
    if (member.sessionTimer !== undefined) this.config.clearTimer(member.sessionTimer);
    member.sessionTimer = undefined;
    if (member.joinWaiter !== null) {
      const resolve = member.joinWaiter;
      member.joinWaiter = null;
      resolve(joinError(errorCode, member.joinVersion, errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE ? member.memberId : ''));
    }
    this.answerSync(member, syncError(errorCode));
    group.remove(member.memberId);
  }

  answerSync(member: Member, response: SyncGroupResponse): void {
    if (member.syncWaiter === null) return;
    const resolve = member.syncWaiter;
    member.syncWaiter = null;
    resolve(response);
  }

  /** After a member left: a settled group rebalances, a rebalancing one may now be complete. */
  afterRemoval(group: Group): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepare(group);
    this.tryCompleteJoin(group);
    this.maybeForget(group);
  }

  maybeForget(group: Group): void {
    if (group.state !== 'Empty' || group.members.size > 0 || group.pending.size > 0) return;
    this.clearGroupTimers(group);
    this.forget(group);
  }

  clearGroupTimers(group: Group): void {
    if (group.joinTimer !== undefined) this.config.clearTimer(group.joinTimer);
    if (group.syncTimer !== undefined) this.config.clearTimer(group.syncTimer);
    group.joinTimer = undefined;
    group.syncTimer = undefined;
  }
}
