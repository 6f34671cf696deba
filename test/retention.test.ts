// Retention through the public API: by age and by size with a fake clock, truncateBefore, the
// automatic pass on roll, readers that outlive the segments they are reading, stats after
// deletions, an interrupted retention, and bad input.
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, expectSeglogError, expectSeglogErrorSync, harness, segmentBases } from './helpers.js';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { nodeFileIO } from '../src/io/node-fs.js';

const T0 = 1_700_000_000_000;
const value = (o: number): Buffer => Buffer.from(`value-${o}-`.padEnd(100, 'x'));

describe.each(entries)('$name: retention', (entry) => {
  const h = harness(entry);

  /** 10 records per segment of ~1.3 KiB; record o has timestamp T0 + o * 1000. */
  async function filled(options: object = {}, records = 100) {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { segmentBytes: 1400, ...options });
    for (let o = 0; o < records; o++) t.appendSync(value(o), { timestamp: T0 + o * 1000 });
    await log.flush();
    return { dir, log, t };
  }

  function filesOf(dir: string): string[] {
    return fs.readdirSync(path.join(dir, 't')).filter((f) => f.endsWith('.log'));
  }

  test('by age: closed segments whose newest record is older than maxAgeMs go, oldest first; the active one stays', async () => {
    const { dir, log, t } = await filled({ retention: { maxAgeMs: 30_000 } });
    const before = segmentBases(dir, 't');
    expect(before.length).toBeGreaterThan(5);
    // now = T0 + 60 s: records with timestamp < T0 + 30 s are past the age limit
    const { segmentsDeleted, bytesFreed } = await t.enforceRetention(T0 + 60_000);
    const after = segmentBases(dir, 't');
    expect(segmentsDeleted).toBe(before.length - after.length);
    expect(segmentsDeleted).toBeGreaterThan(0);
    // every removed segment was wholly past the limit; the first kept one is not
    const firstKept = after[0]!;
    // removed: segments whose newest record (at most firstKept - 1) is older than T0 + 30 s;
    // kept: the first segment holding a record at or past it
    expect(firstKept).toBeLessThanOrEqual(30);
    expect(after[1]!).toBeGreaterThan(30);
    expect(t.get(firstKept)?.offset).toBe(firstKept);
    expect(t.startOffset).toBe(firstKept);
    expect(bytesFreed).toBeGreaterThan(0);
    expectSeglogErrorSync(h.mod, () => t.get(firstKept - 1), 'ERR_OFFSET_OUT_OF_RANGE');
    expect(collect(t.read()).map((r) => r.offset)).toEqual([...Array(100 - firstKept).keys()].map((i) => i + firstKept));
    // far in the future: every closed segment goes, never the active one
    await t.enforceRetention(T0 + 10_000_000);
    expect(filesOf(dir).length).toBe(1);
    expect(log.stats().topics.t!.segments).toBe(1);
    expect(t.endOffset).toBe(100);
    expect(t.appendSync(value(100))).toBe(100);
  });

  test('by age: nothing goes while every segment is young; enforceRetention reports zero', async () => {
    const { dir, t } = await filled({ retention: { maxAgeMs: 3_600_000 } });
    const before = filesOf(dir);
    expect(await t.enforceRetention(T0 + 100_000)).toEqual({ segmentsDeleted: 0, bytesFreed: 0 });
    expect(filesOf(dir)).toEqual(before);
    expect(t.startOffset).toBe(0);
  });

  test('by size: oldest segments go while the topic is over maxBytes; bytesFreed is what left the disk', async () => {
    const { dir, log, t } = await filled({ retention: { maxBytes: 5000 } });
    const sizeOnDisk = () => filesOf(dir).reduce((n, f) => n + fs.statSync(path.join(dir, 't', f)).size, 0);
    const before = sizeOnDisk();
    const { segmentsDeleted, bytesFreed } = await t.enforceRetention(T0);
    const after = sizeOnDisk();
    expect(segmentsDeleted).toBeGreaterThan(0);
    expect(bytesFreed).toBe(before - after);
    expect(after).toBeLessThanOrEqual(5000);
    expect(log.stats().topics.t!.bytes).toBe(after);
    expect(log.stats().topics.t!.segments).toBe(filesOf(dir).length);
    expect(log.stats().topics.t!.startOffset).toBe(segmentBases(dir, 't')[0]);
    // no more than needed: with the last removed segment (all are the same size) it was over the limit
    expect(after + bytesFreed / segmentsDeleted).toBeGreaterThan(5000);
    expect(collect(t.read())[0]!.offset).toBe(t.startOffset);
  });

  test("cleanup 'compact' is not subject to age or size retention; 'compact,delete' is", async () => {
    const a = await filled({ retention: { maxBytes: 1 }, cleanup: 'compact' });
    expect((await a.t.enforceRetention(T0 + 1e9)).segmentsDeleted).toBe(0);
    const b = await filled({ retention: { maxBytes: 1 }, cleanup: 'compact,delete' });
    expect((await b.t.enforceRetention(T0 + 1e9)).segmentsDeleted).toBeGreaterThan(0);
  });

  test('truncateBefore raises startOffset at once and removes the whole segments below it', async () => {
    const { dir, t } = await filled();
    const p = t.truncateBefore(55);
    expect(t.startOffset).toBe(55); // before the promise settles
    expectSeglogErrorSync(h.mod, () => t.get(54), 'ERR_OFFSET_OUT_OF_RANGE');
    await p;
    const bases = segmentBases(dir, 't');
    expect(bases[0]).toBeLessThanOrEqual(55); // the segment holding 55 stays
    expect(bases.length === 1 || bases[1]! > 55).toBe(true);
    expect(collect(t.read()).map((r) => r.offset)[0]).toBe(55);
    expect(t.get(55)!.valueBytes!.equals(value(55))).toBe(true);
  });

  test('truncateBefore: the start offset is durable across close and reopen, also below a segment boundary', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    let t = log.topic('t', { segmentBytes: 1400 });
    for (let o = 0; o < 60; o++) t.appendSync(value(o));
    await t.truncateBefore(33);
    await log.close();
    log = await h.open(dir);
    t = log.topic('t');
    expect(t.startOffset).toBe(33);
    expectSeglogErrorSync(h.mod, () => t.get(32), 'ERR_OFFSET_OUT_OF_RANGE');
    expect(collect(t.read()).map((r) => r.offset)).toEqual([...Array(27).keys()].map((i) => i + 33));
    // truncating to the end leaves an empty topic that keeps its offsets
    await t.truncateBefore(60);
    await log.close();
    log = await h.open(dir);
    t = log.topic('t');
    expect(t.startOffset).toBe(60);
    expect(collect(t.read())).toEqual([]);
    expect(t.appendSync(value(60))).toBe(60);
  });

  test('truncateBefore at or below startOffset changes nothing', async () => {
    const { dir, t } = await filled();
    await t.truncateBefore(40);
    const files = filesOf(dir);
    await t.truncateBefore(10);
    await t.truncateBefore(40);
    expect(t.startOffset).toBe(40);
    expect(filesOf(dir)).toEqual(files);
  });

  test('an iterator in a removed segment goes on: records already handed out keep their bytes, later ones are the right ones', async () => {
    const { t } = await filled();
    const it = t.read()[Symbol.iterator]();
    const first = [it.next().value!, it.next().value!, it.next().value!];
    await t.truncateBefore(t.endOffset); // every closed segment goes, under the iterator
    for (const r of first) expect(r.valueBytes!.equals(value(r.offset))).toBe(true);
    let last = first[2]!.offset;
    for (let r = it.next(); !r.done; r = it.next()) {
      expect(r.value.offset).toBeGreaterThan(last);
      expect(r.value.valueBytes!.equals(value(r.value.offset))).toBe(true);
      last = r.value.offset;
    }
    for (const r of first) expect(r.valueBytes!.equals(value(r.offset))).toBe(true);
    // new reads start at the new start offset
    expect(collect(t.read())).toEqual([]);
  });

  test('many iterators across many removed segments: each reads its segment to the end, no descriptor is reopened by path', async () => {
    const { t } = await filled({}, 300);
    const its = [0, 50, 120, 200].map((from) => {
      const it = t.read({ from })[Symbol.iterator]();
      expect(it.next().value!.offset).toBe(from);
      return { it, from };
    });
    await t.enforceRetention(T0 + 1e12); // no retention configured: nothing goes
    await t.truncateBefore(290);
    for (const { it, from } of its) {
      const seen: number[] = [];
      for (let r = it.next(); !r.done; r = it.next()) {
        expect(r.value.valueBytes!.equals(value(r.value.offset))).toBe(true);
        seen.push(r.value.offset);
      }
      expect(seen[0]).toBe(from + 1);
      expect(seen[seen.length - 1]).toBe(299);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    }
  });

  test('retention runs by itself when a segment rolls (and publishes a retention event)', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { segmentBytes: 1400, retention: { maxBytes: 3000 } });
    const events: Array<{ topic: string; segmentsDeleted: number }> = [];
    const seen = new Promise<void>((resolve) => {
      const listener = (msg: unknown): void => {
        const m = msg as { dir: string; topic: string; segmentsDeleted: number };
        if (m.dir !== path.join(dir, 't') && !m.dir.startsWith(dir)) return;
        events.push(m);
        diagnostics_channel.unsubscribe('seglog:retention', listener);
        resolve();
      };
      diagnostics_channel.subscribe('seglog:retention', listener);
    });
    for (let o = 0; o < 100; o++) t.appendSync(value(o));
    await seen;
    expect(events[0]!.topic).toBe('t');
    expect(events[0]!.segmentsDeleted).toBeGreaterThan(0);
    expect(t.startOffset).toBeGreaterThan(0);
  });

  test('bad input: now that is not a timestamp, truncateBefore past the end, read-only logs', async () => {
    const { dir, log, t } = await filled();
    for (const bad of [-1, 1.5, NaN, '1', null]) {
      await expectSeglogError(h.mod, () => t.enforceRetention(bad as number), 'ERR_INVALID_ARGUMENT');
    }
    await expectSeglogError(h.mod, () => t.truncateBefore(101), 'ERR_INVALID_ARGUMENT', ['101']);
    await expectSeglogError(h.mod, () => t.truncateBefore(Number.NaN), 'ERR_INVALID_ARGUMENT');
    expect(t.startOffset).toBe(0);
    expect(collect(t.read()).length).toBe(100);
    await log.close();
    const ro = await h.open(dir, { readOnly: true });
    const rt = ro.topic('t');
    await expectSeglogError(h.mod, () => rt.truncateBefore(10), 'ERR_READ_ONLY');
    await expectSeglogError(h.mod, () => rt.enforceRetention(), 'ERR_READ_ONLY');
    expect(rt.startOffset).toBe(0);
  });
});

