// Micro-benchmark of src/kafka/records (dist/src/kafka/records, after npm run build), each against
// kafkajs's own implementation of the same step (what a Node Kafka stack would use otherwise):
//   crc32c              GB/s over 1 MiB and over a 110 KiB batch         (kafkajs: crc32C); the
//                       JavaScript one and, where built, the addon's (native/seglog_crc32c.c)
//   encodeBatch         records/s, 1,000 records of 100 B read from a seglog topic (RecordView)
//                       (kafkajs: Record + RecordBatch encoders, as its producer builds a batch)
//   readProducedBatches records/s, one uncompressed batch of 1,000 × 100 B, and the same lz4/gzip
//                       (kafkajs: its RecordBatch decoder, as its consumer reads a Fetch)
// Each case: timed loops of at least 0.3 s, the median of 5 reported, as items per second of this
// process's CPU time (user + system): the cases are synchronous and single-threaded, and CPU time
// keeps the figures meaningful on a machine shared with other work (on an idle one they equal
// wall-clock rates).
//   node bench/kafka-records.js [--quick]      (or as a workload of bench/run.js: `kafka`)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ROOT_DIR, TOPIC, fmtNum, loadSeglog, makeValues, median, rmrf, tmpDir, cleanupTmp, parseArgs } from './common.js';

const RECORDS_DIST = path.join(ROOT_DIR, 'dist', 'src', 'kafka', 'records', 'index.js');
const require = createRequire(import.meta.url);

function kafkajs() {
  try {
    return {
      crc32C: require('kafkajs/src/protocol/recordBatch/crc32C/index.js'),
      RecordBatch: require('kafkajs/src/protocol/recordBatch/v0/index.js').RecordBatch,
      Record: require('kafkajs/src/protocol/recordBatch/record/v0/index.js'),
      Decoder: require('kafkajs/src/protocol/decoder.js'),
      decodeBatch: require('kafkajs/src/protocol/recordBatch/v0/decoder.js'),
    };
  } catch {
    return null;
  }
}

/** Runs `fn` (returning items done) for >= minMs per round; returns the median items per CPU second. */
async function rate(fn, { rounds = 5, minMs = 300 } = {}) {
  const rates = [];
  for (const t0 = performance.now(); performance.now() - t0 < minMs;) await fn(); // warm-up (JIT)
  for (let r = 0; r < rounds; r++) {
    let items = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    while (performance.now() - t0 < minMs) items += await fn();
    const cpu = process.cpuUsage(cpu0);
    rates.push(items / ((cpu.user + cpu.system) / 1e6));
  }
  return median(rates);
}

async function seglogRecords(seglog, values, count) {
  const dir = tmpDir('kafka-records');
  try {
    const log = await seglog.openLog(dir, { durability: 'os' });
    const topic = log.topic(TOPIC, { codec: 'binary' });
    const batch = [];
    for (let i = 0; i < count; i++) batch.push({ value: values[i & (values.length - 1)], key: `key-${i % 100}` });
    await topic.appendBatch(batch);
    const records = [...topic.read({ from: 0 })];
    await log.close();
    return records;
  } finally {
    rmrf(dir);
  }
}

