// A full disk never locks the log out (SPEC "Durability and recovery"): on a real 2 MiB tmpfs
// (mounted per test; needs root, skipped with the reason printed elsewhere), a log that filled its
// disk closes cleanly, opens for writing again in a new process, and there frees space with
// truncateBefore, retention or compact; appends are refused while the disk is full and resume once
// space is free, without a reopen. The space reserve (`~reserve`, src/space-reserve.ts) is what
// the library's own writes use meanwhile.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from '../entry.js';
import { HANG_MS, withinHangBound } from '../helpers.js';
import { fillDisk, inChild, onTmpfs } from './tmpfs.js';

const value = (i: number): Buffer => Buffer.alloc(1000, i % 251);


/** Appends 1000-byte records until the disk is full; returns how many were acknowledged. */
async function fill(t: { append(v: Buffer, meta?: { key?: string }): Promise<number> }, keyed = false): Promise<number> {
  for (let i = 0; ; i++) {
    try {
      expect(await t.append(value(i), keyed ? { key: `k${i % 10}` } : undefined)).toBe(i);
    } catch (err) {
      expect((err as { code?: string }).code).toBe('ERR_NO_SPACE');
      return i;
    }
  }
}

describe.each(entries)('$name on a full disk', (entry) => {
  test('a log that filled its disk closes, opens for writing in a new process, and truncateBefore there frees space for appends', async () => {
    await onTmpfs(async (mnt) => {
      const { openLog } = await entry.load();
      const dir = path.join(mnt, 'log');
      const log = await openLog(dir, { durability: 'os' });
      const t = log.topic('t', { segmentBytes: 128 * 1024 });
      const acked = await fill(t);
      expect(acked).toBeGreaterThan(500);
      await expect(t.append(value(acked)), 'appends stay refused while the disk is full').rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
      expect(t.endOffset).toBe(acked);
      await log.close(); // no index or metadata write may fail it
      const out = inChild(entry, dir, `
        const log = await openLog(dir, { durability: 'os' });
        const t = log.topic('t');
        out.endOffset = t.endOffset;
        out.whileFull = await codeOf(t.append(value(t.endOffset)));
        await t.truncateBefore(${Math.floor(acked / 2)});
        out.startOffset = t.startOffset;
        out.after = await t.append(value(t.endOffset));
        await log.close();`);
      expect(out).toEqual({ endOffset: acked, whileFull: 'ERR_NO_SPACE', startOffset: Math.floor(acked / 2), after: acked });
      const again = await openLog(dir);
      const t2 = again.topic('t');
      expect(t2.endOffset).toBe(acked + 1);
      let n = 0;
      for (const r of t2.read({ from: t2.startOffset })) {
        expect(r.valueBytes!.equals(value(r.offset))).toBe(true);
        n++;
      }
      expect(n).toBe(acked + 1 - t2.startOffset);
      await again.close();
    });
  });

  test('retention and compact() run on a full disk in a new process, and appends resume there without a reopen', async () => {
    await onTmpfs(async (mnt) => {
      const { openLog } = await entry.load();
      const dir = path.join(mnt, 'log');
      const log = await openLog(dir, { durability: 'fsync' });
      const plain = log.topic('plain', { segmentBytes: 128 * 1024 });
      for (let i = 0; i < 600; i++) await plain.append(value(i));
      const keyed = log.topic('keyed', { segmentBytes: 128 * 1024, cleanup: 'compact' });
      const acked = await fill(keyed, true);
      await log.close();
      const out = inChild(entry, dir, `
        const log = await openLog(dir, { durability: 'fsync' });
        const keyed = log.topic('keyed');
        out.whileFull = await codeOf(keyed.append(value(keyed.endOffset), { key: 'k0' }));
        const c = await keyed.compact();
        out.compacted = c.recordsAfter < c.recordsBefore && c.bytesFreed > 0;
        const plain = log.topic('plain', { retention: { maxBytes: 128 * 1024 } });
        const r = await plain.enforceRetention();
        out.retention = r.segmentsDeleted > 0;
        out.after = await keyed.append(value(keyed.endOffset), { key: 'k0' });
        await log.close();`);
      expect(out).toEqual({ whileFull: 'ERR_NO_SPACE', compacted: true, retention: true, after: acked });
      const again = await openLog(dir);
      const k = again.topic('keyed');
      expect(k.latest('k0')!.offset).toBe(acked);
      for (let j = 1; j < 10; j++) {
        let last = acked - 1;
        while (last % 10 !== j) last--;
        expect(k.latest(`k${j}`)!.valueBytes!.equals(value(last)), `newest record of k${j}`).toBe(true);
      }
      await again.close();
    });
  });

  test('a disk filled by another file: the log opens for writing in a new process, refuses appends, and takes them once the file is gone, without a reopen', async () => {
    await onTmpfs(async (mnt) => {
      const { openLog } = await entry.load();
      const dir = path.join(mnt, 'log');
      const log = await openLog(dir, { durability: 'fsync' });
      const t = log.topic('t');
      for (let i = 0; i < 10; i++) await t.append(value(i));
      await log.close();
      // fill the disk to the last byte
      const filler = path.join(mnt, 'filler');
      fillDisk(filler);
      const out = inChild(entry, dir, `
        const log = await openLog(dir, { durability: 'fsync' });
        const t = log.topic('t');
        out.endOffset = t.endOffset;
        out.read = [...t.read()].length;
        out.whileFull = await codeOf(t.append(value(10)));
        await log.close();`);
      expect(out).toEqual({ endOffset: 10, read: 10, whileFull: 'ERR_NO_SPACE' });
      const again = await openLog(dir, { durability: 'fsync' });
      const t2 = again.topic('t');
      await expect(t2.append(value(10))).rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
      fs.rmSync(filler);
      expect(await t2.append(value(10))).toBe(10);
      await again.close();
    });
  });
});

