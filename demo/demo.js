// seglog demo: an IoT edge buffer.
//   npm run demo                 (builds, then node demo/demo.js: uses a temporary directory)
//   node demo/demo.js ./mydata   (keeps the log in ./mydata; run it twice to see it grow)
//
// 1. appends 200,000 JSON sensor readings (key = device id) to a 'json' topic, in batches
// 2. appends 100,000 binary frames to a 'binary' topic with appendSync
// 3. reads some back: get(), read({ from, maxRecords }), offsetForTime(), a full scan
// 4. a consumer group forwards the first 1,000 readings and commits its position
// 5. closes, reopens, and shows that everything (and the group's position) is still there
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { openLog } from '../dist/src/index.js';

const READINGS = 200_000;
const FRAMES = 100_000;
const DEVICES = 500;
const BATCH = 1000;
const STEP_MS = 50; // one reading every 50 ms across the fleet

const given = process.argv[2];
const dir = given ? path.resolve(given) : fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-demo-'));
const now = () => performance.now();
const rate = (n, ms) => `${((n / ms) * 1000).toLocaleString('en-US', { maximumFractionDigits: 0 })}/s`;
const show = (x) => inspect(x, { depth: 4, breakLength: 120, colors: false });

function reading(i, t0) {
  const device = `dev-${String(i % DEVICES).padStart(4, '0')}`;
  return {
    key: device,
    timestamp: t0 + i * STEP_MS,
    value: {
      device,
      seq: Math.floor(i / DEVICES),
      temperature: Math.round((20 + 5 * Math.sin(i / 977) + (i % 7) * 0.1) * 10) / 10,
      humidity: 40 + (i % 30),
      battery: 100 - (Math.floor(i / DEVICES) % 100),
    },
  };
}

function frame(i) {
  // a 24-byte binary sensor packet: u32 device, u32 sequence, f64 value, f64 time
  const b = Buffer.allocUnsafe(24);
  b.writeUInt32LE(i % DEVICES, 0);
  b.writeUInt32LE(i, 4);
  b.writeDoubleLE(Math.sin(i / 100), 8);
  b.writeDoubleLE(Date.now(), 16);
  return b;
}

