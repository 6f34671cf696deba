// Mapped reads (issue 17): the addon (native/seglog_mmap.c) maps files and hands out views that
// outlive close, unlink and replacement; MapPool bounds resident pages (madvise) and live mappings,
// and a failing mapping leaves its segment on positional reads; the default entry reads closed
// segments through mappings (stats().io, mapped reads), and falls back to positional reads with
// mmap: false, SEGLOG_MMAP=0, in seglog/native-free, and when the addon is missing; what may be
// cut is never sealed, and a sealed segment is never cut (Segment.truncateLog).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, test } from 'vitest';
import { loadMmapAddon } from '../src/io/mmap-addon.js';
import { chooseReadPath, mmapOffByEnv, type Mapper } from '../src/io/mapper.js';
import { MapPool, type MappedSegment } from '../src/segment/map-pool.js';
import { Segment } from '../src/segment/segment.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { sealBelow, sealDurable, sealRecovered } from '../src/log/seal.js';
import * as seglog from '../src/index.js';
import * as nativeFree from '../native-free/index.js';
import { collect, expectSeglogError } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-mmap-'));
  dirs.push(d);
  return d;
}

const addon = loadMmapAddon();
const mapper = addon.mapper!;

function fileWith(bytes: Buffer): string {
  const f = path.join(tmp(), 'f.log');
  fs.writeFileSync(f, bytes);
  return f;
}

function mapFile(file: string, length = fs.statSync(file).size): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const ab = mapper.map(fd, length);
    return Buffer.from(ab, 0, ab.byteLength);
  } finally {
    fs.closeSync(fd); // the mapping does not need the descriptor
  }
}

/** Collects garbage until the live mappings fall to `target` (finalizers run after a GC, on the thread's next turns). */
async function liveAfterGc(target: number): Promise<number> {
  for (let i = 0; i < 50 && mapper.liveMappings() > target; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return mapper.liveMappings();
}

describe('the mapped-reads addon', () => {
  test('it loads in this build (the install built it), and this runtime takes external buffers', () => {
    expect(addon.io, addon.reason).toBe('mmap');
    expect(mmapOffByEnv({})).toBe(false);
    expect(mmapOffByEnv({ SEGLOG_MMAP: '0' })).toBe(true);
    expect(mmapOffByEnv({ SEGLOG_MMAP: 'off' })).toBe(true);
    expect(mmapOffByEnv({ SEGLOG_MMAP: '1' })).toBe(false);
  });

  test('a mapping holds the file\'s bytes; a view outlives the descriptor, an unlink and a replacement by rename', () => {
    const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    const file = fileWith(bytes);
    const view = mapFile(file).subarray(1000, 90_000);
    expect(view.equals(bytes.subarray(1000, 90_000))).toBe(true);
    fs.writeFileSync(file + '.new', Buffer.alloc(10, 7));
    fs.renameSync(file + '.new', file); // replaced: the mapping keeps the old inode
    expect(view.equals(bytes.subarray(1000, 90_000))).toBe(true);
    fs.unlinkSync(file);
    expect(view.equals(bytes.subarray(1000, 90_000))).toBe(true);
  });

  test('a 0-byte file maps to an empty buffer; mapping only a prefix never shows bytes appended later', () => {
    const empty = fileWith(Buffer.alloc(0));
    expect(mapFile(empty).length).toBe(0);
    const file = fileWith(Buffer.alloc(5000, 1));
    const m = mapFile(file, 5000);
    fs.appendFileSync(file, Buffer.alloc(5000, 2));
    expect(m.length).toBe(5000);
    expect(m.every((b) => b === 1)).toBe(true);
  });

  test('advise() drops the pages but the bytes stay readable', () => {
    const bytes = Buffer.from(Array.from({ length: 3 * 4096 + 17 }, (_, i) => (i * 7) % 256));
    const m = mapFile(fileWith(bytes));
    expect(m.equals(bytes)).toBe(true);
    mapper.advise(m.buffer as ArrayBuffer);
    expect(m.equals(bytes)).toBe(true);
  });

  test('a mapping that fails throws the system error: EACCES for a descriptor opened write-only', () => {
    const file = fileWith(Buffer.alloc(4096, 1));
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, Buffer.alloc(4096, 1));
      expect(() => mapper.map(fd, 4096)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    } finally {
      fs.closeSync(fd);
    }
  });

  test('a mapping is unmapped only once no view of it is left (the finalizer)', async () => {
    const file = fileWith(Buffer.alloc(64 * 1024, 3));
    const before = await liveAfterGc(0);
    let views: Buffer[] | undefined = [];
    for (let i = 0; i < 8; i++) views.push(mapFile(file).subarray(i, i + 10));
    expect(mapper.liveMappings()).toBe(before + 8);
    const kept = views[3]!;
    views = undefined;
    expect(await liveAfterGc(before + 1)).toBe(before + 1); // the one view still held keeps its mapping
    expect(kept.every((b) => b === 3)).toBe(true);
  });

  test('a folder without the addon gives no mapper and says why', () => {
    const r = loadMmapAddon(tmp());
    expect(r.io).toBe('pread');
    expect(r.mapper).toBeUndefined();
    expect(r.reason).toMatch(/did not load/);
    expect(chooseReadPath(true, () => r).io).toBe('pread');
    expect(chooseReadPath(false, () => addon).reason).toMatch(/mmap: false/);
    expect(chooseReadPath(true, undefined).reason).toMatch(/native-free/);
  });
});

