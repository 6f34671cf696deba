// A group position (or a range finished out of order) committed past the end that recovery keeps:
// under durability 'fsync' a record handed to the OS is delivered to a member, which commits it;
// the record's fsync then fails (EIO), the append rejects, the log cuts back to the last good fsync
// (docs/guarantees.md), and after a reopen its offset goes to the next append. The group must
// resume at that end, so the acknowledged record that now holds the offset reaches it (SPEC: an
// acknowledged record is never skipped). src/consumer-groups.ts clamps at load. Found by review.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';
import { withinHangBound } from './helpers.js';

/**
 * node:fs where the next fsync of a .log, once armed, waits until released and then fails with EIO
 * (its records were handed to the OS, so delivered, and are then taken back).
 */
function failingFsyncIO(): { io: FileIO; failNextLogFsync: () => () => void } {
  const logFds = new Set<number>();
  let gate: Promise<void> | undefined;
  const io: FileIO = {
    ...nodeFileIO,
    open(p, flags) { const fd = nodeFileIO.open(p, flags); if (p.endsWith('.log')) logFds.add(fd); else logFds.delete(fd); return fd; },
    async fsync(fd) {
      if (logFds.has(fd) && gate !== undefined) {
        await gate;
        gate = undefined;
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      }
      return nodeFileIO.fsync(fd);
    },
  };
  const failNextLogFsync = (): (() => void) => {
    let release = (): void => undefined;
    gate = new Promise<void>((r) => { release = r; });
    return release;
  };
  return { io, failNextLogFsync };
}

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

describe.each([['seglog', lmdbMetaStore], ['native-free', fileMetaStore]] as const)('%s', (name, meta) => {
  test('a committed position past a record whose fsync failed skips the record that later takes its offset', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-cbff-'));
    dirs.push(dir);
    const { io, failNextLogFsync } = failingFsyncIO();
    const log = await openLogWith({ meta, io }, dir, { durability: 'fsync' });
    log.on('error', () => undefined);
    const t = log.topic('jobs');
    for (let i = 0; i < 10; i++) await t.append(Buffer.from(`job ${i}`));
    const sub = t.subscribe({ group: 'g' });
    for (let i = 0; i < 10; i++) await sub.next();
    const release = failNextLogFsync();
    const pending = t.append(Buffer.from('job 10')).then((o) => `resolved ${o}`, (e) => `rejected ${e.code}`);
    expect((await sub.next()).value!.offset).toBe(10);
    await sub.commit();
    release();
    expect(await pending).toBe('rejected ERR_IO');
    await sub.close().catch(() => undefined);
    await log.close().catch(() => undefined);

    const again = await openLogWith({ meta }, dir);
    const t2 = again.topic('jobs');
    expect(await t2.append(Buffer.from('acknowledged job'))).toBe(t2.endOffset - 1);
    const s2 = t2.subscribe({ group: 'g' });
    expect(s2.position, 'the group resumes at the acknowledged record').toBe(t2.endOffset - 1);
    const got = (await withinHangBound(s2.next(), 'the acknowledged record')).value!.offset;
    expect(got, 'the acknowledged record is delivered to the group').toBe(t2.endOffset - 1);
    await s2.close();
    await again.close();
  });

  test('finished-out-of-order ranges past a failed fsync mark the records that later take those offsets as finished', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rv-cbff2-'));
    dirs.push(dir);
    const { io, failNextLogFsync } = failingFsyncIO();
    const log = await openLogWith({ meta, io }, dir, { durability: 'fsync' });
    log.on('error', () => undefined);
    const t = log.topic('jobs');
    for (let i = 0; i < 10; i++) await t.append(Buffer.from(`job ${i}`));
    const release = failNextLogFsync();
    const pending = Promise.allSettled([0, 1, 2, 3].map((i) => t.append(Buffer.from(`job ${10 + i}`))));
    const a = t.subscribe({ group: 'g', from: 10 } as any);
    const b = t.subscribe({ group: 'g' });
    await t.groups(); // (no-op)
    const ga = (await a.next()).value!.offset;
    const gb: number[] = [];
    for (let i = 0; i < 3; i++) gb.push((await b.next()).value!.offset);
    release();
    await log.close().catch(() => undefined);
    const again = await openLogWith({ meta }, dir);
    const t2 = again.topic('jobs');
    for (let i = 0; i < 4; i++) await t2.append(Buffer.from(`acknowledged ${i}`));
    const s = t2.subscribe({ group: 'g' });
    const got: unknown[] = [];
    expect(s.position).toBe(10);
    for (let i = 0; i < 4; i++) got.push((await withinHangBound(s.next(), `record ${10 + i}`)).value!.offset);
    expect(got, 'every acknowledged record is delivered to the group').toEqual([10, 11, 12, 13]);
    await again.close();
  });
});