describe.each(entries)('$name: a disk another program fills while the log is open', (entry) => {
  test('truncateBefore still records its start offset (the reserve is given back for that write) and frees space; appends then resume', async () => {
    await onTmpfs(async (mnt) => {
      const { openLog } = await entry.load();
      const dir = path.join(mnt, 'log');
      const log = await openLog(dir, { durability: 'fsync' });
      const t = log.topic('t', { segmentBytes: 128 * 1024 });
      for (let i = 0; i < 600; i++) await t.append(value(i));
      const filler = path.join(mnt, 'filler');
      fillDisk(filler);
      await t.truncateBefore(400);
      expect(t.startOffset).toBe(400);
      expect(await t.append(value(600)), 'the segments removed gave room for the reserve and appends').toBe(600);
      await log.close();
      const again = await openLog(dir);
      expect(again.topic('t').startOffset).toBe(400);
      expect(again.topic('t').endOffset).toBe(601);
      await again.close();
    });
  });
});

// lmdb-js 3.5 aborted the process here (glibc "corrupted size vs. prev_size", "double free or
// corruption" after "Write error: No space left on device"): its page writer overruns a buffer
// when a write fails with an errno. The store now checks the disk's room before every LMDB write
// transaction and refuses what may not fit (src/store/lmdb-room.ts), so LMDB never writes on a
// full disk; this case failed (the test process died) in about one run of two before that.
describe('seglog (LMDB metadata) on a full disk', () => {
  test("consumer-group commits that LMDB cannot write (its file cannot grow) neither crash the process nor hang flush or close", async () => {
    await onTmpfs(async (mnt) => {
      const { openLog } = await entries[0]!.load();
      const dir = path.join(mnt, 'log');
      const log = await openLog(dir, { durability: 'fsync' });
      const t = log.topic('t');
      for (let i = 0; i < 10; i++) await t.append(value(i));
      await log.flush();
      const filler = path.join(mnt, 'filler');
      fillDisk(filler);
      // Many groups commit at once: LMDB needs new pages, and its file cannot grow (ENOSPC).
      const subs = Array.from({ length: 300 }, (_, g) => t.subscribe({ group: `group-with-a-long-name-${g}`, from: 'earliest' }));
      for (const s of subs) {
        const it = s[Symbol.asyncIterator]();
        await it.next();
        await it.next(); // moving past the first record commits it (a put of the tick, written asynchronously)
      }
      // A position that could not be written is reported (ERR_NO_SPACE), never a crash or a hang.
      const noSpace = (err: { code?: string, message?: string }): void => { expect(err.code, err.message).toBe("ERR_NO_SPACE"); };
      await withinHangBound(log.flush().catch(noSpace), 'flush');
      for (const s of subs) await withinHangBound(s.close().catch(noSpace), 'subscription close');
      await withinHangBound(log.close().catch(noSpace), 'close');
      fs.rmSync(filler);
      const again = await openLog(dir);
      expect(again.topic('t').endOffset).toBe(10);
      await again.close();
    });
  });
});

