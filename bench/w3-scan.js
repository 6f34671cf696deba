// W3: scan the N records written by W1 from offset 0, with a freshly opened store each round.
// The open is timed separately (extra.openMs); the rate is records/s of the scan itself.
//   seglog: for (const r of topic.read({ from: 0 })) touch r.valueBytes.length
//   lmdb:   for (const { key, value } of db.getRange({ start: 0 })) touch value.length
//   raw:    1 MiB readSync chunks into fresh buffers, a subarray view per frame
// The page cache is warm (the data was just written): this measures the library, not the disk.
import { open as lmdbOpen } from 'lmdb';
import { now, fmtCount } from './common.js';
import { ensureDataset, LMDB_LOG_OPTIONS, TOPIC } from './w1-append-batch.js';
import { rawScan } from './raw.js';

export default {
  id: 'w3',
  title: (cfg) => `W3 scan ${cfg.records.toLocaleString('en-US')} from offset 0 (fresh open)`,
  short: (cfg) => `W3 scan ${fmtCount(cfg.records)}`,
  unit: 'records/s',
  targets: { lmdb: 8, raw: 0.8 }, // issue 17 (was ≥ 5× lmdb, ≥ 0.6× raw)
  impls: {
    async seglog(ctx) {
      const dir = await ensureDataset(ctx, 'seglog');
      const n = ctx.cfg.records;
      const t0 = now();
      const log = await ctx.seglog.openLog(dir, { durability: 'os' });
      const topic = log.topic(TOPIC);
      const t1 = now();
      let count = 0;
      let bytes = 0;
      for (const r of topic.read({ from: 0 })) {
        bytes += r.valueBytes.length;
        count++;
      }
      const ms = now() - t1;
      await log.close();
      check('seglog', count, bytes, n, ctx.cfg.valueBytes);
      return { ops: count, ms, extra: { openMs: t1 - t0 } };
    },
    async lmdb(ctx) {
      const dir = await ensureDataset(ctx, 'lmdb');
      const n = ctx.cfg.records;
      const t0 = now();
      const db = lmdbOpen({ path: dir, ...LMDB_LOG_OPTIONS });
      const t1 = now();
      let count = 0;
      let bytes = 0;
      for (const { key, value } of db.getRange({ start: 0 })) {
        bytes += value.length;
        count++;
      }
      const ms = now() - t1;
      await db.close();
      check('lmdb', count, bytes, n, ctx.cfg.valueBytes);
      return { ops: count, ms, extra: { openMs: t1 - t0 } };
    },
    async raw(ctx) {
      const file = await ensureDataset(ctx, 'raw');
      const n = ctx.cfg.records;
      const t0 = now();
      const { records, bytes } = rawScan(file);
      const ms = now() - t0;
      check('raw', records, bytes, n, ctx.cfg.valueBytes);
      return { ops: records, ms };
    },
  },
};

function check(impl, count, bytes, n, valueBytes) {
  if (count !== n || bytes !== n * valueBytes) {
    throw new Error(`${impl} W3: scanned ${count} records / ${bytes} value bytes, expected ${n} / ${n * valueBytes}`);
  }
}
