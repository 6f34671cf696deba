// get()'s record table (segment/record-table.ts): the positions of the records verified in a
// segment's mapping. fill() enters only whole batches whose checksum matches and refuses bytes that
// are not whole batches; through the default entry, random gets served by the table agree with the
// positional-read path and with an oracle, also when the read cache is small enough to evict
// chunks, in compacted topics (missing offsets) and around a damaged batch (ERR_CORRUPT every time);
// a get's miss enters the regions that follow within 64 KiB too (Reader.fillAhead), never a damaged batch.
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { RecordTable, TABLE_CHUNK_BYTES, TABLE_CHUNK_RECORDS } from '../src/segment/record-table.js';
import { decodeRecordAt } from '../src/format/record.js';
import { readU32, readU64, H_BASE_OFFSET, H_BATCH_BYTES, H_LAST_OFFSET_DELTA, H_BASE_TIMESTAMP } from '../src/format/batch.js';
import { stringCodec } from '../src/format/codecs.js';
import { entries, readPathEntries } from './entry.js';
import { Rng, harness, segmentBases, segmentPath } from './helpers.js';

const nativeFree = entries[1]!;

/** Batch start positions of a `.log`'s bytes, with their first and last offsets. */
function batches(buf: Buffer): Array<{ pos: number; bytes: number; base: number; last: number }> {
  const out = [];
  for (let p = 0; p < buf.length;) {
    const bytes = readU32(buf, p + H_BATCH_BYTES);
    const base = readU64(buf, p + H_BASE_OFFSET);
    out.push({ pos: p, bytes, base, last: base + readU32(buf, p + H_LAST_OFFSET_DELTA) });
    p += bytes;
  }
  return out;
}

/** The record at `offset` as the table finds it in `buf`, or undefined when its slot is empty. */
function lookUp(table: RecordTable, buf: Buffer, offset: number): { value: string; timestamp: number } | undefined {
  const chunk = table.chunks[Math.floor(offset / TABLE_CHUNK_RECORDS)];
  if (chunk === undefined) return undefined;
  const s = RecordTable.slot(offset);
  if (chunk[s] === 0) return undefined;
  const rec = decodeRecordAt(buf, chunk[s]! - 1, buf.length, offset, readU64(buf, chunk[s + 1]! + H_BASE_TIMESTAMP), stringCodec);
  return { value: rec.value as string, timestamp: rec.timestamp };
}

