// Hostile input and slow clients against the Kafka server: an oversized frame size, a truncated
// frame and a close, garbage bytes, a request whose lengths run past its frame, an api that is not
// served — each closes only its own connection, another connection keeps working, and the log's
// topics and records are unchanged. Backpressure: a client that never reads its answers does not
// make the server hold more than the in-flight cap's answers (checked with the stats hook, not time);
// Produce requests are counted apart from that cap (they hold nothing once appended), so a producer
// is not stalled behind answers that wait (an fsync, a long-polling fetch).
import { afterEach, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog, type Log } from '../../src/index.js';
import { serveKafka, type KafkaServerHandle } from '../../src/kafka/index.js';
import { ApiKey, ErrorCode } from '../../src/kafka/protocol/index.js';
import { encodeBatch } from '../../src/kafka/records/index.js';
import { RawClient } from './raw-client.js';

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(options: Parameters<typeof serveKafka>[1] = {}): Promise<{ log: Log; server: KafkaServerHandle }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-kafka-hostile-'));
  dirs.push(dir);
  const log = await openLog(dir);
  cleanups.push(() => log.close());
  const server = await serveKafka(log, { port: 0, ...options });
  cleanups.push(() => server.close());
  return { log, server };
}

async function connect(server: KafkaServerHandle): Promise<RawClient> {
  const c = await RawClient.connect(server.port);
  cleanups.push(async () => { c.socket.destroy(); await c.closed; });
  return c;
}

function oneRecord(value: string): Buffer {
  return encodeBatch([{ offset: 0, timestamp: Date.now(), key: undefined, headers: {}, valueBytes: Buffer.from(value), value: null, deliveryCount: 1 }]).bytes;
}

function produceBody(topic: string, records: Buffer): object {
  return { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
}

/** What the log holds: topic names and each topic's values. */
function snapshot(log: Log): Record<string, string[]> {
  return Object.fromEntries(log.topics().map((n) => [n, [...log.topic(n).read()].map((r) => r.valueBytes?.toString('hex') ?? 'null')]));
}

/** A connection sends `bytes` and is closed by the server; another one still works; the log is unchanged. */
async function closesOnlyItself(log: Log, server: KafkaServerHandle, send: (c: RawClient) => void | Promise<void>): Promise<void> {
  const before = snapshot(log);
  const bystander = await connect(server);
  const victim = await connect(server);
  await send(victim);
  await victim.closed;
  const r = await bystander.request(ApiKey.Metadata, 8, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  expect(r.brokers.length).toBe(1);
  const p = await bystander.request(ApiKey.Produce, 8, produceBody('kept', oneRecord('after')));
  expect(p.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  const after = snapshot(log);
  expect(after.kept!.slice(0, -1)).toEqual(before.kept);
  expect({ ...after, kept: before.kept }).toEqual(before);
}

describe('serveKafka against hostile input', () => {
  test('a frame size over maxFrameBytes closes that connection before its bytes come', async () => {
    const { log, server } = await setup({ maxFrameBytes: 64 * 1024 });
    log.topic('kept').appendSync(Buffer.from('before'));
    await closesOnlyItself(log, server, (c) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(64 * 1024 + 1, 0);
      c.write(size);
    });
  });

  test('a negative frame size closes the connection', async () => {
    const { log, server } = await setup();
    log.topic('kept').appendSync(Buffer.from('before'));
    await closesOnlyItself(log, server, (c) => c.write(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3])));
  });

  test('a truncated Produce frame and then a close appends nothing', async () => {
    const { log, server } = await setup();
    log.topic('kept').appendSync(Buffer.from('before'));
    await closesOnlyItself(log, server, async (c) => {
      const frame = c.frame(ApiKey.Produce, 8, produceBody('kept', oneRecord('never')));
      c.write(frame.subarray(0, frame.length - 5));
      await c.close();
    });
  });

  test('garbage bytes close the connection', async () => {
    const { log, server } = await setup();
    log.topic('kept').appendSync(Buffer.from('before'));
    const garbage = Buffer.alloc(64);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 89 + 17) & 0xff;
    garbage.writeInt32BE(60, 0); // a plausible size, then nonsense
    await closesOnlyItself(log, server, (c) => c.write(garbage));
  });

  test('a Produce whose records length runs past its frame closes the connection and appends nothing', async () => {
    const { log, server } = await setup();
    log.topic('kept').appendSync(Buffer.from('before'));
    await closesOnlyItself(log, server, (c) => {
      const frame = c.frame(ApiKey.Produce, 8, produceBody('kept', oneRecord('never')));
      const records = oneRecord('never');
      // the records' int32 length sits right before the batch bytes at the end of the frame
      const at = frame.length - records.length - 4;
      expect(frame.readInt32BE(at)).toBe(records.length);
      frame.writeInt32BE(records.length + 1000, at);
      c.write(frame);
    });
  });

  test('an api that is not served (an unknown key, a version out of range) closes the connection', async () => {
    const { log, server } = await setup();
    log.topic('kept').appendSync(Buffer.from('before'));
    for (const [apiKey, apiVersion] of [[999, 0], [ApiKey.Fetch, 0], [ApiKey.Produce, 99]] as const) {
      await closesOnlyItself(log, server, (c) => {
        const clientId = Buffer.from('x');
        const frame = Buffer.alloc(4 + 10 + clientId.length + 8);
        frame.writeInt32BE(frame.length - 4, 0);
        frame.writeInt16BE(apiKey, 4);
        frame.writeInt16BE(apiVersion, 6);
        frame.writeInt32BE(1, 8);
        frame.writeInt16BE(clientId.length, 12);
        clientId.copy(frame, 14);
        c.write(frame);
      });
    }
  });

  test('InitProducerId (not advertised) is answered UNSUPPORTED_VERSION, and the connection goes on', async () => {
    const { server } = await setup();
    const c = await connect(server);
    const r = await c.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 });
    expect(r.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const v = await c.request(ApiKey.ApiVersions, 2, {});
    expect(v.apiKeys.some((a: { apiKey: number }) => a.apiKey === ApiKey.InitProducerId)).toBe(false);
  });
});

