// A full disk never locks the log out, also when the log has already given its space reserve back
// and another program then filled the disk to its last byte: `openLog` in a new process must take
// the lock with no data block (the lock becomes a symbolic link to the identity, src/store/lock.ts),
// open, read, free space (truncateBefore, deleteTopic, retention) and append again. Before, it
// failed with ERR_NO_SPACE writing the lock's temporary file. On a real 2 MiB tmpfs (needs root;
// skipped with the reason printed otherwise), after a clean close and after a crash.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from '../entry.js';
import { HANG_MS } from '../helpers.js';
import { inChild, onTmpfs } from './tmpfs.js';

const value = (i: number): Buffer => Buffer.alloc(1000, i % 251);

/** Takes every byte left on the disk holding `file`: large writes until ENOSPC, then smaller ones down to single bytes. */
function fillToLastByte(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const size of [64 * 1024, 4096, 512, 1]) {
      try { for (;;) if (fs.writeSync(fd, Buffer.alloc(size)) === 0) break; } catch (err) { expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC'); }
    }
  } finally {
    fs.closeSync(fd);
  }
  expect(fs.statfsSync(path.dirname(file)).bavail, 'no block left').toBe(0);
  expect(() => fs.writeFileSync(path.join(path.dirname(file), 'probe'), 'x'), 'not even one byte fits').toThrow(/ENOSPC/);
  fs.rmSync(path.join(path.dirname(file), 'probe'), { force: true });
}

describe.each(entries)('$name: the reserve given back, the disk filled to its last byte by another file', (entry) => {
  test('after a clean close: openLog in a new process opens, reads, frees space with truncateBefore and deleteTopic, and appends again', async () => {
    await onTmpfs(async (mnt) => {
      const { openLog, verify } = await entry.load();
      const dir = path.join(mnt, 'log');
      const log = await openLog(dir, { durability: 'fsync' });
      const t = log.topic('t', { segmentBytes: 128 * 1024 });
      for (let i = 0; i < 300; i++) await t.append(value(i));
      const gone = log.topic('gone');
      for (let i = 0; i < 200; i++) await gone.append(value(i));
      await log.close();
      fs.rmSync(path.join(dir, '~reserve')); // given back (harmless by hand, docs/format.md)
      fillToLastByte(path.join(mnt, 'filler'));
      const out = inChild(entry, dir, `
        const log = await openLog(dir, { durability: 'fsync' });
        out.lockIsLink = (await import('node:fs')).lstatSync(dir + '/~seglog.lock').isSymbolicLink();
        const t = log.topic('t');
        out.endOffset = t.endOffset;
        out.tail = [...t.read({ from: 280 })].every((r) => r.valueBytes.equals(value(r.offset)));
        out.whileFull = await codeOf(t.append(value(300)));
        await t.truncateBefore(150);
        out.startOffset = t.startOffset;
        await log.deleteTopic('gone');
        out.after = await t.append(value(300));
        out.close = await codeOf(log.close());`);
      expect(out).toEqual({ lockIsLink: true, endOffset: 300, tail: true, whileFull: 'ERR_NO_SPACE', startOffset: 150, after: 300, close: 'ok' });
      expect(fs.existsSync(path.join(dir, '~seglog.lock')), 'the closing process removed its lock').toBe(false);
      fs.rmSync(path.join(mnt, 'filler'));
      expect((await verify(dir)).ok).toBe(true);
      const again = await openLog(dir);
      expect(again.topics()).toEqual(['t']);
      expect([again.topic('t').startOffset, again.topic('t').endOffset]).toEqual([150, 301]);
      await again.close();
    });
  });

  test('after a crash (the writer killed once the disk was full): openLog in a new process opens, reads, frees space with retention and truncateBefore, and appends again', async () => {
    await onTmpfs(async (mnt) => {
      const dir = path.join(mnt, 'log');
      const writer = `
        const { openLog } = await import(${JSON.stringify(entry.dist)});
        const value = (i) => Buffer.alloc(1000, i % 251);
        const log = await openLog(${JSON.stringify(dir)}, { durability: 'fsync' });
        const t = log.topic('t');
        for (let i = 0; i < 10; i++) await t.append(value(i));
        const fill = log.topic('fill', { segmentBytes: 128 * 1024, retention: { maxAgeMs: 3600000 } });
        try { for (let i = 0; ; i++) await fill.append(value(i)); } catch (e) { if (e.code !== 'ERR_NO_SPACE') throw e; }
        console.log(JSON.stringify({ fill: fill.endOffset }));
        process.kill(process.pid, 'SIGKILL');`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', writer], { encoding: 'utf8', timeout: HANG_MS });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      const before = JSON.parse(r.stdout.trim().split('\n').pop()!) as { fill: number };
      expect(fs.existsSync(path.join(dir, '~reserve')), 'the filling writer gave the reserve back').toBe(false);
      expect(fs.existsSync(path.join(dir, '~seglog.lock')), 'the killed writer left its lock').toBe(true);
      fillToLastByte(path.join(mnt, 'filler'));
      const out = inChild(entry, dir, `
        const log = await openLog(dir, { durability: 'fsync' });
        // The stale lock taken over (its guard a symlink; the lock a file again in the block the stale one freed, or a symlink).
        const fs = await import('node:fs'), lock = dir + '/~seglog.lock';
        out.lockNamesMe = (fs.lstatSync(lock).isSymbolicLink() ? fs.readlinkSync(lock, 'utf8') : fs.readFileSync(lock, 'utf8')).startsWith(process.pid + ' ');
        const t = log.topic('t');
        out.t = [...t.read()].map((r) => r.valueBytes.equals(value(r.offset)) ? r.offset : -1);
        out.fillEnd = log.topic('fill').endOffset;
        out.whileFull = await codeOf(t.append(value(10)));
        const fill = log.topic('fill');
        out.retention = (await fill.enforceRetention(Date.now() + 7200000)).segmentsDeleted > 0; // every closed segment is older than an hour then
        await fill.truncateBefore(fill.endOffset);
        out.after = await t.append(value(10));
        out.close = await codeOf(log.close());`);
      expect(out).toEqual({ lockNamesMe: true, t: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], fillEnd: before.fill, whileFull: 'ERR_NO_SPACE', retention: true, after: 10, close: 'ok' });
      fs.rmSync(path.join(mnt, 'filler'));
      const { openLog, verify } = await entry.load();
      expect((await verify(dir)).ok).toBe(true);
      const again = await openLog(dir);
      expect(again.topic('t').endOffset).toBe(11);
      expect(again.topic('fill').startOffset).toBe(before.fill);
      await again.close();
    });
  });
});
