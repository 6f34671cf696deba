// W7 members: consumer groups shared by several members (issue 12's targets).
//  - four members of one group, each reading with batches() under autoCommit, interleaved on one
//    event loop as four workers in one process would be: total records/s until the group is at the end;
//    compared in the same round with one member alone reading the same kind of freshly filled log
//    (W7's batches() figure reads a log already read twice, and is not comparable);
//  - a job queue: two members, 100k jobs, 1% of the handlers throw once (the worker leaves its
//    for await, as a failed job does, and subscribes again): every job must be finished at least
//    once and none lost; redeliveries are counted from record.deliveryCount. A lost job fails the run.
//   node bench/w7-members.js [--rounds N] [--records N]      (after npm run build)
import { fmtRate, median, now, rmrf, tmpDir, TOPIC, runAlone } from './common.js';

async function fill(topic, values, n) {
  const mask = values.length - 1;
  for (let i = 0; i < n; i += 1000) await topic.appendBatch(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ value: values[(i + k) & mask] })));
}

async function fourMembers(mod, values, n, r, members = 4) {
  const dir = tmpDir('w7m');
  try {
    const log = await mod.openLog(dir, { durability: 'os' });
    const topic = log.topic(TOPIC);
    await fill(topic, values, n);
    await log.flush(); // (the rolled segment is sealed and mapped whenever the background fsync fell: see w7-commit.js)
    const group = `m${r}`;
    const subs = Array.from({ length: members }, () => topic.subscribe({ group }));
    const counts = subs.map(() => 0);
    let total = 0;
    const t0 = now();
    await Promise.all(subs.map(async (sub, i) => {
      for await (const batch of sub.batches()) {
        counts[i] += batch.length;
        total += batch.length;
        if (total >= n) break;
      }
    }).map((p, i) => p.finally(() => subs.forEach((s, k) => k !== i && s.close()))));
    const rate = (n / (now() - t0)) * 1000;
    await log.close();
    if (total < n) throw new Error(`W7 members: ${total} records delivered, expected at least ${n}`);
    return { rate, counts };
  } finally {
    rmrf(dir);
  }
}

async function jobQueue(mod, jobs, seed) {
  const dir = tmpDir('w7q');
  try {
    const log = await mod.openLog(dir, { durability: 'os' });
    const topic = log.topic('jobs', { codec: 'json' });
    for (let i = 0; i < jobs; i += 1000) await topic.appendBatch(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ value: { job: i + k } })));
    let x = seed >>> 0 || 1;
    const fails = new Set();
    while (fails.size < jobs / 100) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; fails.add(x % jobs); }
    const done = new Uint8Array(jobs);
    let finished = 0;
    let thrown = 0;
    let redelivered = 0;
    const open = new Set();
    const worker = async () => {
      while (finished < jobs) {
        const sub = topic.subscribe({ group: 'queue' });
        open.add(sub);
        try {
          for await (const r of sub) {
            if (r.deliveryCount > 1) redelivered++;
            const job = r.value.job;
            if (fails.has(job) && r.deliveryCount === 1) { thrown++; throw new Error(`job ${job} failed`); }
            if (done[job] === 0) { done[job] = 1; finished++; }
            if (finished >= jobs) break;
          }
        } catch { /* the job goes back to the group: subscribe again */ } finally {
          open.delete(sub);
        }
      }
      for (const s of open) s.close(); // the other worker waits at the tail
    };
    const t0 = now();
    await Promise.all([worker(), worker()]);
    const rate = (jobs / (now() - t0)) * 1000;
    const position = log.stats().topics.jobs.groups.queue?.position;
    await log.close();
    let lost = 0;
    for (let i = 0; i < jobs; i++) if (done[i] === 0) lost++;
    return { rate, thrown, redelivered, lost, position };
  } finally {
    rmrf(dir);
  }
}

const JOBS = 100_000;
const workload = {
  id: 'w7m',
  title: (cfg) => `W7 members: four members of one group with batches() over ${cfg.records.toLocaleString('en-US')} records; a job queue of ${JOBS.toLocaleString('en-US')} jobs, 2 members, 1% throwing once`,
  seglogOnly: true,
  async run(ctx) {
    const rounds = [];
    let failed = 0;
    for (let r = 0; r < ctx.cfg.rounds; r++) {
      const four = await fourMembers(ctx.seglog, ctx.values, ctx.cfg.records, r);
      const one = await fourMembers(ctx.seglog, ctx.values, ctx.cfg.records, r, 1);
      const queue = await jobQueue(ctx.seglog, JOBS, 0x9e3779b9 + r);
      if (queue.lost > 0 || queue.redelivered < queue.thrown) failed++;
      rounds.push({ four, one: one.rate, queue });
      console.log(`  round ${r + 1}/${ctx.cfg.rounds}: 4 members with batches() ${fmtRate(four.rate)} in total (per member ${four.counts.join('/')}; one member alone ${fmtRate(one.rate)}); job queue ${fmtRate(queue.rate)} jobs, ${queue.thrown} thrown, ${queue.redelivered} redelivered, ${queue.lost} lost`);
    }
    const four = median(rounds.map((x) => x.four.rate));
    const one = median(rounds.map((x) => x.one));
    const queue = median(rounds.map((x) => x.queue.rate));
    const last = rounds[rounds.length - 1].queue;
    return {
      rows: [
        { name: 'W7 four members sharing a group, batches()', cells: { seglog: `${fmtRate(four)} in total (one member alone ${fmtRate(one)})` }, targets: [{ text: '≥ 8M/s', pass: four >= 8e6 }] },
        { name: 'W7 job queue: 2 members, 1% throwing once', cells: { seglog: `${fmtRate(queue)} jobs (${last.thrown} thrown, ${last.redelivered} redelivered, ${last.lost} lost)` }, targets: [{ text: 'none lost', pass: failed === 0 }] },
      ],
      details: { fourMembersPerS: four, oneMemberPerS: one, jobQueuePerS: queue, failed, rounds },
    };
  },
};
export default workload;

await runAlone(import.meta.url, workload);
