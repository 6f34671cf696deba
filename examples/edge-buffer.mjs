// Edge buffer: a device appends sensor readings locally in batches, whether or not the uplink is
// up; whenever it is "online" it forwards everything not yet forwarded, in order, and records how
// far it got in a small 'forwarded' topic (the newest record there is the position). A restart in
// the middle resumes from that position: nothing is lost, nothing is sent twice.
//   node examples/edge-buffer.mjs [dir]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from 'seglog';

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-edge-'));
const upstream = [];                       // what the "cloud" received
let online = false;

async function openBuffer() {
  const log = await openLog(dir, { durability: 'os' });   // survives a crash of the process
  const readings = log.topic('readings', { codec: 'json', segmentBytes: 64 * 1024 });
  const forwarded = log.topic('forwarded', { codec: 'json' });
  return { log, readings, forwarded };
}

/** Where forwarding resumes: one past the last forwarded offset, recorded in 'forwarded'. */
function position({ forwarded }) {
  if (forwarded.endOffset === 0) return 0;
  return forwarded.get(forwarded.endOffset - 1).value.next;
}

/** Sends everything not yet forwarded, in chunks of up to 500 readings (while online). */
async function forward(buffer) {
  let next = position(buffer);
  while (online && next < buffer.readings.endOffset) {
    const chunk = [];
    for (const r of buffer.readings.read({ from: next, maxRecords: 500 })) chunk.push(r.value);
    upstream.push(...chunk);                                 // the "HTTP POST"
    next += chunk.length;
    await buffer.forwarded.append({ next, at: Date.now() }); // checkpoint after each chunk
  }
  return next;
}

let buffer = await openBuffer();
let t = Date.UTC(2026, 0, 1);
async function sample(n) {
  const batch = [];
  for (let i = 0; i < n; i++) {
    t += 1000;
    const device = `sensor-${i % 4}`;
    batch.push({ value: { device, celsius: 20 + ((i * 7) % 50) / 10, t }, key: device, timestamp: t });
  }
  await buffer.readings.appendBatch(batch);
}

await sample(1200);                 // offline: readings pile up locally
console.log(`offline: buffered ${buffer.readings.endOffset}, forwarded ${upstream.length}`);
online = true;
await forward(buffer);
console.log(`online: forwarded ${upstream.length}`);
online = false;
await sample(800);                  // offline again
await buffer.log.close();           // the device restarts
buffer = await openBuffer();
console.log(`after restart: buffered ${buffer.readings.endOffset}, resuming at ${position(buffer)}`);
online = true;
await forward(buffer);
const inOrder = upstream.every((r, i) => i === 0 || r.t > upstream[i - 1].t);
console.log(`online: forwarded ${upstream.length} of ${buffer.readings.endOffset}, in order: ${inOrder}, duplicates: ${upstream.length - new Set(upstream.map((r) => r.t)).size}`);
await buffer.log.close();
