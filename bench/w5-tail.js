// W5 tail latency: a producer appends 100,000 records/s (paced: each turn of the event loop
// appends the records that are due by then) under durability 'os', one subscriber follows the tail
// with for await. Latency = time the subscriber receives a record - time its appendSync call was
// made; the delivery waits for the end-of-tick write (SPEC: delivered once handed to the OS).
// Reports p50/p99/p99.9 over the rounds' samples (median of the rounds' percentiles). The first
// 300 ms of each round are a warm-up and not counted: the first append of a log records its
// dirty marker with a synchronous metadata write (an fsync), and the JIT is still compiling.
//   node bench/w5-tail.js [--rounds N] [--duration MS]      (after npm run build)
import { median, now, percentile, rmrf, tmpDir, fmtNum, TOPIC, runAlone } from './common.js';

const RATE_PER_S = 100_000;
const WARMUP_MS = 300;

async function round(mod, cfg, values) {
  const dir = tmpDir('w5');
  try {
    const log = await mod.openLog(dir, { durability: 'os' });
    const topic = log.topic(TOPIC);
    const warmup = Math.round((RATE_PER_S * WARMUP_MS) / 1000);
    const measured = Math.round((RATE_PER_S * cfg.durableMs) / 1000);
    const total = warmup + measured;
    const sentAt = new Float64Array(total);
    const latencyUs = new Float64Array(total);
    const mask = values.length - 1;
    const sub = topic.subscribe({ from: 'latest' });
    let received = 0;
    const consumer = (async () => {
      for await (const r of sub) {
        latencyUs[r.offset] = (now() - sentAt[r.offset]) * 1000;
        if (++received === total) break;
      }
    })();
    const t0 = now();
    let sent = 0;
    await new Promise((resolve) => {
      const produce = () => {
        const due = Math.min(total, Math.floor(((now() - t0) * RATE_PER_S) / 1000));
        while (sent < due) {
          sentAt[sent] = now();
          topic.appendSync(values[sent & mask]);
          sent++;
        }
        if (sent < total) setImmediate(produce);
        else resolve();
      };
      setImmediate(produce);
    });
    await consumer;
    const ms = now() - t0;
    await log.close();
    const samples = latencyUs.subarray(warmup);
    return {
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      p999: percentile(samples, 99.9),
      max: samples[samples.length - 1],
      records: measured,
      ratePerS: (total / ms) * 1000,
    };
  } finally {
    rmrf(dir);
  }
}

const workload = {
  id: 'w5',
  title: (cfg) => `W5 tail latency: ${RATE_PER_S.toLocaleString('en-US')} records/s paced for ${cfg.durableMs} ms, one subscriber`,
  seglogOnly: true,
  async run(ctx) {
    const rounds = [];
    for (let r = 0; r < ctx.cfg.rounds; r++) {
      const res = await round(ctx.seglog, ctx.cfg, ctx.values);
      rounds.push(res);
      console.log(`  round ${r + 1}/${ctx.cfg.rounds}: p50 ${fmtNum(res.p50, 1)} µs, p99 ${fmtNum(res.p99, 1)} µs, p99.9 ${fmtNum(res.p999, 1)} µs, max ${fmtNum(res.max, 0)} µs (${res.records} records at ${fmtNum(res.ratePerS / 1000, 1)}k/s)`);
    }
    const p50 = median(rounds.map((x) => x.p50));
    const p99 = median(rounds.map((x) => x.p99));
    const p999 = median(rounds.map((x) => x.p999));
    return {
      rows: [{
        name: 'W5 append→delivery, 100k/s paced, 1 subscriber',
        cells: { seglog: `p50 ${fmtNum(p50, 1)} µs, p99 ${fmtNum(p99, 1)} µs, p99.9 ${fmtNum(p999, 1)} µs` },
        targets: [{ text: 'p50 ≤ 20 µs', pass: p50 <= 20 }, { text: 'p99 ≤ 200 µs', pass: p99 <= 200 }],
      }],
      details: { p50Us: p50, p99Us: p99, p999Us: p999, rounds },
    };
  },
};
export default workload;

await runAlone(import.meta.url, workload);