// LmdbRoom counted every asynchronous put against the free space until its commit settled, but
// lmdb-js commits the puts of a turn of the event loop as one transaction: a loop of awaited
// exactly-once appends under 'os' (each a key-index and a group put, no turn in between) added up
// 40 bounds of 48 KiB and refused a 2 MiB disk with 1.9 MB free; close() failed the same way.
describe('seglog (LMDB metadata): asynchronous puts of one transaction count once', () => {
  test('a transaction joined by many puts counts as one bound for all their entries and bytes', async () => {
    const { LmdbRoom, growthBound } = await import('../../src/store/lmdb-room.js');
    const shape = { pageSize: 4096, depth: 1, pages: 1 };
    const room = new LmdbRoom(os.tmpdir(), 'x', { giveBack: () => false }, () => shape);
    let settle!: () => void;
    const txn = new Promise<void>((resolve) => { settle = resolve; });
    for (let i = 0; i < 40; i++) room.track(txn, growthBound(shape, 2, 49), 2, 49);
    expect(room.inFlightBytes).toBe(growthBound(shape, 80, 40 * 49));
    expect(room.inFlightBytes).toBeLessThan(2 * growthBound(shape, 2, 49));
    settle();
    await txn;
    await Promise.resolve();
    expect(room.inFlightBytes).toBe(0);
  });

  test('exactly-once appends to a compacted topic under os, in a loop that yields no turn, on a 2 MiB disk: none refused, close resolves', async () => {
    await onTmpfs(async (mnt) => {
      const { openLog } = await entries[0]!.load();
      const dir = path.join(mnt, 'log');
      const log = await openLog(dir, { durability: 'os' });
      const inp = log.topic('in');
      const out = log.topic('out', { cleanup: 'compact' });
      const c = log.topic('c', { cleanup: 'compact' });
      for (let i = 0; i < 100; i++) await inp.append(value(i));
      const sub = inp.subscribe({ group: 'g', autoCommit: false });
      let n = 0;
      for await (const r of sub) {
        await out.appendBatch([{ value: r.valueBytes!, key: `k${r.offset % 7}` }], { commit: sub });
        if (++n === 60) break;
      }
      for (let i = 0; i < 60; i++) await c.append(value(i), { key: `k${i % 10}` });
      expect(c.endOffset).toBe(60);
      await log.close();
      const again = await openLog(dir);
      expect(again.topic('in').groups()).toMatchObject([{ group: 'g', position: 60 }]);
      expect(again.topic('c').latest('k3')?.offset).toBe(53);
      await again.close();
    });
  });
});

