// The consumer-group apis, handed to the group coordinator (coordinator/: members, generations,
// timers, offsets as seglog group positions). FindCoordinator is answered by the coordinator too;
// the node it names is this one, at the address this server advertises.
//
// Crash: what the coordinator stores is seglog group positions (its business).
import type { RequestHeader } from '../protocol/index.js';
import type { ServerContext } from './context.js';
import type { FindCoordinatorRequest, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, OffsetCommitRequest, OffsetFetchRequest, SyncGroupRequest } from '../coordinator/index.js';

// (The bodies were decoded by the protocol tables of their api: they have the fields the
// coordinator's request types name.)
type Body<T> = T;
const as = <T>(body: object): Body<T> => body as T;

export function joinGroup(ctx: ServerContext, header: RequestHeader, body: object): Promise<object> {
  return ctx.coordinator.joinGroup(as<JoinGroupRequest>(body), header.apiVersion, header.clientId);
}
export function syncGroup(ctx: ServerContext, header: RequestHeader, body: object): Promise<object> {
  return ctx.coordinator.syncGroup(as<SyncGroupRequest>(body), header.apiVersion);
}
export function heartbeat(ctx: ServerContext, header: RequestHeader, body: object): Promise<object> {
  return ctx.coordinator.heartbeat(as<HeartbeatRequest>(body), header.apiVersion);
}
export function leaveGroup(ctx: ServerContext, header: RequestHeader, body: object): Promise<object> {
  return ctx.coordinator.leaveGroup(as<LeaveGroupRequest>(body), header.apiVersion);
}
export function offsetCommit(ctx: ServerContext, header: RequestHeader, body: object): Promise<object> {
  return ctx.coordinator.offsetCommit(as<OffsetCommitRequest>(body), header.apiVersion);
}
export function offsetFetch(ctx: ServerContext, header: RequestHeader, body: object): Promise<object> {
  return ctx.coordinator.offsetFetch(as<OffsetFetchRequest>(body), header.apiVersion);
}
/** The coordinator names this node, at the address the server advertises (it was built with both). */
export function findCoordinator(ctx: ServerContext, header: RequestHeader, body: object): Promise<object> {
  return ctx.coordinator.findCoordinator(as<FindCoordinatorRequest>(body), header.apiVersion);
}
