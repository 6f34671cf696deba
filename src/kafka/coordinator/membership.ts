// The group membership protocol (Kafka's classic groups): JoinGroup, SyncGroup, Heartbeat and
// LeaveGroup over the groups of group.ts, and the member checks of OffsetCommit. It answers what
// can be answered at once and parks what must wait (a JoinGroup until the rebalance completes, a
// follower's SyncGroup until the leader's); rebalance.ts runs the transitions and timers.
// A member id handed out with MEMBER_ID_REQUIRED (v4+) is pending until it joins or its session
// timeout passes; a rebalance waits for pending members too.
//
// Bounded: at most `groupsMax` groups (an empty group with no pending member is forgotten) and
// `membersPerGroupMax` members plus pending ids per group; every waiting request is a member's
// one JoinGroup and one SyncGroup (a second one answers the first with REBALANCE_IN_PROGRESS).
//
// Crash: nothing here is on disk (group.ts).
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/index.js';
import { Group, sameProtocols, type Member, type TimerHandle } from './group.js';
import type {
  HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
  SyncGroupRequest, SyncGroupResponse,
} from './messages.js';
import { joinAnswer, joinError, syncAnswer, syncError } from './responses.js';
import { Rebalancer } from './rebalance.js';
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

  private readonly rebalancer: Rebalancer;

  constructor(private readonly config: CoordinatorConfig) {
    this.rebalancer = new Rebalancer(config, (group) => {
      if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    });
  }

  join(body: JoinGroupRequest, version: number, clientId: string): Promise<JoinGroupResponse> {
    const fail = (code: number, memberId = body.memberId ?? '') => Promise.resolve(joinError(code, version, memberId));
    if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!validGroupId(body.groupId)) return fail(ErrorCode.INVALID_GROUP_ID);
    const sessionTimeoutMs = body.sessionTimeoutMs;
    if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < this.config.sessionTimeoutMinMs || sessionTimeoutMs > this.config.sessionTimeoutMaxMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    // (v0 has no rebalance timeout: Kafka then waits the session timeout)
    const rebalance = version >= 1 ? body.rebalanceTimeoutMs ?? -1 : -1;
    const rebalanceTimeoutMs = rebalance < 0 ? sessionTimeoutMs : rebalance;
    if (body.protocols.length > this.config.protocolsMax) return fail(ErrorCode.INVALID_REQUEST);
    let bytes = 0;
    for (const p of body.protocols) bytes += p.name.length + p.metadata.length;
    if (bytes > this.config.protocolBytesMax) return fail(ErrorCode.INVALID_REQUEST);
    // (copies: a view would pin the whole request frame for as long as the member stays)
    const protocols: Protocols = body.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
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
    if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!validGroupId(body.groupId)) return fail(ErrorCode.INVALID_GROUP_ID);
    const group = this.groups.get(body.groupId);
    if (group === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    const error = this.checkMember(group, body.memberId, body.groupInstanceId ?? null, body.generationId);
    if (error !== ErrorCode.NONE) return fail(error);
    if ((body.protocolType != null && body.protocolType !== group.protocolType) || (body.protocolName != null && body.protocolName !== group.protocolName)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const member = group.members.get(body.memberId)!;
    if (group.state === 'PreparingRebalance') return fail(ErrorCode.REBALANCE_IN_PROGRESS);
    if (group.state === 'Stable') {
      this.rebalancer.synced(group, body.memberId);
      this.rebalancer.touch(group, member);
      return Promise.resolve(syncAnswer(group, member));
    }
    // CompletingRebalance: wait for the leader's assignment (or hand it out, from the leader)
    member.syncWaiter?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    const answer = new Promise<SyncGroupResponse>((resolve) => { member.syncWaiter = resolve; });
    this.rebalancer.synced(group, body.memberId);
    if (group.leaderId === body.memberId) {
      const assignments = new Map<string, Buffer>();
      for (const a of body.assignments) if (group.members.has(a.memberId)) assignments.set(a.memberId, Buffer.from(a.assignment));
      group.state = 'Stable';
      for (const m of group.members.values()) {
        m.assignment = assignments.get(m.memberId) ?? Buffer.alloc(0); // (members the leader left out get nothing, as Kafka does)
        if (m.syncWaiter !== null) {
          const resolve = m.syncWaiter;
          m.syncWaiter = null;
          this.rebalancer.touch(group, m);
          resolve(syncAnswer(group, m));
        }
      }
    }
    return answer;
  }

  heartbeat(body: HeartbeatRequest): HeartbeatResponse {
    const answer = (errorCode: number): HeartbeatResponse => ({ throttleTimeMs: 0, errorCode });
    if (this.closed) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!validGroupId(body.groupId)) return answer(ErrorCode.INVALID_GROUP_ID);
    const group = this.groups.get(body.groupId);
    if (group === undefined) return answer(ErrorCode.UNKNOWN_MEMBER_ID);
    const error = this.checkMember(group, body.memberId, body.groupInstanceId ?? null, body.generationId);
    if (error !== ErrorCode.NONE) return answer(error);
    this.rebalancer.touch(group, group.members.get(body.memberId)!);
    return answer(group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE);
  }

  leave(body: LeaveGroupRequest, version: number): LeaveGroupResponse {
    const leaving = version >= 3 || (body.members !== undefined && body.members.length > 0)
      ? (body.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null }))
      : [{ memberId: body.memberId ?? '', groupInstanceId: null }];
    const answer = (errorCode: number, members: LeaveGroupResponse['members']): LeaveGroupResponse => ({
      throttleTimeMs: 0,
      // (v0-2 have one member and no per-member errors: its error is the answer's)
      errorCode: errorCode === ErrorCode.NONE && version < 3 && members.length > 0 ? members[0]!.errorCode : errorCode,
      members,
    });
    if (this.closed) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE, []);
    if (!validGroupId(body.groupId)) return answer(ErrorCode.INVALID_GROUP_ID, []);
    const group = this.groups.get(body.groupId);
    const results = leaving.map((m) => ({ ...m, errorCode: group === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : this.leaveOne(group, m.memberId, m.groupInstanceId) }));
    return answer(ErrorCode.NONE, results);
  }

  /**
   * Whether an OffsetCommit from (generationId, memberId, groupInstanceId) may be stored, as Kafka
   * decides: generation -1 from no member ("simple" commits of admin tools and of consumers
   * without group management) while the group has no members; else a current member of the
   * current generation, not while its generation is still being assigned. A member's commit
   * counts as a heartbeat.
   */
  commitCheck(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const group = this.groups.get(groupId);
    if (group === undefined) return generationId < 0 ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
    if (generationId < 0 && group.members.size === 0) return ErrorCode.NONE;
    if (generationId < 0 && memberId === '' && groupInstanceId === null) return ErrorCode.UNKNOWN_MEMBER_ID;
    const error = this.checkMember(group, memberId, groupInstanceId, generationId);
    if (error !== ErrorCode.NONE) return error;
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    this.rebalancer.touch(group, group.members.get(memberId)!);
    return ErrorCode.NONE;
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
        lastSeenMs: m.lastSeenMs,
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
      for (const member of [...group.members.values()]) this.rebalancer.removeMember(group, member, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      for (const timer of group.pending.values()) this.config.clearTimer(timer);
      group.pending.clear();
      this.rebalancer.clearGroupTimers(group);
    }
    this.groups.clear();
  }

  // ---- joining -------------------------------------------------------------------------------

  private joinNew(groupId: string, request: JoinArgs): Promise<JoinGroupResponse> {
    const fail = (code: number) => Promise.resolve(joinError(code, request.version));
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (this.groups.size >= this.config.groupsMax) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      group = new Group(groupId);
      this.groups.set(groupId, group);
    }
    const instanceId = request.groupInstanceId;
    const replaced = instanceId === null ? undefined : group.staticMembers.get(instanceId);
    if (replaced === undefined && group.members.size + group.pending.size >= this.config.membersPerGroupMax) {
      this.rebalancer.maybeForget(group);
      return fail(ErrorCode.GROUP_MAX_SIZE_REACHED);
    }
    if (!group.supportsProtocols(request.protocolType, request.protocols.map((p) => p.name))) {
      this.rebalancer.maybeForget(group);
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const memberId = `${(instanceId ?? request.clientId).slice(0, MEMBER_ID_PREFIX_LENGTH_MAX)}-${randomUUID()}`;
    if (replaced !== undefined) {
      // a static member restarted: the old member id is fenced, the new one joins in its place
      this.rebalancer.removeMember(group, group.members.get(replaced)!, ErrorCode.FENCED_INSTANCE_ID);
    } else if (instanceId === null && request.version >= 4) {
      const g = group;
      group.pending.set(memberId, this.config.setTimer(() => this.rebalancer.pendingExpired(g, memberId), request.sessionTimeoutMs));
      return Promise.resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, request.version, memberId));
    }
    return this.addAndRebalance(group, memberId, request);
  }

  private joinKnown(groupId: string, memberId: string, request: JoinArgs): Promise<JoinGroupResponse> {
    const fail = (code: number) => Promise.resolve(joinError(code, request.version, memberId));
    const group = this.groups.get(groupId);
    if (group === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (!group.supportsProtocols(request.protocolType, request.protocols.map((p) => p.name))) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (group.pending.has(memberId)) {
      if (request.groupInstanceId !== null) return fail(ErrorCode.UNKNOWN_MEMBER_ID); // (static members are never pending)
      this.config.clearTimer(group.pending.get(memberId));
      group.pending.delete(memberId);
      return this.addAndRebalance(group, memberId, request);
    }
    const error = this.checkMember(group, memberId, request.groupInstanceId, undefined);
    if (error !== ErrorCode.NONE) return fail(error);
    const member = group.members.get(memberId)!;
    const unchanged = sameProtocols(member, request.protocols);
    if (group.state === 'CompletingRebalance' && unchanged) {
      // (it lost the answer to its JoinGroup: the same answer again)
      this.rebalancer.touch(group, member);
      return Promise.resolve(joinAnswer(group, member, request.version));
    }
    if (group.state === 'Stable' && unchanged && group.leaderId !== memberId) {
      this.rebalancer.touch(group, member);
      return Promise.resolve(joinAnswer(group, member, request.version));
    }
    // PreparingRebalance, new metadata, or the leader asking for a new assignment: (re)join the rebalance
    member.protocols = request.protocols;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    const answer = this.awaitJoin(member, request.version);
    this.rebalancer.maybePrepare(group);
    this.rebalancer.tryCompleteJoin(group);
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
      lastSeenMs: this.config.now(),
    };
    if (group.state === 'PreparingRebalance' && group.initialDelay) group.newMemberAdded = true;
    group.add(member);
    const answer = this.awaitJoin(member, request.version);
    this.rebalancer.maybePrepare(group);
    this.rebalancer.tryCompleteJoin(group);
    return answer;
  }

  private awaitJoin(member: Member, version: number): Promise<JoinGroupResponse> {
    member.joinWaiter?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.joinVersion, member.memberId));
    member.joinVersion = version;
    return new Promise((resolve) => { member.joinWaiter = resolve; });
  }

  // ---- members -------------------------------------------------------------------------------

  /** NONE, or why (memberId, groupInstanceId[, generationId]) is not a current member of `group`. */
  private checkMember(group: Group, memberId: string, groupInstanceId: string | null, generationId: number | undefined): number {
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    } else if (!group.members.has(memberId)) {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (generationId !== undefined && generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  private leaveOne(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (memberId === '') {
      // (administrative removal of a static member by its instance id)
      const current = groupInstanceId === null ? undefined : group.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      memberId = current;
    } else if (group.pending.has(memberId)) {
      this.config.clearTimer(group.pending.get(memberId));
      group.pending.delete(memberId);
      this.rebalancer.afterRemoval(group);
      return ErrorCode.NONE;
    } else {
      const error = this.checkMember(group, memberId, groupInstanceId, undefined);
      if (error !== ErrorCode.NONE) return error;
    }
    this.rebalancer.removeMember(group, group.members.get(memberId)!, ErrorCode.UNKNOWN_MEMBER_ID);
    this.rebalancer.afterRemoval(group);
    return ErrorCode.NONE;
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
    /** When its session timer was last reset (a heartbeat, SyncGroup, JoinGroup answer or commit). */
    lastSeenMs: number;
    waitingJoin: boolean;
    waitingSync: boolean;
  }>;
}

export type { TimerHandle };