/** A mapper that records what it is asked and fails on request. */
function spyMapper(fail?: string): Mapper & { advised: number; maps: number } {
  const spy = {
    advised: 0,
    maps: 0,
    map(fd: number, length: number): ArrayBuffer {
      spy.maps++;
      if (fail !== undefined) throw Object.assign(new Error(fail), { code: fail });
      return mapper.map(fd, length);
    },
    advise(ab: ArrayBuffer): void {
      spy.advised++;
      mapper.advise(ab);
    },
    liveMappings: () => mapper.liveMappings(),
  };
  return spy;
}

function fakeSegment(file: string): MappedSegment {
  const fd = fs.openSync(file, 'r');
  return { mapping: undefined, mapRefused: false, mapAdvised: false, sealedBytes: fs.statSync(file).size, logPath: file, logFd: () => fd };
}

describe('MapPool', () => {
  test('past the resident bound the least recently used mappings are advised; a touch brings one back', () => {
    const spy = spyMapper();
    const pool = new MapPool(spy, 2 * 8192, 100);
    const segs = [1, 2, 3].map((i) => fakeSegment(fileWith(Buffer.alloc(8192, i))));
    pool.map(segs[0]!);
    pool.map(segs[1]!);
    expect(spy.advised).toBe(0);
    pool.map(segs[2]!);
    expect(spy.advised).toBe(1);
    expect(segs[0]!.mapAdvised).toBe(true);
    expect(segs[0]!.mapping!.every((b) => b === 1)).toBe(true); // still readable
    pool.touch(segs[0]!);
    expect(segs[0]!.mapAdvised).toBe(false);
    expect(segs[1]!.mapAdvised).toBe(true);
    pool.scanned(segs[2]!);
    expect(segs[2]!.mapAdvised).toBe(true);
    expect(pool.stats().segments).toBe(3);
  });

  test('past the bound on held mappings the least recently used is dropped (views keep it); past the live bound, none is made', () => {
    const pool = new MapPool(spyMapper(), 1 << 30, 2);
    const segs = [1, 2, 3].map((i) => fakeSegment(fileWith(Buffer.alloc(100, i))));
    const view = pool.map(segs[0]!)!.subarray(0, 10);
    pool.map(segs[1]!);
    pool.map(segs[2]!);
    expect(segs[0]!.mapping).toBeUndefined();
    expect(view.every((b) => b === 1)).toBe(true);
    expect(pool.stats().segments).toBe(2);
    const bounded = new MapPool(spyMapper(), 1 << 30, 100, 0);
    const s = fakeSegment(fileWith(Buffer.alloc(100, 9)));
    expect(bounded.map(s)).toBeUndefined();
    expect(s.mapRefused).toBe(false); // tried again later
  });

  test('a mapping that fails (ENOMEM, EACCES) leaves the segment on reads for good', () => {
    const spy = spyMapper('ENOMEM');
    const pool = new MapPool(spy);
    const s = fakeSegment(fileWith(Buffer.alloc(100, 1)));
    expect(pool.map(s)).toBeUndefined();
    expect(s.mapRefused).toBe(true);
    expect(pool.stats().failures).toBe(1);
  });
});

