// ApiVersions answers built from SERVED. A request in a version the server does not serve (a
// client opening with v3 or v4) is answered as Kafka does: the v0 layout (error code, api list, no
// throttle time), error UNSUPPORTED_VERSION and the full list, so the client retries with a version
// from the list. Its header can always be read (readRequestHeader), its body is not decoded.
import { ApiKey } from './api-keys.js';
import { ErrorCode } from './error-codes.js';
import { SERVED } from './registry.js';
import { encodeResponse } from './frames.js';

/** The `apiKeys` array of an ApiVersions response: every served api with its version range. */
export function servedApiVersions(): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
  return SERVED.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion }));
}

/** The whole response frame to an ApiVersions request in a version not served. */
export function encodeApiVersionsUnsupported(header: { readonly correlationId: number }): Buffer[] {
  return encodeResponse(
    { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: header.correlationId },
    { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: servedApiVersions() },
  );
}
