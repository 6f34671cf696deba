// kafkajs 2.2.4 driver (Node 20): `node kafkajs.mjs` with a JSON request on stdin (see driver.mjs).
// Ops: create (admin.createTopics), produce (one send per partition and codec: none and gzip are
// kafkajs's own; snappy and lz4 are registered here on snappyjs and lz4js, which still exercises
// kafkajs's batch framing), group (two members of one group; the second joins once the first has
// consumed part of the topic, while more records are produced; ends when every record was seen and
// the committed offsets reached the end offsets), resume (a new member of the group: the first
// offset it gets per partition shows where the group resumed), offsets (committed and end offsets).
import { createRequire } from 'node:module';
import { Seen, headersObject, runDriver, until } from './driver.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel, CompressionTypes, CompressionCodecs, Partitioners } = require('kafkajs');
const snappy = require('snappyjs');
const lz4 = require('lz4js');

CompressionCodecs[CompressionTypes.Snappy] = () => ({
  async compress(encoder) { return Buffer.from(snappy.compress(encoder.buffer)); },
  async decompress(buffer) { return Buffer.from(snappy.uncompress(buffer)); },
});
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  async compress(encoder) { return Buffer.from(lz4.compress(encoder.buffer)); },
  async decompress(buffer) { return Buffer.from(lz4.decompress(buffer)); },
});
const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4 };

function client(req) {
  return new Kafka({
    brokers: [req.brokers],
    clientId: req.clientId ?? 'kafkajs',
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 10_000,
    retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 1000 },
  });
}

const toMessage = (r) => ({ key: r.key, value: r.value, headers: r.headers, partition: r.partition, timestamp: r.timestamp === undefined ? undefined : String(r.timestamp) });
const fromMessage = (partition, m) => ({
  partition,
  offset: Number(m.offset),
  key: m.key === null ? null : m.key.toString('utf8'),
  value: m.value === null ? null : m.value.toString('utf8'),
  headers: headersObject(Object.entries(m.headers ?? {})),
  timestamp: Number(m.timestamp),
});

async function produce(kafka, topic, codec, records) {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const offsets = new Array(records.length);
    const byPartition = new Map();
    records.forEach((r, i) => {
      if (!byPartition.has(r.partition)) byPartition.set(r.partition, []);
      byPartition.get(r.partition).push(i);
    });
    for (const [partition, indexes] of byPartition) {
      const res = await producer.send({ topic, acks: -1, compression: CODECS[codec], messages: indexes.map((i) => toMessage(records[i])) });
      const base = Number(res.find((x) => x.partition === partition).baseOffset);
      indexes.forEach((i, n) => { offsets[i] = base + n; });
    }
    return offsets;
  } finally {
    await producer.disconnect();
  }
}

async function endOffsets(admin, topic) {
  return Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
}

async function committedOffsets(admin, group, topic) {
  const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return Object.fromEntries(t.partitions.map((p) => [p.partition, Number(p.offset)]));
}

function member(kafka, req, name, seen, events) {
  const consumer = kafka.consumer({
    groupId: req.group,
    sessionTimeout: req.sessionTimeoutMs ?? 6000,
    rebalanceTimeout: req.rebalanceTimeoutMs ?? 6000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 100,
    retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 1000 },
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => events.push({ member: name, event: 'join', generationId: e.payload.generationId, assignment: e.payload.memberAssignment }));
  return {
    consumer,
    async start(fromBeginning = true) {
      await consumer.connect();
      await consumer.subscribe({ topic: req.topic, fromBeginning });
      await consumer.run({ eachMessage: async ({ partition, message }) => { seen.add(fromMessage(partition, message)); } });
    },
  };
}

await runDriver('kafkajs', {
  async create(req) {
    const admin = client(req).admin();
    await admin.connect();
    try {
      const created = await admin.createTopics({ topics: [{ topic: req.topic, numPartitions: req.partitions }], waitForLeaders: true });
      return { created };
    } finally {
      await admin.disconnect();
    }
  },

  async produce(req) {
    const kafka = client(req);
    const offsets = await produce(kafka, req.topic, req.codec, req.records);
    return { offsets };
  },

  async offsets(req) {
    const admin = client(req).admin();
    await admin.connect();
    try {
      return { end: await endOffsets(admin, req.topic), committed: req.group ? await committedOffsets(admin, req.group, req.topic) : undefined };
    } finally {
      await admin.disconnect();
    }
  },

  async group(req) {
    const kafka = client(req);
    const admin = kafka.admin();
    await admin.connect();
    const events = [];
    const seenA = new Seen();
    const seenB = new Seen();
    const a = member(kafka, req, 'a', seenA, events);
    const b = member(kafka, req, 'b', seenB, events);
    const total = () => new Set([...seenA.count.keys(), ...seenB.count.keys()]).size;
    try {
      await a.start();
      await until(() => seenA.distinct >= req.joinAfter, () => `member a consumed the first part (${seenA.distinct}; ${JSON.stringify(events)})`);
      await b.start();
      // Half of the new records while the group rebalances, half once b has its partitions.
      const during = req.produceDuring ?? [];
      const half = during.length >> 1;
      const offsets = await produce(kafka, req.topic, 'none', during.slice(0, half));
      await until(() => events.some((e) => e.member === 'b' && Object.values(e.assignment ?? {}).some((ps) => ps.length > 0)), () => `member b assigned partitions (${JSON.stringify(events)})`);
      offsets.push(...(await produce(kafka, req.topic, 'none', during.slice(half))));
      await until(() => total() >= req.expected, () => `every record consumed (${total()} of ${req.expected}; a ${seenA.distinct}, b ${seenB.distinct})`);
      const end = await endOffsets(admin, req.topic);
      let committed;
      await until(async () => {
        committed = await committedOffsets(admin, req.group, req.topic);
        return Object.entries(end).every(([p, o]) => committed[p] === o || (o === 0 && committed[p] < 0));
      }, () => `committed offsets ${JSON.stringify(committed)} reached the end offsets ${JSON.stringify(end)}`);
      await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()]);
      return { offsetsDuring: offsets, events, members: { a: seenA.records, b: seenB.records }, end, committed };
    } finally {
      await Promise.allSettled([a.consumer.disconnect(), b.consumer.disconnect(), admin.disconnect()]);
    }
  },

  async resume(req) {
    const kafka = client(req);
    const seen = new Seen();
    const c = member(kafka, req, 'c', seen, []);
    try {
      await c.start(false);
      await until(() => seen.distinct >= req.expected, `resumed member consumed ${req.expected} records`);
      await c.consumer.disconnect();
      return { records: seen.records };
    } finally {
      await c.consumer.disconnect().catch(() => {});
    }
  },
});
