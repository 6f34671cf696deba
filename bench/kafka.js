// Kafka clients against `seglog serve` and against librdkafka's in-memory mock cluster, in the same
// run (issue 14 item 9). Each server runs in its own process (seglog serve = dist/src/cli/main.js;
// the mock = a kcat holding it), fresh for every round; the clients run in processes of their own.
//   kcat produce: `kcat -P -p 0 -X linger.ms=5` of <records> lines of 100 B (99 + newline) from a
//                 file, timed from process start to exit (every record acknowledged).
//   kcat consume: `kcat -C -o beginning -e` reads the partition to its end, which gives its count;
//                 then `kcat -C -o beginning -c <that count>` is timed from its first record to its
//                 exit, as Kafka's consumer perf test reads a given count, kcat printing one newline
//                 per record (kafka-peers.js: printing every value, the bench's pipe was the
//                 bottleneck; that read is reported apart, "printing every value"). With `-e`, librdkafka
//                 reports the end only after a fetch at the end offset has waited out
//                 fetch.wait.max.ms, 500 ms by default, against either server: that read's rate is
//                 reported apart, "to exit"). The mock keeps
//                 only the last 5 MiB of a partition (~45k of these records), so the mock's consume
//                 reads what it kept, and seglog's "same size" read (`-c <that count>`) is what the
//                 ratio compares; seglog's full read of <records> is what the absolute target checks.
//   kafkajs:      200,000 records (at most; kafkajs moves 20–100k/s) in sends of 10,000 (acks 1) in a row; a group member with eachBatch from the
//                 beginning (the mock: what it kept), timed from the first batch.
//   latency:      a kcat producer fed 10,000 records/s (paced: each turn of the event loop writes the
//                 lines due by then; each carries its send time) and a kcat consumer at the end of the
//                 partition, with the client settings of LATENCY_CLIENTS (the same for both servers:
//                 linger.ms 1, then 0; fetch.wait.max.ms 1); produce→consume time per record, the
//                 first 500 ms not counted.
// Targets: librdkafka producer ≥ 821k records/s, consumer ≥ 940k records/s, each ≥ 0.8× the mock;
// latency p50 ≤ 2 ms, p99 ≤ 10 ms.
//   npm run bench -- --workloads kafka [--rounds N] [--records N] [--duration MS]
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { BENCH_DIR, fmtNum, fmtRate, median, percentile, rmrf, runAlone, tmpDir, tmpFile } from './common.js';
import { KCAT, kcatConsume, kcatProduce, startMock, startSeglog, writeLines } from './kafka-peers.js';

const VALUE_BYTES = 100;
const LATENCY_RATE_PER_S = 10_000;
const WARMUP_MS = 500;
const KAFKAJS = path.join(BENCH_DIR, 'kafka-kafkajs.mjs');
/** kafkajs moves ~20–100k records/s: it gets at most this many, to keep a round under a minute. */
const KAFKAJS_RECORDS_MAX = 200_000;
/** SEGLOG_BENCH_KAFKA_SERVERS=mock (or seglog) runs one side only (debugging). */
const SERVERS = (process.env.SEGLOG_BENCH_KAFKA_SERVERS ?? 'seglog,mock').split(',');
const TARGETS = { produce: 821_000, consume: 940_000, vsMock: 0.8, p50Ms: 2, p99Ms: 10 };
/**
 * librdkafka settings of the latency clients, the same against both servers (docs/kafka.md,
 * "Benchmarks"); everything else at librdkafka 2.0.2's defaults (acks -1, fetch.min.bytes 1).
 * fetch.wait.max.ms stays 1 in both: the mock answers an empty fetch only after that long, woken by
 * nothing (a longer wait would measure the mock's wait, not its latency), where seglog's long poll
 * is woken by the append.
 *   linger1: the producer waits up to 1 ms to fill a batch (queue.buffering.max.ms);
 *   linger0: it sends at once (one request per record or so at 10k/s).
 */
export const LATENCY_CLIENTS = {
  linger1: { producer: { 'linger.ms': 1 }, consumer: { 'fetch.wait.max.ms': 1, 'fetch.error.backoff.ms': 1 } },
  linger0: { producer: { 'linger.ms': 0 }, consumer: { 'fetch.wait.max.ms': 1, 'fetch.error.backoff.ms': 1 } },
};

