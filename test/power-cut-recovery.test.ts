// Power cuts recover without help (issue 11, item 1). A child writer under durability 'os' appends,
// resolves flush(), appends more (never fsynced) and is killed; then only the bytes written after
// the flush are damaged the ways a power cut damages them: a write dropped while a later one was
// kept, a torn write, stale bytes, a cut. openLog without repair must open every such directory,
// cut at the first damage, keep the cut bytes aside in a `.cut` file (listed by verify, published
// on seglog:recovery), and keep every flushed record. The same damage before the flush point (data
// a completed fsync covered) stays ERR_CORRUPT naming the file.
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readPathEntries } from './entry.js';
import { collect, expectSeglogError, harness, killHard, segmentPath, spawnFixture } from './helpers.js';
import { scanLog, type ParsedBatch } from './format-reader.js';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { fillDisk, inChild, onTmpfs } from './faults/tmpfs.js';

const BEFORE = 30;
const AFTER = 12;
const value = (i: number): string => `record ${i} ${'x'.repeat((i * 13) % 50)}`;

type Damage = { name: string; apply: (log: Buffer, after: ParsedBatch[], before: ParsedBatch[]) => Buffer; cutAt: (after: ParsedBatch[]) => ParsedBatch; keptAside: boolean };

/** The damages a power cut does to unsynced writes, all past the flush point. */
const damages: Damage[] = [
  {
    name: 'a write dropped while later ones were kept (a hole of zeros)',
    apply: (log, after) => { const b = after[2]!; log.fill(0, b.position, b.position + b.batchBytes); return log; },
    cutAt: (after) => after[2]!, keptAside: true,
  },
  {
    name: 'a torn write (its second half never reached the disk) with later writes kept',
    apply: (log, after) => { const b = after[3]!; log.fill(0, b.position + (b.batchBytes >> 1), b.position + b.batchBytes); return log; },
    cutAt: (after) => after[3]!, keptAside: true,
  },
  {
    name: 'stale bytes: an older valid batch where a dropped write should be',
    apply: (log, after, before) => {
      const b = after[1]!;
      const old = before.find((x) => x.batchBytes === b.batchBytes) ?? before[0]!;
      log.set(log.subarray(old.position, old.position + Math.min(old.batchBytes, b.batchBytes)), b.position);
      return log;
    },
    cutAt: (after) => after[1]!, keptAside: true,
  },
  {
    name: 'several writes dropped, the last one kept',
    apply: (log, after) => { const from = after[1]!.position; const to = after.at(-2)!.position; log.fill(0, from, to); return log; },
    cutAt: (after) => after[1]!, keptAside: true,
  },
  {
    name: 'a cut in the middle of a batch (nothing after it)',
    apply: (log, after) => log.subarray(0, after[4]!.position + 9),
    cutAt: (after) => after[4]!, keptAside: false,
  },
];

