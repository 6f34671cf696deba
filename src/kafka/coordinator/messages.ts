// The decoded request bodies the coordinator takes and the response bodies it returns, with the
// field names of Kafka's message definitions (clients/src/main/resources/common/message/*.json),
// first letter lower-cased (docs/kafka.md, "Message objects"). A response carries the fields of
// every served version; the encoder writes those its version has. int64 fields are bigint.

export interface FindCoordinatorRequest {
  key?: string;
  keyType?: number;
  /** v4+ (batched keys). */
  coordinatorKeys?: string[];
}

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  /** v1+; -1 (absent) means the session timeout. */
  rebalanceTimeoutMs?: number;
  memberId: string;
  /** v5+: static membership. */
  groupInstanceId?: string | null;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Uint8Array }>;
  reason?: string | null;
}

export interface JoinGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  protocolType?: string | null;
  protocolName?: string | null;
  assignments: Array<{ memberId: string; assignment: Uint8Array }>;
}

export interface SyncGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
}

export interface HeartbeatResponse {
  throttleTimeMs: number;
  errorCode: number;
}

export interface LeaveGroupRequest {
  groupId: string;
  /** v0-2. */
  memberId?: string;
  /** v3+. */
  members?: Array<{ memberId: string; groupInstanceId?: string | null; reason?: string | null }>;
}

export interface LeaveGroupResponse {
  throttleTimeMs: number;
  errorCode: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export interface OffsetCommitRequest {
  groupId: string;
  /** Named `generationId` in Kafka's older definitions; either is read. */
  generationIdOrMemberEpoch?: number;
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
  retentionTimeMs?: bigint;
  topics: Array<{
    name: string;
    partitions: Array<{
      partitionIndex: number;
      committedOffset: bigint | number;
      committedLeaderEpoch?: number;
      commitTimestamp?: bigint;
      committedMetadata?: string | null;
    }>;
  }>;
}

export interface OffsetCommitResponse {
  throttleTimeMs: number;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }>;
}

export interface OffsetFetchRequest {
  /** v0-7. */
  groupId?: string;
  /** v0-7; null (v2+) asks for every partition with a position. */
  topics?: Array<{ name: string; partitionIndexes: number[] }> | null;
  /** v8+. */
  groups?: Array<{ groupId: string; topics: Array<{ name: string; partitionIndexes: number[] }> | null }>;
  requireStable?: boolean;
}

export interface OffsetFetchPartition {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchResponse {
  throttleTimeMs: number;
  topics: Array<{ name: string; partitions: OffsetFetchPartition[] }>;
  errorCode: number;
  groups: Array<{ groupId: string; topics: Array<{ name: string; partitions: OffsetFetchPartition[] }>; errorCode: number }>;
}
