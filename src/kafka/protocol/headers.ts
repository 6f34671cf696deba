// Request and response headers, as tables like any message (Kafka's RequestHeader.json and
// ResponseHeader.json). Request header v1 is api key, api version, correlation id and a nullable
// client id; v2 (an api version that is flexible) adds a tagged-field section, its client id still
// a plain int16-length string. Response header v0 is the correlation id; v1 adds tagged fields.
// ApiVersions responses always use v0, whatever the version (a client that does not know the
// server's versions yet must be able to read the answer).
import { ApiKey } from './api-keys.js';
import { apiSchema } from './registry.js';
import { inVersions, type MessageSchema } from './schema.js';
import { Reader } from './reader.js';
import { decodeMessage } from './decode.js';
import { KafkaProtocolError } from './errors.js';

export const RequestHeaderSchema: MessageSchema = {
  name: 'RequestHeader', type: 'header', validVersions: '1-2', flexibleVersions: '2+',
  fields: [
    { name: 'requestApiKey', type: 'int16', versions: '0+' },
    { name: 'requestApiVersion', type: 'int16', versions: '0+' },
    { name: 'correlationId', type: 'int32', versions: '0+' },
    { name: 'clientId', type: 'string', versions: '1+', nullableVersions: '1+', flexibleVersions: 'none', default: null },
  ],
};

export const ResponseHeaderSchema: MessageSchema = {
  name: 'ResponseHeader', type: 'header', validVersions: '0-1', flexibleVersions: '1+',
  fields: [{ name: 'correlationId', type: 'int32', versions: '0+' }],
};

/** A request's header; the body starts at `bodyOffset` of the frame (the bytes after the size). */
export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly bodyOffset: number;
}

/** Whether that version of the API is flexible (an API this layer does not define is not). */
export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const api = apiSchema(apiKey);
  return api !== undefined && inVersions(api.request.flexibleVersions, apiVersion);
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  return apiKey !== ApiKey.ApiVersions && isFlexible(apiKey, apiVersion) ? 1 : 0;
}

const MIN_HEADER_BYTES = 10;

/**
 * Reads the header of a request frame. Any api key and version is readable (the server must be
 * able to answer one it does not serve); the header version follows the api's flexible versions.
 */
export function readRequestHeader(frame: Buffer): RequestHeader {
  if (frame.length < MIN_HEADER_BYTES) throw new KafkaProtocolError(`request header: frame of ${frame.length} bytes is too short`, 0);
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  if (apiVersion < 0) throw new KafkaProtocolError(`request header: negative api version ${apiVersion}`, 2);
  const r = new Reader(frame);
  const h = decodeMessage(RequestHeaderSchema, requestHeaderVersion(apiKey, apiVersion), r);
  return { apiKey, apiVersion, correlationId: h.correlationId as number, clientId: h.clientId as string | null, bodyOffset: r.pos };
}