describe('serveKafka backpressure', () => {
  test('a client that never reads: the server stops taking its requests; what it holds stays within the in-flight cap of answers', async () => {
    const maxInFlightRequests = 4;
    const { log, server } = await setup({ maxInFlightRequests });
    const t = log.topic('big');
    const value = Buffer.alloc(64 * 1024, 7);
    for (let i = 0; i < 16; i++) t.appendSync(value); // ~1 MiB
    await t.append(value);
    const c = await connect(server);
    c.socket.pause(); // never reads
    const fetchBody = {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 2 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'big', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 2 * 1024 * 1024 }] }],
      forgottenTopicsData: [], rackId: '',
    };
    const answerBytes = 17 * (64 * 1024 + 100) + 200;
    // far more requests than the cap; each answer is ~1.1 MiB
    const frame = c.frame(ApiKey.Fetch, 11, fetchBody);
    for (let i = 0; i < 400; i++) c.socket.write(frame);
    // until the server stops: its socket pushes back and it paused reading from the client
    for (let i = 0; ; i++) {
      const s = server.stats().connections.find((x) => x.inFlight > 0 || x.writableBytes > 0);
      if (s !== undefined && s.paused && (s.writableBytes > 0 || s.readyBytes > 0)) break;
      if (i > 100_000) throw new Error(`the server never pushed back: ${JSON.stringify(server.stats())}`);
      await new Promise((r) => setImmediate(r));
    }
    // give the server every chance to take more (it must not)
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    const s = server.stats().connections.find((x) => x.paused)!;
    expect(s.inFlight).toBeLessThanOrEqual(maxInFlightRequests);
    // held: the answers in flight, the one socket.write() took before it pushed back, and one read of input
    expect(s.readyBytes + s.writableBytes).toBeLessThanOrEqual((maxInFlightRequests + 1) * answerBytes);
    expect(s.bufferedBytes).toBeLessThanOrEqual(frame.length * 400);
    expect(s.requests).toBeLessThan(400); // the rest wait in the kernel's buffers and the client's
  });

  test('Produce requests behind an answer that waits are taken past maxInFlightRequests; other requests are not', async () => {
    const maxInFlightRequests = 2;
    const { log, server } = await setup({ maxInFlightRequests });
    log.topic('idle');
    const t = log.topic('t');
    const c = await connect(server);
    // a fetch that long-polls an empty topic holds the head of the connection: nothing after it is answered
    const waitingFetch = c.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 30_000, minBytes: 1, maxBytes: 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'idle', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1024 * 1024 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const produces = Array.from({ length: 10 }, (_, i) => c.request(ApiKey.Produce, 8, { ...produceBody('t', oneRecord(`v${i}`)), acks: 1 }));
    for (let i = 0; t.endOffset < 10; i++) {
      if (i > 100_000) throw new Error(`only ${t.endOffset} of 10 produces were taken: ${JSON.stringify(server.stats())}`);
      await new Promise((r) => setImmediate(r));
    }
    expect(server.stats().connections[0]!.inFlight).toBe(11);
    // two more requests of another kind: the fetch and the first reach the cap, the second waits unread
    const requestsBefore = server.stats().connections[0]!.requests;
    const metadata = [0, 1].map(() => c.request(ApiKey.Metadata, 8, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }));
    for (let i = 0; server.stats().connections[0]!.requests < requestsBefore + 1; i++) {
      if (i > 100_000) throw new Error('the first Metadata was never taken');
      await new Promise((r) => setImmediate(r));
    }
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    const s = server.stats().connections[0]!;
    expect(s.requests).toBe(requestsBefore + 1);
    expect(s.paused).toBe(true);
    log.topic('idle').appendSync(Buffer.from('wake')); // the fetch answers; everything behind it follows in order
    expect((await waitingFetch).responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    for (const [i, p] of (await Promise.all(produces)).entries()) expect(p.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: BigInt(i) });
    for (const m of await Promise.all(metadata)) expect(m.brokers.length).toBe(1);
    expect([...t.read()].map((r) => r.valueBytes!.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
  });
});
