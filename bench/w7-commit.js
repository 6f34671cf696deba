// W7 commit cost: a consumer group with autoCommit (the default) reads 1M existing records with
// for await, one record per step: every step moves the group's position, and the positions of a
// tick go to the metadata store in one write. Compared in the same run with a subscription
// without a group (the cost of reading alone), and with batches() under autoCommit. The group
// figure is the one issue 12's target is about (W7 "as today": one member, autoCommit, for await);
// it includes the durable commit() at the end (an LMDB commit with its fsync), the others do not.
// The log is flushed after the fill, so that its rolled segment is sealed and mapped for all three
// consumers: without it, whether the first consumer (the group one) read the rolled segment
// through the mapping or copied it with positional reads depended on when the background fsync
// (fsyncIntervalMs, 1 s) fell, and it mostly did the latter (64 MB more copied than the others).
// The first consumer of a log also pays for making the mapping (64 MB of external memory, which
// the GC answers) and costs ~25% more CPU than the next one whichever it is (measured: group first
// 179-197 ms, plain first 173-205 ms, either second 137-178 ms), so the three take turns at
// reading first: round r starts with the r-th, and over 3 rounds each reads first once.
//   node bench/w7-commit.js [--rounds N] [--records N]      (after npm run build)
import { fmtRate, median, now, rmrf, tmpDir, TOPIC, runAlone } from './common.js';

async function consume(topic, options, n, batches) {
  const sub = topic.subscribe(options);
  const t0 = now();
  let count = 0;
  if (batches) {
    for await (const batch of sub.batches()) {
      count += batch.length;
      if (count >= n) { if (options.group !== undefined) await sub.commit(); break; } // the last batch is finished (break alone leaves it in hand)
    }
  } else {
    for await (const r of sub) {
      if (r.offset !== count) throw new Error(`W7: offset ${r.offset}, expected ${count}`);
      if (++count >= n) { if (options.group !== undefined) await sub.commit(); break; }
    }
  }
  return (n / (now() - t0)) * 1000;
}

async function round(mod, cfg, values, r) {
  const dir = tmpDir('w7');
  try {
    const log = await mod.openLog(dir, { durability: 'os' });
    const topic = log.topic(TOPIC);
    const n = cfg.records;
    const mask = values.length - 1;
    for (let i = 0; i < n; i += 1000) await topic.appendBatch(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ value: values[(i + k) & mask] })));
    await log.flush(); // (every consumer reads the same log: see the header)
    // The three consumers take turns at reading first (see the header): round r starts with the r-th.
    const runs = [
      ['group', () => consume(topic, { group: `g${r}` }, n, false)],
      ['plain', () => consume(topic, {}, n, false)],
      ['groupBatches', () => consume(topic, { group: `b${r}` }, n, true)],
    ];
    const got = {};
    for (let k = 0; k < runs.length; k++) {
      const [name, run] = runs[(r + k) % runs.length];
      got[name] = await run();
    }
    const { group, plain, groupBatches } = got;
    const committed = log.stats().topics[TOPIC].groups[`g${r}`]?.position;
    await log.close();
    if (committed !== n) throw new Error(`W7: group position ${committed}, expected ${n}`);
    return { group, plain, groupBatches };
  } finally {
    rmrf(dir);
  }
}

const workload = {
  id: 'w7',
  title: (cfg) => `W7 commit cost: a group consumer with autoCommit over ${cfg.records.toLocaleString('en-US')} records`,
  seglogOnly: true,
  async run(ctx) {
    const rounds = [];
    for (let r = 0; r < ctx.cfg.rounds; r++) {
      const res = await round(ctx.seglog, ctx.cfg, ctx.values, r);
      rounds.push(res);
      console.log(`  round ${r + 1}/${ctx.cfg.rounds}: group+autoCommit ${fmtRate(res.group)}, no group ${fmtRate(res.plain)}, group+autoCommit with batches() ${fmtRate(res.groupBatches)}`);
    }
    const group = median(rounds.map((x) => x.group));
    const plain = median(rounds.map((x) => x.plain));
    const groupBatches = median(rounds.map((x) => x.groupBatches));
    return {
      rows: [{
        name: 'W7 group consumer, autoCommit, for await',
        cells: { seglog: `${fmtRate(group)} (no group ${fmtRate(plain)}; batches() ${fmtRate(groupBatches)})` },
        targets: [{ text: '≥ 5M/s (issue 12)', pass: group >= 5e6 }],
      }],
      details: { groupPerS: group, plainPerS: plain, groupBatchesPerS: groupBatches, commitCostNsPerRecord: (1e9 / group - 1e9 / plain), rounds },
    };
  },
};
export default workload;

await runAlone(import.meta.url, workload);