// A crash after the log had given its space reserve back, then another program took nearly all the
// rest (32 KiB left): the default entry's openLog failed with ERR_NO_SPACE re-applying the
// exactly-once commits riding in the output's batches (LMDB's room check refused the group put), and
// truncateBefore failed recording its start offset, so nothing could free space.
describe.each(entries)('$name: a crash on a full disk, reopened with 32 KiB free', (entry) => {
  test('openLog re-applies the ridden commits (pending until there is room), and truncateBefore frees space; nothing lost', async () => {
    await onTmpfs(async (mnt) => {
      const dir = path.join(mnt, 'log');
      const writer = `
        const { openLog } = await import(${JSON.stringify(entry.dist)});
        const value = (i) => Buffer.alloc(1000, i % 251);
        const log = await openLog(${JSON.stringify(dir)}, { durability: 'os', fsyncIntervalMs: 1e6 });
        const inp = log.topic('in'), out = log.topic('out'), fill = log.topic('fill', { segmentBytes: 256 * 1024 });
        for (let i = 0; i < 50; i++) await inp.append(value(i));
        await log.flush();
        const sub = inp.subscribe({ group: 'g', autoCommit: false });
        let n = 0;
        for await (const r of sub) { await out.appendBatch([{ value: r.valueBytes.subarray(0, 10) }], { commit: sub }); if (++n === 5) break; }
        try { for (let i = 0; ; i++) await fill.append(value(i)); } catch (e) { if (e.code !== 'ERR_NO_SPACE') throw e; }
        console.log(JSON.stringify({ position: inp.groups()[0].position, fill: fill.endOffset }));
        process.kill(process.pid, 'SIGKILL');`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', writer], { encoding: 'utf8', timeout: HANG_MS });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const before = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(before.position).toBe(5);
      const filler = path.join(mnt, 'filler');
      fillDisk(filler);
      fs.truncateSync(filler, fs.statSync(filler).size - 32 * 1024);
      const out = inChild(entry, dir, `
        const log = await openLog(dir, { durability: 'os' });
        out.position = log.topic('in').groups()[0]?.position;
        out.out = log.topic('out').endOffset;
        const fill = log.topic('fill');
        out.truncate = await codeOf(fill.truncateBefore(fill.endOffset));
        out.flush = await codeOf(log.flush());
        out.close = await codeOf(log.close());`);
      expect(out).toEqual({ position: 5, out: 5, truncate: 'ok', flush: 'ok', close: 'ok' });
      fs.rmSync(filler);
      const { openLog, verify } = await entry.load();
      expect((await verify(dir)).ok).toBe(true);
      const again = await openLog(dir);
      expect(again.topic('in').groups()[0]?.position).toBe(5);
      expect(again.topic('fill').startOffset).toBe(before.fill);
      await again.close();
    });
  });
});

// The key index of a compacted topic ahead of its log (the log's tail lost, as a power cut does)
// is dropped at open and rebuilt; on a disk with a few pages left the drop found no room
// (LMDB's room check) and openLog failed with ERR_NO_SPACE.
describe.each(entries)('$name: a stale key index on a full disk', (entry) => {
  test('openLog rebuilds it in memory and latest() is right; the store catches up once there is room', async () => {
    await onTmpfs(async (mnt) => {
      const { openLog } = await entry.load();
      const dir = path.join(mnt, 'log');
      const log = await openLog(dir, { durability: 'os' });
      const c = log.topic('c', { cleanup: 'compact' });
      for (let i = 0; i < 100; i++) await c.append(value(i), { key: `k${i % 10}` });
      const fill = log.topic('fill', { segmentBytes: 256 * 1024 });
      try { for (let i = 0; ; i++) await fill.append(value(i)); } catch (e) { expect((e as { code?: string }).code).toBe('ERR_NO_SPACE'); }
      await log.close();
      const seg = path.join(dir, 'c', '00000000000000000000.log');
      fs.truncateSync(seg, fs.statSync(seg).size / 2); // offsets 50..99 gone: the index is ahead
      const filler = path.join(mnt, 'filler');
      fillDisk(filler);
      fs.truncateSync(filler, fs.statSync(filler).size - 24 * 1024);
      const out = inChild(entry, dir, `
        const log = await openLog(dir, { durability: 'os' });
        const c = log.topic('c');
        out.end = c.endOffset;
        out.latest = [c.latest('k3')?.offset, c.latest('k9')?.offset];
        const fill = log.topic('fill');
        out.truncate = await codeOf(fill.truncateBefore(fill.endOffset));
        out.appended = await codeOf(c.append(value(7), { key: 'k3' }));
        out.latest2 = c.latest('k3')?.offset;
        out.close = await codeOf(log.close());`);
      expect(out).toEqual({ end: 50, latest: [43, 49], truncate: 'ok', appended: 'ok', latest2: 50, close: 'ok' });
      fs.rmSync(filler);
      const again = await openLog(dir);
      expect([again.topic('c').latest('k3')?.offset, again.topic('c').latest('k9')?.offset, again.topic('c').latest('k0')?.offset]).toEqual([50, 49, 40]);
      await again.close();
    });
  });
});
