// W6 fan-out: 1M records appended live (appendSync, 1,000 per turn of the event loop, durability
// 'os') while 8 subscribers follow the tail with batches(). Everything shares one JavaScript
// thread, so a subscriber's wall-clock rate is bounded by the producer and the 7 others; the
// numbers reported, each labelled as what it is:
//   - live (the target): wall time until every subscriber has all records; each
//     subscriber's rate = records / the time it took to receive them all (median of the 8), and
//     deliveries/s over all subscribers
//   - producer alone: the same 1M paced appendSync calls to a topic without subscribers (the part
//     of the live wall time no subscriber can avoid)
//   - delivery cost: (live wall time - producer alone) / (8 × records), ns per record per
//     subscriber: what following the tail costs, shared decoding included
//   - 8 catching up: the 8 subscribers taking the same 1M records from the log together (no
//     producer), each one's rate = records / the time it took (median of the 8)
//   - 1 catching up: one subscriber alone taking the 1M records from the log
//   node bench/w6-fanout.js [--rounds N] [--records N]      (after npm run build)
import { fmtNum, fmtRate, median, now, rmrf, tmpDir, TOPIC, runAlone } from './common.js';

const SUBSCRIBERS = 8;
const PER_TURN = 1000;

/** Appends `n` values to `topic` with appendSync, PER_TURN per turn of the event loop. */
function produce(topic, n, values) {
  const mask = values.length - 1;
  let sent = 0;
  return new Promise((resolve) => {
    const turn = () => {
      const stop = Math.min(n, sent + PER_TURN);
      for (; sent < stop; sent++) topic.appendSync(values[sent & mask]);
      if (sent < n) setImmediate(turn);
      else resolve();
    };
    setImmediate(turn);
  });
}

/** SUBSCRIBERS subscriptions from offset 0 with batches(); resolves with each one's ms to get `n` records. */
function follow(topic, n, valueBytes, t0) {
  const subs = Array.from({ length: SUBSCRIBERS }, () => topic.subscribe({ from: 0, maxBuffered: 4096 }));
  return Promise.all(subs.map(async (sub, i) => {
    let count = 0;
    let bytes = 0;
    for await (const batch of sub.batches()) {
      for (const r of batch) bytes += r.valueBytes.length;
      count += batch.length;
      if (count >= n) break;
    }
    if (count !== n || bytes !== n * valueBytes) throw new Error(`W6 subscriber ${i}: ${count} records, ${bytes} bytes`);
    return now() - t0;
  }));
}

async function round(mod, cfg, values) {
  const dir = tmpDir('w6');
  try {
    const log = await mod.openLog(dir, { durability: 'os' });
    const topic = log.topic(TOPIC);
    const n = cfg.records;
    const valueBytes = values[0].length;
    // live: 8 subscribers following while the producer appends
    const t0 = now();
    const consumers = follow(topic, n, valueBytes, t0);
    await produce(topic, n, values);
    const finishedMs = await consumers;
    const liveMs = now() - t0;
    // the producer alone, on a topic nobody follows
    const t1 = now();
    await produce(log.topic(`${TOPIC}-alone`), n, values);
    const producerMs = now() - t1;
    // 8 subscribers catching up together on the log written above
    const catchUp8Ms = await follow(topic, n, valueBytes, now());
    // one subscriber catching up alone
    const one = topic.subscribe({ from: 0, maxBuffered: 4096 });
    const t2 = now();
    let count = 0;
    for await (const batch of one.batches()) {
      count += batch.length;
      if (count >= n) break;
    }
    const catchUpMs = now() - t2;
    await log.close();
    return {
      liveMs,
      producerMs,
      deliveryNsPerRecord: ((liveMs - producerMs) * 1e6) / (SUBSCRIBERS * n),
      deliveriesPerS: (SUBSCRIBERS * n) / (liveMs / 1000),
      perSubscriberPerS: median(finishedMs.map((ms) => n / (ms / 1000))),
      catchUp8PerSubscriberPerS: median(catchUp8Ms.map((ms) => n / (ms / 1000))),
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
      console.log(`  round ${r + 1}/${ctx.cfg.rounds}: live ${fmtNum(res.liveMs, 0)} ms (producer alone ${fmtNum(res.producerMs, 0)} ms), `
        + `${fmtRate(res.perSubscriberPerS)} per subscriber, ${fmtRate(res.deliveriesPerS)} deliveries, delivery ${fmtNum(res.deliveryNsPerRecord, 1)} ns/record/subscriber; `
        + `8 catching up ${fmtRate(res.catchUp8PerSubscriberPerS)} each; 1 catching up ${fmtRate(res.catchUpPerS)}`);
    }
    const pick = (k) => median(rounds.map((x) => x[k]));
    const perSub = pick('perSubscriberPerS');
    const deliveries = pick('deliveriesPerS');
    const producerMs = pick('producerMs');
    const liveMs = pick('liveMs');
    const deliveryNs = pick('deliveryNsPerRecord');
    const catchUp8 = pick('catchUp8PerSubscriberPerS');
    const catchUp = pick('catchUpPerS');
    return {
      rows: [
        {
          name: `W6 fan-out live, ${SUBSCRIBERS} subscribers, batches() (wall clock, one thread with the producer)`,
          cells: { seglog: `${fmtRate(perSub)} each, ${fmtRate(deliveries)} deliveries (${fmtNum(liveMs, 0)} ms; producer alone ${fmtNum(producerMs, 0)} ms)` },
          targets: [{ text: '≥ 5M/s each', pass: perSub >= 5e6 }],
        },
        {
          name: 'W6 delivery cost per subscriber: (live - producer alone) / deliveries',
          cells: { seglog: `${fmtNum(deliveryNs, 1)} ns/record (${fmtRate(1e9 / deliveryNs)} per subscriber)` },
          targets: [],
        },
        {
          name: `W6 ${SUBSCRIBERS} subscribers catching up together, batches() (no producer)`,
          cells: { seglog: `${fmtRate(catchUp8)} each` },
          targets: [{ text: '≥ 5M/s each', pass: catchUp8 >= 5e6 }],
        },
        {
          name: 'W6 one subscriber catching up, batches()',
          cells: { seglog: fmtRate(catchUp) },
          targets: [{ text: '≥ 5M/s', pass: catchUp >= 5e6 }],
        },
      ],
      details: {
        perSubscriberPerS: perSub, deliveriesPerS: deliveries, liveMs, producerMs, deliveryNsPerRecord: deliveryNs,
        catchUp8PerSubscriberPerS: catchUp8, catchUpPerS: catchUp, rounds,
      },
    };
  },
};
export default workload;

await runAlone(import.meta.url, workload);