async function main() {
  console.log(`seglog demo in ${dir}${given ? '' : ' (temporary)'}\n`);

  // ---- write ------------------------------------------------------------------------------
  let log = await openLog(dir); // default durability 'fsync': every resolved append is on disk
  let readings = log.topic('sensor-readings', { codec: 'json' });
  let frames = log.topic('frames'); // codec 'binary' (the default)
  const firstNew = readings.endOffset;
  console.log(`opened: topics ${show(log.topics())}, sensor-readings at offset ${firstNew}`);

  const t0 = Date.now() - READINGS * STEP_MS; // readings spread over the last ~2.8 hours
  let t = now();
  let first = -1;
  for (let i = 0; i < READINGS; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(i + BATCH, READINGS); j++) batch.push(reading(j, t0));
    const base = await readings.appendBatch(batch);
    if (first < 0) first = base;
  }
  const appendMs = now() - t;
  console.log(
    `appended ${READINGS.toLocaleString('en-US')} JSON readings (appendBatch of ${BATCH}) at offsets ${first}..${readings.endOffset - 1}: ` +
      `${appendMs.toFixed(0)} ms, ${rate(READINGS, appendMs)}`,
  );

  t = now();
  const frameBase = frames.endOffset;
  for (let i = 0; i < FRAMES; i++) frames.appendSync(frame(i));
  await log.flush();
  const framesMs = now() - t;
  console.log(
    `appended ${FRAMES.toLocaleString('en-US')} binary frames (appendSync + flush) at offsets ${frameBase}..${frames.endOffset - 1}: ` +
      `${framesMs.toFixed(0)} ms, ${rate(FRAMES, framesMs)}`,
  );

  // ---- read -------------------------------------------------------------------------------
  const r0 = readings.get(first);
  console.log(`\nget(${first}): key=${r0.key} time=${new Date(r0.timestamp).toISOString()} value=${show(r0.value)}`);
  const last = readings.get(readings.endOffset - 1);
  console.log(`get(${last.offset}): key=${last.key} value=${show(last.value)}`);
  const hourAgo = Date.now() - 3_600_000;
  const at = readings.offsetForTime(hourAgo);
  console.log(`offsetForTime(1 hour ago) = ${at}; the 3 records from there:`);
  for (const r of readings.read({ from: at, maxRecords: 3 })) {
    console.log(`  #${r.offset} ${new Date(r.timestamp).toISOString()} ${r.key}: ${r.valueBytes.length} bytes, temperature ${r.value.temperature}`);
  }
  const f = frames.get(frameBase + 42);
  console.log(`frames.get(${frameBase + 42}): ${f.valueBytes.length} bytes, device ${f.value.readUInt32LE(0)}, seq ${f.value.readUInt32LE(4)}`);

  t = now();
  let scanned = 0;
  let bytes = 0;
  for (const r of readings.read({ from: first })) {
    bytes += r.valueBytes.length;
    scanned++;
  }
  const scanMs = now() - t;
  console.log(`\nscan (zero-copy views, no decoding): ${scanned.toLocaleString('en-US')} records, ${(bytes / 1048576).toFixed(1)} MiB in ${scanMs.toFixed(0)} ms, ${rate(scanned, scanMs)}`);

  t = now();
  const sum = new Float64Array(DEVICES);
  const cnt = new Uint32Array(DEVICES);
  for (const r of readings.read({ from: first })) {
    const d = r.value.device;
    const k = Number(d.slice(4));
    sum[k] += r.value.temperature;
    cnt[k]++;
  }
  const decodeMs = now() - t;
  console.log(
    `scan + JSON decode: ${rate(scanned, decodeMs)}; mean temperature of dev-0007 = ${(sum[7] / cnt[7]).toFixed(2)} °C over ${cnt[7]} readings`,
  );

  // ---- a consumer group forwards the first 1,000 readings -------------------------------------
  const forwardedRange = await forward(readings);
  if (forwardedRange) console.log(`\nconsumer group 'uplink' forwarded offsets ${forwardedRange} and committed its position`);

  t = now();
  await log.close();
  console.log(`closed in ${(now() - t).toFixed(1)} ms`);

  // ---- reopen -------------------------------------------------------------------------------
  t = now();
  log = await openLog(dir);
  readings = log.topic('sensor-readings', { codec: 'json' });
  frames = log.topic('frames');
  const reopenMs = now() - t;
  console.log(`\nreopened in ${reopenMs.toFixed(1)} ms: topics ${show(log.topics())}`);
  console.log(`  sensor-readings: startOffset ${readings.startOffset}, endOffset ${readings.endOffset}`);
  console.log(`  frames:          startOffset ${frames.startOffset}, endOffset ${frames.endOffset}`);
  const again = readings.get(first);
  console.log(`  get(${first}) after reopen: ${show(again.value)}`);
  if (forwardedRange) {
    const sub2 = readings.subscribe({ group: 'uplink' });
    console.log(`  group 'uplink' resumes at offset ${sub2.position} (lag ${sub2.lag.toLocaleString('en-US')})`);
    await sub2.close();
  }
  console.log('\nlog.stats() after reopen:', show(log.stats()));
  await log.close();

  if (!given) fs.rmSync(dir, { recursive: true, force: true });
  console.log(`\ndone${given ? ` (data kept in ${dir})` : ''}`);
}

/** Forwards up to 1,000 readings through a consumer group; returns the range, or null if subscribe() is missing. */
async function forward(topic) {
  let sub;
  try {
    sub = topic.subscribe({ group: 'uplink', from: 'earliest' });
  } catch (err) {
    if (err?.code !== 'ERR_NOT_SUPPORTED') throw err;
    console.log(`\n(consumer groups skipped: ${err.message})`);
    return null;
  }
  const start = sub.position;
  let forwarded = 0;
  for await (const r of sub) {
    void r; // ...send r.valueBytes upstream here...
    if (++forwarded === 1000) break; // break commits: the group resumes after this record
  }
  await sub.close();
  return `${start}..${start + forwarded - 1}`;
}

main().catch((err) => {
  console.error(err);
  if (!given) fs.rmSync(dir, { recursive: true, force: true });
  process.exitCode = 1;
});