describe('sealing: what is mapped is never cut', () => {
  test('a segment refuses to be cut into its sealed prefix (truncateLog asserts); past it is fine', () => {
    const dir = tmp();
    const seg = Segment.create(nodeFileIO, dir, 0);
    nodeFileIO.write(seg.logFd(), Buffer.alloc(300, 1), 0, 300, 0);
    seg.logBytes = 300;
    seg.truncateLog(250); // nothing sealed: fine
    seg.seal(200);
    seg.truncateLog(200);
    expect(() => seg.truncateLog(199)).toThrow(/sealed 200/);
    seg.release();
  });

  test('seal rules: after recovery everything recovered; followers below the recorded recovery point; rolled ones once synced past, unless a pending append is marked in them', () => {
    const make = (): Segment[] => [0, 10, 20, 30].map((b) => new Segment(nodeFileIO, '/nowhere', b, 100));
    const sealed = (segs: Segment[]): number[] => segs.map((s) => s.sealedBytes);
    const a = make();
    sealRecovered(a);
    expect(sealed(a)).toEqual([100, 100, 100, 100]);
    const b = make();
    sealBelow(b, { recoveryBase: 20, recoveryPosition: 40 });
    expect(sealed(b)).toEqual([100, 100, 40, 0]);
    sealBelow(b, { recoveryBase: 30, recoveryPosition: 10 });
    expect(sealed(b)).toEqual([100, 100, 100, 10]);
    const c = make();
    sealDurable(c, 20, [{ resolve: () => {}, reject: () => {}, offset: 15, last: 16, mark: { seg: c[1]!, segments: 2, position: 0, endOffset: 10, maxTimestampMs: 0 } }]);
    expect(sealed(c)).toEqual([100, 0, 0, 0]);
    sealDurable(c, 30, []);
    expect(sealed(c)).toEqual([100, 100, 100, 0]);
  });
});

