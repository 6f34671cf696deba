// Edge buffer: a device appends sensor readings locally, whether or not the uplink is up. A packer
// turns the readings into upload chunks of up to 500 (one record of topic 'uploads' per chunk) and
// appends each chunk together with its group position on 'readings' as one atomic step:
// `uploads.appendBatch([chunk], { commit: sub })`. After any crash, kill -9 or power cut, every
// reading is in exactly one chunk — none lost, none packed twice. Whenever the device is online,
// the uplink sends the chunks not yet sent, each with its offset in 'uploads' as idempotency key
// (the cloud keeps a chunk once, so a resend after a crash between POST and commit is harmless).
//   node examples/edge-buffer.mjs [dir]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from 'seglog';

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-edge-'));
const cloud = new Map();                   // what the "cloud" received: chunk id -> readings
let online = false;

async function openBuffer() {
  const log = await openLog(dir, { durability: 'os' });   // survives a crash of the process
  const readings = log.topic('readings', { codec: 'json', segmentBytes: 64 * 1024 });
  const uploads = log.topic('uploads', { codec: 'json' });
  return { log, readings, uploads };
}

/** Packs every reading not yet packed into chunks; each chunk and the packer's position in one step. */
async function pack({ readings, uploads }, crashAfterChunks = Infinity) {
  const sub = readings.subscribe({ group: 'packer', autoCommit: false });
  for (let chunks = 0; sub.position < readings.endOffset; chunks++) {
    if (chunks === crashAfterChunks) process.kill(process.pid, 'SIGKILL'); // the power plug, mid-pack
    const chunk = [];
    const n = Math.min(500, readings.endOffset - sub.position);
    for (let i = 0; i < n; i++) chunk.push((await sub.next()).value.value);
    await uploads.appendBatch([{ value: { from: chunk[0].t, readings: chunk } }], { commit: sub });
  }
  await sub.close();
}

/** Sends the chunks not yet sent (while online); the uplink group commits after each "POST". */
async function send({ uploads }) {
  const sub = uploads.subscribe({ group: 'uplink', autoCommit: false });
  while (online && sub.position < uploads.endOffset) {
    const { value: r } = await sub.next();
    if (!cloud.has(r.offset)) cloud.set(r.offset, r.value.readings); // the "HTTP POST", keyed by chunk id
    await sub.commit();
  }
  await sub.close();
}

const received = () => [...cloud.keys()].sort((a, b) => a - b).flatMap((k) => cloud.get(k));
let buffer = await openBuffer();
let t = buffer.readings.endOffset === 0 ? Date.UTC(2026, 0, 1) : buffer.readings.get(buffer.readings.endOffset - 1).value.t;
async function sample(n, crashAfterChunks) {
  const batch = [];
  for (let i = 0; i < n; i++) {
    t += 1000;
    const device = `sensor-${i % 4}`;
    batch.push({ value: { device, celsius: 20 + ((i * 7) % 50) / 10, t }, key: device, timestamp: t });
  }
  await buffer.readings.appendBatch(batch);
  await pack(buffer, crashAfterChunks);
}

if (process.env.EDGE_BUFFER_CRASH === '1') {
  // the child of the crash below: 700 readings, killed after packing its first chunk of 500
  await sample(700, 1);
}

await sample(1200);                 // offline: readings pile up locally, packed into chunks
console.log(`offline: buffered ${buffer.readings.endOffset}, forwarded ${received().length}`);
online = true;
await send(buffer);
console.log(`online: forwarded ${received().length}`);
online = false;
await sample(800);                  // offline again
await buffer.log.close();           // the device restarts
buffer = await openBuffer();
const groups = buffer.log.stats().topics.uploads.groups;
console.log(`after restart: buffered ${buffer.readings.endOffset} in ${buffer.uploads.endOffset} chunks, resuming the uplink at chunk ${groups.uplink.position}`);
online = true;
await send(buffer);
console.log(`online: forwarded ${received().length}`);
online = false;
await buffer.log.close();
// a crash: another process samples 700 readings and dies (SIGKILL) while packing them
const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, dir], { env: { ...process.env, EDGE_BUFFER_CRASH: '1' }, stdio: 'inherit' });
buffer = await openBuffer();
const packer = buffer.log.stats().topics.readings.groups.packer.position;
console.log(`after a crash (${child.signal}): buffered ${buffer.readings.endOffset}, packed ${packer} in ${buffer.uploads.endOffset} chunks`);
await pack(buffer);                 // the rest: nothing packed twice, nothing skipped
online = true;
await send(buffer);
const upstream = received();
const inOrder = upstream.every((r, i) => i === 0 || r.t > upstream[i - 1].t);
console.log(`online: forwarded ${upstream.length} of ${buffer.readings.endOffset}, in order: ${inOrder}, duplicates: ${upstream.length - new Set(upstream.map((r) => r.t)).size}`);
await buffer.log.close();