describe('RecordTable.fill', () => {
  const h = harness(nativeFree);

  async function segmentBytes(n: number, cleanup: 'delete' | 'compact' = 'delete'): Promise<{ buf: Buffer; dir: string }> {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic<string>('t', { codec: 'string', cleanup, ...(cleanup === 'compact' ? { segmentBytes: 4096 } : {}) });
    for (let i = 0; i < n; i++) t.appendSync(`value-${i}`, { key: `k${i % 7}`, timestamp: 1_700_000_000_000 + i * 3 });
    if (cleanup === 'compact') { await log.flush(); await t.compact(); }
    await log.close();
    return { buf: fs.readFileSync(segmentPath(dir, 't', 0, 'log')), dir };
  }

  test('enters every record of whole, verified batches at its relative offset (across chunks)', async () => {
    const n = TABLE_CHUNK_RECORDS + 3000;
    const { buf } = await segmentBytes(n);
    const table = new RecordTable();
    const made: number[] = [];
    expect(table.fill(buf, 0, buf.length, 0, (c) => made.push(c))).toBe(-1);
    expect(made).toEqual([0, 1]);
    for (const i of [0, 1, 37, 4095, 4096, 5000, n - 1]) expect(lookUp(table, buf, i)).toEqual({ value: `value-${i}`, timestamp: 1_700_000_000_000 + i * 3 });
    expect(lookUp(table, buf, n)).toBeUndefined();
  });

  test('a batch whose checksum fails is left out; the batches around it are entered', async () => {
    const { buf } = await segmentBytes(3000);
    const all = batches(buf);
    const bad = all[5]!;
    buf[bad.pos + bad.bytes - 3] ^= 0x40;
    const table = new RecordTable();
    expect(table.fill(buf, 0, buf.length, 0, () => {})).toBe(-1);
    for (let o = bad.base; o <= bad.last; o++) expect(lookUp(table, buf, o)).toBeUndefined();
    expect(lookUp(table, buf, bad.base - 1)?.value).toBe(`value-${bad.base - 1}`);
    expect(lookUp(table, buf, bad.last + 1)?.value).toBe(`value-${bad.last + 1}`);
  });

  test('bytes that are not whole batches end to end: the position is returned and nothing is entered', async () => {
    const { buf } = await segmentBytes(3000);
    const all = batches(buf);
    const table = new RecordTable();
    let chunks = 0;
    // [first batch, middle of the third)
    expect(table.fill(buf, 0, all[2]!.pos + 10, 0, () => chunks++)).toBe(all[2]!.pos);
    // a start in the middle of a batch: a length field that runs past the end
    const from = all[1]!.pos + 1;
    expect(table.fill(buf, from, all[3]!.pos, 0, () => chunks++)).toBeGreaterThanOrEqual(from);
    expect(chunks).toBe(0);
    expect(table.chunks.length).toBe(0);
  });

  test('offsets compacted away stay empty; the kept records are found (as the positional-read path finds them)', async () => {
    const { buf, dir } = await segmentBytes(2000, 'compact');
    const table = new RecordTable();
    expect(table.fill(buf, 0, buf.length, 0, () => {})).toBe(-1);
    const log = await h.open(dir, { readOnly: true });
    const t = log.topic<string>('t');
    const end = segmentBases(dir, 't')[1]!;
    let kept = 0;
    for (let o = 0; o < end; o++) {
      const r = t.get(o);
      expect(lookUp(table, buf, o)).toEqual(r === undefined ? undefined : { value: r.value, timestamp: r.timestamp });
      if (r !== undefined) kept++;
    }
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(end);
  });
});

