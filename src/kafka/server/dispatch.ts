// Which handler answers which api (the apis protocol/SERVED lists, one file per family). The
// connection (connection.ts) has checked that the api and version are served and decoded the body.
//
// Crash: nothing here is on disk.
import { ApiKey, type RequestHeader } from '../protocol/index.js';
import type { Handler, RequestOrigin, ServerContext } from './context.js';
import { apiVersions } from './api-versions.js';
import { metadata } from './metadata.js';
import { createTopics, deleteTopics } from './topics-admin.js';
import { produce } from './produce.js';
import { fetchHandler } from './fetch.js';
import { listOffsets } from './list-offsets.js';
import { findCoordinator, heartbeat, joinGroup, leaveGroup, offsetCommit, offsetFetch, syncGroup } from './groups.js';

const HANDLERS: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [ApiKey.ApiVersions, () => apiVersions()],
  [ApiKey.Metadata, (ctx, header, body) => metadata(ctx, header, body)],
  [ApiKey.CreateTopics, (ctx, _header, body) => createTopics(ctx, body)],
  [ApiKey.DeleteTopics, (ctx, _header, body) => deleteTopics(ctx, body)],
  [ApiKey.Produce, (ctx, header, body) => produce(ctx, header, body)],
  [ApiKey.Fetch, (ctx, header, body, origin) => fetchHandler(ctx, header, body, origin)],
  [ApiKey.ListOffsets, (ctx, _header, body) => listOffsets(ctx, body)],
  [ApiKey.FindCoordinator, (ctx, header, body) => findCoordinator(ctx, header, body)],
  [ApiKey.JoinGroup, (ctx, header, body) => joinGroup(ctx, header, body)],
  [ApiKey.SyncGroup, (ctx, header, body) => syncGroup(ctx, header, body)],
  [ApiKey.Heartbeat, (ctx, header, body) => heartbeat(ctx, header, body)],
  [ApiKey.LeaveGroup, (ctx, header, body) => leaveGroup(ctx, header, body)],
  [ApiKey.OffsetCommit, (ctx, header, body) => offsetCommit(ctx, header, body)],
  [ApiKey.OffsetFetch, (ctx, header, body) => offsetFetch(ctx, header, body)],
]);

/** Whether this server has a handler for `apiKey` (a served api without one is a bug of the tables). */
export function handles(apiKey: number): boolean {
  return HANDLERS.has(apiKey);
}

/** The response body for a decoded request (undefined: no response). */
export function dispatch(ctx: ServerContext, header: RequestHeader, body: object, origin: RequestOrigin): Promise<object | undefined> | object | undefined {
  const handler = HANDLERS.get(header.apiKey);
  if (handler === undefined) throw new Error(`assertion: api ${header.apiKey} is served but has no handler`);
  return handler(ctx, header, body, origin);
}
