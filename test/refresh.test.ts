// Read-only followers: a readOnly log does not see records appended after it opened until
// log.refresh(), which picks up appended batches, rolled segments, segments removed from the front,
// new topics, and treats a half-written batch at the end as not there yet.
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entries } from './entry.js';
import { collect, expectSeglogErrorSync, harness, segmentBases, segmentPath, spawnFixture, withinHangBound } from './helpers.js';
import { scanLog } from './format-reader.js';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';
import type { MetaStoreFactory } from '../src/store/meta-store.js';

const values = (it: Iterable<{ valueBytes: Buffer | null }>): string[] => collect(it).map((r) => r.valueBytes!.toString());

describe.each(entries)('$name: refresh of a read-only log', (entry) => {
  const h = harness(entry);

  /** A writer with a compacted topic 'c' of 300 records over 10 keys in 1 KiB segments, flushed. */
  async function compactedWriter() {
    const dir = h.tmp();
    const writer = await h.open(dir, { durability: 'os' });
    const w = writer.topic<string>('c', { cleanup: 'compact', codec: 'string', segmentBytes: 1024 });
    for (let i = 0; i < 300; i++) w.appendSync(`v${i}`, { key: `k${i % 10}` });
    await writer.flush();
    return { dir, writer, w };
  }

  test('a read-only log sees nothing appended after its open until refresh(), which returns how many records appeared', async () => {
    const dir = h.tmp();
    const writer = await h.open(dir, { durability: 'os' });
    const w = writer.topic('t');
    for (let i = 0; i < 5; i++) await w.append(Buffer.from(`v${i}`));
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic('t');
    expect(r.endOffset).toBe(5);
    for (let i = 5; i < 12; i++) await w.append(Buffer.from(`v${i}`));
    expect(r.endOffset).toBe(5);
    expect(values(r.read())).toHaveLength(5);
    expect(ro.refresh()).toBe(7);
    expect(r.endOffset).toBe(12);
    expect(values(r.read())).toEqual(Array.from({ length: 12 }, (_, i) => `v${i}`));
    expect(r.get(11)!.valueBytes!.toString()).toBe('v11');
    expect(ro.refresh()).toBe(0);
  });

  test('refresh follows the writer across segment rolls, and picks up a topic created after the open', async () => {
    const dir = h.tmp();
    const writer = await h.open(dir, { durability: 'os' });
    const w = writer.topic('t', { segmentBytes: 1024 });
    await w.append(Buffer.from('first'));
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic('t');
    const expected = ['first'];
    for (let i = 0; i < 60; i++) {
      expected.push(`value ${i}`.padEnd(100, '.'));
      await w.append(Buffer.from(expected[expected.length - 1]!));
    }
    await writer.topic<string>('later', { codec: 'string' }).append('hello');
    expect(segmentBases(dir, 't').length).toBeGreaterThan(3);
    expect(ro.refresh()).toBe(61);
    expect(ro.stats().topics.t!.segments).toBe(segmentBases(dir, 't').length);
    expect(values(r.read())).toEqual(expected);
    expect(values(r.read({ from: 40 }))).toEqual(expected.slice(40));
    expect(r.get(33)!.valueBytes!.toString()).toBe(expected[33]);
    expect(ro.topics()).toEqual(['later', 't']);
    expect(ro.topic('later').get(0)!.valueBytes!.toString()).toBe('hello');
    // Options stored after the open may not be visible to it: the codec is given again.
    expect(ro.topic<string>('later', { codec: 'string' }).get(0)!.value).toBe('hello');
  });

  test('a half-written batch at the end is not there yet; once the rest of it is written, refresh shows it', async () => {
    const src = h.tmp();
    const writer = await h.open(src);
    const w = writer.topic('t');
    for (let i = 0; i < 6; i++) await w.append(Buffer.from(`record ${i}`)); // one batch per append
    await writer.close();
    const file = segmentPath(src, 't', 0, 'log');
    const whole = fs.readFileSync(file);
    const batches = scanLog(whole).batches;
    expect(batches).toHaveLength(6);
    // A copy that ends after batch 3, as a follower would find it while the writer is mid-write.
    const dir = h.tmp();
    fs.cpSync(src, dir, { recursive: true });
    const copy = segmentPath(dir, 't', 0, 'log');
    const cut = batches[4]!.position;
    fs.truncateSync(copy, cut);
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic('t');
    expect(r.endOffset).toBe(4);
    const mid = cut + 20;
    fs.appendFileSync(copy, whole.subarray(cut, mid));
    expect(ro.refresh()).toBe(0);
    expect(r.endOffset).toBe(4);
    fs.appendFileSync(copy, whole.subarray(mid));
    expect(ro.refresh()).toBe(2);
    expect(values(r.read({ from: 3 }))).toEqual(['record 3', 'record 4', 'record 5']);
  });

  test('segments removed from the front (by the writer\'s retention) move startOffset forward; an iterator inside one finishes it', async () => {
    const dir = h.tmp();
    const writer = await h.open(dir);
    const w = writer.topic('t', { segmentBytes: 1024 });
    for (let i = 0; i < 40; i++) w.appendSync(Buffer.alloc(100, i));
    await writer.close();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic('t');
    const bases = segmentBases(dir, 't');
    const inside = r.read({ from: 0 })[Symbol.iterator]();
    expect(inside.next().value!.offset).toBe(0); // an iterator inside the first segment
    for (const ext of ['log', 'index', 'timeindex'] as const) fs.rmSync(segmentPath(dir, 't', bases[0]!, ext), { force: true });
    expect(ro.refresh()).toBe(0);
    // it finishes the removed segment through its descriptor, then goes on
    const rest: number[] = [];
    for (let x = inside.next(); !x.done; x = inside.next()) rest.push(x.value.offset);
    expect(rest).toEqual(Array.from({ length: 39 }, (_, i) => i + 1));
    expect(r.startOffset).toBe(bases[1]);
    expect(collect(r.read()).map((x) => x.offset)[0]).toBe(bases[1]);
  });

  test('a topic the writer deleted is closed by refresh(): it leaves topics() and its reads throw ERR_CLOSED', async () => {
    const dir = h.tmp();
    const writer = await h.open(dir, { durability: 'os' });
    await writer.topic('gone').append(Buffer.from('x'));
    await writer.topic('kept').append(Buffer.from('y'));
    const ro = await h.open(dir, { readOnly: true });
    const gone = ro.topic('gone');
    expect(gone.get(0)!.valueBytes!.toString()).toBe('x');
    await writer.deleteTopic('gone');
    ro.refresh();
    expect(ro.topics()).toEqual(['kept']);
    expectSeglogErrorSync(h.mod, () => gone.get(0), 'ERR_CLOSED', ['gone']);
  });

  test('refresh() on a writable log does nothing and returns 0', async () => {
    const log = await h.open(h.tmp());
    log.topic('t').appendSync(Buffer.from('x'));
    expect(log.refresh()).toBe(0);
    expect(log.topic('t').endOffset).toBe(1);
  });

  test('a follower in this process sees every record a writer in another process appends, in order, across rolls', async () => {
    const dir = h.tmp();
    const count = 300;
    const child = spawnFixture(h, 'slow-writer.mjs', [entry.dist, dir, String(count)]);
    await child.waitFor((l) => l === 'wrote 0');
    const ro = await h.open(dir, { readOnly: true });
    const seen: string[] = [];
    let next = 0;
    while (next < count) {
      // once the writer reported the record it is on disk: refresh() must show it (and whatever
      // else the writer appended since)
      await child.waitFor((l) => l === `wrote ${next}`);
      const before = next;
      ro.refresh();
      const feed = ro.topic<string>('feed', { codec: 'string' });
      for (const rec of feed.read({ from: next })) {
        seen.push(rec.value!);
        next = rec.offset + 1;
      }
      expect(next, `record ${before} after the writer wrote it`).toBeGreaterThan(before);
    }
    await child.exit();
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => `r${i}`));
    expect(segmentBases(dir, 'feed').length).toBeGreaterThan(2);
  });

  test('a writer\'s compaction under a read-only log: refresh() takes the compacted segments, also when the writer rolled past the one the follower read as active', async () => {
    const { dir, writer, w } = await compactedWriter();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('c', { codec: 'string' });
    expect(values(r.read())).toHaveLength(300);
    const rows = (t: typeof w): string[] => collect(t.read()).map((x) => `${x.offset}:${x.value}`);
    // Rolled past the follower's active segment, then compacted: every closed file was replaced.
    for (let i = 300; i < 320; i++) w.appendSync(`v${i}`, { key: `k${i % 10}` });
    expect((await w.compact()).recordsAfter).toBe(10);
    await writer.flush();
    expect(ro.refresh()).toBe(20);
    expect(rows(r)).toEqual(rows(w));
    expect(r.endOffset).toBe(w.endOffset);
    for (let k = 0; k < 10; k++) expect(r.latest(`k${k}`)?.offset).toBe(w.latest(`k${k}`)?.offset);
    expect(r.get(5)).toBeUndefined();
    expect(r.get(315)!.value).toBe('v315');
    // Closed segments only: the follower's active segment is the writer's.
    for (let i = 320; i < 400; i++) w.appendSync(`v${i}`, { key: `k${i % 10}` });
    await writer.flush();
    expect(ro.refresh()).toBe(80);
    await w.compact();
    for (let i = 400; i < 405; i++) w.appendSync(`v${i}`, { key: `k${i % 10}` });
    await writer.flush();
    expect(ro.refresh()).toBe(5);
    expect(rows(r)).toEqual(rows(w));
    expect(r.offsetForTime(0)).toBe(w.offsetForTime(0));
    expect(ro.refresh()).toBe(0);
    await ro.close();
    await writer.close();
  });

  test('a segment file the writer replaced after the follower listed it is never read as the old one: ERR_OFFSET_OUT_OF_RANGE until refresh()', async () => {
    const { dir, writer, w } = await compactedWriter();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('c', { codec: 'string' });
    // Nothing read yet: no descriptor is open for the closed segments, whose files now change.
    await w.compact();
    await writer.flush();
    const err = expectSeglogErrorSync(h.mod, () => collect(r.read()), 'ERR_OFFSET_OUT_OF_RANGE', ['refresh']);
    expect(err.message).toContain('replaced');
    ro.refresh();
    expect(collect(r.read()).map((x) => `${x.offset}:${x.value}`)).toEqual(collect(w.read()).map((x) => `${x.offset}:${x.value}`));
    await ro.close();
    await writer.close();
  });

  test('an iterator the follower started before the writer compacted finishes the segment it was in, then goes on in the compacted ones', async () => {
    const { dir, writer, w } = await compactedWriter();
    const bases = segmentBases(dir, 'c');
    expect(bases.length).toBeGreaterThan(2);
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('c', { codec: 'string' });
    const it = r.read()[Symbol.iterator]();
    expect(it.next().value!.value).toBe('v0'); // inside the first closed segment, its descriptor open
    const result = await w.compact();
    expect(result.recordsAfter).toBeLessThan(result.recordsBefore);
    await writer.flush();
    ro.refresh();
    const rest: string[] = [];
    for (let x = it.next(); !x.done; x = it.next()) rest.push(`${x.value.offset}:${x.value.value}`);
    const end0 = bases[1]!;
    const expected = [
      ...Array.from({ length: end0 - 1 }, (_, i) => `${i + 1}:v${i + 1}`), // the old segment, read to its end
      ...collect(w.read()).filter((x) => x.offset >= end0).map((x) => `${x.offset}:${x.value}`),
    ];
    expect(rest).toEqual(expected);
    expect(collect(r.read()).map((x) => x.value)).toEqual(collect(w.read()).map((x) => x.value));
    await ro.close();
    await writer.close();
  });

  test('a subscription on a read-only log that waits at the tail receives what refresh() picks up', async () => {
    const dir = h.tmp();
    const writer = await h.open(dir, { durability: 'os' });
    const w = writer.topic('t');
    for (let i = 0; i < 3; i++) await w.append(Buffer.from(`v${i}`));
    const ro = await h.open(dir, { readOnly: true });
    const sub = ro.topic('t').subscribe({ from: 'earliest' });
    const got: string[] = [];
    let sawThree!: () => void;
    const three = new Promise<void>((resolve) => { sawThree = resolve; });
    const reading = (async () => {
      for await (const rec of sub) {
        got.push(rec.valueBytes!.toString());
        if (got.length === 3) sawThree();
        if (got.length === 6) break;
      }
    })();
    await withinHangBound(three, 'the subscription delivers the records the follower opened with');
    expect(got).toEqual(['v0', 'v1', 'v2']);
    for (let i = 3; i < 6; i++) await w.append(Buffer.from(`v${i}`));
    expect(ro.refresh()).toBe(3);
    await reading;
    expect(got).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
  });
});

