// A quick end-to-end check of serveKafka with kafkajs (a client nobody here wrote): create a topic,
// produce keyed records with headers, read them in-process, consume them back in a group, list
// offsets. The full real-client suites (every codec, rebalancing groups, restarts, kcat,
// @platformatic/kafka) are in their own files.
import { afterEach, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { openLog, type Log } from '../../src/index.js';
import { serveKafka, type KafkaServerHandle, type RequestInfo } from '../../src/kafka/index.js';

const cleanups: Array<() => Promise<void>> = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(): Promise<{ log: Log; server: KafkaServerHandle; kafka: Kafka; requests: RequestInfo[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-kafkajs-'));
  dirs.push(dir);
  const log = await openLog(dir);
  cleanups.push(() => log.close());
  const requests: RequestInfo[] = [];
  const server = await serveKafka(log, { port: 0, onRequest: (i) => requests.push(i) });
  cleanups.push(() => server.close());
  const kafka = new Kafka({ clientId: 'smoke', brokers: [`127.0.0.1:${server.port}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  return { log, server, kafka, requests };
}

describe('serveKafka with kafkajs', () => {
  test('create a topic, produce keyed records with headers, see them in-process, consume them in a group, list offsets', async () => {
    const { log, kafka, requests } = await setup();
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    expect(await admin.createTopics({ topics: [{ topic: 'smoke', numPartitions: 1 }] })).toBe(true);

    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 3}`, value: `value ${i}`, headers: { n: String(i) }, timestamp: String(Date.UTC(2026, 0, 1) + i * 1000) }));
    const sent = await producer.send({ topic: 'smoke', messages });
    expect(sent[0]).toEqual(expect.objectContaining({ errorCode: 0, baseOffset: '0' }));

    const inProcess = [...log.topic('smoke').read()];
    expect(inProcess.map((r) => [r.key?.toString(), r.valueBytes?.toString(), r.headers.n?.toString(), r.timestamp])).toEqual(
      messages.map((m, i) => [m.key, m.value, String(i), Number(m.timestamp)]));

    const consumer = kafka.consumer({ groupId: 'smoke-group', maxWaitTimeInMs: 100 });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: 'smoke', fromBeginning: true });
    const got: Array<[string, string, string]> = [];
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          got.push([message.key!.toString(), message.value!.toString(), message.headers!.n!.toString()]);
          if (got.length === messages.length) resolve();
        },
      }).catch(reject);
    });
    expect(got).toEqual(messages.map((m, i) => [m.key, m.value, String(i)]));

    const byTime = await admin.fetchTopicOffsetsByTimestamp('smoke', Date.UTC(2026, 0, 1) + 5500);
    expect(byTime).toEqual([{ partition: 0, offset: '6' }]);
    const offsets = await admin.fetchTopicOffsets('smoke');
    expect(offsets[0]).toEqual(expect.objectContaining({ partition: 0, low: '0', high: '20' }));
    const used = new Set(requests.map((r) => r.apiName));
    for (const api of ['ApiVersions', 'Metadata', 'CreateTopics', 'Produce', 'Fetch', 'ListOffsets', 'FindCoordinator', 'JoinGroup', 'SyncGroup']) expect(used).toContain(api);
  });
});
