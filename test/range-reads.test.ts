// Range reads (SPEC "Range reads, followers, backups and streams"): read({ from, to, reverse,
// maxRecords, maxBytes }) — `to` an exclusive offset or a Date, `reverse` from the end down to
// `from`, so the last N are read({ reverse: true, maxRecords: N }). Checked on several segments,
// from memory and from the files, with retention and compaction gaps, an empty topic, bounds out
// of order or past the end, and bad options (ERR_INVALID_ARGUMENT naming the value, nothing lost).
// The cost of a backward walk is measured through the file-I/O seam: bytes read, never time.
import { describe, expect, test } from 'vitest';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { countingIO } from './faults/faulty-io.js';
import { entries } from './entry.js';
import { collect, expectSeglogErrorSync, harness, segmentBases, type Topic } from './helpers.js';

const metas = { 'seglog': lmdbMetaStore, 'seglog/native-free': fileMetaStore } as const;
const offsets = (it: Iterable<{ offset: number }>): number[] => [...it].map((r) => r.offset);
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const down = (from: number, to: number): number[] => range(from, to).reverse();

/** `n` records `v<i>` with timestamps t0 + i * 10 ms, in batches of 7 (several per index interval). */
async function fill(t: Topic<Buffer>, n: number, t0: number, first = 0): Promise<void> {
  for (let i = first; i < first + n; i += 7) {
    const k = Math.min(7, first + n - i);
    await t.appendBatch(Array.from({ length: k }, (_, j) => ({ value: Buffer.from(`v${i + j}`.padEnd(60, '.')), timestamp: t0 + (i + j) * 10 })));
  }
}

