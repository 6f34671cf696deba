// Every API this layer defines: its request and response tables and the versions the server
// serves (what ApiVersions advertises). A message may define more versions than are served (the
// latest Kafka has, flexible ones included): a served range is raised here and nowhere else.
import { ApiKey, type ApiKeyName } from './api-keys.js';
import type { MessageSchema } from './schema.js';
import { ApiVersionsRequest, ApiVersionsResponse } from './messages/api-versions.js';
import { MetadataRequest, MetadataResponse } from './messages/metadata.js';
import { ProduceRequest, ProduceResponse } from './messages/produce.js';
import { FetchRequest, FetchResponse } from './messages/fetch.js';
import { ListOffsetsRequest, ListOffsetsResponse } from './messages/list-offsets.js';
import * as groups from './messages/groups.js';
import * as offsets from './messages/offsets.js';
import * as topics from './messages/topics.js';
import { InitProducerIdRequest, InitProducerIdResponse } from './messages/init-producer-id.js';

export interface ApiSchema {
  readonly apiKey: number;
  readonly name: ApiKeyName;
  readonly request: MessageSchema;
  readonly response: MessageSchema;
  /** The served versions, inclusive; absent for an API defined but not served. */
  readonly served?: readonly [min: number, max: number];
}

const APIS: readonly ApiSchema[] = [
  // Produce from v0: librdkafka < 2.11 compresses only when v0 is advertised (librdkafka #4956,
  // KAFKA-18659); batches other than magic 2 are still refused.
  { apiKey: ApiKey.Produce, name: 'Produce', request: ProduceRequest, response: ProduceResponse, served: [0, 8] },
  { apiKey: ApiKey.Fetch, name: 'Fetch', request: FetchRequest, response: FetchResponse, served: [4, 11] },
  { apiKey: ApiKey.ListOffsets, name: 'ListOffsets', request: ListOffsetsRequest, response: ListOffsetsResponse, served: [1, 5] },
  { apiKey: ApiKey.Metadata, name: 'Metadata', request: MetadataRequest, response: MetadataResponse, served: [0, 8] },
  { apiKey: ApiKey.OffsetCommit, name: 'OffsetCommit', request: offsets.OffsetCommitRequest, response: offsets.OffsetCommitResponse, served: [2, 7] },
  { apiKey: ApiKey.OffsetFetch, name: 'OffsetFetch', request: offsets.OffsetFetchRequest, response: offsets.OffsetFetchResponse, served: [1, 5] },
  { apiKey: ApiKey.FindCoordinator, name: 'FindCoordinator', request: groups.FindCoordinatorRequest, response: groups.FindCoordinatorResponse, served: [0, 2] },
  { apiKey: ApiKey.JoinGroup, name: 'JoinGroup', request: groups.JoinGroupRequest, response: groups.JoinGroupResponse, served: [0, 5] },
  { apiKey: ApiKey.Heartbeat, name: 'Heartbeat', request: groups.HeartbeatRequest, response: groups.HeartbeatResponse, served: [0, 3] },
  { apiKey: ApiKey.LeaveGroup, name: 'LeaveGroup', request: groups.LeaveGroupRequest, response: groups.LeaveGroupResponse, served: [0, 3] },
  { apiKey: ApiKey.SyncGroup, name: 'SyncGroup', request: groups.SyncGroupRequest, response: groups.SyncGroupResponse, served: [0, 3] },
  // v3 is defined (clients open with it) but not served: it gets the v0 UNSUPPORTED_VERSION answer.
  { apiKey: ApiKey.ApiVersions, name: 'ApiVersions', request: ApiVersionsRequest, response: ApiVersionsResponse, served: [0, 2] },
  { apiKey: ApiKey.CreateTopics, name: 'CreateTopics', request: topics.CreateTopicsRequest, response: topics.CreateTopicsResponse, served: [0, 4] },
  { apiKey: ApiKey.DeleteTopics, name: 'DeleteTopics', request: topics.DeleteTopicsRequest, response: topics.DeleteTopicsResponse, served: [0, 3] },
  // Idempotent producers are issue 12: defined, not advertised until then.
  { apiKey: ApiKey.InitProducerId, name: 'InitProducerId', request: InitProducerIdRequest, response: InitProducerIdResponse },
];

const byKey: Array<ApiSchema | undefined> = [];
for (const api of APIS) byKey[api.apiKey] = api;

export function apiSchema(apiKey: number): ApiSchema | undefined {
  return byKey[apiKey];
}

export function definedApis(): readonly ApiSchema[] {
  return APIS;
}

export interface ServedApi {
  readonly apiKey: number;
  readonly name: ApiKeyName;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** What ApiVersions advertises, by api key. */
export const SERVED: ReadonlyArray<ServedApi> = Object.freeze(
  APIS.filter((api) => api.served !== undefined)
    .map((api) => Object.freeze({ apiKey: api.apiKey, name: api.name, minVersion: api.served![0], maxVersion: api.served![1] }))
    .sort((a, b) => a.apiKey - b.apiKey),
);

export function isServed(apiKey: number, version: number): boolean {
  const served = byKey[apiKey]?.served;
  return served !== undefined && version >= served[0] && version <= served[1];
}
