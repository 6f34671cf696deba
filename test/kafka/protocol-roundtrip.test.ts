// Every message of every API, request and response, in every version its tables define (flexible
// versions included): generated values encode and decode back to themselves, through whole frames
// with their headers, and re-encode to the same bytes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeRequest,
  decodeResponse,
  definedApis,
  encodeRequest,
  encodeResponse,
  readRequestHeader,
  readResponseHeader,
} from '../../src/kafka/protocol/index.js';
import { frameOf, messageArb, versionsOf } from './protocol-values.js';

const RUNS = 25;

describe('every message round-trips in every defined version', () => {
  for (const api of definedApis()) {
    it(`${api.name} requests (${api.request.validVersions})`, () => {
      for (const version of versionsOf(api.request)) {
        fc.assert(
          fc.property(messageArb(api.request, version), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.option(fc.string({ maxLength: 8 }), { nil: null }), (body, correlationId, clientId) => {
            const chunks = encodeRequest({ apiKey: api.apiKey, apiVersion: version, correlationId, clientId }, body);
            const frame = frameOf(chunks);
            const header = readRequestHeader(frame);
            expect(header).toMatchObject({ apiKey: api.apiKey, apiVersion: version, correlationId, clientId });
            const decoded = decodeRequest(header, frame);
            expect(decoded).toEqual(body);
            expect(frameOf(encodeRequest(header, decoded))).toEqual(frame);
          }),
          { numRuns: RUNS },
        );
      }
    });

    it(`${api.name} responses (${api.response.validVersions})`, () => {
      for (const version of versionsOf(api.response)) {
        fc.assert(
          fc.property(messageArb(api.response, version), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (body, correlationId) => {
            const header = { apiKey: api.apiKey, apiVersion: version, correlationId };
            const frame = frameOf(encodeResponse(header, body));
            expect(readResponseHeader(api.apiKey, version, frame).correlationId).toBe(correlationId);
            const decoded = decodeResponse(api.apiKey, version, frame);
            expect(decoded).toEqual(body);
            expect(frameOf(encodeResponse(header, decoded))).toEqual(frame);
          }),
          { numRuns: RUNS },
        );
      }
    });
  }
});
