// W1: append N × 100-byte records in batches of 1,000.
//   seglog: await topic.appendBatch(batch) under durability 'os' (each batch handed to the OS)
//   lmdb:   db.transactionSync(() => 1,000 × db.put(key, value)), noSync, uint32 keys
//   raw:    framed writeSync of fresh 1 MiB chunks
// The directories written by the last round are kept as the data sets of W3 and W4.
import path from 'node:path';
import { open as lmdbOpen } from 'lmdb';
import { now, rmrf, tmpDir, TOPIC, fmtCount } from './common.js';
import { rawWrite } from './raw.js';

export { TOPIC };

export const LMDB_LOG_OPTIONS = { noSync: true, encoding: 'binary', keyEncoding: 'uint32' };

export async function seglogWriteBatches(mod, dir, n, values, batchSize) {
  const mask = values.length - 1;
  const log = await mod.openLog(dir, { durability: 'os' });
  const topic = log.topic(TOPIC);
  const t0 = now();
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    const batch = new Array(m);
    for (let j = 0; j < m; j++) batch[j] = { value: values[(i + j) & mask] };
    await topic.appendBatch(batch);
  }
  const ms = now() - t0;
  const endOffset = topic.endOffset;
  const t1 = now();
  await log.close();
  const closeMs = now() - t1;
  if (endOffset !== n) throw new Error(`seglog W1: endOffset ${endOffset} after ${n} appends`);
  return { ops: n, ms, extra: { closeMs } };
}

export async function lmdbWriteBatches(dir, n, values, batchSize) {
  const mask = values.length - 1;
  const db = lmdbOpen({ path: dir, ...LMDB_LOG_OPTIONS });
  const t0 = now();
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    db.transactionSync(() => {
      for (let j = 0; j < m; j++) db.put(i + j, values[(i + j) & mask]);
    });
  }
  const ms = now() - t0;
  const count = db.getCount();
  const t1 = now();
  await db.close();
  const closeMs = now() - t1;
  if (count !== n) throw new Error(`lmdb W1: ${count} entries after ${n} puts`);
  return { ops: n, ms, extra: { closeMs } };
}

export function rawWriteTimed(file, n, values, opts) {
  const t0 = now();
  rawWrite(file, n, values, opts);
  return { ops: n, ms: now() - t0 };
}

/** Makes sure ctx.datasets[impl] holds an N-record data set (written by W1, or now, untimed). */
export async function ensureDataset(ctx, impl) {
  if (ctx.datasets[impl]) return ctx.datasets[impl];
  const { cfg, values } = ctx;
  const dir = tmpDir(`data-${impl}`);
  if (impl === 'seglog') await seglogWriteBatches(ctx.seglog, dir, cfg.records, values, cfg.batchSize);
  else if (impl === 'lmdb') await lmdbWriteBatches(dir, cfg.records, values, cfg.batchSize);
  else rawWrite(path.join(dir, 'data.bin'), cfg.records, values);
  ctx.datasets[impl] = impl === 'raw' ? path.join(dir, 'data.bin') : dir;
  ctx.datasetDirs[impl] = dir;
  return ctx.datasets[impl];
}

function keepAsDataset(ctx, impl, dir, file = dir) {
  if (ctx.datasetDirs[impl]) rmrf(ctx.datasetDirs[impl]);
  ctx.datasetDirs[impl] = dir;
  ctx.datasets[impl] = file;
}

export default {
  id: 'w1',
  title: (cfg) => `W1 append ${cfg.records.toLocaleString('en-US')} × ${cfg.valueBytes} B, batches of ${cfg.batchSize}`,
  short: (cfg) => `W1 appendBatch ${fmtCount(cfg.records)} × ${cfg.valueBytes} B`,
  unit: 'records/s',
  targets: { lmdb: 4, raw: 0.6 }, // issue 17 (was ≥ 3× lmdb, ≥ 0.5× raw)
  impls: {
    async seglog(ctx) {
      const dir = tmpDir('w1-seglog');
      const r = await seglogWriteBatches(ctx.seglog, dir, ctx.cfg.records, ctx.values, ctx.cfg.batchSize);
      keepAsDataset(ctx, 'seglog', dir);
      return r;
    },
    async lmdb(ctx) {
      const dir = tmpDir('w1-lmdb');
      const r = await lmdbWriteBatches(dir, ctx.cfg.records, ctx.values, ctx.cfg.batchSize);
      keepAsDataset(ctx, 'lmdb', dir);
      return r;
    },
    async raw(ctx) {
      const dir = tmpDir('w1-raw');
      const file = path.join(dir, 'data.bin');
      const r = rawWriteTimed(file, ctx.cfg.records, ctx.values);
      keepAsDataset(ctx, 'raw', dir, file);
      return r;
    },
  },
};
