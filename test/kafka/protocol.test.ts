// The protocol layer's primitives, headers and frames: varint vectors from Kafka's ByteUtils, the
// Writer's chunks and splices, request header v1/v2 and response header v0/v1 byte for byte,
// flexible versions (ApiVersions v3, Metadata v9) against hand-built frames, tagged fields, the
// ApiVersions UNSUPPORTED_VERSION answer and what is served.
import { describe, expect, it } from 'vitest';
import {
  ApiKey,
  ErrorCode,
  KafkaProtocolError,
  Reader,
  SERVED,
  Writer,
  concatChunks,
  decodeRequest,
  decodeResponse,
  encodeApiVersionsUnsupported,
  encodeRequest,
  encodeResponse,
  isServed,
  readRequestHeader,
  WRITER_CHUNK_BYTES,
} from '../../src/kafka/protocol/index.js';
import { frameOf } from './protocol-values.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function written(write: (w: Writer) => void): Buffer {
  const w = new Writer();
  write(w);
  return concatChunks(w.finish());
}

describe('primitives', () => {
  it('unsigned varints, zigzag varints and varlongs match Kafka ByteUtils vectors', () => {
    const cases: Array<[number, string]> = [[0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [0xffffffff, 'ffffffff0f']];
    for (const [v, bytes] of cases) {
      expect(written((w) => w.uvarint(v)).toString('hex')).toBe(bytes);
      expect(new Reader(hex(bytes)).uvarint()).toBe(v);
    }
    const zigzag: Array<[number, string]> = [[0, '00'], [-1, '01'], [1, '02'], [-64, '7f'], [64, '8001'], [2147483647, 'feffffff0f'], [-2147483648, 'ffffffff0f']];
    for (const [v, bytes] of zigzag) {
      expect(written((w) => w.varint(v)).toString('hex')).toBe(bytes);
      expect(new Reader(hex(bytes)).varint()).toBe(v);
    }
    for (const v of [0n, -1n, 1n, 2n ** 63n - 1n, -(2n ** 63n), 1700000000000n]) {
      expect(new Reader(written((w) => w.varlong(v))).varlong()).toBe(v);
    }
    expect(written((w) => w.varlong(-(2n ** 63n))).length).toBe(10);
  });

  it('int64 takes a bigint or a safe integer number and always reads back as a bigint', () => {
    for (const v of [0, -1, 1, 2 ** 53 - 1, -(2 ** 53 - 1), 4294967296, -4294967297]) {
      const b = written((w) => w.int64(v));
      expect(b.readBigInt64BE(0)).toBe(BigInt(v));
      expect(new Reader(b).int64()).toBe(BigInt(v));
    }
    expect(() => written((w) => w.int64(2 ** 60))).toThrow(RangeError);
  });

  it('reads past the end, overlong varints and absurd lengths are KafkaProtocolErrors', () => {
    const bad: Array<[string, (r: Reader) => unknown]> = [
      ['00', (r) => r.int16()],
      ['000000', (r) => r.int32()],
      ['80808080', (r) => r.uvarint()],
      ['8080808010', (r) => r.uvarint()], // over 32 bits
      ['808080808080808080808001', (r) => r.varlong()],
      ['0005 6162', (r) => r.string()],
      ['ffff', (r) => r.string()], // null in a non-nullable string
      ['fffe', (r) => r.nullableString()],
      ['7fffffff 00', (r) => r.bytes()],
      ['7fffffff', (r) => r.arrayLength(false)],
      ['fffffff0', (r) => r.arrayLength(false)],
      ['ffffffff0f', (r) => r.arrayLength(true)],
      ['ffffffff0f', (r) => r.nullableCompactString()],
      ['00', (r) => r.compactString()], // null compact string
      ['0102 05 00', (r) => r.taggedFields(() => false)], // tagged field size past the end
      ['02 0100 0100', (r) => r.taggedFields(() => false)], // same tag twice
    ];
    for (const [bytes, read] of bad) {
      expect(() => read(new Reader(hex(bytes))), bytes).toThrow(KafkaProtocolError);
    }
  });

  it('strings, bytes and uuids read as written, compact or not', () => {
    const uuid = Buffer.from('00112233445566778899aabbccddeeff', 'hex').toString('base64url');
    const b = written((w) => {
      w.nullableString('héllo');
      w.nullableString(null);
      w.nullableCompactString('ok');
      w.nullableCompactString(null);
      w.nullableBytes(Buffer.from([1, 2]));
      w.nullableCompactBytes([Buffer.from([3]), Buffer.from([4, 5])]);
      w.uuid(uuid);
    });
    const r = new Reader(b);
    expect([r.string(), r.nullableString(), r.compactString(), r.nullableCompactString()]).toEqual(['héllo', null, 'ok', null]);
    expect([...r.bytes()]).toEqual([1, 2]);
    expect([...r.compactBytes()]).toEqual([3, 4, 5]);
    expect(r.uuid()).toBe(uuid);
    expect(r.remaining).toBe(0);
  });
});

describe('Writer', () => {
  it('splices large caller Buffers without copying and copies small ones', () => {
    const big = Buffer.alloc(4096, 7);
    const small = Buffer.from([9, 9]);
    const w = new Writer();
    w.int32(1);
    w.nullableBytes(big);
    w.nullableBytes(small);
    const chunks = w.finish();
    expect(chunks.some((c) => c === big)).toBe(true);
    expect(chunks.some((c) => c === small)).toBe(false);
    expect(concatChunks(chunks).length).toBe(4 + 4 + 4096 + 4 + 2);
  });

  it('grows by new chunks past the slab and never overwrites the output of an earlier writer', () => {
    const first = new Writer();
    for (let i = 0; i < 100; i++) first.int32(i);
    const firstOut = first.finish().map((c) => Buffer.from(c));
    const firstChunks = new Writer();
    firstChunks.int32(123);
    const kept = firstChunks.finish();
    const keptCopy = Buffer.from(concatChunks(kept));
    const big = new Writer();
    const n = (WRITER_CHUNK_BYTES * 3) / 4;
    for (let i = 0; i < n; i++) big.int32(i);
    const bigOut = concatChunks(big.finish());
    expect(bigOut.length).toBe(n * 4);
    for (let i = 0; i < n; i += 997) expect(bigOut.readInt32BE(i * 4)).toBe(i);
    expect(concatChunks(kept)).toEqual(keptCopy);
    expect(firstOut.length).toBeGreaterThan(0);
  });

  it('a writer made while another is open gets its own chunks', () => {
    const outer = new Writer();
    outer.int32(0x11111111);
    const inner = new Writer();
    inner.int32(0x22222222);
    outer.int32(0x33333333);
    expect(concatChunks(inner.finish()).toString('hex')).toBe('22222222');
    expect(concatChunks(outer.finish()).toString('hex')).toBe('1111111133333333');
  });
});

describe('headers and frames', () => {
  it('request header v1: api key, version, correlation id, int16 client id; body follows', () => {
    const frame = frameOf(encodeRequest({ apiKey: ApiKey.Heartbeat, apiVersion: 3, correlationId: 9, clientId: 'c' }, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }));
    expect(frame.toString('hex')).toBe('000c0003' + '00000009' + '000163' + '000167' + '00000001' + '00016d' + 'ffff');
    expect(readRequestHeader(frame)).toEqual({ apiKey: 12, apiVersion: 3, correlationId: 9, clientId: 'c', bodyOffset: 11 });
  });

  it('ApiVersions v3 (flexible): request header v2, compact strings, tagged fields; response header v0', () => {
    const frame = hex('0012 0003 0000002a 0004 6b63 6174 00' + '08 6c696272646b61 06 322e302e32 00');
    const header = readRequestHeader(frame);
    expect(header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 42, clientId: 'kcat', bodyOffset: 15 });
    expect(decodeRequest(header, frame)).toEqual({ clientSoftwareName: 'librdka', clientSoftwareVersion: '2.0.2' });
    expect(frameOf(encodeRequest(header, decodeRequest(header, frame)))).toEqual(frame);
    const response = frameOf(encodeResponse(header, { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 8 }], throttleTimeMs: 0, finalizedFeaturesEpoch: 5n }));
    // Header v0 (no tagged fields), then errorCode, compact array of 1, its element's tagged
    // fields, throttle time, and one tagged field: tag 1, 8 bytes, the epoch.
    expect(response.toString('hex')).toBe('0000002a' + '0000' + '02' + '0000' + '0000' + '0008' + '00' + '00000000' + '01' + '01' + '08' + '0000000000000005');
    expect(decodeResponse(18, 3, response)).toMatchObject({ finalizedFeaturesEpoch: 5n, supportedFeatures: [], zkMigrationReady: false });
  });

  it('Metadata v9 (flexible): a hand-built request decodes; unknown tagged fields are skipped; the response has header v1', () => {
    // topics: compact array of 1 { name 'ab', tagged: none }, allowAutoTopicCreation true,
    // includeClusterAuthorizedOperations false, includeTopicAuthorizedOperations false, and a
    // tagged field with unknown tag 7 (2 bytes).
    const frame = hex('0003 0009 00000001 ffff 00' + '02 03 6162 00' + '01 00 00' + '01 07 02 abcd');
    const header = readRequestHeader(frame);
    expect(header).toMatchObject({ apiKey: 3, apiVersion: 9, clientId: null });
    expect(decodeRequest(header, frame)).toEqual({
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'ab' }],
      allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    });
    const response = frameOf(encodeResponse(header, { brokers: [], clusterId: null, controllerId: 1, topics: [] }));
    expect(response.toString('hex')).toBe('00000001' + '00' + '00000000' + '01' + '00' + '00000001' + '01' + '80000000' + '00');
  });

  it('ApiVersions in a version not served: the header reads, the answer is v0 with UNSUPPORTED_VERSION and the full list', () => {
    const frame = hex('0012 0009 00000007 0001 78 00' + 'ffff');
    const header = readRequestHeader(frame);
    expect(header).toMatchObject({ apiKey: 18, apiVersion: 9, correlationId: 7, clientId: 'x' });
    expect(isServed(header.apiKey, header.apiVersion)).toBe(false);
    const response = frameOf(encodeApiVersionsUnsupported(header));
    expect(response.readInt32BE(0)).toBe(7);
    const body = decodeResponse(18, 0, response);
    expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(body.apiKeys).toEqual(SERVED.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })));
  });

  it('SERVED is exactly issue 14s set, and isServed follows it', () => {
    expect(SERVED.map((s) => [s.name, s.minVersion, s.maxVersion])).toEqual([
      ['Produce', 0, 8], ['Fetch', 4, 11], ['ListOffsets', 1, 5], ['Metadata', 0, 8], ['OffsetCommit', 2, 7], ['OffsetFetch', 1, 5],
      ['FindCoordinator', 0, 2], ['JoinGroup', 0, 5], ['Heartbeat', 0, 3], ['LeaveGroup', 0, 3], ['SyncGroup', 0, 3],
      ['ApiVersions', 0, 2], ['CreateTopics', 0, 4], ['DeleteTopics', 0, 3],
    ]);
    for (const s of SERVED) expect(ApiKey[s.name]).toBe(s.apiKey);
    expect(isServed(ApiKey.Fetch, 3)).toBe(false);
    expect(isServed(ApiKey.Fetch, 11)).toBe(true);
    expect(isServed(ApiKey.InitProducerId, 0)).toBe(false);
    expect(isServed(99, 0)).toBe(false);
  });

  it('records fields take a Buffer, null or an array of Buffers, and decode to a view of the frame', () => {
    const parts = [Buffer.alloc(300, 1), Buffer.alloc(500, 2)];
    const chunks = encodeResponse({ apiKey: ApiKey.Fetch, apiVersion: 11, correlationId: 3 }, {
      responses: [{ topic: 't', partitions: [{ partitionIndex: 0, highWatermark: 10n, records: parts }, { partitionIndex: 1, highWatermark: 0, records: null }] }],
    });
    expect(chunks).toContain(parts[0]);
    expect(chunks).toContain(parts[1]);
    const body = decodeResponse(ApiKey.Fetch, 11, frameOf(chunks)) as any;
    expect(body.responses[0].partitions[0].records).toEqual(Buffer.concat(parts));
    expect(body.responses[0].partitions[0]).toMatchObject({ lastStableOffset: -1n, logStartOffset: -1n, preferredReadReplica: -1, abortedTransactions: [] });
    expect(body.responses[0].partitions[1].records).toBe(null);
  });
});
