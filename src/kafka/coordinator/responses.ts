// Response bodies of the membership APIs, built in one place so that every answer carries every
// field of every served version (the encoder writes those its version has), and nullable fields are
// null only in the versions where Kafka made them nullable.
import { ErrorCode } from '../protocol/index.js';
import type { Group, Member } from './group.js';
import type { JoinGroupResponse, SyncGroupResponse } from './messages.js';

const EMPTY = Buffer.alloc(0);

/** A refused or cancelled JoinGroup. ProtocolName is nullable from v7 only. */
export function joinError(errorCode: number, version: number, memberId = ''): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: version >= 7 ? null : '',
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

/** The current generation as `member` sees it: the leader gets the member list, followers none. */
export function joinAnswer(group: Group, member: Member, version: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    generationId: group.generationId,
    protocolType: group.protocolType,
    protocolName: group.protocolName ?? (version >= 7 ? null : ''),
    leader: group.leaderId ?? '',
    skipAssignment: false,
    memberId: member.memberId,
    members: group.leaderId === member.memberId ? group.memberList() : [],
  };
}

export function syncError(errorCode: number): SyncGroupResponse {
  return { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

export function syncAnswer(group: Group, member: Member): SyncGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    protocolType: group.protocolType,
    protocolName: group.protocolName,
    assignment: member.assignment,
  };
}