describe.each([['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]] as const)('%s: interrupted retention', (_name, meta) => {
  test('a retention whose unlinks fail leaves files below the start offset; reopen keeps the start offset and the next pass removes them', async () => {
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'seglog-ret-'));
    try {
      let failUnlinks = false;
      const injected = (): NodeJS.ErrnoException => { const e = new Error('EIO: injected') as NodeJS.ErrnoException; e.code = 'EIO'; return e; };
      const io = {
        ...nodeFileIO,
        unlink(p: string) { if (failUnlinks) throw injected(); nodeFileIO.unlink(p); },
        unlinkAsync(p: string) { return failUnlinks ? Promise.reject(injected()) : nodeFileIO.unlinkAsync!(p); },
      };
      let log = await openLogWith({ meta, io }, dir);
      let t = log.topic('t', { segmentBytes: 1400 });
      for (let o = 0; o < 100; o++) t.appendSync(value(o));
      await log.flush();
      failUnlinks = true;
      await expect(t.truncateBefore(70)).rejects.toMatchObject({ code: 'ERR_IO' });
      expect(t.startOffset).toBe(70); // raised (durably) before any file was touched
      failUnlinks = false;
      await log.close();
      log = await openLogWith({ meta }, dir);
      t = log.topic('t');
      expect(t.startOffset).toBe(70);
      expect([...t.read()].map((r) => r.offset)).toEqual([...Array(30).keys()].map((i) => i + 70));
      const bases = segmentBases(dir, 't');
      const holding = Math.max(...bases.filter((b) => b <= 70));
      expect(bases[0]).toBeLessThan(holding); // the leftovers are still there
      await t.truncateBefore(70); // the next pass removes them
      expect(segmentBases(dir, 't')[0]).toBe(holding);
      expect([...t.read()].map((r) => r.offset)[0]).toBe(70);
      await log.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
