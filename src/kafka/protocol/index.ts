// The protocol layer's public surface (docs/kafka.md "protocol/index.ts"): api keys, error codes,
// what is served, request and response frames in both directions, and the primitives.
export { ApiKey, type ApiKeyName } from './api-keys.js';
export { ErrorCode, type ErrorCodeName } from './error-codes.js';
export { KafkaProtocolError } from './errors.js';
export { SERVED, isServed, apiSchema, definedApis, type ApiSchema, type ServedApi } from './registry.js';
export { readRequestHeader, isFlexible, requestHeaderVersion, responseHeaderVersion, type RequestHeader } from './headers.js';
export { decodeRequest, encodeResponse, encodeRequest, decodeResponse, readResponseHeader } from './frames.js';
export { encodeApiVersionsUnsupported, servedApiVersions } from './api-versions.js';
export { Reader } from './reader.js';
export { Writer, concatChunks, WRITER_CHUNK_BYTES, type Mark } from './writer.js';
export type { MessageSchema, FieldSchema, PrimitiveType } from './schema.js';
export type { Decoded } from './decode.js';