describe.each(entries)('$name: range reads', (entry) => {
  const h = harness(entry);
  const T0 = 1_700_000_000_000;

  test('reverse yields every record from the newest down, across segments, from memory and after a reopen', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('r', { segmentBytes: 8192, indexIntervalBytes: 256 });
    await fill(t, 3000, T0);
    t.appendSync(Buffer.from('open batch')); // read-your-writes: the open batch is read backwards too
    expect(segmentBases(dir, 'r').length).toBeGreaterThan(10);
    expect(offsets(t.read({ reverse: true }))).toEqual(down(0, 3001));
    const [newest] = t.read({ reverse: true, maxRecords: 1 });
    expect(newest!.value!.toString()).toBe('open batch');
    await log.close();
    const again = await h.open(dir, { readOnly: true });
    const r = again.topic('r');
    const backwards = collect(r.read({ reverse: true }));
    expect(backwards.map((x) => x.offset)).toEqual(down(0, 3001));
    expect(backwards[3000 - 1234]!.value!.toString()).toBe('v1234'.padEnd(60, '.'));
    expect(backwards[3000 - 1234]!.timestamp).toBe(T0 + 12340);
    // the same records, the same bytes, as a forward read
    const forwards = collect(r.read());
    expect(backwards.map((x) => x.valueBytes!.toString('hex')).reverse()).toEqual(forwards.map((x) => x.valueBytes!.toString('hex')));
  });

  test('the last 50: read({ reverse: true, maxRecords: 50 }); maxBytes counts from the end and always yields one', async () => {
    const log = await h.open(h.tmp(), { durability: 'none' });
    const t = log.topic('r', { segmentBytes: 16384 });
    await fill(t, 1000, T0);
    expect(offsets(t.read({ reverse: true, maxRecords: 50 }))).toEqual(down(950, 1000));
    expect(offsets(t.read({ reverse: true, maxRecords: 0 }))).toEqual([]);
    const one = collect(t.read({ reverse: true, maxRecords: 1 }))[0]!;
    const size = (one as unknown as { sizeBytes: number }).sizeBytes;
    expect(size).toBeGreaterThan(60);
    expect(offsets(t.read({ reverse: true, maxBytes: size * 3 }))).toEqual([999, 998, 997]);
    expect(offsets(t.read({ reverse: true, maxBytes: 1 }))).toEqual([999]);
    expect(offsets(t.read({ from: 100, maxBytes: size * 2 }))).toEqual([100, 101]);
  });

  test('to is exclusive, is capped at endOffset, and before from (or below startOffset) yields nothing, both ways', async () => {
    const log = await h.open(h.tmp(), { durability: 'none' });
    const t = log.topic('r', { segmentBytes: 4096 });
    await fill(t, 300, T0);
    expect(offsets(t.read({ from: 10, to: 15 }))).toEqual(range(10, 15));
    expect(offsets(t.read({ from: 10, to: 15, reverse: true }))).toEqual(down(10, 15));
    expect(offsets(t.read({ from: 290, to: 10_000 }))).toEqual(range(290, 300));
    expect(offsets(t.read({ from: 290, to: 10_000, reverse: true }))).toEqual(down(290, 300));
    expect(offsets(t.read({ from: 20, to: 5 }))).toEqual([]);
    expect(offsets(t.read({ from: 20, to: 5, reverse: true }))).toEqual([]);
    expect(offsets(t.read({ from: 20, to: 20, reverse: true }))).toEqual([]);
    expect(offsets(t.read({ to: 3, reverse: true }))).toEqual([2, 1, 0]);
    expect(offsets(t.read({ from: 300, reverse: true }))).toEqual([]);
    expect(offsets(t.read({ from: 5000, reverse: true }))).toEqual([]);
    expect(offsets(t.read({ from: 250, to: 270, reverse: true, maxRecords: 4 }))).toEqual([269, 268, 267, 266]);
    await t.truncateBefore(100);
    expect(offsets(t.read({ to: 50 }))).toEqual([]);
    expect(offsets(t.read({ to: 50, reverse: true }))).toEqual([]);
    expect(offsets(t.read({ to: 103, reverse: true }))).toEqual([102, 101, 100]);
  });

  test('an empty topic reads nothing in either direction, with or without bounds', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic('empty');
    for (const options of [{}, { reverse: true }, { to: 0, reverse: true }, { from: 0, to: 10, reverse: true }, { to: new Date(T0), reverse: true }]) {
      expect(offsets(t.read(options)), JSON.stringify(options)).toEqual([]);
    }
  });

  test('Date bounds go through the time index: to is the first record whose running-max timestamp is >= the time', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('r', { segmentBytes: 4096, indexIntervalBytes: 128 });
    await fill(t, 500, T0);
    await t.append(Buffer.from('late'), { timestamp: T0 + 10_000_000 });
    await t.append(Buffer.from('early'), { timestamp: T0 }); // below the running max: counts as the max
    const check = (r: Topic<Buffer>): void => {
      expect(offsets(r.read({ from: new Date(T0 + 1000), to: new Date(T0 + 1055) }))).toEqual(range(100, 106));
      expect(offsets(r.read({ from: new Date(T0 + 1000), to: new Date(T0 + 1055), reverse: true }))).toEqual(down(100, 106));
      expect(offsets(r.read({ to: new Date(T0 + 30), reverse: true }))).toEqual([2, 1, 0]);
      // the out-of-order 'early' record sits past the running max: a Date before it does not end there
      expect(offsets(r.read({ from: new Date(T0 + 4990), reverse: true }))).toEqual([501, 500, 499]);
      expect(offsets(r.read({ from: 498, to: new Date(T0 + 10_000_000), reverse: true }))).toEqual([499, 498]);
      expect(offsets(r.read({ to: new Date(T0 - 1) }))).toEqual([]);
      expect(offsets(r.read({ from: 495, to: new Date(T0 + 20_000_000) }))).toEqual(range(495, 502));
    };
    check(t);
    await log.close();
    const again = await h.open(dir, { readOnly: true });
    check(again.topic('r'));
  });

  test('retention: a reverse read ends at startOffset; from below it is ERR_OFFSET_OUT_OF_RANGE; enforced mid-walk, the walk ends at the new start', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('r', { segmentBytes: 4096, indexIntervalBytes: 256 });
    await fill(t, 800, T0);
    const bases = segmentBases(dir, 'r');
    await t.truncateBefore(bases[3]!);
    const start = t.startOffset;
    expect(start).toBe(bases[3]);
    expect(offsets(t.read({ reverse: true }))).toEqual(down(start, 800));
    expectSeglogErrorSync(h.mod, () => t.read({ from: start - 1, reverse: true }), 'ERR_OFFSET_OUT_OF_RANGE', [start - 1]);
    // Half way back, retention removes segments the walk has not reached: it stops at the new start.
    const it = t.read({ reverse: true })[Symbol.iterator]();
    const got: number[] = [];
    for (let i = 0; i < 400; i++) got.push(it.next().value!.offset);
    const cut = segmentBases(dir, 'r').find((b) => b > start + 50)!;
    expect(cut).toBeLessThan(800 - 400 - 20);
    await t.truncateBefore(cut);
    for (let r = it.next(); !r.done; r = it.next()) got.push(r.value.offset);
    expect(got).toEqual(down(cut, 800));
  });

  test('compaction gaps: a reverse read yields the survivors newest first, as the forward read does oldest first', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('c', { cleanup: 'compact', segmentBytes: 2048, indexIntervalBytes: 128 });
    for (let i = 0; i < 600; i++) await t.append(Buffer.from(`v${i}`), { key: `k${i % 13}` });
    await t.append(null, { key: 'k3' });
    const result = await t.compact();
    expect(result.recordsAfter).toBeLessThan(result.recordsBefore);
    const forward = offsets(t.read());
    expect(forward.length).toBeLessThan(601);
    expect(offsets(t.read({ reverse: true }))).toEqual([...forward].reverse());
    const mid = forward[Math.floor(forward.length / 2)]!;
    expect(offsets(t.read({ from: 1, to: mid + 1, reverse: true }))).toEqual(forward.filter((o) => o >= 1 && o <= mid).reverse());
    await log.close();
    const again = await h.open(dir, { readOnly: true });
    expect(offsets(again.topic('c').read({ reverse: true }))).toEqual([...forward].reverse());
  });

  test('records from a reverse read are zero-copy views that stay valid; the range is fixed when iteration starts', async () => {
    const log = await h.open(h.tmp(), { durability: 'none' });
    const t = log.topic('r', { segmentBytes: 4096 });
    await fill(t, 100, T0);
    const iterable = t.read({ reverse: true, maxRecords: 3 });
    t.appendSync(Buffer.from('after read()'));
    const it = iterable[Symbol.iterator]();
    t.appendSync(Buffer.from('after the iterator'));
    const first = it.next().value!;
    expect(first.value.toString()).toBe('after read()');
    const second = it.next().value!;
    expect(second.offset).toBe(99);
    // views into one buffer, not copies: the value bytes of one batch share their memory
    const third = it.next().value!;
    expect(third.valueBytes!.buffer).toBe(second.valueBytes!.buffer);
    expect(it.next().done).toBe(true);
    await log.flush();
    expect(second.value.toString()).toBe('v99'.padEnd(60, '.'));
    expect(third.key).toBeUndefined();
    expect(third.headers).toEqual({});
  });

  test('bad to / reverse values are ERR_INVALID_ARGUMENT naming the value; nothing already written is touched', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('r');
    await fill(t, 20, T0);
    const bad: Array<[object, Array<string | number>]> = [
      [{ to: -1 }, ['to', '-1']],
      [{ to: 1.5 }, ['to', '1.5']],
      [{ to: '10' }, ['to', '10']],
      [{ to: Number.NaN }, ['to', 'NaN']],
      [{ to: new Date(Number.NaN) }, ['to']],
      [{ from: new Date(Number.NaN), reverse: true }, ['from']],
      [{ reverse: 'yes' }, ['reverse', 'yes']],
      [{ reverse: 1 }, ['reverse', '1']],
      [{ reverse: null }, ['reverse', 'null']],
      [{ from: 2, to: 5, reverse: true, maxRecords: -1 }, ['maxRecords', '-1']],
    ];
    for (const [options, mentions] of bad) {
      expectSeglogErrorSync(h.mod, () => t.read(options as never), 'ERR_INVALID_ARGUMENT', mentions);
    }
    expect(offsets(t.read({ reverse: true }))).toEqual(down(0, 20));
    expect(await t.append(Buffer.from('still writable'))).toBe(20);
    await log.close();
    const again = await h.open(dir);
    expect(offsets(again.topic('r').read())).toEqual(range(0, 21));
  });

  test('a reverse iterator used after close() throws ERR_CLOSED once it needs its next span', async () => {
    const log = await h.open(h.tmp(), { durability: 'none' });
    const t = log.topic('r', { segmentBytes: 4096 });
    await fill(t, 2000, T0);
    const it = t.read({ reverse: true })[Symbol.iterator]();
    expect(it.next().value!.offset).toBe(1999);
    await log.close();
    const err = expectSeglogErrorSync(h.mod, () => { for (let r = it.next(); !r.done; r = it.next()) { /* drain */ } }, 'ERR_CLOSED');
    expect(err.message).toContain('closed');
    expectSeglogErrorSync(h.mod, () => t.read({ reverse: true }), 'ERR_CLOSED');
  });

  test('a full reverse scan reads each byte of the log a bounded number of times; the last 50 read only the tail', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('r', { segmentBytes: 1024 * 1024 });
    for (let i = 0; i < 40_000; i += 1000) await t.appendBatch(Array.from({ length: 1000 }, (_, j) => ({ value: Buffer.alloc(100, (i + j) % 251) })));
    await log.close();
    expect(segmentBases(dir, 'r').length).toBeGreaterThan(2);
    const io = countingIO();
    const again = await openLogWith({ meta: metas[entry.name as keyof typeof metas], io }, dir);
    const r = again.topic('r');
    const bytes = again.stats().topics.r!.bytes;
    const before = io.logBytesRead;
    expect(offsets(r.read({ reverse: true, maxRecords: 50 }))).toEqual(down(39_950, 40_000));
    expect(io.logBytesRead - before).toBeLessThan(64 * 1024);
    const mid = io.logBytesRead;
    let n = 0;
    let expected = 39_999;
    for (const rec of r.read({ reverse: true })) {
      if (rec.offset !== expected--) throw new Error(`offset ${rec.offset} out of order`);
      n++;
    }
    expect(n).toBe(40_000);
    expect(io.logBytesRead - mid).toBeLessThan(3 * bytes);
    expect(io.logBytesRead - mid).toBeGreaterThanOrEqual(bytes * 0.9);
    await again.close();
  });
});
