// The Kafka server (serveKafka) through a raw-socket client (test/kafka/raw-client.ts): ApiVersions,
// Metadata with auto-creation, CreateTopics/DeleteTopics, Produce with acks 0/1/-1 seen in-process,
// Fetch (long poll woken by appends, the timeout, OFFSET_OUT_OF_RANGE), ListOffsets, and the
// handle's options and close(). Hostile input and backpressure: server-hostile.test.ts.
import { afterEach, describe, expect, test, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog, type Log } from '../../src/index.js';
import { serveKafka, type KafkaServerHandle, type RequestInfo } from '../../src/kafka/index.js';
import { ApiKey, ErrorCode, SERVED } from '../../src/kafka/protocol/index.js';
import { encodeBatch } from '../../src/kafka/records/index.js';
import { RawClient } from './raw-client.js';

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(options: Parameters<typeof serveKafka>[1] = {}, logOptions: Parameters<typeof openLog>[1] = {}): Promise<{ log: Log; server: KafkaServerHandle; client: RawClient; requests: RequestInfo[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-kafka-'));
  dirs.push(dir);
  const log = await openLog(dir, logOptions);
  cleanups.push(() => log.close());
  const requests: RequestInfo[] = [];
  const server = await serveKafka(log, { port: 0, onRequest: (i) => requests.push(i), ...options });
  cleanups.push(() => server.close());
  const client = await RawClient.connect(server.port);
  cleanups.push(async () => { client.socket.destroy(); await client.closed; });
  return { log, server, client, requests };
}

interface Rec { key?: string; value: string | null; headers?: Record<string, string>; timestamp?: number }

/** One record batch v2 as a producer sends it (offsets from 0). */
function batch(records: Rec[]): Buffer {
  const now = Date.now();
  return encodeBatch(records.map((r, i) => ({
    offset: i, timestamp: r.timestamp ?? now, key: r.key === undefined ? undefined : Buffer.from(r.key),
    headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])),
    valueBytes: r.value === null ? null : Buffer.from(r.value), value: null, deliveryCount: 1,
  }))).bytes;
}

function produceBody(topic: string, records: Buffer, acks = -1, partition = 0): object {
  return { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] };
}

function fetchBody(topic: string, fetchOffset: number, o: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number; partition?: number } = {}): object {
  return {
    replicaId: -1, maxWaitMs: o.maxWaitMs ?? 0, minBytes: o.minBytes ?? 1, maxBytes: o.maxBytes ?? 50 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: o.partition ?? 0, currentLeaderEpoch: -1, fetchOffset: BigInt(fetchOffset), logStartOffset: -1n, partitionMaxBytes: o.partitionMaxBytes ?? 1024 * 1024 }] }],
    forgottenTopicsData: [], rackId: '',
  };
}