describe.each(readPathEntries)('$name: random gets through the record table', (entry) => {
  const h = harness(entry);

  test('agree with an oracle over several segments when the read cache is small enough to evict table chunks', async () => {
    const dir = h.tmp();
    const n = 100_000; // 25 table chunks
    {
      const log = await h.open(dir, { durability: 'os' });
      const t = log.topic<string>('t', { codec: 'string', segmentBytes: 256 * 1024 });
      for (let i = 0; i < n; i += 1000) await t.appendBatch(Array.from({ length: 1000 }, (_, j) => ({ value: `v${i + j}`, timestamp: 1_000_000 + i + j })));
      await log.close();
    }
    expect(segmentBases(dir, 't').length).toBeGreaterThan(3);
    // 16 chunks' worth (the least with which tables are used): the gets below touch all 25
    const log = await h.open(dir, { durability: 'os', readCacheBytes: 16 * TABLE_CHUNK_BYTES });
    const t = log.topic<string>('t');
    const rng = new Rng(17);
    for (let k = 0; k < 20_000; k++) {
      const o = rng.int(0, n - 1);
      const r = t.get(o)!;
      expect(r.offset).toBe(o);
      expect(r.value).toBe(`v${o}`);
      expect(r.timestamp).toBe(1_000_000 + o);
    }
    if (log.stats().io === 'mmap') {
      expect(log.stats().mapped!.reads).toBeGreaterThan(0);
      // chunks were evicted (the budget holds 16 of 25), and entered again on the next gets
      const segs = (t as unknown as { segments: Array<{ mapTable?: RecordTable }> }).segments;
      const held = segs.reduce((sum, sg) => sum + (sg.mapTable?.chunks.filter((c) => c !== undefined).length ?? 0), 0);
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(16);
    }
    await log.close();
  });

  test('a damaged batch is ERR_CORRUPT on every get, also after the records around it were read', async () => {
    const dir = h.tmp();
    {
      const log = await h.open(dir, { durability: 'os' });
      const t = log.topic<string>('t', { codec: 'string' });
      for (let i = 0; i < 3000; i++) t.appendSync(`value-${i}-${'x'.repeat(60)}`);
      await log.close();
    }
    const file = segmentPath(dir, 't', 0, 'log');
    const buf = fs.readFileSync(file);
    const bad = batches(buf).find((b) => b.base <= 1500 && 1500 <= b.last)!;
    buf[bad.pos + 60] ^= 0xff;
    fs.writeFileSync(file, buf);
    const log = await h.open(dir);
    const t = log.topic<string>('t');
    for (let o = bad.base - 40; o <= bad.last + 40; o++) {
      if (o >= bad.base && o <= bad.last) continue;
      expect(t.get(o)!.value).toBe(`value-${o}-${'x'.repeat(60)}`);
    }
    for (let k = 0; k < 3; k++) {
      for (const o of [bad.base, bad.last]) {
        let caught: any;
        try { t.get(o); } catch (err) { caught = err; }
        expect(caught?.code).toBe('ERR_CORRUPT');
        expect(caught.message).toContain(String(bad.pos));
      }
    }
    await log.close();
  });

  test('one get verifies and enters the regions that follow it up to 64 KiB; a damaged batch among them is left out and reported by its own get', async () => {
    const dir = h.tmp();
    const value = (i: number) => `v${i}-${'y'.repeat(90)}`;
    {
      const log = await h.open(dir, { durability: 'os' });
      const t = log.topic<string>('t', { codec: 'string', segmentBytes: 512 * 1024 });
      for (let i = 0; i < 12_000; i += 1000) await t.appendBatch(Array.from({ length: 1000 }, (_, j) => ({ value: value(i + j) })));
      await log.close();
    }
    expect(segmentBases(dir, 't').length).toBeGreaterThan(1); // segment 0 is closed
    const file = segmentPath(dir, 't', 0, 'log');
    const buf = fs.readFileSync(file);
    const all = batches(buf);
    const bad = all.find((b) => b.pos >= 20 * 1024)!;
    buf[bad.pos + 60] ^= 0xff;
    fs.writeFileSync(file, buf);
    const log = await h.open(dir);
    const t = log.topic<string>('t');
    expect(t.get(3)!.value).toBe(value(3));
    if (log.stats().io === 'mmap') {
      const table = (t as unknown as { segments: Array<{ mapTable?: RecordTable }> }).segments[0]!.mapTable!;
      const mapping = Buffer.from(fs.readFileSync(file));
      for (const b of all) {
        const entered = lookUp(table, mapping, b.base) !== undefined;
        if (b === bad) expect(entered, `damaged batch at ${b.pos}`).toBe(false);
        else if (b.pos + b.bytes <= 60 * 1024) expect(entered, `batch at ${b.pos}`).toBe(true); // within the span
        else if (b.pos >= 72 * 1024) expect(entered, `batch at ${b.pos}`).toBe(false); // past it
      }
    }
    for (const o of [bad.base - 1, bad.last + 1, 2000]) expect(t.get(o)!.value).toBe(value(o));
    let caught: any;
    try { t.get(bad.base + 1); } catch (err) { caught = err; }
    expect(caught?.code).toBe('ERR_CORRUPT');
    expect(caught.message).toContain(String(bad.pos));
    await log.close();
  });

  test('in a compacted topic, gets of offsets compacted away are undefined and kept ones are found, repeatedly', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic<string>('c', { codec: 'string', cleanup: 'compact', segmentBytes: 8192 });
    for (let i = 0; i < 2000; i++) t.appendSync(`v${i}`, { key: `k${i % 50}` });
    await log.flush();
    await t.compact();
    await log.close();
    const again = await h.open(dir);
    const c = again.topic<string>('c');
    const activeBase = segmentBases(dir, 'c').at(-1)!;
    let missing = 0;
    for (let k = 0; k < 2; k++) {
      for (let o = 0; o < 2000; o++) {
        const r = c.get(o);
        // compaction keeps the newest record of each key: offsets 1950.. in closed segments, everything in the active one
        if (o >= 1950 || o >= activeBase) expect(r?.value).toBe(`v${o}`);
        else { expect(r).toBeUndefined(); missing++; }
      }
    }
    expect(missing).toBeGreaterThan(1000);
    await again.close();
  });
});

