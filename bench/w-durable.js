// W-durable: 64 concurrent producers, each looping `await append(value)`, with every
// acknowledgement meaning "on disk" (fsynced). Runs for cfg.durableMs (or a record cap) per
// round; reports acknowledged records/s and the p50/p99 acknowledgement latency.
//   seglog: openLog(dir, { durability: 'fsync' }); await topic.append(value)   (group commit)
//   lmdb:   default durability; await db.put(key, value) then await db.flushed — with
//           lmdb's default overlappingSync the put promise resolves at commit, before the
//           fsync, so db.flushed is what makes the acknowledgement durable
//   lmdb:commit-ack (detail only): await db.put(key, value) alone, lmdb's default promise
//   raw:    minimal group commit: appends of one tick become one writeSync + one fs.fsync
import fs from 'node:fs';
import path from 'node:path';
import { open as lmdbOpen } from 'lmdb';
import { now, percentile, rmrf, tmpDir, fmtCount } from './common.js';
import { TOPIC } from './w1-append-batch.js';

async function drive(ctx, appendFn) {
  const { cfg, values } = ctx;
  const mask = values.length - 1;
  const max = cfg.durableMaxRecords;
  const lat = new Float64Array(max);
  let issued = 0;
  let acked = 0;
  let stop = false;
  const timer = setTimeout(() => {
    stop = true;
  }, cfg.durableMs);
  const t0 = now();
  async function producer() {
    while (!stop && issued < max) {
      const i = issued++;
      const s = now();
      await appendFn(values[i & mask], i);
      lat[acked++] = now() - s;
    }
  }
  const producers = [];
  for (let p = 0; p < cfg.producers; p++) producers.push(producer());
  try {
    await Promise.all(producers);
  } finally {
    clearTimeout(timer);
  }
  const ms = now() - t0;
  const samples = lat.subarray(0, acked);
  return {
    ops: acked,
    ms,
    extra: { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: percentile(samples, 100) },
  };
}

function rawGroupCommit(file) {
  const fd = fs.openSync(file, 'w');
  let pending = [];
  let scheduled = false;
  let inflight = false;
  let commits = 0;
  function schedule() {
    if (!scheduled && !inflight) {
      scheduled = true;
      setImmediate(commit);
    }
  }
  function commit() {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    let size = 0;
    for (let i = 0; i < batch.length; i += 2) size += 4 + batch[i].length;
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    for (let i = 0; i < batch.length; i += 2) {
      const v = batch[i];
      buf.writeUInt32LE(v.length, pos);
      v.copy(buf, pos + 4);
      pos += 4 + v.length;
    }
    fs.writeSync(fd, buf, 0, size);
    inflight = true;
    commits++;
    fs.fsync(fd, (err) => {
      inflight = false;
      for (let i = 1; i < batch.length; i += 2) batch[i](err);
      if (pending.length) schedule();
    });
  }
  return {
    append(value) {
      return new Promise((resolve, reject) => {
        pending.push(value, (err) => (err ? reject(err) : resolve()));
        schedule();
      });
    },
    close() {
      fs.closeSync(fd);
      return commits;
    },
  };
}

export default {
  id: 'durable',
  title: (cfg) => `W-durable ${cfg.producers} producers × await append, fsync acks, ${cfg.durableMs} ms`,
  short: (cfg) => `W-durable ${cfg.producers} producers, fsync`,
  unit: 'acks/s',
  targets: { abs: 100_000 },
  impls: {
    async seglog(ctx) {
      const dir = tmpDir('durable-seglog');
      try {
        const log = await ctx.seglog.openLog(dir, { durability: 'fsync' });
        const topic = log.topic(TOPIC);
        const r = await drive(ctx, (v) => topic.append(v));
        const endOffset = topic.endOffset;
        await log.close();
        if (endOffset !== r.ops) throw new Error(`seglog W-durable: endOffset ${endOffset} after ${r.ops} acks`);
        return r;
      } finally {
        rmrf(dir);
      }
    },
    async lmdb(ctx) {
      const dir = tmpDir('durable-lmdb');
      try {
        const db = lmdbOpen({ path: dir, encoding: 'binary', keyEncoding: 'uint32' });
        const r = await drive(ctx, async (v, i) => {
          await db.put(i, v);
          await db.flushed;
        });
        await db.close();
        return r;
      } finally {
        rmrf(dir);
      }
    },
    async 'lmdb:commit-ack'(ctx) {
      const dir = tmpDir('durable-lmdb-commit');
      try {
        const db = lmdbOpen({ path: dir, encoding: 'binary', keyEncoding: 'uint32' });
        const r = await drive(ctx, (v, i) => db.put(i, v));
        await db.close();
        return r;
      } finally {
        rmrf(dir);
      }
    },
    async raw(ctx) {
      const dir = tmpDir('durable-raw');
      try {
        const gc = rawGroupCommit(path.join(dir, 'data.bin'));
        const r = await drive(ctx, (v) => gc.append(v));
        const commits = gc.close();
        r.extra.commits = commits;
        return r;
      } finally {
        rmrf(dir);
      }
    },
  },
};