function metadataBody(topics: string[] | null, allowAutoTopicCreation = true): object {
  return { topics: topics === null ? null : topics.map((name) => ({ name })), allowAutoTopicCreation, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
}

describe('serveKafka', () => {
  test('ApiVersions lists what SERVED says; an unserved version gets the v0 layout with UNSUPPORTED_VERSION and the list', async () => {
    const { client, requests } = await setup();
    const served = SERVED.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion }));
    for (const v of [0, 1, 2]) {
      const r = await client.request(ApiKey.ApiVersions, v, {});
      expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(r.apiKeys).toEqual(served);
    }
    // v99, as a newer client sends it (request header v2: client id, then no tagged fields; empty body)
    const id = client.takeId();
    const answer = client.expect(id, ApiKey.ApiVersions, 0);
    const clientId = Buffer.from(client.clientId);
    const frame = Buffer.alloc(4 + 11 + clientId.length); // (the last byte: no tagged fields)
    frame.writeInt32BE(frame.length - 4, 0);
    frame.writeInt16BE(ApiKey.ApiVersions, 4);
    frame.writeInt16BE(99, 6);
    frame.writeInt32BE(id, 8);
    frame.writeInt16BE(clientId.length, 12);
    clientId.copy(frame, 14);
    client.write(frame);
    const unsupported = await answer;
    expect(unsupported.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(unsupported.apiKeys).toEqual(served);
    expect(requests.map((x) => [x.apiName, x.apiVersion]).slice(0, 3)).toEqual([['ApiVersions', 0], ['ApiVersions', 1], ['ApiVersions', 2]]);
  });

  test('Metadata: one broker at the listening port; auto-creation when asked; UNKNOWN_TOPIC_OR_PARTITION when not; invalid names refused; in-process topics appear', async () => {
    const { log, server, client } = await setup();
    log.topic('made-in-process').appendSync(Buffer.from('x'));
    const all = await client.request(ApiKey.Metadata, 8, metadataBody(null));
    expect(all.brokers).toEqual([expect.objectContaining({ nodeId: 0, host: '127.0.0.1', port: server.port })]);
    expect(all.controllerId).toBe(0);
    expect(all.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(all.topics.map((t: { name: string }) => t.name)).toEqual(['made-in-process']);
    expect(all.topics[0].partitions).toEqual([expect.objectContaining({ partitionIndex: 0, leaderId: 0, errorCode: 0 })]);

    const created = await client.request(ApiKey.Metadata, 8, metadataBody(['auto']));
    expect(created.topics[0]).toEqual(expect.objectContaining({ name: 'auto', errorCode: ErrorCode.NONE }));
    expect(log.topics()).toContain('auto');

    const notAsked = await client.request(ApiKey.Metadata, 8, metadataBody(['nope'], false));
    expect(notAsked.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(log.topics()).not.toContain('nope');

    const bad = await client.request(ApiKey.Metadata, 8, metadataBody(['bad name', 'x.partition-1', 'a'.repeat(250)]));
    expect(bad.topics.map((t: { errorCode: number }) => t.errorCode)).toEqual([ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorCode.INVALID_TOPIC_EXCEPTION]);

    // v1–v3 have no allowAutoTopicCreation: Kafka's default (auto-create) applies
    const v1 = await client.request(ApiKey.Metadata, 1, { topics: [{ name: 'old-client' }] });
    expect(v1.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(log.topics()).toContain('old-client');
  });

  test('Metadata does not create topics when the server says autoCreateTopics: false', async () => {
    const { log, client } = await setup({ autoCreateTopics: false });
    const r = await client.request(ApiKey.Metadata, 8, metadataBody(['auto']));
    expect(r.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(log.topics()).toEqual([]);
  });

  test('CreateTopics with 3 partitions makes 3 seglog topics and Metadata shows 3; already exists, bad counts, validateOnly, then DeleteTopics', async () => {
    const { log, client } = await setup();
    const create = (name: string, numPartitions: number, validateOnly = false): Promise<any> =>
      client.request(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly });
    expect((await create('orders', 3)).topics[0]).toEqual(expect.objectContaining({ name: 'orders', errorCode: ErrorCode.NONE }));
    expect(log.topics()).toEqual(['orders', 'orders.partition-1', 'orders.partition-2']);
    const md = await client.request(ApiKey.Metadata, 8, metadataBody(['orders']));
    expect(md.topics[0].partitions.map((p: { partitionIndex: number }) => p.partitionIndex)).toEqual([0, 1, 2]);
    expect((await create('orders', 1)).topics[0].errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect((await create('zero', 0)).topics[0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect((await create('huge', 1_000_000)).topics[0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect((await create('dry', 2, true)).topics[0].errorCode).toBe(ErrorCode.NONE);
    expect((await create('default', -1)).topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(log.topics()).toEqual(['default', 'orders', 'orders.partition-1', 'orders.partition-2']);

    const del = await client.request(ApiKey.DeleteTopics, 3, { topicNames: ['orders', 'missing'], timeoutMs: 1000 });
    expect(del.responses.map((r: { name: string; errorCode: number }) => [r.name, r.errorCode])).toEqual([['orders', ErrorCode.NONE], ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    expect(log.topics()).toEqual(['default']);
  });

  test('Produce then Fetch: keys, headers, timestamps and value bytes round trip, and log.topic().read() in-process sees exactly the produced records', async () => {
    const { log, client } = await setup();
    log.topic('events');
    const sent: Rec[] = [
      { key: 'k1', value: 'one', headers: { source: 'web', trace: 'abc' }, timestamp: Date.UTC(2026, 0, 1) },
      { value: 'two', timestamp: Date.UTC(2026, 0, 2) },
      { key: 'k3', value: null, timestamp: Date.UTC(2026, 0, 3) },
    ];
    const produced = await client.request(ApiKey.Produce, 8, produceBody('events', batch(sent)));
    expect(produced.responses[0].partitionResponses[0]).toEqual(expect.objectContaining({ index: 0, errorCode: ErrorCode.NONE, baseOffset: 0n }));
    const again = await client.request(ApiKey.Produce, 8, produceBody('events', batch([{ value: 'four' }])));
    expect(again.responses[0].partitionResponses[0].baseOffset).toBe(3n);

    const inProcess = [...log.topic('events').read()];
    expect(inProcess.map((r) => [r.offset, r.key?.toString(), r.valueBytes?.toString() ?? null, r.timestamp])).toEqual([
      [0, 'k1', 'one', Date.UTC(2026, 0, 1)], [1, undefined, 'two', Date.UTC(2026, 0, 2)], [2, 'k3', null, Date.UTC(2026, 0, 3)], [3, undefined, 'four', expect.any(Number)],
    ]);
    expect(Object.fromEntries(Object.entries(inProcess[0]!.headers).map(([k, v]) => [k, v.toString()]))).toEqual({ source: 'web', trace: 'abc' });

    const fetched = await client.request(ApiKey.Fetch, 11, fetchBody('events', 0));
    const part = fetched.responses[0].partitions[0];
    expect(part).toEqual(expect.objectContaining({ errorCode: ErrorCode.NONE, highWatermark: 4n, lastStableOffset: 4n, logStartOffset: 0n, preferredReadReplica: -1 }));
    expect(Buffer.isBuffer(part.records) && part.records.length > 0).toBe(true);
    // from the middle: the batch starts at the offset asked for
    const mid = await client.request(ApiKey.Fetch, 11, fetchBody('events', 2));
    expect(mid.responses[0].partitions[0].records.readBigInt64BE(0)).toBe(2n);
  });

  test('Produce frames larger than a socket read (assembled in one shared buffer) pipelined in one write: every record stored as sent, none overwritten by the next frame', async () => {
    const { log, client } = await setup();
    log.topic('big');
    log.topic('keyed', { cleanup: 'compact' });
    const requests = [0, 1, 2, 3].map((n) => Array.from({ length: 2500 }, (_, i): Rec => ({
      key: n % 2 === 1 ? `k${n}-${i % 300}` : undefined, value: `${n}:${i}:`.padEnd(100 + (i % 7), String.fromCharCode(97 + n)),
      headers: i % 50 === 0 ? { n: String(n), i: String(i) } : undefined, timestamp: Date.UTC(2026, 0, 1) + n * 10_000 + i,
    })));
    const ids = requests.map(() => client.takeId());
    const answers = requests.map((_, n) => client.expect(ids[n]!, ApiKey.Produce, 8));
    const meta = client.takeId();
    const metaAnswer = client.expect(meta, ApiKey.Metadata, 8);
    const frames = requests.map((recs, n) => client.frame(ApiKey.Produce, 8, produceBody(n % 2 === 1 ? 'keyed' : 'big', batch(recs)), ids[n]));
    expect(frames.every((f) => f.length > 256 * 1024)).toBe(true);
    client.write(Buffer.concat([frames[0]!, frames[1]!, client.frame(ApiKey.Metadata, 8, metadataBody(['big']), meta), frames[2]!, frames[3]!]));
    for (const a of answers) expect((await a).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    expect((await metaAnswer).topics[0].name).toBe('big');
    for (const [topic, sent] of [['big', [...requests[0]!, ...requests[2]!]], ['keyed', [...requests[1]!, ...requests[3]!]]] as const) {
      const got = [...log.topic(topic).read()];
      expect(got.length).toBe(sent.length);
      got.forEach((r, i) => {
        const w = sent[i]!;
        expect([r.key?.toString(), r.valueBytes?.toString(), r.timestamp]).toEqual([w.key, w.value, w.timestamp]);
        expect(Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()]))).toEqual(w.headers ?? {});
      });
    }
  });

  test('Produce to an unknown topic is UNKNOWN_TOPIC_OR_PARTITION (no auto-creation); a bad batch is refused whole and the log is unchanged', async () => {
    const { log, client } = await setup();
    const r = await client.request(ApiKey.Produce, 8, produceBody('ghost', batch([{ value: 'x' }])));
    expect(r.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(log.topics()).toEqual([]);
    log.topic('t');
    const corrupt = batch([{ value: 'a' }, { value: 'b' }]);
    corrupt[corrupt.length - 1] ^= 0xff; // the CRC32C no longer matches
    const bad = await client.request(ApiKey.Produce, 8, produceBody('t', corrupt));
    expect(bad.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(log.topic('t').endOffset).toBe(0);
  });

  test('acks 0 gets no answer (the next request is answered, in order), acks 1 and -1 answer with the base offset', async () => {
    const { log, client } = await setup();
    log.topic('a');
    client.send(ApiKey.Produce, 8, produceBody('a', batch([{ value: 'zero' }]), 0));
    const one = await client.request(ApiKey.Produce, 8, produceBody('a', batch([{ value: 'one' }]), 1));
    expect(one.responses[0].partitionResponses[0].baseOffset).toBe(1n);
    const all = await client.request(ApiKey.Produce, 8, produceBody('a', batch([{ value: 'two' }]), -1));
    expect(all.responses[0].partitionResponses[0].baseOffset).toBe(2n);
    expect(client.unexpected).toEqual([]);
    expect([...log.topic('a').read()].map((r) => r.valueBytes!.toString())).toEqual(['zero', 'one', 'two']);
  });

  test('a fetch at the end with a huge maxWaitMs is answered when an in-process append comes, and when a Kafka produce comes', async () => {
    const { log, client, server } = await setup();
    const t = log.topic('live');
    const waiting = client.request(ApiKey.Fetch, 11, fetchBody('live', 0, { maxWaitMs: 2 ** 31 - 1 }));
    while (server.stats().waitingFetches === 0) await new Promise((r) => setImmediate(r));
    t.appendSync(Buffer.from('hello'));
    const r = await waiting;
    expect(r.responses[0].partitions[0].highWatermark).toBe(1n);
    expect(r.responses[0].partitions[0].records.length).toBeGreaterThan(0);

    const producer = await RawClient.connect(server.port);
    cleanups.push(() => producer.close());
    const waiting2 = client.request(ApiKey.Fetch, 11, fetchBody('live', 1, { maxWaitMs: 2 ** 31 - 1 }));
    while (server.stats().waitingFetches === 0) await new Promise((r) => setImmediate(r));
    await producer.request(ApiKey.Produce, 8, produceBody('live', batch([{ value: 'from kafka' }]), 1));
    const r2 = await waiting2;
    expect(r2.responses[0].partitions[0].records.readBigInt64BE(0)).toBe(1n);
  });

  test('minBytes: a fetch waits until that many bytes came, over several appends', async () => {
    const { log, client, server } = await setup();
    const t = log.topic('bytes');
    const waiting = client.request(ApiKey.Fetch, 11, fetchBody('bytes', 0, { maxWaitMs: 2 ** 31 - 1, minBytes: 1000 }));
    let answered = false;
    void waiting.then(() => { answered = true; });
    while (server.stats().waitingFetches === 0) await new Promise((r) => setImmediate(r));
    await t.append(Buffer.alloc(100));
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    expect(server.stats().waitingFetches).toBe(1);
    await t.append(Buffer.alloc(1000));
    const r = await waiting;
    expect(r.responses[0].partitions[0].highWatermark).toBe(2n);
  });

  test('maxWaitMs runs out with nothing new: an empty answer', async () => {
    const { log, client } = await setup();
    log.topic('quiet');
    const r = await client.request(ApiKey.Fetch, 11, fetchBody('quiet', 0, { maxWaitMs: 20 }));
    expect(r.responses[0].partitions[0]).toEqual(expect.objectContaining({ errorCode: ErrorCode.NONE, highWatermark: 0n }));
    expect(r.responses[0].partitions[0].records.length).toBe(0);
  });

  test('OFFSET_OUT_OF_RANGE past the end and below the start offset; UNKNOWN_TOPIC_OR_PARTITION for a missing partition', async () => {
    const { log, client } = await setup();
    const t = log.topic('r');
    for (let i = 0; i < 5; i++) t.appendSync(Buffer.from(`v${i}`));
    await t.truncateBefore(2);
    const past = await client.request(ApiKey.Fetch, 11, fetchBody('r', 6));
    expect(past.responses[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const below = await client.request(ApiKey.Fetch, 11, fetchBody('r', 1));
    expect(below.responses[0].partitions[0]).toEqual(expect.objectContaining({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: 2n, highWatermark: 5n }));
    const missing = await client.request(ApiKey.Fetch, 11, fetchBody('r', 0, { partition: 1 }));
    expect(missing.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('ListOffsets: earliest, latest, and by time through the time index (-1/-1 past the last timestamp)', async () => {
    const { log, client } = await setup();
    const t = log.topic('times');
    for (let i = 0; i < 5; i++) t.appendSync(Buffer.from(`v${i}`), { timestamp: 1000 * (i + 1) });
    await t.truncateBefore(1);
    const ask = async (timestamp: bigint): Promise<{ offset: bigint; timestamp: bigint; errorCode: number }> =>
      (await client.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'times', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] })).topics[0].partitions[0];
    expect(await ask(-2n)).toEqual(expect.objectContaining({ errorCode: 0, offset: 1n }));
    expect(await ask(-1n)).toEqual(expect.objectContaining({ errorCode: 0, offset: 5n }));
    expect(await ask(3000n)).toEqual(expect.objectContaining({ errorCode: 0, offset: 2n, timestamp: 3000n }));
    expect(await ask(2500n)).toEqual(expect.objectContaining({ offset: 2n, timestamp: 3000n }));
    expect(await ask(9000n)).toEqual(expect.objectContaining({ errorCode: 0, offset: -1n, timestamp: -1n }));
  });

  test('options are checked: a non-loopback host, a bad port or an unknown option is ERR_INVALID_ARGUMENT naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-kafka-'));
    dirs.push(dir);
    const log = await openLog(dir);
    cleanups.push(() => log.close());
    await expect(serveKafka(log, { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('host') });
    await expect(serveKafka(log, { port: 70000 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('port') });
    await expect(serveKafka(log, { port: 0, maxFrameBytes: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('maxFrameBytes') });
    await expect(serveKafka(log, { port: 0, tls: {} } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('tls') });
  });

  test('close() answers a waiting fetch, closes the connections, and leaves the log open', async () => {
    const { log, client, server } = await setup();
    log.topic('w');
    const waiting = client.request(ApiKey.Fetch, 11, fetchBody('w', 0, { maxWaitMs: 2 ** 31 - 1 }));
    while (server.stats().waitingFetches === 0) await new Promise((r) => setImmediate(r));
    await server.close();
    const r = await waiting;
    expect(r.responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    await client.closed;
    expect(log.topic('w').appendSync(Buffer.from('still open'))).toBe(0);
  });

  test('close() ends a connection whose client sent a request after closing began, without waiting out the grace period', async () => {
    // A consumer's next Fetch or Heartbeat often arrives after close() paused the socket: the bytes
    // sat unread in the paused stream, so the client's FIN was never seen and each such connection
    // waited for the 5 s cut (kcat -G: seglog serve took 6.5 s to exit on SIGTERM). The grace timer
    // is faked here so that only the client's FIN can end the connection.
    const { client, server, requests } = await setup();
    await client.request(ApiKey.ApiVersions, 0, {});
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const closing = server.close();
      client.write(client.frame(ApiKey.ApiVersions, 0, {})); // arrives while the server stops: never taken
      await client.closed;
      await closing;
    } finally {
      vi.useRealTimers();
    }
    expect(requests.length).toBe(1);
    expect(server.stats().connections).toEqual([]);
  });
});
