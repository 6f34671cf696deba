// W8: compaction and latest(key). 1,000,000 records over 10,000 keys, 100-byte values, in a
// compacted topic (durability 'os'); then, for each entry point (seglog and seglog/native-free):
//   compact throughput: records scanned by compact() per second, while a producer appends
//                       (to other keys) the whole time;
//   live after:         records left in the compacted segments (must be the 10,000 keys);
//   latest() lookups/s: 1,000,000 random latest(key) after compaction;
//   p99 append stall:   99th percentile of the time one `await topic.append()` plus one turn of
//                       the event loop takes while the compaction runs (what compaction's slices
//                       cost a producer that appends once per turn).
// Targets (issue 4): >= 1M records/s scanned, 10,000 live, >= 500k lookups/s, p99 stall <= 10 ms.
// Run alone: npm run build && node bench/w8-compact.js [--quick]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT_DIR, fmtNum, fmtRate, makeValues, now, percentile, rmrf, rng, tmpDir, runAlone } from './common.js';

const KEYS = 10_000;

async function loadEntry(name, seglog) {
  if (name === 'seglog') return seglog;
  return import(pathToFileURL(path.join(ROOT_DIR, 'dist', 'native-free', 'index.js')).href);
}

async function runOne(mod, cfg) {
  const records = cfg.quick ? 200_000 : 1_000_000;
  const dir = tmpDir('w8');
  try {
    const log = await mod.openLog(dir, { durability: 'os' });
    const topic = log.topic('w8', { cleanup: 'compact', minCleanableDirtyRatio: 1 });
    const values = makeValues(cfg.valueBytes);
    const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
    const batch = [];
    for (let i = 0; i < records; i++) {
      batch.push({ value: values[i % values.length], key: keys[i % KEYS] });
      if (batch.length === 1000) {
        await topic.appendBatch(batch);
        batch.length = 0;
      }
    }
    if (batch.length) await topic.appendBatch(batch);
    await log.flush();

    // compact() with a producer appending (to keys of its own) the whole time
    let compacting = true;
    const stalls = [];
    const producer = (async () => {
      let i = 0;
      while (compacting) {
        // one append per turn of the event loop (an 'os' append resolves within the turn)
        const t = now();
        await topic.append(values[i % values.length], { key: `live-${i % 100}` });
        await new Promise((resolve) => setImmediate(resolve));
        stalls.push(now() - t);
        i++;
      }
      return i;
    })();
    const t0 = now();
    const result = await topic.compact();
    const compactMs = now() - t0;
    compacting = false;
    const appendedDuring = await producer;
    // the data set's keys left in the topic (the producer's own keys are not counted)
    let live = 0;
    for (const rec of topic.read()) if (rec.key.toString('latin1', 0, 4) === 'key-') live++;

    // latest() lookups
    const lookups = cfg.quick ? 200_000 : 1_000_000;
    const r = rng(99);
    const order = Array.from({ length: lookups }, () => keys[r() % KEYS]);
    let found = 0;
    const t1 = now();
    for (let i = 0; i < lookups; i++) if (topic.latest(order[i]) !== undefined) found++;
    const latestMs = now() - t1;
    if (found !== lookups) throw new Error(`latest() found ${found} of ${lookups} keys`);
    await log.close();
    return {
      records,
      recordsBefore: result.recordsBefore,
      recordsAfter: result.recordsAfter,
      live,
      bytesFreed: result.bytesFreed,
      compactMs,
      scannedPerSec: (result.recordsBefore / compactMs) * 1000,
      latestPerSec: (lookups / latestMs) * 1000,
      appendedDuring,
      stallP50Ms: percentile(stalls, 50),
      stallP99Ms: percentile(stalls, 99),
      stallMaxMs: Math.max(...stalls),
    };
  } finally {
    rmrf(dir);
  }
}

const workload = {
  id: 'w8',
  title: (cfg) => `W8 compact ${cfg.quick ? '200,000' : '1,000,000'} records over ${KEYS.toLocaleString('en-US')} keys × ${cfg.valueBytes} B, then latest(key)`,
  seglogOnly: true,
  async run(ctx) {
    const out = {};
    for (const name of ['seglog', 'seglog/native-free']) {
      const mod = await loadEntry(name, ctx.seglog);
      out[name] = await runOne(mod, ctx.cfg);
      const o = out[name];
      console.log(`  ${name}: compact ${fmtRate(o.scannedPerSec)} records scanned (${fmtNum(o.compactMs, 0)} ms), live after ${o.live} (${o.recordsAfter} records in the compacted segments), ` +
        `latest() ${fmtRate(o.latestPerSec)}, append stall p50 ${fmtNum(o.stallP50Ms, 2)} ms p99 ${fmtNum(o.stallP99Ms, 2)} ms max ${fmtNum(o.stallMaxMs, 1)} ms (${o.appendedDuring} appends during)`);
    }
    const d = out.seglog;
    const nf = out['seglog/native-free'];
    return {
      rows: [
        { name: 'W8 compact() records scanned/s', cells: { seglog: fmtRate(d.scannedPerSec) }, targets: [{ text: '≥ 1M/s', pass: d.scannedPerSec >= 1e6 }] },
        { name: 'W8 live records after compaction', cells: { seglog: String(d.live) }, targets: [{ text: `= ${KEYS}`, pass: d.live === KEYS }] },
        { name: 'W8 latest(key) lookups/s', cells: { seglog: fmtRate(d.latestPerSec) }, targets: [{ text: '≥ 500k/s', pass: d.latestPerSec >= 5e5 }] },
        { name: 'W8 p99 append stall during compaction', cells: { seglog: `${fmtNum(d.stallP99Ms, 2)} ms` }, targets: [{ text: '≤ 10 ms', pass: d.stallP99Ms <= 10 }] },
      ],
      notes: [`W8 native-free: compact ${fmtRate(nf.scannedPerSec)}/s, live ${nf.live}, latest() ${fmtRate(nf.latestPerSec)}/s, p99 stall ${fmtNum(nf.stallP99Ms, 2)} ms`],
      details: out,
    };
  },
};
export default workload;

await runAlone(import.meta.url, workload);
