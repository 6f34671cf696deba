// Follower and CLI benchmark (issue #7): what a read-only follower in another process and the
// `seglog` command cost. Not part of `npm run bench` (run.js); run it on its own:
//   npm run build && node bench/follow.js [--records N]
// 1. log.refresh() on a read-only log when nothing changed, and after each batch of 1,000
// 2. append→visible latency in a follower process (fs.watch + refresh), p50/p99, writer paced
// 3. `seglog tail` (decoding json) and `seglog dump --batches` / `seglog verify` over the log
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'dist/src/cli/main.js');
const { openLog } = await import(path.join(ROOT, 'dist/src/index.js'));
const at = process.argv.indexOf('--records');
const RECORDS = at > 0 ? Number(process.argv[at + 1]) : 1_000_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-bench-follow-'));
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const fmt = (n) => Math.round(n).toLocaleString('en-US');

try {
  // ---- 1. refresh cost ----
  const log = await openLog(dir, { durability: 'os' });
  const t = log.topic('events', { codec: 'json' });
  const value = { device: 'dev-0001', celsius: 21.5, battery: 97, note: 'x'.repeat(40) };
  const batch = Array.from({ length: 1000 }, () => ({ value }));
  for (let i = 0; i < RECORDS; i += 1000) await t.appendBatch(batch);
  await log.flush();
  const ro = await openLog(dir, { readOnly: true });
  const N = 20_000;
  let t0 = performance.now();
  for (let i = 0; i < N; i++) ro.refresh();
  const idleUs = ((performance.now() - t0) / N) * 1000;
  let busyMs = 0;
  for (let i = 0; i < 200; i++) {
    await t.appendBatch(batch);
    t0 = performance.now();
    ro.refresh();
    busyMs += performance.now() - t0;
  }
  console.log(`refresh(), nothing new: ${idleUs.toFixed(1)} µs; after a batch of 1,000 records (~90 KB): ${((busyMs / 200) * 1000).toFixed(0)} µs`);
  await ro.close();
  await log.close();

  // ---- 2. append → visible in a follower process ----
  const follower = `
    const { openLog } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/index.js'))});
    const fs = await import('node:fs');
    const ro = await openLog(${JSON.stringify(dir)}, { readOnly: true });
    const t = ro.topic('live', { codec: 'json' });
    let next = t.endOffset;
    const lat = [];
    const drain = () => {
      ro.refresh();
      for (const r of t.read({ from: next })) { lat.push(Date.now() - r.value.sentMs); next = r.offset + 1; }
      if (lat.length >= 2000) { process.stdout.write(JSON.stringify(lat)); process.exit(0); }
    };
    fs.watch(${JSON.stringify(path.join(dir, 'live'))}, drain);
    setInterval(drain, 1000);
    process.stdout.write('ready\\n');
  `;
  const w = await openLog(dir, { durability: 'os' });
  const live = w.topic('live', { codec: 'json' });
  await live.append({ sentMs: Date.now() });
  const child = spawn(process.execPath, ['--input-type=module', '-e', follower], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise((resolve) => child.stdout.on('data', (c) => { out += c; if (out.includes('ready\n')) resolve(); }));
  out = '';
  const done = new Promise((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 2000; i++) {
    await live.append({ sentMs: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 1)); // ~1,000 appends/s, one per tick
  }
  await done;
  const lat = JSON.parse(out);
  console.log(`append→visible in a follower process (fs.watch + refresh, ~1k appends/s): p50 ${pct(lat, 0.5)} ms, p99 ${pct(lat, 0.99)} ms, max ${Math.max(...lat)} ms`);
  await w.close();

  // ---- 3. the CLI over the log ----
  const bytes = fs.readdirSync(path.join(dir, 'events')).filter((f) => f.endsWith('.log')).reduce((n, f) => n + fs.statSync(path.join(dir, 'events', f)).size, 0);
  for (const [label, args, records] of [
    ['seglog tail (json decode, to /dev/null)', ['tail', dir, 'events'], RECORDS + 200_000],
    ['seglog dump --batches', ['dump', dir, 'events', '--batches'], RECORDS + 200_000],
    ['seglog verify', ['verify', dir, 'events'], RECORDS + 200_000],
  ]) {
    t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fs.openSync('/dev/null', 'w'), 'pipe'] });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${label} exited ${r.status}: ${r.stderr}`);
    console.log(`${label}: ${fmt(records)} records, ${(bytes / 1048576).toFixed(0)} MiB in ${fmt(ms)} ms (${fmt((records / ms) * 1000)} records/s, process start included)`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
