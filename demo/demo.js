// seglog demo: an IoT gateway, on the embedded default (no server, no set-up).
//   npm run demo                 (builds, then node demo/demo.js: uses a temporary directory)
//   node demo/demo.js ./mydata   (keeps the log in ./mydata; run it twice to see it resume)
//
// 1. 500 devices send 200,000 JSON readings; the gateway appends them to 'readings' in batches
// 2. meanwhile a consumer group 'latest-table' follows 'readings' live and keeps a compacted topic
//    'latest' with the newest reading per device (the topic as a key-value table: latest(key))
// 3. a second group 'alerts' picks out readings above 27.5 °C
// 4. compaction shrinks 'latest' to one record per device; lookups by key
// 5. the gateway restarts: both groups resume exactly where they stopped
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from '../dist/src/index.js';

const READINGS = 200_000;
const DEVICES = 500;
const BATCH = 1000;
const STEP_MS = 50; // one reading every 50 ms across the fleet
const HOT_CELSIUS = 27.5;

const given = process.argv[2];
const dir = given ? path.resolve(given) : fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-demo-'));
const now = () => performance.now();
const rate = (n, ms) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;
const device = (i) => `dev-${String(i % DEVICES).padStart(4, '0')}`;

function reading(i, t0) {
  return {
    key: device(i),
    timestamp: t0 + i * STEP_MS,
    value: {
      device: device(i),
      seq: Math.floor(i / DEVICES),
      celsius: Math.round((22 + 5 * Math.sin(i / 977) + (i % 7) * 0.3) * 10) / 10,
      battery: 100 - (Math.floor(i / DEVICES) % 100),
    },
  };
}

function openTopics(log) {
  return {
    readings: log.topic('readings', { codec: 'json', segmentBytes: 4 << 20 }),
    latest: log.topic('latest', { codec: 'json', cleanup: 'compact', segmentBytes: 1 << 20 }),
    alerts: log.topic('alerts', { codec: 'json' }),
  };
}

/** Group 'latest-table': keeps the newest reading per device in the compacted 'latest' topic. */
async function runLatestTable({ readings, latest }, until) {
  const sub = readings.subscribe({ group: 'latest-table' });
  let n = 0;
  for await (const r of sub) {
    latest.appendSync(r.value, { key: r.key });            // one record per reading; compaction keeps the newest
    n++;
    if (r.offset + 1 >= until()) { await sub.commit(); break; } // caught up with the producer: commit and stop
  }
  return n;
}

/** Group 'alerts': copies readings above HOT_CELSIUS to the 'alerts' topic. */
async function runAlerts({ readings, alerts }, until) {
  const sub = readings.subscribe({ group: 'alerts' });
  let n = 0;
  let hot = 0;
  for await (const r of sub) {
    if (r.value.celsius > HOT_CELSIUS) { alerts.appendSync({ device: r.value.device, celsius: r.value.celsius, at: r.offset }); hot++; }
    n++;
    if (r.offset + 1 >= until()) { await sub.commit(); break; } // break alone would leave r to be redone
  }
  return { n, hot };
}