function kafkajs(mode, brokers, topic, records) {
  const out = execFileSync(process.execPath, [KAFKAJS, mode, brokers, topic, String(records), String(VALUE_BYTES)], { encoding: 'utf8', timeout: 360_000 });
  const r = JSON.parse(out.trim().split('\n').pop());
  if (r.error) throw new Error(`kafkajs ${mode}: ${r.error}`);
  return r;
}

const absNow = () => performance.timeOrigin + performance.now();

/** produce→consume latency with two kcat processes at LATENCY_RATE_PER_S (client settings `clients`); resolves with ms samples. */
export async function latency(brokers, topic, durationMs, clients = LATENCY_CLIENTS.linger1) {
  // The topic must exist before a consumer asks for its end.
  const seed = tmpFile('kafka-seed');
  writeLines(seed, 1, VALUE_BYTES);
  await kcatProduce(brokers, topic, seed);
  const props = (o) => Object.entries(o).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
  const consumer = spawn(KCAT, ['-b', brokers, '-C', '-t', topic, '-p', '0', '-o', 'end', '-u', '-q', ...props(clients.consumer)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const producer = spawn(KCAT, ['-b', brokers, '-P', '-t', topic, '-p', '0', '-q', ...props(clients.producer)], { stdio: ['pipe', 'ignore', 'ignore'] });
  const total = Math.round((LATENCY_RATE_PER_S * (WARMUP_MS + durationMs)) / 1000);
  const warmup = Math.round((LATENCY_RATE_PER_S * WARMUP_MS) / 1000);
  const samples = new Float64Array(total).fill(NaN);
  let received = 0;
  readline.createInterface({ input: consumer.stdout }).on('line', (l) => {
    const t = absNow();
    const [seq, sent] = l.split(' ');
    const i = Number(seq);
    if (i >= 0 && i < total && Number.isNaN(samples[i])) {
      samples[i] = t - Number(sent);
      received++;
    }
  });
  const pad = 'x'.repeat(VALUE_BYTES);
  const line = (i) => {
    const s = `${i} ${absNow().toFixed(3)} `;
    return `${s}${pad.slice(0, VALUE_BYTES - 1 - s.length)}\n`;
  };
  // Let the consumer reach the end of the partition before the clock starts (its first fetch).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const t0 = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * LATENCY_RATE_PER_S) / 1000));
      let chunk = '';
      while (sent < due) chunk += line(sent++);
      if (chunk) producer.stdin.write(chunk);
      if (sent < total) setImmediate(tick);
      else resolve();
    };
    setImmediate(tick);
  });
  const limit = performance.now() + 10_000;
  while (received < total - warmup && performance.now() < limit) await new Promise((resolve) => setTimeout(resolve, 10));
  producer.stdin.end();
  consumer.kill('SIGTERM');
  producer.kill('SIGTERM');
  const measured = samples.subarray(warmup).filter((x) => !Number.isNaN(x));
  return { p50: percentile(measured, 50), p99: percentile(measured, 99), received: measured.length, expected: total - warmup };
}