export async function runKafkaRecords(cfg) {
  const seglog = await loadSeglog({ quiet: true });
  if (!seglog || !fs.existsSync(RECORDS_DIST)) {
    console.log('  skipped: dist/src/kafka/records not built (npm run build)');
    return { rows: [], details: { skipped: 'not built' } };
  }
  const { crc32c, encodeBatch, readProducedBatches } = await import(pathToFileURL(RECORDS_DIST).href);
  // the addon's hardware CRC32C (what the server installs when the addon is loaded), if built here
  const { addonCrc32c } = await import(pathToFileURL(path.join(ROOT_DIR, 'dist', 'src', 'io', 'mmap-addon.js')).href);
  const hardwareCrc = addonCrc32c(ROOT_DIR);
  const kjs = kafkajs();
  const opts = cfg.quick ? { rounds: 3, minMs: 100 } : {};
  const values = makeValues(100);
  const records = await seglogRecords(seglog, values, 1000);
  const batch = Buffer.from(encodeBatch(records).bytes);
  const rows = [];
  const details = {};
  const row = (name, seglogText, kafkajsText, extra = {}) => {
    console.log(`  ${name}: ${seglogText}${kafkajsText ? `  (kafkajs: ${kafkajsText})` : ''}`);
    rows.push({ name, cells: { seglog: seglogText }, ...extra });
  };

  const mib = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib.length; i++) mib[i] = (i * 2654435761) >>> 24;
  let sink = 0;
  for (const [label, buf] of [['1 MiB', mib], [`${Math.round(batch.length / 1024)} KiB batch`, batch]]) {
    const ours = await rate(() => { sink ^= crc32c(buf, 0, buf.length); return buf.length; }, opts);
    const theirs = kjs ? await rate(() => { sink ^= kjs.crc32C(buf); return buf.length; }, opts) : undefined;
    details[`crc32c ${label} GB/s`] = ours / 1e9;
    row(`kafka crc32c, ${label}`, `${fmtNum(ours / 1e9, 2)} GB/s`, theirs && `${fmtNum(theirs / 1e9, 2)} GB/s`,
      { targets: [{ text: '> 1 GB/s', pass: ours > 1e9 }] });
    if (hardwareCrc !== undefined) {
      const hw = await rate(() => { sink ^= hardwareCrc(buf, 0, buf.length, 0); return buf.length; }, opts);
      details[`crc32c addon ${label} GB/s`] = hw / 1e9;
      row(`kafka crc32c (addon, SSE4.2), ${label}`, `${fmtNum(hw / 1e9, 2)} GB/s`, theirs && `${fmtNum(theirs / 1e9, 2)} GB/s`);
    }
  }

  const enc = await rate(() => encodeBatch(records).recordCount, opts);
  let kEnc;
  if (kjs) {
    const messages = records.map((r) => ({ key: r.key, value: r.valueBytes, timestamp: r.timestamp }));
    kEnc = await rate(async () => {
      const rs = messages.map((m, i) => kjs.Record({ ...m, offsetDelta: i, timestampDelta: m.timestamp - messages[0].timestamp }));
      await kjs.RecordBatch({ records: rs, firstTimestamp: messages[0].timestamp, maxTimestamp: messages.at(-1).timestamp, lastOffsetDelta: rs.length - 1 });
      return rs.length;
    }, opts);
  }
  details['encodeBatch records/s'] = enc;
  row('kafka encodeBatch, 1,000 × 100 B', `${fmtNum(enc / 1e6, 2)}M records/s`, kEnc && `${fmtNum(kEnc / 1e6, 2)}M records/s`,
    { targets: [{ text: '≥ 3M records/s', pass: enc >= 3e6 }] });

  const dec = await rate(() => readProducedBatches(batch).length, opts);
  const kDec = kjs ? await rate(async () => (await kjs.decodeBatch(new kjs.Decoder(batch))).records.length, opts) : undefined;
  details['readProducedBatches records/s'] = dec;
  row('kafka readProducedBatches, 1,000 × 100 B', `${fmtNum(dec / 1e6, 2)}M records/s`, kDec && `${fmtNum(kDec / 1e6, 2)}M records/s`,
    { targets: [{ text: '≥ 2M records/s', pass: dec >= 2e6 }] });

  // Compressed: the same records, compressed by this process (gzip: node:zlib; lz4: lz4js).
  const body = batch.subarray(61);
  const compressed = (codec, bytes) => {
    const b = Buffer.alloc(61 + bytes.length);
    batch.copy(b, 0, 0, 61);
    bytes.copy ? bytes.copy(b, 61) : b.set(bytes, 61);
    b.writeInt32BE(b.length - 12, 8);
    b.writeInt16BE(codec, 21);
    b.writeUInt32BE(crc32c(b, 21, b.length), 17);
    return b;
  };
  const zlib = await import('node:zlib');
  const lz4js = require('lz4js');
  for (const [name, b] of [['gzip', compressed(1, zlib.gzipSync(body))], ['lz4', compressed(3, Buffer.from(lz4js.compress(body)))]]) {
    const r = await rate(() => readProducedBatches(b).length, opts);
    details[`readProducedBatches ${name} records/s`] = r;
    row(`kafka readProducedBatches ${name}, 1,000 × 100 B`, `${fmtNum(r / 1e6, 2)}M records/s`);
  }
  if (sink === 0.5) console.log(sink);
  return { rows, details };
}

export default {
  id: 'kafka',
  title: 'Kafka record batches (src/kafka/records: CRC32C, encode, decode)',
  seglogOnly: true,
  async run(ctx) {
    return runKafkaRecords(ctx.cfg);
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runKafkaRecords(parseArgs())
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(cleanupTmp);
}
