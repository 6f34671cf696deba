// LmdbRoom (src/store/lmdb-room.ts): every asynchronous LMDB transaction counts against the free
// space until it settles, however much is free (a shortcut above 64 MiB free once left them out, so
// the sum undercounted once the space fell); and on a real 2 MiB tmpfs a compacted topic taking
// keyed batches of 500 with group commits fills the disk to a refusal (ERR_NO_SPACE) without the
// process aborting (lmdb-js 3.5 dies on a failed page write), with the figure printed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from '../entry.js';
import { inChild, onTmpfs } from './tmpfs.js';

describe('LmdbRoom counts every asynchronous transaction', () => {
  test('with far more than 64 MiB free, a tracked transaction is still counted until it settles', async () => {
    const { LmdbRoom, growthBound } = await import('../../src/store/lmdb-room.js');
    const st = fs.statfsSync(os.tmpdir());
    if (st.bavail * st.bsize < 128 * 1024 * 1024) return; // (the case needs a disk with that much free)
    const shape = { pageSize: 4096, depth: 2, pages: 10 };
    const room = new LmdbRoom(os.tmpdir(), 'x', { giveBack: () => false }, () => shape);
    let settle!: () => void;
    const txn = new Promise<void>((resolve) => { settle = resolve; });
    const need = room.check(10, 200);
    expect(need).toBe(growthBound(shape, 10, 200));
    room.track(txn, need, 10, 200);
    expect(room.inFlightBytes).toBe(need);
    settle();
    await txn;
    await Promise.resolve();
    expect(room.inFlightBytes).toBe(0);
    // (the next check bounds with the cached shape, one level deeper and without the pages' cap)
    expect(room.check(10, 200)).toBe(growthBound({ pageSize: 4096, depth: 3, pages: Infinity }, 10, 200));
    expect(room.check(Infinity, 0)).toBe(growthBound(shape, Infinity, 0));
  });
});

describe('seglog (LMDB metadata): keyed batches on a 2 MiB disk', () => {
  test('a compacted topic takes keyed batches of 500 and group commits until ERR_NO_SPACE; the process never aborts', async () => {
    await onTmpfs(async (mnt) => {
      const dir = path.join(mnt, 'log');
      const out = inChild(entries[0]!, dir, `
        const log = await openLog(dir);
        const t = log.topic('c', { cleanup: 'compact' });
        const inp = log.topic('in');
        for (let i = 0; i < 50; i++) await inp.append(Buffer.alloc(10, i));
        const sub = inp.subscribe({ group: 'g', autoCommit: false });
        const it = sub[Symbol.asyncIterator]();
        const v = Buffer.alloc(16, 7);
        let k = 0;
        out.batches = 0;
        try {
          for (;;) {
            const batch = [];
            for (let i = 0; i < 500; i++) batch.push({ key: 'key-' + ((k++ * 7919) % 5000), value: v });
            await t.appendBatch(batch);
            out.batches++;
            if (out.batches % 3 === 0) { const r = await it.next(); if (!r.done) await sub.commit(); }
            if (out.batches % 10 === 0) log.topic('t' + out.batches);
          }
        } catch (e) { out.code = e.code; }
        const { statfsSync } = await import('node:fs');
        const s = statfsSync(dir);
        out.used = 1 - s.bavail / s.blocks;
        out.close = await codeOf(log.close());`);
      console.log(`keyed batches of 500 on a 2 MiB tmpfs: first ERR_NO_SPACE after ${out.batches} batches, ${(100 * out.used).toFixed(1)} % of the disk used`);
      expect(out.code).toBe('ERR_NO_SPACE');
      expect(out.batches).toBeGreaterThan(10);
      expect(out.close).toBe('ok');
    });
  });
});
