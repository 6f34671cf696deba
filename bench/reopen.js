// Reopen and RSS.
//   Reopen: after a clean close of a large log (256 MB by default, 1 GB with --full), the time of
//           openLog(dir) + log.topic(name) + log.close() in a fresh Node process (spawned per
//           round, so nothing is cached in the process; the page cache is warm).
//   RSS:    the largest process.memoryUsage().rss of a fresh Node process while it scans that
//           log with topic.read({ from: 0 }) (sampled every 1,024 records).
// Run directly as a child: node bench/reopen.js --child reopen|rss <dir> [records]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirBytes, fmtBytes, fmtNum, loadSeglog, makeValues, median, now, rmrf, tmpDir, TOPIC } from './common.js';

const SELF = fileURLToPath(import.meta.url);
const MB = 1 << 20;

async function child(mode, dir, expected) {
  const mod = await loadSeglog();
  if (!mod) process.exit(2);
  if (mode === 'reopen') {
    const t0 = now();
    const log = await mod.openLog(dir);
    const t1 = now();
    const topic = log.topic(TOPIC);
    const t2 = now();
    await log.close();
    const t3 = now();
    const out = { totalMs: t3 - t0, openMs: t1 - t0, topicMs: t2 - t1, closeMs: t3 - t2, endOffset: topic.endOffset };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  if (mode === 'rss') {
    const rss = process.memoryUsage.rss;
    const baseRss = rss();
    const t0 = now();
    const log = await mod.openLog(dir);
    const topic = log.topic(TOPIC);
    const openRss = rss();
    let maxRss = openRss;
    let maxHeap = 0;
    let maxExternal = 0;
    let count = 0;
    let bytes = 0;
    const t1 = now();
    for (const r of topic.read({ from: 0 })) {
      bytes += r.valueBytes.length;
      if ((++count & 1023) === 0) {
        const m = rss();
        if (m > maxRss) maxRss = m;
        if ((count & 65535) === 0) {
          const u = process.memoryUsage();
          if (u.heapUsed > maxHeap) maxHeap = u.heapUsed;
          if (u.external + u.arrayBuffers > maxExternal) maxExternal = u.external + u.arrayBuffers;
        }
      }
    }
    const scanMs = now() - t1;
    maxRss = Math.max(maxRss, rss());
    await log.close();
    if (expected && count !== expected) {
      process.stderr.write(`rss child: scanned ${count} records, expected ${expected}\n`);
      process.exit(3);
    }
    const out = {
      baseRssMB: baseRss / MB,
      openRssMB: openRss / MB,
      maxRssMB: maxRss / MB,
      maxHeapUsedMB: maxHeap / MB,
      maxExternalMB: maxExternal / MB,
      records: count,
      bytes,
      scanMs,
      openMs: t1 - t0,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  throw new Error(`unknown child mode ${mode}`);
}

function spawnChild(args) {
  const out = execFileSync(process.execPath, [SELF, '--child', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  const line = out.trim().split('\n').pop();
  return JSON.parse(line);
}

async function buildLog(mod, dir, targetBytes, valueBytes) {
  const values = makeValues(valueBytes, 256);
  const n = Math.ceil(targetBytes / valueBytes);
  const log = await mod.openLog(dir, { durability: 'os' });
  const topic = log.topic(TOPIC);
  const t0 = now();
  for (let i = 0; i < n; i += 1000) {
    const m = Math.min(1000, n - i);
    const batch = new Array(m);
    for (let j = 0; j < m; j++) batch[j] = { value: values[(i + j) & 255] };
    await topic.appendBatch(batch);
  }
  const ms = now() - t0;
  await log.close();
  return { records: n, buildMs: ms };
}

export default {
  id: 'reopen',
  title: (cfg) => `Reopen + RSS (${cfg.reopenMB} MB log, ${cfg.reopenValueBytes} B records)`,
  seglogOnly: true,
  async run(ctx) {
    const { cfg } = ctx;
    const dir = tmpDir('reopen');
    try {
      console.log(`  building a ${cfg.reopenMB} MB log of ${cfg.reopenValueBytes}-byte records...`);
      const built = await buildLog(ctx.seglog, dir, cfg.reopenMB * MB, cfg.reopenValueBytes);
      const size = dirBytes(dir);
      console.log(`  built ${built.records.toLocaleString('en-US')} records, ${fmtBytes(size)} on disk, in ${fmtNum(built.buildMs / 1000, 1)} s`);
      const reopens = [];
      for (let r = 0; r < cfg.rounds; r++) {
        const res = spawnChild(['reopen', dir]);
        if (res.endOffset !== built.records) throw new Error(`reopen: endOffset ${res.endOffset}, expected ${built.records}`);
        reopens.push(res);
        console.log(`  reopen round ${r + 1}/${cfg.rounds}: ${fmtNum(res.totalMs, 1)} ms (openLog ${fmtNum(res.openMs, 1)}, topic ${fmtNum(res.topicMs, 1)}, close ${fmtNum(res.closeMs, 1)})`);
      }
      const rss = spawnChild(['rss', dir, String(built.records)]);
      console.log(
        `  RSS scan: max ${fmtNum(rss.maxRssMB, 0)} MB (at start ${fmtNum(rss.baseRssMB, 0)} MB, after open ${fmtNum(rss.openRssMB, 0)} MB; ` +
          `heapUsed ≤ ${fmtNum(rss.maxHeapUsedMB, 0)} MB, external+arrayBuffers ≤ ${fmtNum(rss.maxExternalMB, 0)} MB); ` +
          `scan ${fmtNum((rss.records / rss.scanMs) * 1000 / 1e6, 2)}M records/s, ${fmtNum((rss.bytes / MB) / (rss.scanMs / 1000), 0)} MB/s`,
      );
      const reopenMs = median(reopens.map((x) => x.totalMs));
      return {
        rows: [
          {
            name: `Reopen after clean close (${fmtBytes(size)})`,
            cells: { seglog: `${fmtNum(reopenMs, 1)} ms` },
            targets: [{ text: '< 200 ms', pass: reopenMs < 200 }],
          },
          {
            name: `Max RSS scanning ${fmtBytes(size)} with read()`,
            cells: { seglog: `${fmtNum(rss.maxRssMB, 0)} MB` },
            targets: [{ text: '< 200 MB', pass: rss.maxRssMB < 200 }],
          },
        ],
        details: { logBytes: size, records: built.records, buildMs: built.buildMs, reopenMedianMs: reopenMs, reopens, rss },
      };
    } finally {
      rmrf(dir);
    }
  },
};

if (process.argv[2] === '--child') {
  const [mode, dir, expected] = process.argv.slice(3);
  child(mode, dir, expected ? Number(expected) : 0).catch((err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  });
}
