// W2: N single-record appends, then make them durable.
//   seglog: N × topic.appendSync(value) under durability 'os', then await log.flush() (timed)
//   lmdb:   N × db.put(key, value) (async, lmdb batches them), await the last, then await
//           db.flushed (default durability, so the data is synced at the end as with seglog)
//   raw:    the W1 framed writeSync loop plus one fsync at the end
import path from 'node:path';
import { open as lmdbOpen } from 'lmdb';
import { now, rmrf, tmpDir, fmtCount } from './common.js';
import { TOPIC } from './w1-append-batch.js';
import { rawWrite } from './raw.js';

export default {
  id: 'w2',
  title: (cfg) => `W2 appendSync ${cfg.records.toLocaleString('en-US')} × ${cfg.valueBytes} B + flush`,
  short: (cfg) => `W2 appendSync ${fmtCount(cfg.records)} + flush`,
  unit: 'records/s',
  targets: { lmdb: 2 },
  impls: {
    async seglog(ctx) {
      const { cfg, values } = ctx;
      const n = cfg.records;
      const mask = values.length - 1;
      const dir = tmpDir('w2-seglog');
      try {
        const log = await ctx.seglog.openLog(dir, { durability: 'os' });
        const topic = log.topic(TOPIC);
        const t0 = now();
        for (let i = 0; i < n; i++) topic.appendSync(values[i & mask]);
        const t1 = now();
        await log.flush();
        const ms = now() - t0;
        const flushMs = now() - t1;
        const endOffset = topic.endOffset;
        await log.close();
        if (endOffset !== n) throw new Error(`seglog W2: endOffset ${endOffset} after ${n} appends`);
        return { ops: n, ms, extra: { loopMs: t1 - t0, flushMs } };
      } finally {
        rmrf(dir);
      }
    },
    async lmdb(ctx) {
      const { cfg, values } = ctx;
      const n = cfg.records;
      const mask = values.length - 1;
      const dir = tmpDir('w2-lmdb');
      try {
        const db = lmdbOpen({ path: dir, encoding: 'binary', keyEncoding: 'uint32' });
        const t0 = now();
        let last;
        for (let i = 0; i < n; i++) last = db.put(i, values[i & mask]);
        const t1 = now();
        await last;
        await db.flushed;
        const ms = now() - t0;
        const count = db.getCount();
        await db.close();
        if (count !== n) throw new Error(`lmdb W2: ${count} entries after ${n} puts`);
        return { ops: n, ms, extra: { loopMs: t1 - t0, flushMs: ms - (t1 - t0) } };
      } finally {
        rmrf(dir);
      }
    },
    async raw(ctx) {
      const dir = tmpDir('w2-raw');
      try {
        const t0 = now();
        rawWrite(path.join(dir, 'data.bin'), ctx.cfg.records, ctx.values, { fsyncAtEnd: true });
        return { ops: ctx.cfg.records, ms: now() - t0 };
      } finally {
        rmrf(dir);
      }
    },
  },
};
