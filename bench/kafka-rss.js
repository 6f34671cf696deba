// `seglog serve` memory (issue 14 item 9): the server's resident set with 1,000 idle connections
// and one consumer <kafka-rss-mb> behind (default 256 MB, 1 GB with --full or --kafka-rss-mb 1024).
// The data (1,000 B records, written by kcat -P) goes in through one server process, which is then
// stopped; a fresh `seglog serve` on the same directory gets 1,000 connections that each send one
// ApiVersions request and then stay idle, then a kcat consumer reads the whole topic from offset 0
// to the end. The server's RSS (VmRSS, and its anonymous and file-backed parts: mapped segment
// pages count as file-backed) is sampled from /proc every 20 ms; the peak is checked against the
// target: RSS ≤ 200 MB.
//   npm run bench -- --workloads kafka-rss [--kafka-rss-mb N | --full]
import net from 'node:net';
import { fmtBytes, fmtNum, now, rmrf, runAlone, tmpDir, tmpFile } from './common.js';
import { kcatConsume, kcatProduce, rssOf, startSeglog, writeLines } from './kafka-peers.js';

const VALUE_BYTES = 1000;
const CONNECTIONS = 1000;
const RSS_MAX_BYTES = 200 << 20;

/** ApiVersions v0 request frame (header v1: api key 18, version 0, correlation id, client id). */
function apiVersionsFrame(correlationId) {
  const clientId = Buffer.from('idle');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

async function openIdle(brokers, count) {
  const [host, port] = [brokers.slice(0, brokers.lastIndexOf(':')), Number(brokers.slice(brokers.lastIndexOf(':') + 1))];
  const sockets = [];
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => s.write(apiVersionsFrame(i + j)));
      s.once('data', () => resolve());
      s.once('error', reject);
      sockets.push(s);
    })));
  }
  return sockets;
}

const workload = {
  id: 'kafka-rss',
  title: (cfg) => `seglog serve RSS: ${CONNECTIONS.toLocaleString('en-US')} idle connections and one consumer ${cfg.kafkaRssMB} MB behind`,
  seglogOnly: true,
  async run(ctx) {
    const { cfg } = ctx;
    const records = Math.ceil((cfg.kafkaRssMB * (1 << 20)) / VALUE_BYTES);
    const dir = tmpDir('kafka-rss');
    const file = tmpFile('kafka-rss-lines');
    writeLines(file, records, VALUE_BYTES);
    try {
      const writer = await startSeglog(dir);
      const produceMs = await kcatProduce(writer.brokers, 'behind', file, { extra: ['-X', 'message.max.bytes=10000000'] });
      await writer.stop();
      rmrf(file);

      const server = await startSeglog(dir);
      let peak = rssOf(server.pid);
      const base = peak;
      const sample = setInterval(() => {
        const r = rssOf(server.pid);
        if (r.rss > peak.rss) peak = r;
      }, 20);
      try {
        const sockets = await openIdle(server.brokers, CONNECTIONS);
        const idle = rssOf(server.pid);
        const t0 = now();
        const read = await kcatConsume(server.brokers, 'behind', { partition: 0 });
        const readMs = now() - t0;
        const after = rssOf(server.pid);
        for (const s of sockets) s.destroy();
        clearInterval(sample);
        if (read.records !== records) throw new Error(`the consumer read ${read.records} records, expected ${records}`);
        const peakRss = Math.max(peak.rss, after.hwm);
        console.log(`  ${fmtNum(records, 0)} records of ${VALUE_BYTES} B produced in ${fmtNum(produceMs, 0)} ms; server RSS: fresh ${fmtBytes(base.rss)}, ` +
          `${CONNECTIONS} idle ${fmtBytes(idle.rss)} (anon ${fmtBytes(idle.anon)}), peak while the consumer caught up ${fmtBytes(peakRss)} ` +
          `(anon ${fmtBytes(peak.anon)}, file ${fmtBytes(peak.file)}); read in ${fmtNum(readMs, 0)} ms`);
        return {
          rows: [{
            name: `seglog serve RSS, ${CONNECTIONS} idle + consumer ${cfg.kafkaRssMB} MB behind`,
            cells: { seglog: `${fmtBytes(peakRss)} peak (anon ${fmtBytes(peak.anon)}), ${fmtBytes(idle.rss)} idle` },
            targets: [{ text: 'RSS ≤ 200 MB', pass: peakRss <= RSS_MAX_BYTES }],
          }],
          details: { records, valueBytes: VALUE_BYTES, produceMs, readMs, base, idle, peak, after, peakRss },
        };
      } finally {
        clearInterval(sample);
        const stopped = await server.stop();
        if (stopped.code !== 0) console.log(`  seglog serve exited ${stopped.code ?? stopped.signal}`);
      }
    } finally {
      rmrf(dir);
    }
  },
};
export default workload;

await runAlone(import.meta.url, workload);
