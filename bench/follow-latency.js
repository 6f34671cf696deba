// Follow latency (issue 18): how long from a writer's append to delivery by a subscription on a
// following read-only log in another process — openLog(dir, { readOnly: true, follow: true }), no
// refresh() calls: the follower's file watch (or, failing that, its poll) refreshes it and wakes
// the subscription. The writer (this process, durability 'os') appends one record per timer turn
// (~1,000/s); each value carries the send time (performance.timeOrigin + now(), comparable across
// processes on one machine). Part of `npm run bench` (workload `follow`); alone:
//   npm run build && node bench/follow-latency.js [--records N]
import { spawn } from 'node:child_process';
import { DIST_INDEX, fmtNum, median, rmrf, runAlone, tmpDir } from './common.js';

const nowMs = () => performance.timeOrigin + performance.now();

async function round(seglog, records) {
  const dir = tmpDir('follow');
  try {
    const log = await seglog.openLog(dir, { durability: 'os' });
    const live = log.topic('live', { codec: 'json' });
    await live.append({ sentMs: nowMs() });
    const follower = `
      const { openLog } = await import(${JSON.stringify(DIST_INDEX)});
      const ro = await openLog(${JSON.stringify(dir)}, { readOnly: true, follow: true });
      const t = ro.topic('live', { codec: 'json' });
      const lat = [];
      process.stdout.write('ready\\n');
      for await (const r of t.subscribe({ from: 'latest' })) {
        lat.push(performance.timeOrigin + performance.now() - r.value.sentMs);
        if (lat.length >= ${records}) break;
      }
      await ro.close();
      process.stdout.write(JSON.stringify(lat));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', follower], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`follower exited (${code}) before it was ready`)));
      child.stdout.on('data', (c) => { out += c; if (out.includes('ready\n')) resolve(); });
    });
    out = '';
    const done = new Promise((resolve) => child.on('exit', resolve));
    for (let i = 0; i < records; i++) {
      await live.append({ sentMs: nowMs() });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const code = await done;
    await log.close();
    if (code !== 0) throw new Error(`follower exited with ${code}`);
    const lat = JSON.parse(out).sort((a, b) => a - b);
    const at = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
    return { p50: at(0.5), p99: at(0.99), max: lat[lat.length - 1], records: lat.length };
  } finally {
    rmrf(dir);
  }
}

const workload = {
  id: 'follow',
  title: () => 'Follow: writer append → delivery in a following read-only log in another process',
  seglogOnly: true,
  async run(ctx) {
    const records = ctx.cfg.quick ? 500 : 2000;
    const rounds = [];
    for (let r = 0; r < Math.min(3, ctx.cfg.rounds); r++) {
      const res = await round(ctx.seglog, records);
      rounds.push(res);
      console.log(`  round ${r + 1}: p50 ${fmtNum(res.p50, 2)} ms, p99 ${fmtNum(res.p99, 2)} ms, max ${fmtNum(res.max, 1)} ms (${res.records} records, ~1k/s)`);
    }
    const p50 = median(rounds.map((x) => x.p50));
    const p99 = median(rounds.map((x) => x.p99));
    return {
      rows: [{
        name: 'Follow append→delivery, other process, ~1k/s',
        cells: { seglog: `p50 ${fmtNum(p50, 2)} ms, p99 ${fmtNum(p99, 2)} ms` },
        targets: [],
      }],
      details: { p50Ms: p50, p99Ms: p99, rounds },
    };
  },
};
export default workload;

await runAlone(import.meta.url, workload);
