// log.backup(destDir) and `seglog backup`: an online copy that opens as a cleanly closed log. Each
// case checks the copy against the source record by record (same offset, key, value bytes,
// timestamp), that verify() finds nothing, and that opening it publishes no recovery action. Runs
// against both entry points; the copy (file-system) mode is forced through a FileIO without links.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { entries, type Entry } from './entry.js';
import { HANG_MS, collect, expectSeglogError, harness, killHard, spawnFixture, type Harness } from './helpers.js';
import type { Log, Topic } from '../src/index.js';
import { openLogWith, type LogWiring } from '../src/log.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { openConvertingLmdbStore } from '../src/store/neutral.js';
import type { FileIO } from '../src/io/file-io.js';

const BIN = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), 'dist/src/cli/main.js');

function wiringFor(entry: Entry, io: FileIO): LogWiring {
  return entry.name === 'seglog/native-free'
    ? { meta: fileMetaStore, io }
    : { meta: (d, ro, o) => openConvertingLmdbStore(d, ro, lmdbMetaStore, o), io };
}

/** [offset, key, value, timestamp] of every record, for comparing two logs. */
function records(t: Topic<Buffer>): Array<[number, string | undefined, string, number]> {
  return collect(t.read({ from: t.startOffset })).map((r) => [r.offset, r.key?.toString('hex'), r.valueBytes?.toString('hex') ?? 'null', r.timestamp]);
}

/** Opens the copy, asserting verify() finds nothing and the open publishes no recovery action. */
async function openCopy(h: Harness, dest: string): Promise<Log> {
  const report = await h.mod.verify(dest);
  expect(report.ok, JSON.stringify(report.topics.flatMap((t) => t.problems))).toBe(true);
  expect(report.topics.flatMap((t) => t.problems)).toEqual([]);
  const actions: unknown[] = [];
  const listen = (e: unknown): void => { actions.push(e); };
  diagnostics_channel.subscribe('seglog:recovery', listen);
  try {
    return await h.open(dest);
  } finally {
    diagnostics_channel.unsubscribe('seglog:recovery', listen);
    expect(actions).toEqual([]);
  }
}

function leftovers(dest: string): string[] {
  return fs.readdirSync(path.dirname(dest)).filter((n) => n.startsWith(path.basename(dest)));
}

