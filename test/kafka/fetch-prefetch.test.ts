// The Fetch prefetch (src/kafka/server/fetch-prefetch.ts): a consumer behind the end gets its next
// batch encoded ahead, and an answer from a prefetch is the one a fresh read gives — the same bytes
// when nothing changed, the right records when records came meanwhile, OFFSET_OUT_OF_RANGE after
// retention passed it, and a fresh encoding for a request that asks anything else.
import { afterEach, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog, type Topic } from '../../src/index.js';
import { serveKafka, type KafkaServerHandle } from '../../src/kafka/index.js';
import { ApiKey, ErrorCode } from '../../src/kafka/protocol/index.js';
import { encodeBatch, readProducedBatches } from '../../src/kafka/records/index.js';
import { RawClient } from './raw-client.js';

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(): Promise<{ server: KafkaServerHandle; client: RawClient; t: Topic<Buffer> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-kafka-prefetch-'));
  dirs.push(dir);
  const log = await openLog(dir);
  cleanups.push(() => log.close());
  const server = await serveKafka(log, { port: 0 });
  cleanups.push(() => server.close());
  const client = await RawClient.connect(server.port);
  cleanups.push(async () => { client.socket.destroy(); await client.closed; });
  const t = log.topic('p', { codec: 'binary' });
  return { server, client, t };
}

function fetchBody(fetchOffset: number, partitionMaxBytes: number): object {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 50 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: 'p', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(fetchOffset), logStartOffset: -1n, partitionMaxBytes }] }],
    forgottenTopicsData: [], rackId: '',
  };
}

async function fetch(client: RawClient, offset: number, limit: number): Promise<{ errorCode: number; records: Buffer }> {
  const r = await client.request(ApiKey.Fetch, 11, fetchBody(offset, limit));
  const part = r.responses[0].partitions[0];
  // let the prefetch of the next batch run (setImmediate after the answer)
  await new Promise((res) => setImmediate(res));
  await new Promise((res) => setImmediate(res));
  return { errorCode: part.errorCode, records: part.records ?? Buffer.alloc(0) };
}

/** The offsets of the one batch a Fetch answer holds here (no gaps: nothing is compacted): first, last, and the records. */
function span(records: Buffer): { first: number; last: number; values: Array<Buffer | null> } {
  const first = Number(records.readBigInt64BE(0));
  const last = first + records.readInt32BE(23);
  const back = readProducedBatches(records);
  expect(back.length).toBe(last - first + 1);
  return { first, last, values: back.map((r) => r.value) };
}

function values(n: number, from: number): Array<{ value: Buffer; key: string }> {
  return Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(100, (from + i) & 0xff), key: `k${from + i}` }));
}

describe('Fetch prefetch', () => {
  test('a consumer walking the topic gets its batches from the prefetch, byte for byte what a fresh read gives', async () => {
    const { server, client, t } = await setup();
    await t.appendBatch(values(3000, 0));
    const limit = 20_000;
    let offset = 0;
    let answers = 0;
    while (offset < t.endOffset) {
      const { errorCode, records } = await fetch(client, offset, limit);
      expect(errorCode).toBe(ErrorCode.NONE);
      expect(records.equals(encodeBatch(t.read({ from: offset }), { maxBytes: limit }).bytes)).toBe(true);
      const got = span(records);
      expect(got.first).toBe(offset);
      offset = got.last + 1;
      answers++;
    }
    expect(answers).toBeGreaterThan(10);
    // every answer but the first came from a prefetch
    expect(server.stats().prefetchedBatches).toBe(answers - 1);
  });

  test('records appended, retention, another limit or offset: the answer is what the log holds now', async () => {
    const { server, client, t } = await setup();
    await t.appendBatch(values(500, 0));
    const limit = 5_000;
    let next = span((await fetch(client, 0, limit)).records).last + 1;

    // another limit: encoded afresh for it
    const other = await fetch(client, next, limit * 2);
    expect(other.records.equals(encodeBatch(t.read({ from: next }), { maxBytes: limit * 2 }).bytes)).toBe(true);
    next = span(other.records).last + 1;
    const before = server.stats().prefetchedBatches;

    // another offset than the one prefetched
    const skip = await fetch(client, next + 3, limit * 2);
    expect(span(skip.records).first).toBe(next + 3);
    expect(server.stats().prefetchedBatches).toBe(before);
    next = span(skip.records).last + 1;

    // records appended after the prefetch: the answer starts where asked, and the walk ends at the new end
    await t.appendBatch(values(300, 500));
    let offset = next;
    const seen: number[] = [];
    while (offset < t.endOffset) {
      const got = span((await fetch(client, offset, limit * 2)).records);
      got.values.forEach((v, i) => {
        expect(v!.equals(Buffer.alloc(100, (got.first + i) & 0xff))).toBe(true);
        seen.push(got.first + i);
      });
      offset = got.last + 1;
    }
    expect(seen).toEqual(Array.from({ length: 800 - next }, (_, i) => next + i));
    expect(server.stats().prefetchedBatches).toBeGreaterThan(before);

    // retention passed the offset prefetched for: OFFSET_OUT_OF_RANGE, not the batch
    const prefetchedFor = span((await fetch(client, 0, limit)).records).last + 1;
    await t.truncateBefore(prefetchedFor + 1);
    expect((await fetch(client, prefetchedFor, limit)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  });
});
