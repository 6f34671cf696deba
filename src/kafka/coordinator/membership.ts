// The group membership protocol (Kafka's classic groups): JoinGroup, SyncGroup, Heartbeat and
// LeaveGroup over the groups of group.ts, with their three kinds of timers:
// - a rebalance waits until every known member rejoined, or its rebalance timeout (the largest of
//   the members') passes; members that did not rejoin are then removed. A rebalance of an empty
//   group first waits `initialRebalanceDelayMs`, again each time a member joins meanwhile (up to
//   the rebalance timeout), so members that start together land in one generation;
// - a member's session timer is reset by every heartbeat, SyncGroup, JoinGroup answer and offset
//   commit; when it fires the member is removed and the group rebalances (never while the member
//   has a JoinGroup or SyncGroup waiting: the rebalance's own timers cover those);
// - once a generation begins, members that have not sent SyncGroup within the rebalance timeout
//   are removed and the group rebalances again (the leader might never send the assignment).
// A member id handed out with MEMBER_ID_REQUIRED (v4+) is pending until it joins or its session
// timeout passes; a rebalance waits for pending members too.
//
// Bounded: at most `groupsMax` groups (an empty group with no pending member is forgotten) and
// `membersPerGroupMax` members plus pending ids per group; every waiting request is a member's
// one JoinGroup and one SyncGroup (a second one answers the first with REBALANCE_IN_PROGRESS).
//
// Crash: nothing here is on disk (group.ts).
import { randomUUID } from 'node:crypto';
import { GroupError } from './errors.js';
import { Group, sameProtocols, type Member, type TimerHandle } from './group.js';
import type {
  HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
  SyncGroupRequest, SyncGroupResponse,
} from './messages.js';
import { joinAnswer, joinError, syncAnswer, syncError } from './responses.js';
import { GROUP_ID_LENGTH_MAX, type CoordinatorConfig } from './config.js';

type Protocols = Array<{ name: string; metadata: Buffer }>;

/** A member id is `<clientId or groupInstanceId>-<uuid>` (as Kafka's), the first part cut to this many characters. */
const MEMBER_ID_PREFIX_LENGTH_MAX = 100;

/** A group id seglog can also store positions under (a seglog group name). */
export function validGroupId(groupId: unknown): groupId is string {
  return typeof groupId === 'string' && groupId.length > 0 && groupId.length <= GROUP_ID_LENGTH_MAX && !groupId.includes('\0');
}

export class Membership {
  private readonly groups = new Map<string, Group>();
  private closed = false;

  constructor(private readonly config: CoordinatorConfig) {}

