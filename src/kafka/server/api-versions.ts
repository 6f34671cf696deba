// ApiVersions: the apis and versions this server serves (protocol's SERVED), nothing else. A
// request in a version the server does not serve is answered by the connection
// (protocol/encodeApiVersionsUnsupported: the v0 layout, UNSUPPORTED_VERSION and the full list, as
// Kafka does), so that the client retries with a version from the list.
//
// Crash: nothing here is on disk.
import { ErrorCode, servedApiVersions } from '../protocol/index.js';

export function apiVersions(): object {
  return { errorCode: ErrorCode.NONE, apiKeys: servedApiVersions(), throttleTimeMs: 0 };
}
