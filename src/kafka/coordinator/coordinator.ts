// GroupCoordinator: the one object the server hands group requests to (docs/kafka.md,
// "Consumer groups"). This broker is the coordinator of every group; membership.ts runs the
// JoinGroup/SyncGroup/Heartbeat/LeaveGroup state machine and its timers, offsets.ts stores
// committed offsets as seglog group positions. Each method takes a decoded request body (and the
// request's api version) and resolves with the response body.
//
// Crash: group membership is memory only (members rejoin after a restart); committed offsets are
// durable seglog group positions once answered.
import { coordinatorConfig, type CoordinatorConfig, type GroupCoordinatorOptions } from './config.js';
import { ErrorCode } from '../protocol/index.js';
import { Membership, type GroupDescription } from './membership.js';
import type {
  FindCoordinatorRequest, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
  LeaveGroupResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, SyncGroupRequest,
  SyncGroupResponse,
} from './messages.js';
import { Offsets } from './offsets.js';

/** FindCoordinator key types. */
const KEY_TYPE_GROUP = 0;

export interface FindCoordinatorResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
  coordinators: Array<{ key: string; nodeId: number; host: string; port: number; errorCode: number; errorMessage: string | null }>;
}

export class GroupCoordinator {
  private readonly config: CoordinatorConfig;
  private readonly membership: Membership;
  private readonly offsets: Offsets;
  private readonly nodeId: number;
  private readonly host: string;
  private readonly port: number;
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    this.config = coordinatorConfig(options);
    this.membership = new Membership(this.config);
    this.offsets = new Offsets(options.log, this.membership, this.config);
    this.nodeId = options.nodeId;
    this.host = options.host;
    this.port = options.port;
  }

  /** This broker for group keys; transaction (and share) coordinators are not served: INVALID_REQUEST. */
  findCoordinator(body: FindCoordinatorRequest, version = 0): Promise<FindCoordinatorResponse> {
    const keyType = version >= 1 ? body.keyType ?? KEY_TYPE_GROUP : KEY_TYPE_GROUP;
    const one = (key: string) => {
      if (this.closed) return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'the server is closing' };
      if (keyType !== KEY_TYPE_GROUP) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `seglog serves group coordinators only (key type ${keyType}: no transactions)` };
      }
      return { key, nodeId: this.nodeId, host: this.host, port: this.port, errorCode: ErrorCode.NONE, errorMessage: null };
    };
    const coordinators = (version >= 4 ? body.coordinatorKeys ?? [] : [body.key ?? '']).map(one);
    const first = coordinators[0] ?? one('');
    return Promise.resolve({
      throttleTimeMs: 0,
      errorCode: first.errorCode,
      errorMessage: first.errorMessage,
      nodeId: first.nodeId,
      host: first.host,
      port: first.port,
      coordinators: version >= 4 ? coordinators : [],
    });
  }

  /**
   * Joins (or rejoins) a group; resolves when the rebalance completes, which may take up to the
   * rebalance timeout. `clientId` (the request header's) starts the member id handed out.
   */
  joinGroup(body: JoinGroupRequest, version: number, clientId: string | null = ''): Promise<JoinGroupResponse> {
    return this.membership.join(body, version, clientId ?? '');
  }

  /** The leader's SyncGroup hands out its assignment; a follower's waits for it. */
  syncGroup(body: SyncGroupRequest, _version = 0): Promise<SyncGroupResponse> {
    return this.membership.sync(body);
  }

  heartbeat(body: HeartbeatRequest, _version = 0): Promise<HeartbeatResponse> {
    return Promise.resolve(this.membership.heartbeat(body));
  }

  leaveGroup(body: LeaveGroupRequest, version = 0): Promise<LeaveGroupResponse> {
    return Promise.resolve(this.membership.leave(body, version));
  }

  /** Stores committed offsets as seglog group positions; resolves once they are durable. */
  offsetCommit(body: OffsetCommitRequest, _version = 0): Promise<OffsetCommitResponse> {
    return this.offsets.commit(body);
  }

  offsetFetch(body: OffsetFetchRequest, _version = 0): Promise<OffsetFetchResponse> {
    return this.offsets.fetch(body, this.closed);
  }

  /** A group's members and state (for DescribeGroups, tests and diagnostics); undefined if not held. */
  describeGroup(groupId: string): GroupDescription | undefined {
    return this.membership.describe(groupId);
  }

  /** The groups held in memory (with members or handed-out member ids). */
  groups(): string[] {
    return this.membership.groupIds();
  }

  /**
   * Ends every wait (JoinGroup and SyncGroup answer COORDINATOR_NOT_AVAILABLE), clears every
   * timer, refuses what comes later, and resolves once the commits in flight have settled (so the
   * log can be closed after it).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.membership.close();
    await this.offsets.settle();
  }
}
