// The classic group protocol: FindCoordinator (10), JoinGroup (11), Heartbeat (12), LeaveGroup
// (13), SyncGroup (14), from Kafka's *Request.json / *Response.json. Flexible from FindCoordinator
// v3, JoinGroup v6, Heartbeat/LeaveGroup/SyncGroup v4. Protocol metadata and assignments are opaque
// bytes (the consumer protocol's own encoding, which the coordinator does not look into).
import type { MessageSchema } from '../schema.js';

export const FindCoordinatorRequest: MessageSchema = {
  name: 'FindCoordinatorRequest', apiKey: 10, type: 'request', validVersions: '0-6', flexibleVersions: '3+',
  fields: [
    { name: 'key', type: 'string', versions: '0-3' },
    { name: 'keyType', type: 'int8', versions: '1+', default: 0 },
    { name: 'coordinatorKeys', type: '[]string', versions: '4+' },
  ],
};

export const FindCoordinatorResponse: MessageSchema = {
  name: 'FindCoordinatorResponse', apiKey: 10, type: 'response', validVersions: '0-6', flexibleVersions: '3+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0-3' },
    { name: 'errorMessage', type: 'string', versions: '1-3', nullableVersions: '1-3' },
    { name: 'nodeId', type: 'int32', versions: '0-3' },
    { name: 'host', type: 'string', versions: '0-3' },
    { name: 'port', type: 'int32', versions: '0-3' },
    { name: 'coordinators', type: '[]Coordinator', versions: '4+', fields: [
      { name: 'key', type: 'string', versions: '4+' },
      { name: 'nodeId', type: 'int32', versions: '4+' },
      { name: 'host', type: 'string', versions: '4+' },
      { name: 'port', type: 'int32', versions: '4+' },
      { name: 'errorCode', type: 'int16', versions: '4+' },
      { name: 'errorMessage', type: 'string', versions: '4+', nullableVersions: '4+' },
    ] },
  ],
};

export const JoinGroupRequest: MessageSchema = {
  name: 'JoinGroupRequest', apiKey: 11, type: 'request', validVersions: '0-9', flexibleVersions: '6+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'sessionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '1+', default: -1 },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolType', type: 'string', versions: '0+' },
    { name: 'protocols', type: '[]JoinGroupRequestProtocol', versions: '0+', fields: [
      { name: 'name', type: 'string', versions: '0+' },
      { name: 'metadata', type: 'bytes', versions: '0+' },
    ] },
    { name: 'reason', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
  ],
};

export const JoinGroupResponse: MessageSchema = {
  name: 'JoinGroupResponse', apiKey: 11, type: 'response', validVersions: '0-9', flexibleVersions: '6+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+', default: -1 },
    { name: 'protocolType', type: 'string', versions: '7+', nullableVersions: '7+', default: null },
    { name: 'protocolName', type: 'string', versions: '0+', nullableVersions: '7+', default: '' },
    { name: 'leader', type: 'string', versions: '0+' },
    { name: 'skipAssignment', type: 'bool', versions: '9+', default: false },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'members', type: '[]JoinGroupResponseMember', versions: '0+', fields: [
      { name: 'memberId', type: 'string', versions: '0+' },
      { name: 'groupInstanceId', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
      { name: 'metadata', type: 'bytes', versions: '0+' },
    ] },
  ],
};

export const SyncGroupRequest: MessageSchema = {
  name: 'SyncGroupRequest', apiKey: 14, type: 'request', validVersions: '0-5', flexibleVersions: '4+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'assignments', type: '[]SyncGroupRequestAssignment', versions: '0+', fields: [
      { name: 'memberId', type: 'string', versions: '0+' },
      { name: 'assignment', type: 'bytes', versions: '0+' },
    ] },
  ],
};

export const SyncGroupResponse: MessageSchema = {
  name: 'SyncGroupResponse', apiKey: 14, type: 'response', validVersions: '0-5', flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'assignment', type: 'bytes', versions: '0+' },
  ],
};

export const HeartbeatRequest: MessageSchema = {
  name: 'HeartbeatRequest', apiKey: 12, type: 'request', validVersions: '0-4', flexibleVersions: '4+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
  ],
};

export const HeartbeatResponse: MessageSchema = {
  name: 'HeartbeatResponse', apiKey: 12, type: 'response', validVersions: '0-4', flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
  ],
};

export const LeaveGroupRequest: MessageSchema = {
  name: 'LeaveGroupRequest', apiKey: 13, type: 'request', validVersions: '0-5', flexibleVersions: '4+',
  fields: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0-2' },
    { name: 'members', type: '[]MemberIdentity', versions: '3+', fields: [
      { name: 'memberId', type: 'string', versions: '3+' },
      { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
      { name: 'reason', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    ] },
  ],
};

export const LeaveGroupResponse: MessageSchema = {
  name: 'LeaveGroupResponse', apiKey: 13, type: 'response', validVersions: '0-5', flexibleVersions: '4+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'members', type: '[]MemberResponse', versions: '3+', fields: [
      { name: 'memberId', type: 'string', versions: '3+' },
      { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+' },
      { name: 'errorCode', type: 'int16', versions: '3+' },
    ] },
  ],
};
