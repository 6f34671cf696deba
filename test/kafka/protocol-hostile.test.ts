// Hostile input to the protocol layer: every truncation of valid request frames of every served
// API and version, random bytes, random corruption of valid frames, and huge lengths. Decoding
// either succeeds or throws KafkaProtocolError, never another exception, and never allocates for a
// length the frame cannot hold. Also frames larger than a Writer chunk round-trip intact.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ApiKey,
  KafkaProtocolError,
  SERVED,
  apiSchema,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  readRequestHeader,
  WRITER_CHUNK_BYTES,
} from '../../src/kafka/protocol/index.js';
import { frameOf, messageArb } from './protocol-values.js';

/** Decodes a request frame as the server does; returns the error, if any. */
function tryDecode(frame: Buffer): unknown {
  try {
    decodeRequest(readRequestHeader(frame), frame);
    return undefined;
  } catch (err) {
    return err;
  }
}

function expectProtocolErrorOrNothing(frame: Buffer): void {
  const err = tryDecode(frame);
  if (err !== undefined && !(err instanceof KafkaProtocolError)) throw new Error(`not a KafkaProtocolError for ${frame.toString('hex')}: ${String(err)}`);
}

function sampleFrames(apiKey: number, version: number, count: number): Buffer[] {
  const message = apiSchema(apiKey)!.request;
  return fc.sample(messageArb(message, version, { maxArray: 2 }), { numRuns: count, seed: apiKey * 100 + version })
    .map((body) => frameOf(encodeRequest({ apiKey, apiVersion: version, correlationId: 1, clientId: 'h' }, body)));
}

const servedVersions = SERVED.flatMap((s) => Array.from({ length: s.maxVersion - s.minVersion + 1 }, (_, i) => [s.apiKey, s.minVersion + i] as const));

describe('hostile request frames', () => {
  it('every truncation of a valid frame of every served API and version is a KafkaProtocolError', () => {
    let checked = 0;
    for (const [apiKey, version] of servedVersions) {
      for (const frame of sampleFrames(apiKey, version, 3)) {
        expect(tryDecode(frame)).toBeUndefined();
        for (let n = 0; n < frame.length; n++) {
          expect(tryDecode(frame.subarray(0, n)), `api ${apiKey} v${version} cut at ${n}`).toBeInstanceOf(KafkaProtocolError);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('trailing bytes after a valid body are a KafkaProtocolError', () => {
    for (const [apiKey, version] of servedVersions) {
      const [frame] = sampleFrames(apiKey, version, 1);
      expect(tryDecode(Buffer.concat([frame!, Buffer.from([0])]))).toBeInstanceOf(KafkaProtocolError);
    }
  });

  it('random bytes behind any header decode or throw KafkaProtocolError', () => {
    const keys = [...SERVED.map((s) => s.apiKey), ApiKey.InitProducerId, 99, -1];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.integer({ min: -1, max: 20 }), fc.uint8Array({ maxLength: 200 }), (apiKey, version, rest) => {
        const head = Buffer.alloc(4);
        head.writeInt16BE(apiKey, 0);
        head.writeInt16BE(version, 2);
        expectProtocolErrorOrNothing(Buffer.concat([head, Buffer.from(rest)]));
      }),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => expectProtocolErrorOrNothing(Buffer.from(bytes))), { numRuns: 1000 });
  });

  it('valid frames with random bytes overwritten decode or throw KafkaProtocolError', () => {
    for (const [apiKey, version] of servedVersions) {
      const [frame] = sampleFrames(apiKey, version, 1);
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
          const copy = Buffer.from(frame!);
          for (const [at, value] of edits) copy[8 + (at % Math.max(1, copy.length - 8))] = value;
          expectProtocolErrorOrNothing(copy);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('huge lengths are refused before anything is allocated for them', () => {
    const header = (apiKey: number, version: number): Buffer => {
      const b = Buffer.alloc(10);
      b.writeInt16BE(apiKey, 0);
      b.writeInt16BE(version, 2);
      b.writeInt32BE(1, 4);
      b.writeInt16BE(-1, 8); // null client id
      return b;
    };
    const cases: Buffer[] = [
      // Metadata v1: topics array of 2^31-1 elements.
      Buffer.concat([header(3, 1), Buffer.from('7fffffff', 'hex')]),
      // Produce v3: transactional id null, acks, timeout, topic array 2^31-1.
      Buffer.concat([header(0, 3), Buffer.from('ffff ffff 00000bb8 7fffffff'.replace(/ /g, ''), 'hex')]),
      // Produce v3: one topic 't', one partition, records of 2^31-1 bytes.
      Buffer.concat([header(0, 3), Buffer.from('ffff ffff 00000bb8 00000001 0001 74 00000001 00000000 7fffffff'.replace(/ /g, ''), 'hex')]),
      // Fetch v11: a topic name of 32767 bytes.
      Buffer.concat([header(1, 11), Buffer.alloc(25), Buffer.from('00000001 7fff'.replace(/ /g, ''), 'hex')]),
      // A client id of 32767 bytes.
      Buffer.from('00120000 00000001 7fff 00'.replace(/ /g, ''), 'hex'),
      // Flexible ApiVersions v3: compact string of 2^32-2 bytes.
      Buffer.from('00120003 00000001 ffff 00 feffffff0f'.replace(/ /g, ''), 'hex'),
    ];
    const before = process.memoryUsage().arrayBuffers;
    for (const frame of cases) expect(tryDecode(frame), frame.toString('hex')).toBeInstanceOf(KafkaProtocolError);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a version the tables do not define is a KafkaProtocolError', () => {
    const frame = Buffer.from('0003 0063 00000001 ffff'.replace(/ /g, ''), 'hex');
    expect(tryDecode(frame)).toBeInstanceOf(KafkaProtocolError);
    expect(() => decodeResponse(ApiKey.Metadata, 99, Buffer.alloc(8))).toThrow(KafkaProtocolError);
  });
});

describe('frames larger than a Writer chunk', () => {
  it('a Metadata response over several chunks round-trips intact, twice in a row', () => {
    const topics = Array.from({ length: 3000 }, (_, i) => ({
      errorCode: 0, name: `topic-${i}-${'x'.repeat(i % 40)}`, isInternal: false,
      partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
    }));
    const body = { throttleTimeMs: 0, brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }], clusterId: 'c', controllerId: 1, topics, clusterAuthorizedOperations: 0 };
    for (const version of [8, 9, 12]) {
      const a = encodeResponse({ apiKey: ApiKey.Metadata, apiVersion: version, correlationId: 1 }, body);
      const b = encodeResponse({ apiKey: ApiKey.Metadata, apiVersion: version, correlationId: 2 }, body);
      expect(a.reduce((n, c) => n + c.length, 0)).toBeGreaterThan(2 * WRITER_CHUNK_BYTES);
      for (const chunks of [a, b]) {
        const decoded = decodeResponse(ApiKey.Metadata, version, frameOf(chunks)) as { topics: Array<{ name: string }> };
        expect(decoded.topics.map((t) => t.name)).toEqual(topics.map((t) => t.name));
      }
    }
  });
});