describe.each(entries)('backup ($name)', (entry) => {
  const h = harness(entry);

  test('a backup while a writer appends and rolls holds every record appended before it started, identical; the copy opens clean', async () => {
    const root = h.tmp();
    const log = await h.open(path.join(root, 'src'));
    const t = log.topic('events', { segmentBytes: 4096 });
    for (let i = 0; i < 500; i++) t.appendSync(Buffer.from(`before ${i}`), { key: `k${i % 5}`, headers: { n: String(i) } });
    const before = t.endOffset;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await t.append(Buffer.from(`during ${i}`.padEnd(200, '.')));
    })();
    const progress: number[] = [];
    await log.backup(path.join(root, 'copy'), { onProgress: (p) => { progress.push(p.copiedBytes); expect(p.copiedBytes).toBeLessThanOrEqual(p.totalBytes); } });
    writing = false;
    await writer;
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const copy = await openCopy(h, path.join(root, 'copy'));
    const c = copy.topic('events');
    expect(c.endOffset).toBeGreaterThanOrEqual(before);
    expect(c.endOffset).toBeLessThanOrEqual(t.endOffset);
    const all = records(t);
    expect(records(c)).toEqual(all.slice(0, c.endOffset));
    expect(c.get(7)?.headers.n?.toString()).toBe('7');
    // the copy is a log of its own: it takes appends at its end
    expect(await c.append(Buffer.from('after'))).toBe(c.endOffset - 1);
  });

  test('group positions and out-of-order ranges are copied as they were when the backup started; options too', async () => {
    const root = h.tmp();
    const log = await h.open(path.join(root, 'src'));
    const t = log.topic<string>('jobs', { codec: 'string', segmentBytes: 2048 });
    for (let i = 0; i < 100; i++) t.appendSync(`job ${i}`);
    const sub = t.subscribe({ group: 'mailer' });
    let n = 0;
    for await (const r of sub) { void r; if (++n === 30) break; } // 29 finished, the 30th in hand
    await sub.close();
    await t.resetGroup('auditor', 70);
    await log.backup(path.join(root, 'copy'));
    await t.resetGroup('auditor', 90); // after the backup: not in the copy
    const copy = await openCopy(h, path.join(root, 'copy'));
    const c = copy.topic<string>('jobs');
    expect(c.groups().map(({ group, position }) => [group, position]).sort()).toEqual([['auditor', 70], ['mailer', 29]]);
    expect(c.get(5)?.value).toBe('job 5'); // the stored codec came along
    expect(copy.stats().topics.jobs!.segments).toBe(log.stats().topics.jobs!.segments);
  });

  test('retention and compaction of the source during the backup change nothing in the copy', async () => {
    const root = h.tmp();
    const log = await h.open(path.join(root, 'src'));
    const kv = log.topic('kv', { cleanup: 'compact', segmentBytes: 2048 });
    const audit = log.topic('audit', { segmentBytes: 2048 });
    for (let i = 0; i < 600; i++) {
      kv.appendSync(Buffer.from(`v${i}`.padEnd(40, '-')), { key: `key${i % 10}` });
      audit.appendSync(Buffer.from(`a${i}`.padEnd(40, '-')));
    }
    await log.flush();
    const kvBefore = records(kv);
    const auditBefore = records(audit);
    let work: Promise<unknown> | undefined;
    await log.backup(path.join(root, 'copy'), {
      onProgress: () => {
        // once the snapshot is taken (the first report), the source changes under the copy
        work ??= Promise.all([kv.compact(), audit.truncateBefore(400)]);
      },
    });
    await work;
    expect(audit.startOffset).toBe(400);
    await kv.compact();
    expect(records(kv).length).toBeLessThan(kvBefore.length);
    const copy = await openCopy(h, path.join(root, 'copy'));
    expect(records(copy.topic('kv'))).toEqual(kvBefore);
    expect(records(copy.topic('audit'))).toEqual(auditBefore);
    expect(copy.topic('kv').latest('key3')?.valueBytes?.toString()).toBe(kv.latest('key3')?.valueBytes?.toString());
  });

  test('without hard links (another file system) the files are copied; retention waits for the backup', async () => {
    const root = h.tmp();
    const io: FileIO = { ...nodeFileIO, link() { throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' }); } };
    const log = await openLogWith(wiringFor(entry, io), path.join(root, 'src'));
    try {
      const t = log.topic('events', { segmentBytes: 2048 });
      for (let i = 0; i < 400; i++) t.appendSync(Buffer.from(`r${i}`.padEnd(50, '+')));
      await log.flush();
      const before = records(t);
      const logFiles = (): number => fs.readdirSync(path.join(root, 'src', 'events')).filter((f) => f.endsWith('.log')).length;
      const segmentsBefore = logFiles();
      let truncated: Promise<void> | undefined;
      let linked = -1;
      await log.backup(path.join(root, 'copy'), {
        onProgress: (p) => { linked = p.linkedBytes; truncated ??= t.truncateBefore(300); },
      });
      await truncated;
      expect(linked).toBe(0);
      const copy = await openCopy(h, path.join(root, 'copy'));
      expect(records(copy.topic('events'))).toEqual(before);
      // the truncation during the backup raised the start offset but left the pinned files; with
      // the pins gone, the next one removes them
      expect(t.startOffset).toBe(300);
      expect(logFiles()).toBe(segmentsBefore);
      await t.truncateBefore(300);
      expect(logFiles()).toBeLessThan(segmentsBefore);
    } finally {
      await log.close();
    }
  });

  test('a read-only log next to its writer backs up what it sees', async () => {
    const root = h.tmp();
    const writer = await h.open(path.join(root, 'src'));
    const t = writer.topic('events', { segmentBytes: 2048 });
    for (let i = 0; i < 300; i++) t.appendSync(Buffer.from(`r${i}`.padEnd(30, '*')));
    await writer.flush();
    const ro = await h.open(path.join(root, 'src'), { readOnly: true });
    for (let i = 0; i < 50; i++) t.appendSync(Buffer.from(`later ${i}`));
    await writer.flush();
    await ro.backup(path.join(root, 'copy')); // refreshes first: the later records are in
    const copy = await openCopy(h, path.join(root, 'copy'));
    expect(records(copy.topic('events'))).toEqual(records(t));
  });

  test('an aborted backup rejects with ERR_ABORTED, leaves no destination and nothing beside it', async () => {
    const root = h.tmp();
    const log = await h.open(path.join(root, 'src'));
    const t = log.topic('events', { segmentBytes: 2048 });
    for (let i = 0; i < 2000; i++) t.appendSync(Buffer.from(`r${i}`.padEnd(100, '=')));
    const dest = path.join(root, 'copy');
    await expectSeglogError(h.mod, () => log.backup(dest, { signal: AbortSignal.abort() }), 'ERR_ABORTED', [dest]);
    expect(leftovers(dest)).toEqual([]);
    const controller = new AbortController();
    const reason = new Error('enough');
    const err = await expectSeglogError(h.mod, () => log.backup(dest, {
      signal: controller.signal,
      onProgress: (p) => { if (p.copiedFiles >= 2) controller.abort(reason); },
    }), 'ERR_ABORTED', ['enough', dest]);
    // the same error shape as compact/enforceRetention/verify (src/base/abort.ts): the reason as cause
    expect(err.cause).toBe(reason);
    expect((err as { file?: string }).file).toBe(dest);
    expect(leftovers(dest)).toEqual([]);
    // a throwing onProgress fails the backup the same way
    await expect(log.backup(dest, { onProgress: () => { throw new Error('progress broke'); } })).rejects.toThrow('progress broke');
    expect(leftovers(dest)).toEqual([]);
    // the source is intact and the next backup works
    await log.backup(dest);
    expect(records((await openCopy(h, dest)).topic('events'))).toEqual(records(t));
  });

  test('a bad destination or bad options are refused, naming them, before anything is written', async () => {
    const root = h.tmp();
    const src = path.join(root, 'src');
    const log = await h.open(src);
    log.topic('events').appendSync(Buffer.from('x'));
    const full = path.join(root, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'notes.txt'), 'mine');
    const file = path.join(root, 'file');
    fs.writeFileSync(file, 'a file');
    await expectSeglogError(h.mod, () => log.backup(full), 'ERR_INVALID_ARGUMENT', [full, 'not empty']);
    expect(fs.readdirSync(full)).toEqual(['notes.txt']);
    await expectSeglogError(h.mod, () => log.backup(file), 'ERR_INVALID_ARGUMENT', [file]);
    expect(fs.readFileSync(file, 'utf8')).toBe('a file');
    await expectSeglogError(h.mod, () => log.backup(src), 'ERR_INVALID_ARGUMENT', [src]);
    await expectSeglogError(h.mod, () => log.backup(path.join(src, 'inside')), 'ERR_INVALID_ARGUMENT', ['inside']);
    await expectSeglogError(h.mod, () => log.backup(root), 'ERR_INVALID_ARGUMENT', [root]);
    await expectSeglogError(h.mod, () => log.backup(''), 'ERR_INVALID_ARGUMENT', ['destination']);
    await expectSeglogError(h.mod, () => log.backup(42 as never), 'ERR_INVALID_ARGUMENT', ['42']);
    await expectSeglogError(h.mod, () => log.backup(path.join(root, 'a'), { signl: 1 } as never), 'ERR_INVALID_ARGUMENT', ['signl']);
    await expectSeglogError(h.mod, () => log.backup(path.join(root, 'a'), { signal: 'stop' } as never), 'ERR_INVALID_ARGUMENT', ['signal']);
    await expectSeglogError(h.mod, () => log.backup(path.join(root, 'a'), { onProgress: 5 } as never), 'ERR_INVALID_ARGUMENT', ['onProgress']);
    expect(fs.readdirSync(root).sort()).toEqual(['file', 'full', 'src']);
    expect(fs.readdirSync(src).some((n) => n.includes('backup'))).toBe(false);
    // an empty directory is taken (and a missing parent made)
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    await log.backup(empty);
    await log.backup(path.join(root, 'deep', 'er', 'copy'));
    expect((await openCopy(h, empty)).topic('events').endOffset).toBe(1);
    await log.close();
    await expectSeglogError(h.mod, () => log.backup(path.join(root, 'late')), 'ERR_CLOSED', []);
  });

  test('seglog backup copies a closed log and one whose writer runs (read-only), and refuses a non-empty destination', async () => {
    const root = h.tmp();
    const src = path.join(root, 'src');
    const log = await h.open(src);
    const t = log.topic<string>('notes', { codec: 'string', segmentBytes: 1024 });
    for (let i = 0; i < 200; i++) t.appendSync(`note ${i}`);
    await log.flush();
    const env = { ...process.env, ...(entry.name === 'seglog/native-free' ? { SEGLOG_NATIVE_FREE: '1' } : {}) };
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: HANG_MS, env });
    const live = run(['backup', src, path.join(root, 'live')]); // next to the writer (read-only)
    expect(live.stderr).toBe('');
    expect(live.status).toBe(0);
    expect(live.stdout).toMatch(/^backed up .* to .*live: \d+ files/);
    await log.close();
    const closed = run(['backup', src, path.join(root, 'closed')]);
    expect(closed.status).toBe(0);
    const refused = run(['backup', src, path.join(root, 'closed')]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(path.join(root, 'closed'));
    expect(run(['backup', src]).status).toBe(2);
    for (const name of ['live', 'closed']) {
      const copy = await openCopy(h, path.join(root, name));
      expect(collect(copy.topic<string>('notes').read()).map((r) => r.value)).toEqual(Array.from({ length: 200 }, (_, i) => `note ${i}`));
    }
  });

  test('kill -9 in the middle of a backup leaves the source untouched and no destination', async () => {
    const root = h.tmp();
    const src = path.join(root, 'src');
    const dest = path.join(root, 'copy');
    const child = spawnFixture(h, 'backup-killed.mjs', [entry.dist, src, dest]);
    const line = await child.waitFor((l) => l.startsWith('hashes '));
    const { endOffset, hashes } = JSON.parse(line.slice('hashes '.length)) as { endOffset: number; hashes: Record<string, string> };
    await child.waitFor((l) => l === 'copying');
    await killHard(child);
    const now: Record<string, string> = {};
    for (const f of fs.readdirSync(path.join(src, 'events')).sort()) now[f] = crypto.createHash('sha256').update(fs.readFileSync(path.join(src, 'events', f))).digest('hex');
    expect(now).toEqual(hashes);
    expect(fs.existsSync(dest)).toBe(false);
    expect(leftovers(dest).every((n) => n.startsWith('copy.backup-partial-'))).toBe(true);
    expect((await h.mod.verify(src)).ok).toBe(true);
    const log = await h.open(src);
    const t = log.topic('events');
    expect(t.endOffset).toBe(endOffset);
    expect(t.get(2999)?.valueBytes?.toString()).toBe('record 2999 '.padEnd(100, '#'));
  });
});