/** One round on one server: a fresh server process; the caller stops it (seglog reads once more first). */
async function round(server, cfg, file) {
  const dir = server === 'seglog' ? tmpDir('kafka-serve') : null;
  const peer = server === 'seglog' ? await startSeglog(dir) : await startMock();
  peer.dir = dir;
  try {
    const out = {};
    const ms = await kcatProduce(peer.brokers, 'kcat', file);
    out.kcatProduce = (cfg.records / ms) * 1000;
    const full = await kcatConsume(peer.brokers, 'kcat', { partition: 0 });
    out.kcatConsumeRecords = full.records;
    out.kcatConsumeToExit = (full.records / full.readMs) * 1000;
    const counted = await kcatConsume(peer.brokers, 'kcat', { partition: 0, extra: ['-c', String(full.records)] });
    out.kcatConsume = (counted.records / counted.readMs) * 1000;
    // the same read with every value printed into this process's pipe (kafka-peers.js: the pipe, not
    // the server, bounds it), reported apart
    const printed = await kcatConsume(peer.brokers, 'kcat', { partition: 0, extra: ['-c', String(full.records)], values: true });
    out.kcatConsumeValues = (printed.records / printed.readMs) * 1000;
    const kp = kafkajs('produce', peer.brokers, 'kafkajs', Math.min(cfg.records, KAFKAJS_RECORDS_MAX));
    out.kafkajsProduce = (kp.records / kp.ms) * 1000;
    const kc = kafkajs('consume', peer.brokers, 'kafkajs', Math.min(cfg.records, KAFKAJS_RECORDS_MAX));
    out.kafkajsConsumeRecords = kc.records;
    out.kafkajsConsume = (kc.records / kc.ms) * 1000;
    const lat = await latency(peer.brokers, 'latency', cfg.durableMs, LATENCY_CLIENTS.linger1);
    out.p50Ms = lat.p50;
    out.p99Ms = lat.p99;
    out.latencyReceived = `${lat.received}/${lat.expected}`;
    const lat0 = await latency(peer.brokers, 'latency0', cfg.durableMs, LATENCY_CLIENTS.linger0);
    out.p50MsLinger0 = lat0.p50;
    out.p99MsLinger0 = lat0.p99;
    out.latencyReceivedLinger0 = `${lat0.received}/${lat0.expected}`;
    return { out, peer };
  } catch (err) {
    await peer.stop();
    rmrf(dir);
    throw err;
  }
}