async function main() {
  console.log(`seglog demo: an IoT gateway in ${dir}${given ? '' : ' (temporary)'}\n`);
  let log = await openLog(dir);                             // durability 'fsync': every resolved append is on disk
  let topics = openTopics(log);
  const start = topics.readings.endOffset;
  const target = start + READINGS;

  // ---- produce while two consumer groups follow live ------------------------------------------
  const t0 = Date.now() - READINGS * STEP_MS;
  const t = now();
  const consumers = Promise.all([runLatestTable(topics, () => target), runAlerts(topics, () => target)]);
  for (let i = 0; i < READINGS; i += BATCH) {
    const batch = [];
    for (let j = i; j < i + BATCH; j++) batch.push(reading(start + j, t0));
    await topics.readings.appendBatch(batch);
  }
  const produceMs = now() - t;
  const [tableN, alertsResult] = await consumers;
  const allMs = now() - t;
  console.log(`produced ${READINGS.toLocaleString('en-US')} readings from ${DEVICES} devices (appendBatch of ${BATCH}, fsync): ${produceMs.toFixed(0)} ms, ${rate(READINGS, produceMs)}`);
  console.log(`group 'latest-table' consumed ${tableN.toLocaleString('en-US')} live and wrote the newest reading per device to 'latest'`);
  console.log(`group 'alerts' consumed ${alertsResult.n.toLocaleString('en-US')} live: ${alertsResult.hot.toLocaleString('en-US')} readings above ${HOT_CELSIUS} °C`);
  console.log(`both groups caught up ${(allMs - produceMs).toFixed(0)} ms after the last append (end to end ${rate(READINGS, allMs)})`);

  // ---- reads ------------------------------------------------------------------------------------
  let t1 = now();
  let scanned = 0;
  for (const r of topics.readings.read({ from: start })) scanned += r.valueBytes.length > 0 ? 1 : 0;
  console.log(`\nscan of 'readings' (zero-copy views): ${scanned.toLocaleString('en-US')} records in ${(now() - t1).toFixed(0)} ms, ${rate(scanned, now() - t1)}`);
  const hourAgo = Date.now() - 3_600_000;
  const at = topics.readings.offsetForTime(hourAgo);
  console.log(`readings since an hour ago start at offset ${at.toLocaleString('en-US')}: ${JSON.stringify(topics.readings.get(at).value)}`);

  // ---- the compacted table ----------------------------------------------------------------------
  await log.flush();
  const c = await topics.latest.compact();
  console.log(`\ncompacted 'latest': ${c.recordsBefore.toLocaleString('en-US')} records before, ${c.recordsAfter.toLocaleString('en-US')} after, ${(c.bytesFreed / 1048576).toFixed(1)} MiB freed`);
  console.log(`latest('dev-0007') = ${JSON.stringify(topics.latest.latest('dev-0007').value)}`);
  t1 = now();
  let found = 0;
  const LOOKUPS = 100_000;
  for (let i = 0; i < LOOKUPS; i++) if (topics.latest.latest(device(i * 7919)) !== undefined) found++;
  console.log(`${LOOKUPS.toLocaleString('en-US')} latest(key) lookups: ${rate(LOOKUPS, now() - t1)} (${found.toLocaleString('en-US')} found)`);

  // ---- restart: the groups resume ---------------------------------------------------------------
  await log.close();
  t1 = now();
  log = await openLog(dir);
  topics = openTopics(log);
  console.log(`\nrestarted: reopened in ${(now() - t1).toFixed(1)} ms`);
  const more = [];
  for (let j = 0; j < 1000; j++) more.push(reading(target + j, Date.now() - 1000 * STEP_MS));
  await topics.readings.appendBatch(more);
  const lagBefore = log.stats().topics.readings.groups;
  console.log(`1,000 new readings; the groups' committed positions and lag: ${JSON.stringify(lagBefore)}`);
  const end = topics.readings.endOffset;
  const [again, alertsAgain] = await Promise.all([runLatestTable(topics, () => end), runAlerts(topics, () => end)]);
  console.log(`after the restart 'latest-table' consumed ${again} and 'alerts' ${alertsAgain.n}: only the new readings, none twice`);

  const s = log.stats().topics;
  console.log(`\nlog.stats(): readings ${s.readings.records.toLocaleString('en-US')} records in ${s.readings.segments} segments (${(s.readings.bytes / 1048576).toFixed(1)} MiB); latest ${s.latest.segments} segments; alerts ${s.alerts.records.toLocaleString('en-US')} records`);
  await log.close();
  if (given) console.log(`\nlook inside:  npm run seglog -- stats ${dir}   ·   npm run seglog -- tail ${dir} alerts --from=-3`);
  else fs.rmSync(dir, { recursive: true, force: true });
  console.log(`done${given ? ` (data kept in ${dir})` : ''}`);
}

main().catch((err) => {
  console.error(err);
  if (!given) fs.rmSync(dir, { recursive: true, force: true });
  process.exitCode = 1;
});
