// W9: retention on a topic with 1,000 segments (16 KiB each, 100-byte records with increasing
// timestamps), reopened first so that no segment index is loaded yet. Timed: one
// enforceRetention(now) that removes every closed segment, by age (the largest timestamp of each
// segment is read from its time index) and, on a second copy, by size. Target (issue 4): <= 100 ms.
// Run alone: npm run build && node bench/w9-retention.js
import fs from 'node:fs';
import { fmtNum, makeValues, median, now, rmrf, tmpDir, runAlone } from './common.js';

const SEGMENTS = 1000;
const SEGMENT_BYTES = 16 * 1024;
const T0 = 1_700_000_000_000;

async function build(mod, dir, values) {
  const log = await mod.openLog(dir, { durability: 'os' });
  const topic = log.topic('w9', { segmentBytes: SEGMENT_BYTES });
  let o = 0;
  while (log.stats().topics.w9.segments < SEGMENTS + 1) {
    const batch = [];
    for (let i = 0; i < 500; i++, o++) batch.push({ value: values[o % values.length], timestamp: T0 + o });
    await topic.appendBatch(batch);
  }
  await log.close();
  return o;
}

async function timed(mod, dir, retention, nowMs) {
  const log = await mod.openLog(dir, { durability: 'os' });
  const topic = log.topic('w9', { retention });
  const before = log.stats().topics.w9.segments;
  const t0 = now();
  const r = await topic.enforceRetention(nowMs);
  const ms = now() - t0;
  const after = log.stats().topics.w9.segments;
  await log.close();
  if (r.segmentsDeleted !== before - 1 || after !== 1) throw new Error(`retention removed ${r.segmentsDeleted} of ${before - 1} segments`);
  return { ms, segmentsDeleted: r.segmentsDeleted, bytesFreed: r.bytesFreed };
}

const workload = {
  id: 'w9',
  title: () => `W9 retention on a topic of ${SEGMENTS.toLocaleString('en-US')} segments`,
  seglogOnly: true,
  async run(ctx) {
    const values = makeValues(ctx.cfg.valueBytes);
    const rounds = ctx.cfg.quick ? 1 : 3;
    const byAge = [];
    const bySize = [];
    for (let round = 0; round < rounds; round++) {
      const master = tmpDir('w9');
      const records = await build(ctx.seglog, master, values);
      const copy = tmpDir('w9-copy');
      fs.cpSync(master, copy, { recursive: true });
      byAge.push(await timed(ctx.seglog, master, { maxAgeMs: 1 }, T0 + records + 10));
      bySize.push(await timed(ctx.seglog, copy, { maxBytes: 1 }, T0));
      rmrf(master);
      rmrf(copy);
    }
    const ageMs = median(byAge.map((r) => r.ms));
    const sizeMs = median(bySize.map((r) => r.ms));
    console.log(`  by age: ${fmtNum(ageMs, 1)} ms to remove ${byAge[0].segmentsDeleted} segments; by size: ${fmtNum(sizeMs, 1)} ms`);
    return {
      rows: [
        { name: `W9 retention by age, ${SEGMENTS} segments`, cells: { seglog: `${fmtNum(ageMs, 1)} ms` }, targets: [{ text: '≤ 100 ms', pass: ageMs <= 100 }] },
        { name: `W9 retention by size, ${SEGMENTS} segments`, cells: { seglog: `${fmtNum(sizeMs, 1)} ms` }, targets: [{ text: '≤ 100 ms', pass: sizeMs <= 100 }] },
      ],
      details: { byAge, bySize },
    };
  },
};
export default workload;

await runAlone(import.meta.url, workload);
