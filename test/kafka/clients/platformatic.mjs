// @platformatic/kafka 2.12 driver. It needs Node 22 (Promise.withResolvers, zlib zstd): run it with
// the binary test/kafka/node22.ts names, and a JSON request on stdin (see driver.mjs). Ops: create
// (Admin.createTopics), produce (one send per partition and codec: none, gzip, snappy, lz4, zstd
// are all the client's own), group (two members; the second joins once the first has consumed part
// of the topic while more records are produced; ends when every record was seen and the committed
// offsets reached the end offsets), resume (a new member: where the group resumed), offsets.
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Seen, headersObject, runDriver, until } from './driver.mjs';

const base = (req, suffix = '') => ({ clientId: `${req.clientId ?? 'platformatic'}${suffix}`, bootstrapBrokers: [req.brokers], retries: 8, retryDelay: 100, timeout: 10_000 });

async function produce(req, records, codec) {
  const producer = new Producer({ ...base(req), serializers: stringSerializers, autocreateTopics: true });
  try {
    const offsets = new Array(records.length);
    const byPartition = new Map();
    records.forEach((r, i) => {
      if (!byPartition.has(r.partition)) byPartition.set(r.partition, []);
      byPartition.get(r.partition).push(i);
    });
    for (const [partition, indexes] of byPartition) {
      const messages = indexes.map((i) => {
        const r = records[i];
        return { topic: req.topic, partition, key: r.key ?? undefined, value: r.value, headers: r.headers, timestamp: r.timestamp === undefined ? undefined : BigInt(r.timestamp) };
      });
      const res = await producer.send({ messages, compression: codec, acks: -1 });
      const base = Number(res.offsets.find((x) => x.partition === partition).offset);
      indexes.forEach((i, n) => { offsets[i] = base + n; });
    }
    return offsets;
  } finally {
    await producer.close();
  }
}

const fromMessage = (m) => ({
  partition: m.partition,
  offset: Number(m.offset),
  key: m.key === undefined || m.key === null || m.key === '' ? null : m.key,
  value: m.value,
  headers: headersObject([...m.headers.entries()]),
  timestamp: Number(m.timestamp),
});

async function offsetsOf(req, consumer, partitions) {
  const end = await consumer.listOffsets({ topics: [req.topic] });
  const committed = await consumer.listCommittedOffsets({ topics: [{ topic: req.topic, partitions }] });
  return {
    end: Object.fromEntries(end.get(req.topic).map((o, p) => [p, Number(o)])),
    committed: Object.fromEntries(committed.get(req.topic).map((o, p) => [p, Number(o)])),
  };
}

function member(req, name, seen, events) {
  const consumer = new Consumer({ ...base(req, `-${name}`), groupId: req.group, deserializers: stringDeserializers, sessionTimeout: req.sessionTimeoutMs ?? 6000, rebalanceTimeout: req.rebalanceTimeoutMs ?? 6000, heartbeatInterval: 200, maxWaitTime: 100 });
  consumer.on('consumer:group:join', (p) => events.push({ member: name, event: 'join', generationId: p.generationId, assignments: p.assignments }));
  let stream;
  return {
    consumer,
    async start() {
      stream = await consumer.consume({ topics: [req.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 100, sessionTimeout: req.sessionTimeoutMs ?? 6000, rebalanceTimeout: req.rebalanceTimeoutMs ?? 6000, heartbeatInterval: 200, maxWaitTime: 100 });
      stream.on('data', (m) => seen.add(fromMessage(m)));
      stream.on('error', (err) => events.push({ member: name, event: 'error', error: String(err) }));
    },
    async stop() {
      if (stream) await stream.close().catch(() => {});
      await consumer.close(true).catch(() => {});
    },
  };
}

await runDriver('platformatic', {
  async create(req) {
    const admin = new Admin(base(req));
    try {
      const created = await admin.createTopics({ topics: [req.topic], partitions: req.partitions, replicas: 1 });
      return { created: created.map((t) => ({ name: t.name, partitions: t.partitions })) };
    } finally {
      await admin.close();
    }
  },

  async produce(req) {
    return { offsets: await produce(req, req.records, req.codec) };
  },

  async offsets(req) {
    const consumer = new Consumer({ ...base(req), groupId: req.group ?? 'offsets-probe' });
    try {
      return await offsetsOf(req, consumer, Array.from({ length: req.partitions }, (_, i) => i));
    } finally {
      await consumer.close(true);
    }
  },

  async group(req) {
    const events = [];
    const seenA = new Seen();
    const seenB = new Seen();
    const a = member(req, 'a', seenA, events);
    const b = member(req, 'b', seenB, events);
    const probe = new Consumer({ ...base(req, '-probe'), groupId: req.group });
    const partitions = Array.from({ length: req.partitions }, (_, i) => i);
    const total = () => new Set([...seenA.count.keys(), ...seenB.count.keys()]).size;
    try {
      await a.start();
      await until(() => seenA.distinct >= req.joinAfter, () => `member a consumed the first part (${seenA.distinct}; ${JSON.stringify(events)})`);
      await b.start();
      // Half of the new records while the group rebalances, half once b has its partitions.
      const during = req.produceDuring ?? [];
      const half = during.length >> 1;
      const offsetsDuring = await produce(req, during.slice(0, half), 'none');
      await until(() => events.some((e) => e.member === 'b' && (e.assignments ?? []).some((x) => x.partitions.length > 0)), () => `member b assigned partitions (${JSON.stringify(events)})`);
      offsetsDuring.push(...(await produce(req, during.slice(half), 'none')));
      await until(() => total() >= req.expected, () => `every record consumed (${total()} of ${req.expected}; a ${seenA.distinct}, b ${seenB.distinct}; ${JSON.stringify(events)})`);
      let o;
      await until(async () => {
        o = await offsetsOf(req, probe, partitions);
        return Object.entries(o.end).every(([p, e]) => o.committed[p] === e || (e === 0 && o.committed[p] < 0));
      }, () => `committed offsets ${JSON.stringify(o?.committed)} reached the end offsets ${JSON.stringify(o?.end)}`);
      await Promise.all([a.stop(), b.stop()]);
      return { offsetsDuring, events, members: { a: seenA.records, b: seenB.records }, end: o.end, committed: o.committed };
    } finally {
      await Promise.allSettled([a.stop(), b.stop(), probe.close(true)]);
    }
  },

  async resume(req) {
    const seen = new Seen();
    const c = member(req, 'c', seen, []);
    try {
      await c.start();
      await until(() => seen.distinct >= req.expected, `resumed member consumed ${req.expected} records`);
      return { records: seen.records };
    } finally {
      await c.stop();
    }
  },
});
