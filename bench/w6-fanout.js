// W6 fan-out: 1M records appended live (appendSync, 1,000 per turn of the event loop, durability
// 'os') while 8 subscribers follow the tail with batches(). All of it shares one JavaScript thread,
// so two numbers are reported:
//   - live: wall time until every subscriber has all records; deliveries/s over all subscribers,
//     and each subscriber's own rate (records / the time it took to receive them all)
//   - catch-up: one subscriber alone taking the same 1M records from the log with batches()
//     (the rate a single subscriber can consume at)
//   node bench/w6-fanout.js [--rounds N] [--records N]      (after npm run build)
import { fileURLToPath } from 'node:url';
import { fmtNum, fmtRate, loadSeglog, makeValues, median, now, parseArgs, rmrf, tmpDir, TOPIC } from './common.js';

const SUBSCRIBERS = 8;
const PER_TURN = 1000;

async function round(mod, cfg, values) {
  const dir = tmpDir('w6');
  try {
    const log = await mod.openLog(dir, { durability: 'os' });
    const topic = log.topic(TOPIC);
    const n = cfg.records;
    const mask = values.length - 1;
    const t0 = now();
    const finishedAt = [];
    const subs = Array.from({ length: SUBSCRIBERS }, () => topic.subscribe({ from: 0, maxBuffered: 4096 }));
    const consumers = subs.map(async (sub, i) => {
      let count = 0;
      let bytes = 0;
      for await (const batch of sub.batches()) {
        for (const r of batch) bytes += r.valueBytes.length;
        count += batch.length;
        if (count >= n) break;
      }
      finishedAt[i] = now() - t0;
      if (bytes !== n * values[0].length) throw new Error(`W6 subscriber ${i}: ${bytes} bytes`);
    });
    let sent = 0;
    await new Promise((resolve) => {
      const produce = () => {
        const stop = Math.min(n, sent + PER_TURN);
        for (; sent < stop; sent++) topic.appendSync(values[sent & mask]);
        if (sent < n) setImmediate(produce);
        else resolve();
      };
      setImmediate(produce);
    });
    await Promise.all(consumers);
    const liveMs = now() - t0;
    // catch-up: one subscriber over the whole log
    const one = topic.subscribe({ from: 0, maxBuffered: 4096 });
    const t1 = now();
    let count = 0;
    for await (const batch of one.batches()) {
      count += batch.length;
      if (count >= n) break;
    }
    const catchUpMs = now() - t1;
    await log.close();
    return {
      liveMs,
      deliveriesPerS: (SUBSCRIBERS * n) / (liveMs / 1000),
      perSubscriberPerS: median(finishedAt.map((ms) => n / (ms / 1000))),
      catchUpPerS: n / (catchUpMs / 1000),
    };
  } finally {
    rmrf(dir);
  }
}

const workload = {
  id: 'w6',
  title: (cfg) => `W6 fan-out: ${cfg.records.toLocaleString('en-US')} records live to ${SUBSCRIBERS} subscribers with batches()`,
  seglogOnly: true,
  async run(ctx) {
    const rounds = [];
    for (let r = 0; r < ctx.cfg.rounds; r++) {
      const res = await round(ctx.seglog, ctx.cfg, ctx.values);
      rounds.push(res);
      console.log(`  round ${r + 1}/${ctx.cfg.rounds}: live ${fmtNum(res.liveMs, 0)} ms, ${fmtRate(res.deliveriesPerS)} deliveries, ${fmtRate(res.perSubscriberPerS)} per subscriber; one subscriber catching up ${fmtRate(res.catchUpPerS)}`);
    }
    const perSub = median(rounds.map((x) => x.perSubscriberPerS));
    const deliveries = median(rounds.map((x) => x.deliveriesPerS));
    const catchUp = median(rounds.map((x) => x.catchUpPerS));
    return {
      rows: [
        {
          name: `W6 fan-out live, ${SUBSCRIBERS} subscribers, batches()`,
          cells: { seglog: `${fmtRate(perSub)} each, ${fmtRate(deliveries)} deliveries` },
          targets: [{ text: '≥ 5M/s each', pass: perSub >= 5e6 }],
        },
        {
          name: 'W6 one subscriber catching up, batches()',
          cells: { seglog: fmtRate(catchUp) },
          targets: [{ text: '≥ 5M/s', pass: catchUp >= 5e6 }],
        },
      ],
      details: { perSubscriberPerS: perSub, deliveriesPerS: deliveries, catchUpPerS: catchUp, rounds },
    };
  },
};
export default workload;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cfg = parseArgs();
  const mod = await loadSeglog();
  if (!mod) process.exit(2);
  const out = await workload.run({ cfg, seglog: mod, values: makeValues(cfg.valueBytes) });
  for (const row of out.rows) console.log(row.name, row.cells.seglog);
}
