// W4: random point reads by offset on the W1 data set, with a freshly opened store each round
// (open not timed). The same pseudo-random offset sequence is used by every implementation.
//   seglog: topic.get(offset).valueBytes.length
//   lmdb:   db.getBinaryFast(key).length (shared buffer, valid until the next read)
//   raw:    pread of a 4 KiB block at the record's file position, taken from an in-memory
//           position array built beforehand (a ceiling for "one positional read per get")
import fs from 'node:fs';
import { open as lmdbOpen } from 'lmdb';
import { now, randomOffsets, fmtCount } from './common.js';
import { ensureDataset, LMDB_LOG_OPTIONS, TOPIC } from './w1-append-batch.js';
import { rawPositions } from './raw.js';

function offsets(ctx) {
  ctx.w4Offsets ??= randomOffsets(ctx.cfg.gets, ctx.cfg.records);
  return ctx.w4Offsets;
}

export default {
  id: 'w4',
  title: (cfg) => `W4 ${cfg.gets.toLocaleString('en-US')} random get(offset) (fresh open)`,
  short: (cfg) => `W4 random get ×${fmtCount(cfg.gets)}`,
  unit: 'gets/s',
  targets: { lmdb: 1.5 }, // issue 17 (was ≥ 1× lmdb)
  rawLabel: 'raw (pread 4 KiB)',
  impls: {
    async seglog(ctx) {
      const dir = await ensureDataset(ctx, 'seglog');
      const offs = offsets(ctx);
      const log = await ctx.seglog.openLog(dir, { durability: 'os' });
      const topic = log.topic(TOPIC);
      let bytes = 0;
      const t0 = now();
      for (let i = 0; i < offs.length; i++) bytes += topic.get(offs[i]).valueBytes.length;
      const ms = now() - t0;
      await log.close();
      check('seglog', bytes, offs.length, ctx.cfg.valueBytes);
      return { ops: offs.length, ms };
    },
    async lmdb(ctx) {
      const dir = await ensureDataset(ctx, 'lmdb');
      const offs = offsets(ctx);
      const db = lmdbOpen({ path: dir, ...LMDB_LOG_OPTIONS });
      let bytes = 0;
      const t0 = now();
      for (let i = 0; i < offs.length; i++) bytes += db.getBinaryFast(offs[i]).length;
      const ms = now() - t0;
      await db.close();
      check('lmdb', bytes, offs.length, ctx.cfg.valueBytes);
      return { ops: offs.length, ms };
    },
    async raw(ctx) {
      const file = await ensureDataset(ctx, 'raw');
      const offs = offsets(ctx);
      ctx.w4Positions ??= rawPositions(file, ctx.cfg.records);
      const positions = ctx.w4Positions;
      const fd = fs.openSync(file, 'r');
      const block = Buffer.allocUnsafe(4096);
      let bytes = 0;
      try {
        const t0 = now();
        for (let i = 0; i < offs.length; i++) {
          fs.readSync(fd, block, 0, 4096, positions[offs[i]]);
          bytes += block.readUInt32LE(0);
        }
        const ms = now() - t0;
        check('raw', bytes, offs.length, ctx.cfg.valueBytes);
        return { ops: offs.length, ms };
      } finally {
        fs.closeSync(fd);
      }
    },
  },
};

function check(impl, bytes, n, valueBytes) {
  if (bytes !== n * valueBytes) throw new Error(`${impl} W4: read ${bytes} value bytes, expected ${n * valueBytes}`);
}