describe.each(readPathEntries)('$name: power-cut damage past the flush point', (entry) => {
  const h = harness(entry);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-power-cut-'));
  const template = path.join(root, 'template');
  let flushedEnd = 0;
  let before: ParsedBatch[] = [];
  let after: ParsedBatch[] = [];

  beforeAll(async () => {
    fs.mkdirSync(template);
    const child = spawnFixture(h, 'power-cut-writer.mjs', [entry.dist, template, String(BEFORE), String(AFTER)]);
    const flushed = await child.waitFor((l) => l.startsWith('flushed'));
    flushedEnd = Number(flushed.split(' ')[1]);
    expect(await child.waitFor((l) => l.startsWith('done'))).toBe(`done ${BEFORE + AFTER}`);
    await killHard(child);
    const scan = scanLog(fs.readFileSync(segmentPath(template, 'p', 0, 'log')), 0);
    expect(scan.error).toBeUndefined();
    before = scan.batches.filter((b) => b.baseOffset < flushedEnd);
    after = scan.batches.filter((b) => b.baseOffset >= flushedEnd);
    expect(flushedEnd).toBe(BEFORE);
    expect(after.length).toBeGreaterThanOrEqual(AFTER);
  });
  afterAll(() => { fs.rmSync(root, { recursive: true, force: true }); });

  function damagedCopy(apply: (log: Buffer) => Buffer): { dir: string; file: string; original: Buffer } {
    const dir = h.tmp();
    fs.cpSync(template, dir, { recursive: true });
    const file = segmentPath(dir, 'p', 0, 'log');
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, apply(Buffer.from(original)));
    return { dir, file, original };
  }

  test('a disk too full to keep the cut bytes: openLog opens (reserve given back, then the cut left pending), reads stop at the cut, appends wait for room; with room they are kept and appends go on', async () => {
    const damage = damages[0]!;
    const { dir, file } = damagedCopy((log) => damage.apply(log, after, before));
    const damagedBytes = fs.readFileSync(file);
    const cut = damage.cutAt(after);
    const cutFds = new Set<number>();
    let full = true;
    let refusedCopies = 0;
    const io: FileIO = {
      ...nodeFileIO,
      open(p: string, flags: string): number {
        const fd = nodeFileIO.open(p, flags);
        if (p.endsWith('.cut')) cutFds.add(fd); else cutFds.delete(fd);
        return fd;
      },
      write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
        if (full && cutFds.has(fd)) {
          refusedCopies++;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return nodeFileIO.write(fd, buf, offset, length, position);
      },
    };
    const meta = entry.name === 'seglog/native-free' ? fileMetaStore : lmdbMetaStore;
    const cutFiles = (): string[] => fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.cut'));
    const events: Array<{ action: string; file?: string; position?: number }> = [];
    const onEvent = (m: unknown): void => { events.push(m as { action: string }); };
    diagnostics_channel.subscribe('seglog:recovery', onEvent);
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const copiesBefore = refusedCopies;
        const log = await openLogWith({ meta, io }, dir);
        expect(refusedCopies - copiesBefore, 'the copy is tried again once the reserve is given back (statfs shows room, so each open writes it again)').toBe(2);
        expect(fs.existsSync(path.join(dir, '~reserve')), 'the reserve was given back for the copy').toBe(false);
        const t = log.topic('p');
        expect(t.endOffset).toBe(cut.baseOffset);
        const records = collect(t.read());
        expect(records.map((r) => r.valueBytes!.toString())).toEqual(records.map((_, i) => value(i)));
        expect(records.length).toBe(cut.baseOffset);
        await expect(t.append(Buffer.from('refused'))).rejects.toMatchObject({ code: 'ERR_NO_SPACE', file, position: cut.position });
        expect(() => t.appendSync(Buffer.from('refused'))).toThrow(expect.objectContaining({ code: 'ERR_NO_SPACE' }));
        await log.close();
        expect(cutFiles(), `attempt ${attempt}: no partial copy is left`).toEqual([]);
        expect(fs.readFileSync(file).equals(damagedBytes), 'the cut bytes are still in the segment, untouched').toBe(true);
        expect(events.some((e) => e.action === 'cut-pending' && e.file === file && e.position === cut.position)).toBe(true);
        events.length = 0;
      }
      // space comes back while the log is open: the next append keeps the bytes, then goes on
      const log = await openLogWith({ meta, io }, dir);
      full = false;
      const t = log.topic('p');
      expect(await t.append(Buffer.from('next'))).toBe(cut.baseOffset);
      expect(fs.readFileSync(path.join(path.dirname(file), `${path.basename(file)}.cut`)).equals(damagedBytes.subarray(cut.position)), 'kept byte for byte').toBe(true);
      expect(events.some((e) => e.action === 'cut' && e.file === file && e.position === cut.position)).toBe(true);
      expect(fs.statSync(path.join(dir, '~reserve')).size, 'the reserve is written again').toBe(128 * 1024);
      await log.close();
      expect(cutFiles()).toEqual([`${path.basename(file)}.cut`]);
      const again = await openLogWith({ meta }, dir);
      expect(again.topic('p').endOffset).toBe(cut.baseOffset + 1);
      expect(collect(again.topic('p').read()).at(-1)!.valueBytes!.toString()).toBe('next');
      await again.close();
    } finally {
      diagnostics_channel.unsubscribe('seglog:recovery', onEvent);
    }
  });

  test('on a real full disk (a 2 MiB tmpfs): openLog opens with the cut pending, in a new process too; once space is free an append there keeps the bytes and goes on', async () => {
    const damage = damages[0]!;
    const cut = damage.cutAt(after);
    // 640 KiB more after the damage: more than the space reserve gives back
    const { dir: source, file: sourceFile } = damagedCopy((log) => Buffer.concat([damage.apply(log, after, before), Buffer.alloc(640 * 1024)]));
    const damagedBytes = fs.readFileSync(sourceFile);
    const ran = await onTmpfs(async (mnt) => {
      const dir = path.join(mnt, 'log');
      fs.cpSync(source, dir, { recursive: true });
      const file = segmentPath(dir, 'p', 0, 'log');
      const cutFiles = (): string[] => fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.cut'));
      const filler = path.join(mnt, 'filler');
      fillDisk(filler);
      const events: Array<{ action: string; file?: string; position?: number }> = [];
      const onEvent = (m: unknown): void => { events.push(m as { action: string }); };
      diagnostics_channel.subscribe('seglog:recovery', onEvent);
      try {
        const log = await h.open(dir);
        const t = log.topic('p');
        expect(t.endOffset).toBe(cut.baseOffset);
        expect(collect(t.read()).map((r) => r.valueBytes!.toString())).toEqual(Array.from({ length: cut.baseOffset }, (_, i) => value(i)));
        await expect(t.append(Buffer.from('refused'))).rejects.toMatchObject({ code: 'ERR_NO_SPACE', file, position: cut.position });
        await log.close();
      } finally {
        diagnostics_channel.unsubscribe('seglog:recovery', onEvent);
      }
      expect(events.some((e) => e.action === 'cut-pending' && e.file === file && e.position === cut.position)).toBe(true);
      expect(cutFiles()).toEqual([]);
      expect(fs.readFileSync(file).equals(damagedBytes), 'the cut bytes are still in the segment').toBe(true);
      const whileFull = inChild(entry, dir, `
        const log = await openLog(dir);
        const t = log.topic('p');
        out.endOffset = t.endOffset;
        out.read = [...t.read()].length;
        out.append = await codeOf(t.append(Buffer.from('refused')));
        await log.close();`);
      expect(whileFull).toEqual({ endOffset: cut.baseOffset, read: cut.baseOffset, append: 'ERR_NO_SPACE' });
      expect(fs.readFileSync(file).equals(damagedBytes)).toBe(true);
      fs.rmSync(filler);
      const freed = inChild(entry, dir, `
        const log = await openLog(dir);
        out.appended = await log.topic('p').append(Buffer.from('next'));
        await log.close();`);
      expect(freed).toEqual({ appended: cut.baseOffset });
      expect(cutFiles()).toEqual([`${path.basename(file)}.cut`]);
      expect(fs.readFileSync(`${file}.cut`).equals(damagedBytes.subarray(cut.position)), 'kept byte for byte').toBe(true);
      const again = await h.open(dir);
      expect(again.topic('p').endOffset).toBe(cut.baseOffset + 1);
      expect(collect(again.topic('p').read()).at(-1)!.valueBytes!.toString()).toBe('next');
      await again.close();
    });
    if (!ran) console.warn('not run: no tmpfs');
  });

  test.each(damages)('$name: openLog cuts at the damage without repair and keeps every flushed record', async (damage) => {
    const { dir, file } = damagedCopy((log) => damage.apply(log, after, before));
    const damagedBytes = fs.readFileSync(file);
    const cut = damage.cutAt(after);
    const beforeOpen = await h.mod.verify(dir); // verify agrees: what openLog cuts by itself is no error
    expect(beforeOpen.ok, JSON.stringify(beforeOpen.topics[0]?.problems)).toBe(true);
    expect(beforeOpen.topics[0]!.problems.some((p) => p.kind === 'torn-tail' && p.file === file && p.position === cut.position)).toBe(true);
    const events: Array<{ action: string; file?: string; position?: number }> = [];
    const onEvent = (m: unknown): void => { events.push(m as { action: string }); };
    diagnostics_channel.subscribe('seglog:recovery', onEvent);
    try {
      const log = await h.open(dir);
      const t = log.topic('p');
      expect(t.endOffset).toBe(cut.baseOffset);
      const records = collect(t.read());
      expect(records.length).toBe(cut.baseOffset);
      records.forEach((r, i) => expect(r.valueBytes!.toString()).toBe(value(i)));
      expect(await t.append(Buffer.from('next'))).toBe(cut.baseOffset);
      await log.close();
    } finally {
      diagnostics_channel.unsubscribe('seglog:recovery', onEvent);
    }
    const cutFile = `${file}.cut`;
    if (damage.keptAside) {
      expect(fs.readFileSync(cutFile).equals(damagedBytes.subarray(cut.position)), 'the cut bytes are kept byte for byte').toBe(true);
      expect(events.some((e) => e.action === 'cut' && e.file === file && e.position === cut.position)).toBe(true);
      const report = await h.mod.verify(dir);
      expect(report.ok).toBe(true);
      const listed = report.topics[0]!.problems.filter((p) => p.kind === 'cut');
      expect(listed.map((p) => p.file)).toEqual([cutFile]);
      expect(listed[0]!.severity).toBe('warning');
    } else {
      expect(fs.existsSync(cutFile)).toBe(false);
      expect(events.some((e) => e.action === 'truncate' && e.file === file)).toBe(true);
    }
  });

  test('the same damage before the flush point (covered by a completed fsync) is ERR_CORRUPT naming the file; nothing is cut', async () => {
    const { dir, file, original } = damagedCopy((log) => { const b = before[BEFORE >> 1]!; log.fill(0, b.position, b.position + b.batchBytes); return log; });
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(false);
    expect(report.topics[0]!.problems.some((p) => p.severity === 'error' && p.file === file)).toBe(true);
    await expectSeglogError(h.mod, () => h.open(dir), 'ERR_CORRUPT', [file]);
    expect(fs.statSync(file).size).toBe(original.length);
    expect(fs.existsSync(`${file}.cut`)).toBe(false);
  });

  test('a second power cut that damages the same segment again keeps its bytes in a second cut file', async () => {
    const { dir, file } = damagedCopy((log) => damages[0]!.apply(log, after, before));
    const log = await h.open(dir);
    await log.close();
    // damage again: a hole at the same place, now with valid batches of another template after it
    const again = Buffer.concat([fs.readFileSync(file), Buffer.alloc(60), fs.readFileSync(segmentPath(template, 'p', 0, 'log')).subarray(after[3]!.position, after[4]!.position)]);
    fs.writeFileSync(file, again);
    const log2 = await h.open(dir);
    expect(log2.topic('p').endOffset).toBe(after[2]!.baseOffset);
    await log2.close();
    expect(fs.readdirSync(path.join(dir, 'p')).filter((f) => f.endsWith('.cut')).sort()).toEqual(['00000000000000000000.log.1.cut', '00000000000000000000.log.cut']);
  });
});