  join(body: JoinGroupRequest, version: number, clientId: string): Promise<JoinGroupResponse> {
    const fail = (code: number, memberId = body.memberId ?? '') => Promise.resolve(joinError(code, version, memberId));
    if (this.closed) return fail(GroupError.COORDINATOR_NOT_AVAILABLE);
    if (!validGroupId(body.groupId)) return fail(GroupError.INVALID_GROUP_ID);
    const sessionTimeoutMs = body.sessionTimeoutMs;
    if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < this.config.sessionTimeoutMinMs || sessionTimeoutMs > this.config.sessionTimeoutMaxMs) {
      return fail(GroupError.INVALID_SESSION_TIMEOUT);
    }
    // (v0 has no rebalance timeout: Kafka then waits the session timeout)
    const rebalance = version >= 1 ? body.rebalanceTimeoutMs ?? -1 : -1;
    const rebalanceTimeoutMs = rebalance < 0 ? sessionTimeoutMs : rebalance;
    if (body.protocols.length > this.config.protocolsMax) return fail(GroupError.INVALID_REQUEST);
    let bytes = 0;
    const protocols: Protocols = body.protocols.map((p) => {
      bytes += p.name.length + p.metadata.length;
      return { name: p.name, metadata: Buffer.from(p.metadata) }; // (a copy: not a view that pins the request frame)
    });
    if (bytes > this.config.protocolBytesMax) return fail(GroupError.INVALID_REQUEST);
    const request: JoinArgs = {
      groupInstanceId: body.groupInstanceId || null,
      clientId,
      version,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      protocolType: body.protocolType,
      protocols,
    };
    if (body.memberId === '') return this.joinNew(body.groupId, request);
    return this.joinKnown(body.groupId, body.memberId, request);
  }

  sync(body: SyncGroupRequest): Promise<SyncGroupResponse> {
    const fail = (code: number) => Promise.resolve(syncError(code));
    if (this.closed) return fail(GroupError.COORDINATOR_NOT_AVAILABLE);
    if (!validGroupId(body.groupId)) return fail(GroupError.INVALID_GROUP_ID);
    const group = this.groups.get(body.groupId);
    if (group === undefined) return fail(GroupError.UNKNOWN_MEMBER_ID);
    const error = this.checkMember(group, body.memberId, body.groupInstanceId ?? null, body.generationId);
    if (error !== GroupError.NONE) return fail(error);
    if ((body.protocolType != null && body.protocolType !== group.protocolType) || (body.protocolName != null && body.protocolName !== group.protocolName)) {
      return fail(GroupError.INCONSISTENT_GROUP_PROTOCOL);
    }
    const member = group.members.get(body.memberId)!;
    if (group.state === 'PreparingRebalance') return fail(GroupError.REBALANCE_IN_PROGRESS);
    if (group.state === 'Stable') {
      this.synced(group, body.memberId);
      this.touch(group, member);
      return Promise.resolve(syncAnswer(group, member));
    }
    // CompletingRebalance: wait for the leader's assignment (or hand it out, from the leader)
    member.syncWaiter?.(syncError(GroupError.REBALANCE_IN_PROGRESS));
    const answer = new Promise<SyncGroupResponse>((resolve) => { member.syncWaiter = resolve; });
    this.synced(group, body.memberId);
    if (group.leaderId === body.memberId) {
      const assignments = new Map<string, Buffer>();
      for (const a of body.assignments) if (group.members.has(a.memberId)) assignments.set(a.memberId, Buffer.from(a.assignment));
      group.state = 'Stable';
      for (const m of group.members.values()) {
        m.assignment = assignments.get(m.memberId) ?? Buffer.alloc(0); // (members the leader left out get nothing, as Kafka does)
        if (m.syncWaiter !== null) {
          const resolve = m.syncWaiter;
          m.syncWaiter = null;
          this.touch(group, m);
          resolve(syncAnswer(group, m));
        }
      }
    }
    return answer;
  }

  heartbeat(body: HeartbeatRequest): HeartbeatResponse {
    const answer = (errorCode: number): HeartbeatResponse => ({ throttleTimeMs: 0, errorCode });
    if (this.closed) return answer(GroupError.COORDINATOR_NOT_AVAILABLE);
    if (!validGroupId(body.groupId)) return answer(GroupError.INVALID_GROUP_ID);
    const group = this.groups.get(body.groupId);
    if (group === undefined) return answer(GroupError.UNKNOWN_MEMBER_ID);
    const error = this.checkMember(group, body.memberId, body.groupInstanceId ?? null, body.generationId);
    if (error !== GroupError.NONE) return answer(error);
    this.touch(group, group.members.get(body.memberId)!);
    return answer(group.state === 'PreparingRebalance' ? GroupError.REBALANCE_IN_PROGRESS : GroupError.NONE);
  }

  leave(body: LeaveGroupRequest, version: number): LeaveGroupResponse {
    const leaving = version >= 3 || (body.members !== undefined && body.members.length > 0)
      ? (body.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null }))
      : [{ memberId: body.memberId ?? '', groupInstanceId: null }];
    const answer = (errorCode: number, members: LeaveGroupResponse['members']): LeaveGroupResponse => ({
      throttleTimeMs: 0,
      // (v0-2 have one member and no per-member errors: its error is the answer's)
      errorCode: errorCode === GroupError.NONE && version < 3 && members.length > 0 ? members[0]!.errorCode : errorCode,
      members,
    });
    if (this.closed) return answer(GroupError.COORDINATOR_NOT_AVAILABLE, []);
    if (!validGroupId(body.groupId)) return answer(GroupError.INVALID_GROUP_ID, []);
    const group = this.groups.get(body.groupId);
    const results = leaving.map((m) => ({ ...m, errorCode: group === undefined ? GroupError.UNKNOWN_MEMBER_ID : this.leaveOne(group, m.memberId, m.groupInstanceId) }));
    return answer(GroupError.NONE, results);
  }

  /**
   * Whether an OffsetCommit from (generationId, memberId, groupInstanceId) may be stored, as Kafka
   * decides: generation -1 from no member ("simple" commits of admin tools and of consumers
   * without group management) while the group has no members; else a current member of the
   * current generation, not while its generation is still being assigned. A member's commit
   * counts as a heartbeat.
   */
  commitCheck(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number {
    if (this.closed) return GroupError.COORDINATOR_NOT_AVAILABLE;
    const group = this.groups.get(groupId);
    if (group === undefined) return generationId < 0 ? GroupError.NONE : GroupError.ILLEGAL_GENERATION;
    if (generationId < 0 && group.members.size === 0) return GroupError.NONE;
    if (generationId < 0 && memberId === '' && groupInstanceId === null) return GroupError.UNKNOWN_MEMBER_ID;
    const error = this.checkMember(group, memberId, groupInstanceId, generationId);
    if (error !== GroupError.NONE) return error;
    if (group.state === 'CompletingRebalance') return GroupError.REBALANCE_IN_PROGRESS;
    this.touch(group, group.members.get(memberId)!);
    return GroupError.NONE;
  }

  /** A group's state as DescribeGroups would report it; undefined for a group not held. */
  describe(groupId: string): GroupDescription | undefined {
    const group = this.groups.get(groupId);
    if (group === undefined) return undefined;
    return {
      groupId,
      state: group.state,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId,
      pending: group.pending.size,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        joinedGeneration: m.joinedGeneration,
        waitingJoin: m.joinWaiter !== null,
        waitingSync: m.syncWaiter !== null,
      })),
    };
  }

  /** The ids of the groups held (those with members or pending member ids). */
  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  /** Answers every waiting request with COORDINATOR_NOT_AVAILABLE and clears every timer. */
  close(): void {
    this.closed = true;
    for (const group of this.groups.values()) {
      for (const member of [...group.members.values()]) this.removeMember(group, member, GroupError.COORDINATOR_NOT_AVAILABLE);
      for (const timer of group.pending.values()) this.config.clearTimer(timer);
      group.pending.clear();
      this.clearGroupTimers(group);
    }
    this.groups.clear();
  }

  // ---- joining -------------------------------------------------------------------------------

  private joinNew(groupId: string, request: JoinArgs): Promise<JoinGroupResponse> {
    const fail = (code: number) => Promise.resolve(joinError(code, request.version));
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (this.groups.size >= this.config.groupsMax) return fail(GroupError.COORDINATOR_NOT_AVAILABLE);
      group = new Group(groupId);
      this.groups.set(groupId, group);
    }
    const instanceId = request.groupInstanceId;
    const replaced = instanceId === null ? undefined : group.staticMembers.get(instanceId);
    if (replaced === undefined && group.members.size + group.pending.size >= this.config.membersPerGroupMax) {
      this.maybeForget(group);
      return fail(GroupError.GROUP_MAX_SIZE_REACHED);
    }
    if (!group.supportsProtocols(request.protocolType, request.protocols.map((p) => p.name))) {
      this.maybeForget(group);
      return fail(GroupError.INCONSISTENT_GROUP_PROTOCOL);
    }
    const memberId = `${(instanceId ?? request.clientId).slice(0, MEMBER_ID_PREFIX_LENGTH_MAX)}-${randomUUID()}`;
    if (replaced !== undefined) {
      // a static member restarted: the old member id is fenced, the new one joins in its place
      this.removeMember(group, group.members.get(replaced)!, GroupError.FENCED_INSTANCE_ID);
    } else if (instanceId === null && request.version >= 4) {
      const g = group;
      group.pending.set(memberId, this.config.setTimer(() => this.pendingExpired(g, memberId), request.sessionTimeoutMs));
      return Promise.resolve(joinError(GroupError.MEMBER_ID_REQUIRED, request.version, memberId));
    }
    return this.addAndRebalance(group, memberId, request);
  }

  private joinKnown(groupId: string, memberId: string, request: JoinArgs): Promise<JoinGroupResponse> {
    const fail = (code: number) => Promise.resolve(joinError(code, request.version, memberId));
    const group = this.groups.get(groupId);
    if (group === undefined) return fail(GroupError.UNKNOWN_MEMBER_ID);
    if (!group.supportsProtocols(request.protocolType, request.protocols.map((p) => p.name))) return fail(GroupError.INCONSISTENT_GROUP_PROTOCOL);
    if (group.pending.has(memberId)) {
      if (request.groupInstanceId !== null) return fail(GroupError.UNKNOWN_MEMBER_ID); // (static members are never pending)
      this.config.clearTimer(group.pending.get(memberId));
      group.pending.delete(memberId);
      return this.addAndRebalance(group, memberId, request);
    }
    const error = this.checkMember(group, memberId, request.groupInstanceId, undefined);
    if (error !== GroupError.NONE) return fail(error);
    const member = group.members.get(memberId)!;
    const unchanged = sameProtocols(member, request.protocols);
    if (group.state === 'CompletingRebalance' && unchanged) {
      // (it lost the answer to its JoinGroup: the same answer again)
      this.touch(group, member);
      return Promise.resolve(joinAnswer(group, member, request.version));
    }
    if (group.state === 'Stable' && unchanged && group.leaderId !== memberId) {
      this.touch(group, member);
      return Promise.resolve(joinAnswer(group, member, request.version));
    }
    // PreparingRebalance, new metadata, or the leader asking for a new assignment: (re)join the rebalance
    member.protocols = request.protocols;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    const answer = this.awaitJoin(member, request.version);
    this.maybePrepareRebalance(group);
    this.tryCompleteJoin(group);
    return answer;
  }

  private addAndRebalance(group: Group, memberId: string, request: JoinArgs): Promise<JoinGroupResponse> {
    const member: Member = {
      memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: request.clientId,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols,
      assignment: Buffer.alloc(0),
      joinedGeneration: 0,
      joinWaiter: null,
      joinVersion: request.version,
      syncWaiter: null,
      sessionTimer: undefined,
    };
    if (group.state === 'PreparingRebalance' && group.initialDelay) group.newMemberAdded = true;
    group.add(member);
    const answer = this.awaitJoin(member, request.version);
    this.maybePrepareRebalance(group);
    this.tryCompleteJoin(group);
    return answer;
  }

  private awaitJoin(member: Member, version: number): Promise<JoinGroupResponse> {
    member.joinWaiter?.(joinError(GroupError.REBALANCE_IN_PROGRESS, member.joinVersion, member.memberId));
    member.joinVersion = version;
    return new Promise((resolve) => { member.joinWaiter = resolve; });
  }

  // ---- rebalancing ---------------------------------------------------------------------------

  private maybePrepareRebalance(group: Group): void {
    if (group.state !== 'PreparingRebalance') this.prepareRebalance(group);
  }

  private prepareRebalance(group: Group): void {
    if (group.state === 'CompletingRebalance') {
      for (const member of group.members.values()) this.answerSync(member, syncError(GroupError.REBALANCE_IN_PROGRESS));
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

  private tryCompleteJoin(group: Group): void {
    if (group.state === 'PreparingRebalance' && !group.initialDelay && group.allMembersJoined()) this.completeJoin(group);
  }

  /** The rebalance ends: members that did not rejoin are removed, the next generation begins. */
  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    this.clearGroupTimers(group);
    group.initialDelay = false;
    for (const member of [...group.members.values()]) {
      if (member.joinWaiter === null) this.removeMember(group, member, GroupError.UNKNOWN_MEMBER_ID);
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

  private synced(group: Group, memberId: string): void {
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
    for (const memberId of [...group.pendingSync]) this.removeMember(group, group.members.get(memberId)!, GroupError.UNKNOWN_MEMBER_ID);
    this.prepareRebalance(group);
    this.tryCompleteJoin(group);
  }

  // ---- members -------------------------------------------------------------------------------

  /** NONE, or why (memberId, groupInstanceId[, generationId]) is not a current member of `group`. */
  private checkMember(group: Group, memberId: string, groupInstanceId: string | null, generationId: number | undefined): number {
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId);
      if (current === undefined) return GroupError.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return GroupError.FENCED_INSTANCE_ID;
    } else if (!group.members.has(memberId)) {
      return GroupError.UNKNOWN_MEMBER_ID;
    }
    if (generationId !== undefined && generationId !== group.generationId) return GroupError.ILLEGAL_GENERATION;
    return GroupError.NONE;
  }

  private leaveOne(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (memberId === '') {
      // (administrative removal of a static member by its instance id)
      const current = groupInstanceId === null ? undefined : group.staticMembers.get(groupInstanceId);
      if (current === undefined) return GroupError.UNKNOWN_MEMBER_ID;
      memberId = current;
    } else if (group.pending.has(memberId)) {
      this.config.clearTimer(group.pending.get(memberId));
      group.pending.delete(memberId);
      this.afterRemoval(group);
      return GroupError.NONE;
    } else {
      const error = this.checkMember(group, memberId, groupInstanceId, undefined);
      if (error !== GroupError.NONE) return error;
    }
    this.removeMember(group, group.members.get(memberId)!, GroupError.UNKNOWN_MEMBER_ID);
    this.afterRemoval(group);
    return GroupError.NONE;
  }

  /** Resets a member's session timer. */
  private touch(group: Group, member: Member): void {
    if (member.sessionTimer !== undefined) this.config.clearTimer(member.sessionTimer);
    member.sessionTimer = this.config.setTimer(() => this.sessionExpired(group, member), member.sessionTimeoutMs);
  }

  private sessionExpired(group: Group, member: Member): void {
    member.sessionTimer = undefined;
    if (group.members.get(member.memberId) !== member) return;
    if (member.joinWaiter !== null || member.syncWaiter !== null) {
      this.touch(group, member);
      return;
    }
    this.removeMember(group, member, GroupError.UNKNOWN_MEMBER_ID);
    this.afterRemoval(group);
  }

  private pendingExpired(group: Group, memberId: string): void {
    if (!group.pending.delete(memberId)) return;
    this.afterRemoval(group);
  }

  /** Takes a member out: its waiting requests are answered with `errorCode`, its timer cleared. */
  private removeMember(group: Group, member: Member, errorCode: number): void {
    if (member.sessionTimer !== undefined) this.config.clearTimer(member.sessionTimer);
    member.sessionTimer = undefined;
    if (member.joinWaiter !== null) {
      const resolve = member.joinWaiter;
      member.joinWaiter = null;
      resolve(joinError(errorCode, member.joinVersion, errorCode === GroupError.COORDINATOR_NOT_AVAILABLE ? member.memberId : ''));
    }
    this.answerSync(member, syncError(errorCode));
    group.remove(member.memberId);
  }

  private answerSync(member: Member, response: SyncGroupResponse): void {
    if (member.syncWaiter === null) return;
    const resolve = member.syncWaiter;
    member.syncWaiter = null;
    resolve(response);
  }

  /** After a member left: a settled group rebalances, a rebalancing one may now be complete. */
  private afterRemoval(group: Group): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group);
    this.tryCompleteJoin(group);
    this.maybeForget(group);
  }

  private maybeForget(group: Group): void {
    if (group.state !== 'Empty' || group.members.size > 0 || group.pending.size > 0) return;
    this.clearGroupTimers(group);
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
  }

  private clearGroupTimers(group: Group): void {
    if (group.joinTimer !== undefined) this.config.clearTimer(group.joinTimer);
    if (group.syncTimer !== undefined) this.config.clearTimer(group.syncTimer);
    group.joinTimer = undefined;
    group.syncTimer = undefined;
  }
}

interface JoinArgs {
  groupInstanceId: string | null;
  clientId: string;
  version: number;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocols;
}

export interface GroupDescription {
  groupId: string;
  state: Group['state'];
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string | null;
  pending: number;
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    joinedGeneration: number;
    waitingJoin: boolean;
    waitingSync: boolean;
  }>;
}

export type { TimerHandle };
