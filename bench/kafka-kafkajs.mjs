// kafkajs as a benchmark client, in its own process: `node bench/kafka-kafkajs.mjs produce|consume
// <brokers> <topic> <records> <valueBytes>` prints one JSON line. produce: sends of 10,000 records
// (acks 1, no compression) one after the other into partition 0; consume: a group member with
// eachBatch from the beginning of every partition until it has `records` records (or the topic's
// end, whichever is first); times exclude connecting and, for consume, the group join (timed from
// the first batch).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Kafka, logLevel, Partitioners } = require('kafkajs');
const [mode, brokers, topic, recordsArg, valueBytesArg] = process.argv.slice(2);
const records = Number(recordsArg);
const valueBytes = Number(valueBytesArg);
const kafka = new Kafka({ brokers: [brokers], clientId: 'bench-kafkajs', logLevel: logLevel.NOTHING, retry: { retries: 5 } });
const deadline = setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(3); }, 300_000);

if (mode === 'produce') {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const value = Buffer.alloc(valueBytes, 120);
  const batch = Array.from({ length: 10_000 }, () => ({ value, partition: 0 }));
  const t0 = performance.now();
  for (let sent = 0; sent < records; sent += batch.length) {
    await producer.send({ topic, acks: 1, messages: batch.slice(0, Math.min(batch.length, records - sent)) });
  }
  const ms = performance.now() - t0;
  await producer.disconnect();
  console.log(JSON.stringify({ records, ms }));
} else {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const available = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const want = Math.min(records, available);
  const consumer = kafka.consumer({ groupId: `bench-${Date.now()}`, maxBytes: 50 << 20, maxBytesPerPartition: 10 << 20, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let got = 0;
  let t0 = 0;
  const done = new Promise((resolve) => {
    consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (t0 === 0) t0 = performance.now();
        got += batch.messages.length;
        if (got >= want) resolve(performance.now());
      },
    });
  });
  const t1 = await done;
  await consumer.disconnect();
  console.log(JSON.stringify({ records: got, available, ms: t1 - t0 }));
}
clearTimeout(deadline);