const workload = {
  id: 'kafka',
  title: (cfg) => `Kafka clients: seglog serve vs librdkafka's mock cluster, ${cfg.records.toLocaleString('en-US')} × ${VALUE_BYTES} B`,
  async run(ctx) {
    const { cfg } = ctx;
    const rounds = Math.min(cfg.rounds, 3);
    const file = tmpFile('kafka-lines');
    writeLines(file, cfg.records, VALUE_BYTES);
    const res = { seglog: [], mock: [] };
    for (let r = 0; r < rounds; r++) {
      const order = (r % 2 === 0 ? ['mock', 'seglog'] : ['seglog', 'mock']).filter((x) => SERVERS.includes(x));
      const parts = {};
      for (const server of order) {
        const { out, peer } = await round(server, cfg, file);
        if (server === 'mock') await peer.stop();
        else {
          const mockKept = res.mock.at(-1)?.kcatConsumeRecords;
          if (mockKept) {
            const same = await kcatConsume(peer.brokers, 'kcat', { partition: 0, extra: ['-c', String(mockKept)] });
            out.kcatConsumeSameSize = (same.records / same.readMs) * 1000;
          }
          const stopped = await peer.stop();
          out.exit = stopped.code;
          rmrf(peer.dir);
        }
        res[server].push(out);
        parts[server] = out;
      }
      const fmt = (o) => o ? `kcat P ${fmtRate(o.kcatProduce)} C ${fmtRate(o.kcatConsume)} (${o.kcatConsumeRecords}; -e ${fmtRate(o.kcatConsumeToExit)}; values ${fmtRate(o.kcatConsumeValues)})${o.kcatConsumeSameSize ? ` same-size ${fmtRate(o.kcatConsumeSameSize)}` : ''}, kafkajs P ${fmtRate(o.kafkajsProduce)} C ${fmtRate(o.kafkajsConsume)} (${o.kafkajsConsumeRecords}), p50 ${fmtNum(o.p50Ms, 2)} ms p99 ${fmtNum(o.p99Ms, 2)} ms (${o.latencyReceived}), linger 0: p50 ${fmtNum(o.p50MsLinger0, 2)} ms p99 ${fmtNum(o.p99MsLinger0, 2)} ms (${o.latencyReceivedLinger0})` : '-';
      console.log(`  round ${r + 1}/${rounds}: seglog ${fmt(parts.seglog)}\n               mock   ${fmt(parts.mock)}`);
    }
    const med = (server, key) => median(res[server].map((o) => o[key]));
    const m = (key) => ({ seglog: med('seglog', key), mock: med('mock', key) });
    const kp = m('kcatProduce');
    const kc = m('kcatConsume');
    const kcSame = med('seglog', 'kcatConsumeSameSize');
    const kcExit = med('seglog', 'kcatConsumeToExit');
    const kcValues = med('seglog', 'kcatConsumeValues');
    const jp = m('kafkajsProduce');
    const jc = m('kafkajsConsume');
    const p50 = m('p50Ms');
    const p99 = m('p99Ms');
    const p50l0 = m('p50MsLinger0');
    const p99l0 = m('p99MsLinger0');
    const row = (name, s, mock, ratio, targets) => ({ name, cells: { seglog: s, lmdb: '-', raw: `mock ${mock}` }, vsLmdb: NaN, vsRaw: ratio, targets });
    const rows = [
      row('Kafka kcat produce', fmtRate(kp.seglog), fmtRate(kp.mock), kp.seglog / kp.mock, [
        { text: `≥ 821k/s`, pass: kp.seglog >= TARGETS.produce }, { text: '≥ 0.8× mock', pass: kp.seglog / kp.mock >= TARGETS.vsMock }]),
      row('Kafka kcat consume', `${fmtRate(kc.seglog)} (with -e, to exit: ${fmtRate(kcExit)}; same count as the mock's ${fmtRate(kcSame)}; printing every value into the bench's pipe: ${fmtRate(kcValues)})`, fmtRate(kc.mock), kcSame / kc.mock, [
        { text: '≥ 940k/s', pass: kc.seglog >= TARGETS.consume }, { text: '≥ 0.8× mock', pass: kcSame / kc.mock >= TARGETS.vsMock }]),
      row('Kafka kafkajs produce', fmtRate(jp.seglog), fmtRate(jp.mock), jp.seglog / jp.mock, [{ text: '≥ 0.8× mock', pass: jp.seglog / jp.mock >= TARGETS.vsMock }]),
      row('Kafka kafkajs consume', fmtRate(jc.seglog), fmtRate(jc.mock), jc.seglog / jc.mock, [{ text: '≥ 0.8× mock', pass: jc.seglog / jc.mock >= TARGETS.vsMock }]),
      row('Kafka produce→consume 10k/s (kcat, linger.ms 1)', `p50 ${fmtNum(p50.seglog, 2)}, p99 ${fmtNum(p99.seglog, 2)} ms`, `p50 ${fmtNum(p50.mock, 2)}, p99 ${fmtNum(p99.mock, 2)} ms`, NaN, [
        { text: 'p50 ≤ 2 ms', pass: p50.seglog <= TARGETS.p50Ms }, { text: 'p99 ≤ 10 ms', pass: p99.seglog <= TARGETS.p99Ms }]),
      row('Kafka produce→consume 10k/s (kcat, linger.ms 0)', `p50 ${fmtNum(p50l0.seglog, 2)}, p99 ${fmtNum(p99l0.seglog, 2)} ms`, `p50 ${fmtNum(p50l0.mock, 2)}, p99 ${fmtNum(p99l0.mock, 2)} ms`, NaN, [
        { text: 'p50 ≤ 2 ms', pass: p50l0.seglog <= TARGETS.p50Ms }, { text: 'p99 ≤ 10 ms', pass: p99l0.seglog <= TARGETS.p99Ms }]),
    ];
    const notes = [
      `Kafka: each server in its own process, fresh per round (${rounds} rounds, medians); "raw" column = librdkafka's in-memory mock cluster (kcat -X test.mock.num.brokers=1), seglog/raw = seglog/mock.`,
      `Kafka consume: the mock keeps 5 MiB per partition (${fmtNum(median(res.mock.map((o) => o.kcatConsumeRecords)), 0)} of the records); its consume reads those, seglog's ratio uses a read of the same count, seglog's absolute figure its full read (both servers: kcat -c <count>, first record to exit, one newline printed per record; "with -e" includes librdkafka's 500 ms end-of-partition wait; "printing every value": kcat writes each value into the bench's pipe, which bounds that read); kafkajs consume: the mock's is over what it kept.`,
    ];
    return { rows, notes, details: { rounds: res, targets: TARGETS } };
  },
};
export default workload;

await runAlone(import.meta.url, workload);
