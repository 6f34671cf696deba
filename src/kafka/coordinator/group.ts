// One Kafka consumer group as the coordinator holds it in memory: its state (Kafka's classic
// group states), generation, leader, chosen protocol and members, with the pure rules on them
// (which protocols all members support, the vote that picks one, whether everyone rejoined).
// Timers and waiting requests hang off it but are driven by membership.ts.
//
//   Empty ──join──▶ PreparingRebalance ──all rejoined / rebalance timeout──▶ CompletingRebalance
//     ▲                 ▲        │ (no member left)                           │ leader's SyncGroup
//     └─────────────────┼────────┘                                            ▼
//                       └──── join of a new member / leader, leave, eviction ── Stable
//
// Invariants: generationId only grows; in CompletingRebalance and Stable the leader is a member
// and every member joined this generation (members that did not rejoin were removed when it
// began). Members' metadata and assignments are copies, never views of a request frame.
//
// Crash: nothing here is on disk; after a restart every member rejoins (its requests get
// UNKNOWN_MEMBER_ID) and the committed offsets, which are seglog group positions, remain.
import type { JoinGroupResponse, SyncGroupResponse } from './messages.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

/** A cancellable timer handle, whatever the injected clock returns. */
export type TimerHandle = unknown;

export interface Member {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Buffer }>;
  /** The leader's assignment of the current generation (empty until SyncGroup). */
  assignment: Buffer;
  /** The generation this member was last told it is in (0: not yet). */
  joinedGeneration: number;
  /** A JoinGroup waiting for the rebalance to complete. */
  joinWaiter: ((response: JoinGroupResponse) => void) | null;
  /** The version of that JoinGroup (the response's nullable fields depend on it). */
  joinVersion: number;
  /** A SyncGroup waiting for the leader's assignment. */
  syncWaiter: ((response: SyncGroupResponse) => void) | null;
  sessionTimer: TimerHandle | undefined;
  /** When its session timer was last reset (the injected clock's ms). */
  lastSeenMs: number;
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not joined yet, with their expiry timers. */
  readonly pending = new Map<string, TimerHandle>();
  /** groupInstanceId → memberId of static members. */
  readonly staticMembers = new Map<string, string>();
  /** Members of this generation that have not sent SyncGroup yet. */
  readonly pendingSync = new Set<string>();
  /** The rebalance's timer (initial delay or rebalance timeout) while PreparingRebalance. */
  joinTimer: TimerHandle | undefined;
  /** True while the initial delay of a rebalance of an empty group runs (it never completes early). */
  initialDelay = false;
  /** A member joined during the initial delay: the delay is extended once more. */
  newMemberAdded = false;
  /** Rebalance time left for further initial delays. */
  initialDelayRemainingMs = 0;
  /** Members that have not sent SyncGroup in time are removed when this fires. */
  syncTimer: TimerHandle | undefined;

  constructor(readonly groupId: string) {}

  /** Kafka's supportsProtocols: an empty group takes any non-empty protocol list, else one in common. */
  supportsProtocols(protocolType: string, names: readonly string[]): boolean {
    if (this.members.size === 0) return protocolType.length > 0 && names.length > 0;
    if (protocolType !== this.protocolType) return false;
    const common = this.commonProtocols();
    return names.some((name) => common.has(name));
  }

  /** The protocol names every member supports. */
  commonProtocols(except?: string): Set<string> {
    let common: Set<string> | undefined;
    for (const member of this.members.values()) {
      if (member.memberId === except) continue;
      const names = new Set(member.protocols.map((p) => p.name));
      common = common === undefined ? names : new Set([...common].filter((n) => names.has(n)));
    }
    return common ?? new Set();
  }

  /** Kafka's vote: each member votes for its first protocol all support; most votes wins, ties to the leader's order. */
  selectProtocol(): string {
    const candidates = this.commonProtocols();
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.protocols.find((p) => candidates.has(p.name))!.name;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    const leader = this.members.get(this.leaderId!)!;
    let best = '';
    let bestVotes = -1;
    for (const p of leader.protocols) {
      const n = votes.get(p.name) ?? 0;
      if (n > bestVotes) {
        best = p.name;
        bestVotes = n;
      }
    }
    return best;
  }

  /** Every member has a JoinGroup waiting and no handed-out member id is still to come. */
  allMembersJoined(): boolean {
    if (this.pending.size > 0) return false;
    for (const member of this.members.values()) if (member.joinWaiter === null) return false;
    return true;
  }

  /** The largest rebalance timeout of the members (how long a rebalance waits for them). */
  rebalanceTimeoutMs(): number {
    let ms = 0;
    for (const member of this.members.values()) ms = Math.max(ms, member.rebalanceTimeoutMs);
    return ms;
  }

  add(member: Member): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.leaderId ??= member.memberId;
    this.pending.delete(member.memberId);
  }

  /** Removes a member (its waiters must have been answered); the next member leads if it led. */
  remove(memberId: string): Member | undefined {
    const member = this.members.get(memberId);
    if (member === undefined) return undefined;
    this.members.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    this.pendingSync.delete(memberId);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    return member;
  }

  /** The leader's member list: each member's metadata for the chosen protocol. */
  memberList(): JoinGroupResponse['members'] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? Buffer.alloc(0),
    }));
  }
}

/** Whether a member rejoins with the same protocols and metadata (then it needs no new rebalance). */
export function sameProtocols(member: Member, protocols: ReadonlyArray<{ name: string; metadata: Buffer }>): boolean {
  if (member.protocols.length !== protocols.length) return false;
  return member.protocols.every((p, i) => p.name === protocols[i]!.name && p.metadata.equals(protocols[i]!.metadata));
}