describe('the default entry reads closed segments through mappings', () => {
  async function filled(open: (dir: string, o?: seglog.LogOptions) => Promise<seglog.Log>, options?: seglog.LogOptions): Promise<{ dir: string; values: string[] }> {
    const dir = tmp();
    const log = await open(dir, { durability: 'os', ...options });
    const t = log.topic('t', { segmentBytes: 4096, indexIntervalBytes: 512 });
    const values: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = `v${i}-${'x'.repeat(i % 37)}`;
      values.push(v);
      t.appendSync(Buffer.from(v));
      if (i % 50 === 49) {
        const w = `w${i}`;
        values.push(w);
        await t.append(Buffer.from(w));
      }
    }
    await log.close();
    return { dir, values };
  }

  function check(log: seglog.Log, values: string[]): void {
    const t = log.topic('t');
    expect(collect(t.read()).map((r) => r.valueBytes!.toString())).toEqual(values);
    for (let o = 0; o < values.length; o += 13) expect(t.get(o)!.valueBytes!.toString()).toBe(values[o]);
  }

  test('stats().io is mmap and reads count mapped reads; mmap: false and SEGLOG_MMAP=0 read the same records with pread', async () => {
    const { dir, values } = await filled(seglog.openLog);
    const log = await seglog.openLog(dir);
    check(log, values);
    const s = log.stats();
    expect(s.io).toBe('mmap');
    expect(s.mapped.segments).toBeGreaterThan(10);
    expect(s.mapped.reads).toBeGreaterThan(s.mapped.segments);
    await log.close();
    const off = await seglog.openLog(dir, { mmap: false });
    check(off, values);
    expect(off.stats().io).toBe('pread');
    expect(off.stats().mapped.reads).toBe(0);
    await off.close();
    process.env.SEGLOG_MMAP = '0';
    try {
      const env = await seglog.openLog(dir, { readOnly: true });
      check(env, values);
      expect(env.stats()).toMatchObject({ io: 'pread', ioReason: expect.stringMatching(/SEGLOG_MMAP/) });
      await env.close();
    } finally {
      delete process.env.SEGLOG_MMAP;
    }
    await expectSeglogError(seglog, () => seglog.openLog(dir, { mmap: 'yes' as unknown as boolean }), 'ERR_INVALID_ARGUMENT', ['mmap']);
  });

  test('seglog/native-free reads with pread and loads no addon; a log whose mapper fails reads the same records', async () => {
    const { dir, values } = await filled(seglog.openLog);
    const nf = await nativeFree.openLog(dir);
    check(nf, values);
    expect(nf.stats()).toMatchObject({ io: 'pread', ioReason: expect.stringMatching(/native-free/) });
    await nf.close();
    const failing = spyMapper('ENOMEM');
    const log = await openLogWith({ meta: lmdbMetaStore, mapper: () => ({ mapper: failing, io: 'mmap', reason: 'test' }) }, dir);
    check(log, values);
    expect(log.stats().mapped.failures).toBeGreaterThan(0);
    expect(log.stats().mapped.reads).toBe(0);
    await log.close();
  });

  test('records from mapped segments stay valid after close, retention and deletion of the files', async () => {
    const { dir, values } = await filled(seglog.openLog);
    const log = await seglog.openLog(dir, { durability: 'os' });
    const t = log.topic('t');
    const kept = [3, 400, 1200].map((o) => t.get(o)!);
    const scanned = collect(t.read({ maxRecords: 300 }));
    await t.truncateBefore(1500);
    await log.deleteTopic('t');
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
    gc();
    expect(kept.map((r) => r.valueBytes!.toString())).toEqual([values[3], values[400], values[1200]]);
    expect(scanned.map((r) => r.valueBytes!.toString())).toEqual(values.slice(0, 300));
  });

  test('a writer seals every segment as recovered at open (the active one up to its recovered size) and rolled ones once fsynced past', async () => {
    const dir = tmp();
    const log = await seglog.openLog(dir, { durability: 'fsync' });
    const t = log.topic('t', { segmentBytes: 1024 });
    for (let i = 0; i < 200; i++) await t.append(Buffer.from(`r${i}-${'y'.repeat(20)}`));
    const stats = log.stats().topics.t!;
    expect(stats.segments).toBeGreaterThan(3);
    for (let o = 0; o < 200; o += 7) expect(t.get(o)!.valueBytes!.toString()).toBe(`r${o}-${'y'.repeat(20)}`);
    expect(log.stats().mapped.segments).toBeGreaterThan(0);
    await log.close();
    const again = await seglog.openLog(dir);
    collect(again.topic('t').read());
    // every segment mapped, the active one too: its bytes as recovered at the open
    expect(again.stats().mapped.segments).toBe(again.stats().topics.t!.segments);
    const a = again.topic('t');
    await a.append(Buffer.from('after'));
    expect(collect(a.read()).pop()!.valueBytes!.toString()).toBe('after'); // past the mapped prefix: read
    await again.close();
  });

  test('a follower next to a live writer maps only segments below the writer\'s recorded recovery point', async () => {
    const dir = tmp();
    const writer = await seglog.openLog(dir, { durability: 'os', fsyncIntervalMs: 600_000 });
    const t = writer.topic('t', { segmentBytes: 1024 });
    for (let i = 0; i < 100; i++) t.appendSync(Buffer.from(`a${i}-${'z'.repeat(30)}`));
    await writer.flush(); // records the recovery point in the active segment
    for (let i = 100; i < 200; i++) t.appendSync(Buffer.from(`a${i}-${'z'.repeat(30)}`));
    await new Promise((r) => setImmediate(r)); // written, rolled, not checkpointed
    const follower = await seglog.openLog(dir, { readOnly: true });
    const f = follower.topic('t');
    expect(collect(f.read()).length).toBe(200);
    const mapped = follower.stats().mapped.segments;
    const segments = follower.stats().topics.t!.segments;
    expect(mapped).toBeGreaterThan(0);
    expect(mapped).toBeLessThan(segments - 1); // rolled since the recorded point: read, not mapped
    await writer.flush();
    follower.refresh();
    expect(collect(f.read()).length).toBe(200);
    expect(follower.stats().mapped.segments).toBe(follower.stats().topics.t!.segments);
    await follower.close();
    await writer.close();
  });
});
