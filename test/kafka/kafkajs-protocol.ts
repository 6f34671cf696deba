// kafkajs 2.2.4's own request encoders and response decoders (node_modules/kafkajs/src/protocol),
// loaded as a third-party oracle for the protocol layer's tests.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<{ buffer: Buffer }>;
}

/** A whole request frame (size first) as kafkajs writes it for `api` (its folder name) version `version`. */
export async function kafkajsRequest(api: string, version: number, args: object, correlationId: number, clientId: string): Promise<Buffer> {
  const make = require(`kafkajs/src/protocol/requests/${api}/v${version}/request.js`) as (a: object) => KafkajsRequest;
  const createRequest = require('kafkajs/src/protocol/request.js') as (o: object) => Promise<{ buffer: Buffer }>;
  const request = make(args);
  if (request.apiVersion !== version) throw new Error(`kafkajs ${api} v${version} says it is v${request.apiVersion}`);
  return (await createRequest({ correlationId, clientId, request })).buffer;
}

/** kafkajs's decoding of a response body (the bytes after the correlation id). */
export async function kafkajsDecodeResponse(api: string, version: number, body: Buffer): Promise<unknown> {
  const mod = require(`kafkajs/src/protocol/requests/${api}/v${version}/response.js`) as { decode(b: Buffer): Promise<unknown> };
  return mod.decode(body);
}

/** The versions kafkajs has for `api`. */
export function kafkajsVersions(api: string): number[] {
  const mod = require(`kafkajs/src/protocol/requests/${api}/index.js`) as { versions: string[] };
  return mod.versions.map(Number).sort((a, b) => a - b);
}

export function kafkajsLong(n: bigint | number): unknown {
  const Long = require('kafkajs/src/utils/long.js') as { fromString(s: string): unknown };
  return Long.fromString(String(n));
}
