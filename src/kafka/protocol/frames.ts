// Whole frames: a request or response body with its header, the 4-byte size first on the way out.
// The server reads a request with readRequestHeader + decodeRequest and answers with
// encodeResponse; encodeRequest and decodeResponse run the same tables the other way (tests, and a
// client side for forward/mirror). Decoding throws KafkaProtocolError and nothing else.
import { apiSchema } from './registry.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';
import { decodeMessage, type Decoded } from './decode.js';
import { messageEncoder } from './encode.js';
import { KafkaProtocolError } from './errors.js';
import {
  RequestHeaderSchema,
  ResponseHeaderSchema,
  requestHeaderVersion,
  responseHeaderVersion,
  type RequestHeader,
} from './headers.js';
import type { MessageSchema } from './schema.js';

function schemaOf(apiKey: number, which: 'request' | 'response'): MessageSchema {
  const api = apiSchema(apiKey);
  if (api === undefined) throw new KafkaProtocolError(`api key ${apiKey} is not defined`);
  return api[which];
}

/** Runs a decode; an error that is not a KafkaProtocolError (a bug) is wrapped in one. */
function guarded<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof KafkaProtocolError) throw err;
    const e = new KafkaProtocolError(`${what}: ${(err as Error).message}`);
    (e as { cause?: unknown }).cause = err;
    throw e;
  }
}

function decodeBody(message: MessageSchema, version: number, frame: Buffer, offset: number): Decoded {
  const r = new Reader(frame, offset);
  const body = decodeMessage(message, version, r);
  if (r.pos !== frame.length) throw new KafkaProtocolError(`${message.name} v${version}: ${frame.length - r.pos} trailing bytes`, r.pos);
  return body;
}

/** Decodes a request's body (the frame is the bytes after the size, header included). */
export function decodeRequest(header: RequestHeader, frame: Buffer): Decoded {
  return guarded('request', () => decodeBody(schemaOf(header.apiKey, 'request'), header.apiVersion, frame, header.bodyOffset));
}

function encodeFrame(writeHeader: (w: Writer) => void, message: MessageSchema, version: number, body: object): Buffer[] {
  const encodeBody = messageEncoder(message, version);
  const w = new Writer();
  try {
    const size = w.reserveInt32();
    writeHeader(w);
    encodeBody(w, body as Record<string, unknown>);
    w.int32At(size, w.length - 4);
  } catch (err) {
    w.abandon();
    throw err;
  }
  return w.finish();
}

/** Encodes the response to a request: the whole frame, size first, as chunks to write in order. */
export function encodeResponse(header: Pick<RequestHeader, 'apiKey' | 'apiVersion' | 'correlationId'>, body: object): Buffer[] {
  const headerVersion = responseHeaderVersion(header.apiKey, header.apiVersion);
  const writeHeader = messageEncoder(ResponseHeaderSchema, headerVersion);
  const h = { correlationId: header.correlationId };
  return encodeFrame((w) => writeHeader(w, h), schemaOf(header.apiKey, 'response'), header.apiVersion, body);
}

/** Encodes a request frame, size first. */
export function encodeRequest(
  header: Pick<RequestHeader, 'apiKey' | 'apiVersion' | 'correlationId' | 'clientId'>,
  body: object,
): Buffer[] {
  const headerVersion = requestHeaderVersion(header.apiKey, header.apiVersion);
  const writeHeader = messageEncoder(RequestHeaderSchema, headerVersion);
  const h = { requestApiKey: header.apiKey, requestApiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId };
  return encodeFrame((w) => writeHeader(w, h), schemaOf(header.apiKey, 'request'), header.apiVersion, body);
}

/** A response's correlation id and where its body starts (the frame is the bytes after the size). */
export function readResponseHeader(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; bodyOffset: number } {
  return guarded('response header', () => {
    const r = new Reader(frame);
    const h = decodeMessage(ResponseHeaderSchema, responseHeaderVersion(apiKey, apiVersion), r);
    return { correlationId: h.correlationId as number, bodyOffset: r.pos };
  });
}

/** Decodes a response's body (the frame is the bytes after the size, header included). */
export function decodeResponse(apiKey: number, apiVersion: number, frame: Buffer): Decoded {
  const { bodyOffset } = readResponseHeader(apiKey, apiVersion, frame);
  return guarded('response', () => decodeBody(schemaOf(apiKey, 'response'), apiVersion, frame, bodyOffset));
}