describe.each([
  { name: 'lmdb metadata', meta: lmdbMetaStore as MetaStoreFactory },
  { name: 'file metadata (native-free)', meta: fileMetaStore as MetaStoreFactory },
])('$name: a read-only log only reads', ({ meta }) => {
  test('every file it opens, through open, reads, refresh and a writer\'s compaction, is opened for reading only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-ro-flags-'));
    try {
      const writer = await openLogWith({ meta }, dir, { durability: 'os' });
      const w = writer.topic<string>('c', { cleanup: 'compact', codec: 'string', segmentBytes: 1024 });
      for (let i = 0; i < 300; i++) w.appendSync(`v${i}`, { key: `k${i % 10}` });
      await writer.flush();
      const flags: string[] = [];
      const io: FileIO = { ...nodeFileIO, open(p, f) { flags.push(`${f} ${path.basename(p)}`); return nodeFileIO.open(p, f); } };
      const ro = await openLogWith({ meta, io }, dir, { readOnly: true });
      const r = ro.topic<string>('c', { codec: 'string' });
      expect(collect(r.read())).toHaveLength(300);
      expect(r.get(150)!.value).toBe('v150');
      for (let i = 300; i < 320; i++) w.appendSync(`v${i}`, { key: `k${i % 10}` });
      await w.compact();
      await writer.flush();
      ro.refresh();
      expect(collect(r.read()).map((x) => x.value)).toEqual(collect(w.read()).map((x) => x.value));
      expect(r.latest('k3')?.value).toBe('v313');
      await ro.close();
      await writer.close();
      expect(flags.length).toBeGreaterThan(0);
      expect(flags.filter((f) => !f.startsWith('r '))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
