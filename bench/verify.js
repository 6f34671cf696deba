// verify(dir) throughput: the read-only check of every batch and index entry that `seglog verify`
// runs. Writes a log of N 100-byte records (appendBatch, durability 'os', 64 MiB segments), closes
// it, and times verify() over it with a warm page cache (median of a few rounds), next to a plain
// scan of the same log through read() for comparison. Run: npm run build && node bench/verify.js
// [--quick]. Crash: the temporary directory is removed at the end (or left by a kill, under the
// system temp dir).
import { fmtRate, loadSeglog, makeValues, median, now, parseArgs, rmrf, tmpDir, TOPIC } from './common.js';

const cfg = parseArgs();
const mod = await loadSeglog();
if (!mod) process.exit(2);
const dir = tmpDir('verify');
try {
  const values = makeValues(cfg.valueBytes);
  const log = await mod.openLog(dir, { durability: 'os' });
  const topic = log.topic(TOPIC);
  for (let i = 0; i < cfg.records; i += cfg.batchSize) {
    const batch = [];
    for (let j = 0; j < cfg.batchSize; j++) batch.push({ value: values[(i + j) % values.length] });
    await topic.appendBatch(batch);
  }
  await log.close();
  const verifyMs = [];
  const scanMs = [];
  let report;
  for (let r = 0; r < cfg.rounds; r++) {
    let t0 = now();
    report = await mod.verify(dir);
    verifyMs.push(now() - t0);
    const reader = await mod.openLog(dir, { readOnly: true });
    t0 = now();
    let n = 0;
    for (const _ of reader.topic(TOPIC).read()) n++;
    scanMs.push(now() - t0);
    await reader.close();
    if (n !== cfg.records) throw new Error(`scan read ${n} records`);
  }
  const t = report.topics[0];
  if (!report.ok || t.records !== cfg.records) throw new Error(`verify: ${JSON.stringify(report).slice(0, 300)}`);
  const mb = t.bytes / (1 << 20);
  const v = median(verifyMs);
  const s = median(scanMs);
  console.log(`verify: ${cfg.records} records, ${mb.toFixed(0)} MiB, ${t.segments} segments, ${t.batches} batches`);
  console.log(`  verify()   ${v.toFixed(0)} ms  ${fmtRate(cfg.records / (v / 1000))} records  ${(mb / (v / 1000)).toFixed(0)} MiB/s`);
  console.log(`  read() scan ${s.toFixed(0)} ms  ${fmtRate(cfg.records / (s / 1000))} records`);
} finally {
  rmrf(dir);
}
