// The core segmented log through its public API: appends and offsets, reads, records, codecs,
// topics, segment rolling, time lookups, options, read-only mode, closing, stats and durability.
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { readPathEntries } from './entry.js';
import {
  collect,
  expectSeglogError,
  expectSeglogErrorSync,
  harness,
  pad20,
  Rng,
  segmentBases,
  segmentPath,
  truncateBeforeOrSkip,
} from './helpers.js';
import { scanLog } from './format-reader.js';

const hex = (b: Uint8Array | null | undefined): string | null | undefined =>
  b === null || b === undefined ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const buf = (s: string): Buffer => Buffer.from(s);

describe.each(readPathEntries)('$name: log basics', (entry) => {
  const h = harness(entry);

  describe('appending', () => {
    test('append, appendSync and appendBatch hand out dense offsets from 0', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      expect(t.name).toBe('t');
      expect(t.startOffset).toBe(0);
      expect(t.endOffset).toBe(0);
      expect(t.appendSync(buf('v0'))).toBe(0);
      expect(await t.append(buf('v1'))).toBe(1);
      expect(await t.appendBatch([{ value: buf('v2') }, { value: buf('v3') }, { value: buf('v4') }])).toBe(2);
      expect(t.endOffset).toBe(5);
      expect(t.appendSync(buf('v5'))).toBe(5);
      expect(await t.append(buf('v6'))).toBe(6);
      // appends of one tick, not awaited one by one
      const inFlight = [t.append(buf('v7')), t.appendBatch([{ value: buf('v8') }, { value: buf('v9') }]), t.append(buf('v10'))];
      expect(t.appendSync(buf('v11'))).toBe(11);
      expect(await Promise.all(inFlight)).toEqual([7, 8, 10]);
      expect(t.endOffset).toBe(12);
      for (let o = 0; o < 12; o++) expect(t.get(o)?.valueBytes?.toString()).toBe(`v${o}`);
      expect(collect(t.read()).map((r) => r.offset)).toEqual([...Array(12).keys()]);
    });

    test('a record is visible to get and read as soon as appendSync returns (read-your-writes)', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      for (let i = 0; i < 50; i++) {
        const o = t.appendSync(buf(`r${i}`));
        expect(t.endOffset).toBe(o + 1);
        expect(t.get(o)?.valueBytes?.toString()).toBe(`r${i}`);
        const all = collect(t.read({ from: o }));
        expect(all.map((r) => r.valueBytes?.toString())).toEqual([`r${i}`]);
      }
    });

    test('a record is visible to get as soon as append and appendBatch return, before their promises settle', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      const p1 = t.append(buf('a'));
      expect(t.endOffset).toBe(1);
      expect(t.get(0)?.valueBytes?.toString()).toBe('a');
      const p2 = t.appendBatch([{ value: buf('b') }, { value: buf('c') }]);
      expect(t.endOffset).toBe(3);
      expect(t.get(2)?.valueBytes?.toString()).toBe('c');
      expect(await p1).toBe(0);
      expect(await p2).toBe(1);
    });
  });

  describe('reading', () => {
    async function tenRecords() {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      for (let i = 0; i < 10; i++) t.appendSync(Buffer.alloc(100, i), { timestamp: 1000 + i * 10 });
      return { log, t };
    }

    test('read() with no options yields every record from startOffset, in offset order', async () => {
      const { t } = await tenRecords();
      const recs = collect(t.read());
      expect(recs.map((r) => r.offset)).toEqual([...Array(10).keys()]);
      recs.forEach((r, i) => expect(hex(r.valueBytes)).toBe(hex(Buffer.alloc(100, i))));
    });

    test('read({ from }) starts at that offset; at or past endOffset it yields nothing', async () => {
      const { t } = await tenRecords();
      expect(collect(t.read({ from: 7 })).map((r) => r.offset)).toEqual([7, 8, 9]);
      expect(collect(t.read({ from: 0 })).length).toBe(10);
      expect(collect(t.read({ from: 10 }))).toEqual([]);
      expect(collect(t.read({ from: 1000 }))).toEqual([]);
    });

    test('read({ maxRecords }) yields at most that many records', async () => {
      const { t } = await tenRecords();
      expect(collect(t.read({ maxRecords: 3 })).map((r) => r.offset)).toEqual([0, 1, 2]);
      expect(collect(t.read({ from: 8, maxRecords: 5 })).map((r) => r.offset)).toEqual([8, 9]);
      expect(collect(t.read({ from: 4, maxRecords: 1 })).map((r) => r.offset)).toEqual([4]);
    });

    test('read({ maxBytes }) stops once the byte budget is exceeded but always yields at least one record', async () => {
      const { t } = await tenRecords();
      // one record is always yielded, even when it alone is larger than the budget
      expect(collect(t.read({ maxBytes: 1 })).map((r) => r.offset)).toEqual([0]);
      expect(collect(t.read({ from: 9, maxBytes: 1 })).map((r) => r.offset)).toEqual([9]);
      // a budget above the whole topic yields everything
      expect(collect(t.read({ maxBytes: 1 << 30 })).length).toBe(10);
      // a budget of 250 bytes over 100-byte values: 1 to 3 records, never more, and reading stops
      // right after the budget is used up: the records before the last one fit into it
      const some = collect(t.read({ maxBytes: 250 }));
      expect(some.length).toBeGreaterThanOrEqual(1);
      expect(some.length).toBeLessThanOrEqual(3);
      const before = some.slice(0, -1).reduce((n, r) => n + (r.valueBytes?.length ?? 0), 0);
      expect(before).toBeLessThanOrEqual(250);
      // more budget never yields fewer records
      let previous = 0;
      for (const maxBytes of [1, 100, 200, 300, 500, 800, 1200, 5000]) {
        const n = collect(t.read({ maxBytes })).length;
        expect(n).toBeGreaterThanOrEqual(previous);
        previous = n;
      }
      // maxRecords and maxBytes together: whichever ends first
      expect(collect(t.read({ maxBytes: 1 << 30, maxRecords: 2 })).length).toBe(2);
    });

    test('read({ from: Date }) starts at the first offset whose running-max timestamp is >= that time', async () => {
      const { t } = await tenRecords(); // timestamps 1000, 1010, ..., 1090
      expect(collect(t.read({ from: new Date(1035) })).map((r) => r.offset)).toEqual([4, 5, 6, 7, 8, 9]);
      expect(collect(t.read({ from: new Date(1040) }))[0]?.offset).toBe(4);
      expect(collect(t.read({ from: new Date(0) })).length).toBe(10);
      expect(collect(t.read({ from: new Date(5000) }))).toEqual([]);
      expect(collect(t.read({ from: new Date(1041), maxRecords: 2 })).map((r) => r.offset)).toEqual([5, 6]);
    });

    test('get at or past endOffset returns undefined', async () => {
      const { t } = await tenRecords();
      expect(t.get(10)).toBeUndefined();
      expect(t.get(11)).toBeUndefined();
      expect(t.get(Number.MAX_SAFE_INTEGER)).toBeUndefined();
      const empty = (await h.open(h.tmp())).topic('e');
      expect(empty.get(0)).toBeUndefined();
    });

    test('get and read below startOffset throw ERR_OFFSET_OUT_OF_RANGE', async ({ skip }) => {
      const { t } = await tenRecords();
      await truncateBeforeOrSkip(t, 5, skip);
      expect(t.startOffset).toBe(5);
      expectSeglogErrorSync(h.mod, () => t.get(4), 'ERR_OFFSET_OUT_OF_RANGE', [4]);
      expectSeglogErrorSync(h.mod, () => t.get(0), 'ERR_OFFSET_OUT_OF_RANGE');
      expectSeglogErrorSync(h.mod, () => collect(t.read({ from: 2 })), 'ERR_OFFSET_OUT_OF_RANGE', [2]);
      expect(t.get(5)?.offset).toBe(5);
      expect(collect(t.read()).map((r) => r.offset)).toEqual([5, 6, 7, 8, 9]);
    });

    test('invalid offsets (negative, fractional, NaN, infinite, non-number) are ERR_INVALID_ARGUMENT', async () => {
      const { t } = await tenRecords();
      const bad: unknown[] = [-1, 1.5, NaN, Infinity, '3', null, {}];
      for (const o of bad) {
        expectSeglogErrorSync(h.mod, () => t.get(o as number), 'ERR_INVALID_ARGUMENT');
        expectSeglogErrorSync(h.mod, () => collect(t.read({ from: o as number })), 'ERR_INVALID_ARGUMENT');
      }
      expectSeglogErrorSync(h.mod, () => t.get(-1), 'ERR_INVALID_ARGUMENT', ['-1']);
      expectSeglogErrorSync(h.mod, () => t.get(1.5), 'ERR_INVALID_ARGUMENT', ['1.5']);
      expectSeglogErrorSync(h.mod, () => t.get(NaN), 'ERR_INVALID_ARGUMENT', ['NaN']);
    });
  });

  describe('records', () => {
    test('keys and headers given as strings or bytes come back as Buffers holding the same bytes', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      const o1 = t.appendSync(buf('x'), { key: 'clé', headers: { a: 'é1', b: new Uint8Array([0, 255, 7]) } });
      const o2 = await t.append(buf('y'), { key: new Uint8Array([1, 2, 3]), headers: { 'content-type': Buffer.from('json') } });
      const o3 = await t.appendBatch([{ value: buf('z'), key: '', headers: { empty: '' } }]);
      const r1 = t.get(o1)!;
      expect(Buffer.isBuffer(r1.key)).toBe(true);
      expect(hex(r1.key)).toBe(hex(Buffer.from('clé', 'utf8')));
      expect(Object.keys(r1.headers).sort()).toEqual(['a', 'b']);
      expect(Buffer.isBuffer(r1.headers.a)).toBe(true);
      expect(hex(r1.headers.a)).toBe(hex(Buffer.from('é1', 'utf8')));
      expect(hex(r1.headers.b)).toBe('00ff07');
      const r2 = t.get(o2)!;
      expect(hex(r2.key)).toBe('010203');
      expect(r2.headers['content-type']?.toString()).toBe('json');
      const r3 = t.get(o3)!;
      expect(r3.key).toBeDefined();
      expect(r3.key!.length).toBe(0);
      expect(r3.headers.empty?.length).toBe(0);
    });

    test('a record without key or headers has key undefined and headers {}', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      t.appendSync(buf('x'));
      const r = t.get(0)!;
      expect(r.key).toBeUndefined();
      expect(r.headers).toEqual({});
    });

    test('keys and headers survive close and reopen', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      log.topic('t').appendSync(buf('x'), { key: 'k', headers: { h1: 'v1', h2: new Uint8Array([9]) } });
      await log.close();
      const r = (await h.open(dir)).topic('t').get(0)!;
      expect(r.key?.toString()).toBe('k');
      expect(r.headers.h1?.toString()).toBe('v1');
      expect(hex(r.headers.h2)).toBe('09');
    });

    test('timestamp defaults to Date.now() at append time and explicit timestamps are kept as given', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      const before = Date.now();
      const o = t.appendSync(buf('x'));
      const o2 = await t.append(buf('y'));
      const after = Date.now();
      for (const off of [o, o2]) {
        expect(t.get(off)!.timestamp).toBeGreaterThanOrEqual(before);
        expect(t.get(off)!.timestamp).toBeLessThanOrEqual(after);
      }
      const explicit = [1_700_000_000_123, 5, 0, 1_699_999_999_999, 2 ** 45];
      for (const ts of explicit) t.appendSync(buf('e'), { timestamp: ts });
      await t.appendBatch(explicit.map((ts) => ({ value: buf('b'), timestamp: ts })));
      const got = collect(t.read({ from: 2 })).map((r) => r.timestamp);
      expect(got).toEqual([...explicit, ...explicit]);
    });

    test('valueBytes is a Buffer view of the encoded value', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic<string>('s', { codec: 'string' });
      t.appendSync('héllo');
      const r = t.get(0)!;
      expect(Buffer.isBuffer(r.valueBytes)).toBe(true);
      expect(hex(r.valueBytes)).toBe(hex(Buffer.from('héllo')));
      // a view: the same underlying memory holds more than the value
      expect(r.valueBytes!.buffer.byteLength).toBeGreaterThanOrEqual(r.valueBytes!.length);
    });

    test('an empty value is stored and read back as an empty value, not as a tombstone', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      t.appendSync(Buffer.alloc(0));
      const s = log.topic<string>('s', { codec: 'string' });
      s.appendSync('');
      expect(t.get(0)!.valueBytes?.length).toBe(0);
      expect(t.get(0)!.value?.length).toBe(0);
      expect(s.get(0)!.value).toBe('');
    });

    test('a tombstone append(null, { key }) reads back with value null and valueBytes null', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic<unknown>('t', { codec: 'json', cleanup: 'compact' });
      await t.append({ a: 1 }, { key: 'k' });
      await t.append(null, { key: 'k' });
      t.appendSync(null, { key: 'k2' });
      for (const o of [1, 2]) {
        const r = t.get(o)!;
        expect(r.value).toBeNull();
        expect(r.valueBytes).toBeNull();
      }
      expect(t.get(2)!.key?.toString()).toBe('k2');
      await log.close();
      const t2 = (await h.open(dir)).topic<unknown>('t');
      expect(t2.get(1)!.valueBytes).toBeNull();
      expect(t2.get(0)!.value).toEqual({ a: 1 });
    });
  });

  describe('codecs', () => {
    test("'binary' (the default) takes Buffers and gives back Buffers with the same bytes", async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('b');
      const values = [Buffer.alloc(0), Buffer.from([0]), new Rng(1).bytes(3000)];
      for (const v of values) t.appendSync(v);
      collect(t.read()).forEach((r, i) => {
        expect(Buffer.isBuffer(r.value)).toBe(true);
        expect(hex(r.value as Buffer)).toBe(hex(values[i]));
        expect(hex(r.valueBytes)).toBe(hex(values[i]));
      });
    });

    test("'string' stores UTF-8 and gives back strings", async () => {
      const log = await h.open(h.tmp());
      const t = log.topic<string>('s', { codec: 'string' });
      const values = ['', 'ascii', 'héllo ✓ 𝄞', 'x'.repeat(20_000)];
      for (const v of values) await t.append(v);
      expect(collect(t.read()).map((r) => r.value)).toEqual(values);
      expect(hex(t.get(2)!.valueBytes)).toBe(hex(Buffer.from(values[2]!, 'utf8')));
    });

    test("'json' round-trips JSON values", async () => {
      const log = await h.open(h.tmp());
      const t = log.topic<unknown>('j', { codec: 'json' });
      const values = [{ a: 1, b: [1, 2, { c: 'd' }] }, [], 0, -1.5, 'str', true, false, { nested: { deep: [null] } }];
      for (const v of values) t.appendSync(v);
      expect(collect(t.read()).map((r) => r.value)).toEqual(values);
      expect(JSON.parse(t.get(0)!.valueBytes!.toString())).toEqual(values[0]);
    });

    test("'msgpack' round-trips structured values including binary", async () => {
      const log = await h.open(h.tmp());
      const t = log.topic<unknown>('m', { codec: 'msgpack' });
      const values = [{ a: 1, b: [1, 2, { c: 'd' }] }, [], 0, 2 ** 40, -7, 'str', true, { bin: new Uint8Array([1, 2, 3]) }];
      for (const v of values) t.appendSync(v);
      const got = collect(t.read()).map((r) => r.value);
      expect(got.slice(0, 7)).toEqual(values.slice(0, 7));
      const bin = (got[7] as { bin: Uint8Array }).bin;
      expect([...bin]).toEqual([1, 2, 3]);
    });

    test('a user codec encodes on append and decodes on read', async () => {
      const codec = {
        encode: (v: { n: number }) => new Uint8Array([v.n & 0xff, (v.n >> 8) & 0xff]),
        decode: (b: Buffer) => ({ n: b[0]! | (b[1]! << 8) }),
      };
      const log = await h.open(h.tmp());
      const t = log.topic<{ n: number }>('u', { codec });
      for (const n of [0, 1, 300, 65535]) t.appendSync({ n });
      expect(collect(t.read()).map((r) => r.value)).toEqual([{ n: 0 }, { n: 1 }, { n: 300 }, { n: 65535 }]);
      expect(hex(t.get(2)!.valueBytes)).toBe('2c01');
    });

    test('values are decoded lazily: not on read, once on first access of .value', async () => {
      let decodes = 0;
      const codec = {
        encode: (v: string) => Buffer.from(v),
        decode: (b: Buffer) => {
          decodes++;
          return b.toString();
        },
      };
      const log = await h.open(h.tmp());
      const t = log.topic<string>('u', { codec });
      for (let i = 0; i < 5; i++) t.appendSync(`v${i}`);
      const recs = collect(t.read());
      const r = t.get(3)!;
      expect(decodes).toBe(0);
      expect(r.valueBytes?.toString()).toBe('v3');
      expect(decodes).toBe(0);
      expect(r.value).toBe('v3');
      expect(decodes).toBe(1);
      expect(r.value).toBe('v3');
      expect(decodes).toBe(1);
      expect(recs[1]!.value).toBe('v1');
      expect(decodes).toBe(2);
    });
  });

  describe('topics', () => {
    test('log.topic(name) returns the same object every time', async () => {
      const log = await h.open(h.tmp());
      const a = log.topic('t');
      expect(log.topic('t')).toBe(a);
      expect(log.topic('t', { segmentBytes: 1 << 20 })).toBe(a);
      expect(log.topic('u')).not.toBe(a);
    });

    test('topics() lists the topics of the directory, also after reopening', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      expect(log.topics()).toEqual([]);
      log.topic('b');
      log.topic('a').appendSync(buf('x'));
      log.topic('c-1.x_Y');
      expect([...log.topics()].sort()).toEqual(['a', 'b', 'c-1.x_Y']);
      await log.close();
      const log2 = await h.open(dir);
      expect([...log2.topics()].sort()).toEqual(['a', 'b', 'c-1.x_Y']);
      expect(log2.topic('a').endOffset).toBe(1);
    });

    test('topic names of 1 to 200 characters of [A-Za-z0-9._-] are accepted', async () => {
      const log = await h.open(h.tmp());
      for (const name of ['a', 'Z', '0', '...', '-', '_', 'a.b-c_D9', 'x'.repeat(200)]) {
        const t = log.topic(name);
        t.appendSync(buf(name));
        expect(t.get(0)!.valueBytes!.toString()).toBe(name);
      }
    });

    test('invalid topic names are ERR_INVALID_ARGUMENT naming the name', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const bad = ['', 'x'.repeat(201), '.', '..', 'a/b', 'a b', 'a\\b', 'é', 'a\0b', '../escape'];
      for (const name of bad) {
        const err = expectSeglogErrorSync(h.mod, () => log.topic(name), 'ERR_INVALID_ARGUMENT');
        // printable names must appear in the message (others may be escaped)
        if (/^[ -~]{1,50}$/.test(name) && !name.includes('\\')) expect(err.message).toContain(name);
      }
      for (const name of [undefined, 5, null]) {
        expectSeglogErrorSync(h.mod, () => log.topic(name as unknown as string), 'ERR_INVALID_ARGUMENT');
      }
      expect(log.topics()).toEqual([]);
      expect(fs.existsSync(path.join(path.dirname(dir), 'escape'))).toBe(false);
    });

    test('deleteTopic removes the topic and its folder; the name can be used again from offset 0', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('gone', { segmentBytes: 1024 });
      for (let i = 0; i < 50; i++) t.appendSync(Buffer.alloc(100, i));
      log.topic('kept').appendSync(buf('k'));
      expect(fs.existsSync(path.join(dir, 'gone'))).toBe(true);
      await log.deleteTopic('gone');
      expect(fs.existsSync(path.join(dir, 'gone'))).toBe(false);
      expect(log.topics()).toEqual(['kept']);
      await log.close();
      const log2 = await h.open(dir);
      expect(log2.topics()).toEqual(['kept']);
      const again = log2.topic('gone');
      expect(again.endOffset).toBe(0);
      expect(again.get(0)).toBeUndefined();
      expect(log2.topic('kept').get(0)!.valueBytes!.toString()).toBe('k');
    });
  });

  describe('segments', () => {
    test('small segmentBytes rolls segments named by their 20-digit base offset, each with .index and .timeindex', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('t', { segmentBytes: 2048, indexIntervalBytes: 256 });
      const values: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        const v = Buffer.alloc(10 + (i % 7) * 30, i);
        values.push(v);
        if (i % 3 === 0) t.appendSync(v);
        else if (i % 3 === 1) await t.append(v);
        else await t.appendBatch([{ value: v }]);
      }
      await log.flush();
      const bases = segmentBases(dir, 't');
      expect(bases.length).toBeGreaterThan(3);
      expect(bases[0]).toBe(0);
      for (const base of bases) {
        for (const ext of ['log', 'index', 'timeindex'] as const) {
          expect(fs.existsSync(segmentPath(dir, 't', base, ext)), `${pad20(base)}.${ext}`).toBe(true);
        }
        // the name is the offset of the segment's first record, and a segment only passes
        // segmentBytes when it holds a single batch
        const data = fs.readFileSync(segmentPath(dir, 't', base, 'log'));
        const scan = scanLog(data, base);
        expect(scan.error, `${pad20(base)}.log`).toBeUndefined();
        if (scan.batches.length > 0) expect(scan.batches[0]!.baseOffset).toBe(base);
        if (data.length > 2048) expect(scan.batches.length).toBe(1);
      }
      // offsets continue across segments and reads cross the boundaries
      expect(collect(t.read()).map((r) => hex(r.valueBytes))).toEqual(values.map(hex));
      for (const base of bases.slice(1)) {
        expect(collect(t.read({ from: base - 1, maxRecords: 2 })).map((r) => r.offset)).toEqual([base - 1, base]);
        expect(hex(t.get(base)!.valueBytes)).toBe(hex(values[base]));
        expect(hex(t.get(base - 1)!.valueBytes)).toBe(hex(values[base - 1]));
      }
      await log.close();
      const t2 = (await h.open(dir)).topic('t');
      expect(collect(t2.read()).map((r) => hex(r.valueBytes))).toEqual(values.map(hex));
      expect(t2.appendSync(buf('next'))).toBe(200);
    });

    test('appends of one tick that pass segmentBytes still roll segments', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('t', { segmentBytes: 4096 });
      for (let i = 0; i < 300; i++) t.appendSync(Buffer.alloc(100, i)); // one tick, ~30 KiB
      await log.flush();
      expect(segmentBases(dir, 't').length).toBeGreaterThan(3);
      for (const base of segmentBases(dir, 't')) {
        const size = fs.statSync(segmentPath(dir, 't', base, 'log')).size;
        if (size > 4096) expect(scanLog(fs.readFileSync(segmentPath(dir, 't', base, 'log'))).batches.length).toBe(1);
      }
      expect(collect(t.read()).length).toBe(300);
    });

    test('a record larger than segmentBytes is stored in a segment of its own', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('t', { segmentBytes: 1024 });
      t.appendSync(buf('small'));
      const big = new Rng(3).bytes(5000);
      expect(await t.append(big)).toBe(1);
      t.appendSync(buf('after'));
      expect(hex(t.get(1)!.valueBytes)).toBe(hex(big));
      expect(t.get(2)!.valueBytes!.toString()).toBe('after');
      await log.close();
      const t2 = (await h.open(dir)).topic('t');
      expect(hex(t2.get(1)!.valueBytes)).toBe(hex(big));
      expect(t2.endOffset).toBe(3);
    });

    test('segmentMs rolls a segment once its first record is older than segmentMs', async () => {
      // "older" is measured by the records' timestamps (as Kafka does), so the test gives them
      // rather than waiting for the clock: b is 300 ms after a (not older), c 301 ms (older)
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('t', { segmentMs: 300 });
      const t0 = Date.now();
      await t.append(buf('a'), { timestamp: t0 });
      await t.append(buf('b'), { timestamp: t0 + 300 });
      expect(segmentBases(dir, 't')).toEqual([0]);
      await t.append(buf('c'), { timestamp: t0 + 301 });
      await log.flush();
      expect(segmentBases(dir, 't')).toEqual([0, 2]);
      expect(collect(t.read()).map((r) => r.valueBytes!.toString())).toEqual(['a', 'b', 'c']);
    });
  });

  describe('limits', () => {
    test('an append larger than maxRecordBytes throws ERR_RECORD_TOO_LARGE and writes nothing', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('t', { maxRecordBytes: 1000 });
      t.appendSync(Buffer.alloc(10));
      await log.flush();
      const sizeBefore = fs.statSync(segmentPath(dir, 't', 0, 'log')).size;
      const big = Buffer.alloc(5000);
      expectSeglogErrorSync(h.mod, () => t.appendSync(big), 'ERR_RECORD_TOO_LARGE', [1000]);
      await expectSeglogError(h.mod, () => t.append(big), 'ERR_RECORD_TOO_LARGE');
      // a batch with one oversized record writes none of its records
      await expectSeglogError(
        h.mod,
        () => t.appendBatch([{ value: Buffer.alloc(5) }, { value: big }, { value: Buffer.alloc(5) }]),
        'ERR_RECORD_TOO_LARGE',
      );
      expect(t.endOffset).toBe(1);
      expect(t.get(1)).toBeUndefined();
      // the topic keeps working, with the next offset
      expect(t.appendSync(Buffer.alloc(20))).toBe(1);
      await log.flush();
      expect(fs.statSync(segmentPath(dir, 't', 0, 'log')).size).toBeLessThan(sizeBefore + 200);
      await log.close();
      const t2 = (await h.open(dir)).topic('t');
      expect(t2.endOffset).toBe(2);
      expect(collect(t2.read()).map((r) => r.valueBytes!.length)).toEqual([10, 20]);
    });

    test('records up to the default maxRecordBytes (several MiB) are accepted', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      const big = new Rng(9).bytes(3 * 1024 * 1024);
      expect(await t.append(big)).toBe(0);
      expect(hex(t.get(0)!.valueBytes)).toBe(hex(big));
      await expectSeglogError(h.mod, () => t.append(Buffer.alloc(9 * 1024 * 1024)), 'ERR_RECORD_TOO_LARGE');
      expect(t.endOffset).toBe(1);
    });
  });

  describe('time lookups', () => {
    /** The spec's definition: first offset at which the running max timestamp is >= time. */
    function oracle(timestamps: number[], time: number): number {
      let max = -Infinity;
      for (let i = 0; i < timestamps.length; i++) {
        max = Math.max(max, timestamps[i]!);
        if (max >= time) return i;
      }
      return timestamps.length;
    }

    test('offsetForTime on an empty topic is endOffset', async () => {
      const t = (await h.open(h.tmp())).topic('t');
      expect(t.offsetForTime(0)).toBe(0);
      expect(t.offsetForTime(Date.now())).toBe(0);
      expect(t.offsetForTime(new Date())).toBe(0);
    });

    test('offsetForTime uses the running maximum of timestamps (small example)', async () => {
      const t = (await h.open(h.tmp())).topic('t');
      const ts = [100, 50, 300, 200, 400, 350, 399, 500];
      for (const timestamp of ts) t.appendSync(buf('x'), { timestamp });
      const cases: Array<[number, number]> = [
        [0, 0], [50, 0], [100, 0], [101, 2], [200, 2], [300, 2], [301, 4], [350, 4], [400, 4], [401, 7], [500, 7], [501, 8],
      ];
      for (const [time, want] of cases) {
        expect(t.offsetForTime(time), `time ${time}`).toBe(want);
        expect(t.offsetForTime(new Date(time)), `Date ${time}`).toBe(want);
      }
    });

    test('offsetForTime matches a brute-force oracle over non-monotone timestamps across segments, before and after reopen', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('t', { segmentBytes: 4096, indexIntervalBytes: 200 });
      const rng = new Rng(42);
      const timestamps: number[] = [];
      let clock = 1_600_000_000_000;
      for (let i = 0; i < 1500; i++) {
        clock += rng.int(0, 20);
        // mostly increasing, sometimes far in the past or the future
        const ts = rng.bool(0.1) ? clock - rng.int(0, 5000) : rng.bool(0.02) ? clock + rng.int(0, 3000) : clock;
        timestamps.push(ts);
        const v = rng.bytes(rng.int(0, 60));
        if (i % 50 === 0) await t.appendBatch([{ value: v, timestamp: ts }]);
        else t.appendSync(v, { timestamp: ts });
      }
      const queries = new Set<number>([0, 1, clock + 10_000, Number.MAX_SAFE_INTEGER]);
      for (let i = 0; i < timestamps.length; i += 7) {
        queries.add(timestamps[i]!);
        queries.add(timestamps[i]! + 1);
        queries.add(timestamps[i]! - 1);
      }
      const check = (topic: typeof t) => {
        for (const q of queries) expect(topic.offsetForTime(q), `time ${q}`).toBe(oracle(timestamps, q));
      };
      check(t);
      await log.close();
      const t2 = (await h.open(dir)).topic('t');
      check(t2);
    });
  });

  describe('options', () => {
    test('topic options are stored: a json topic reopened without options still decodes json', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      log.topic<unknown>('j', { codec: 'json' }).appendSync({ hello: 'world' });
      await log.close();
      const log2 = await h.open(dir);
      const t = log2.topic<unknown>('j');
      expect(t.get(0)!.value).toEqual({ hello: 'world' });
      t.appendSync([1, 2]);
      expect(t.get(1)!.value).toEqual([1, 2]);
    });

    test('stored segmentBytes keeps rolling small segments after a reopen without options', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      log.topic('t', { segmentBytes: 1024 }).appendSync(Buffer.alloc(10));
      await log.close();
      const log2 = await h.open(dir);
      const t = log2.topic('t');
      for (let i = 0; i < 100; i++) await t.append(Buffer.alloc(100, i));
      expect(segmentBases(dir, 't').length).toBeGreaterThan(5);
    });

    test('options given on reopen override the stored ones; others keep their stored values', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      log.topic<unknown>('t', { codec: 'json', segmentBytes: 1024 }).appendSync({ a: 1 });
      await log.close();
      const log2 = await h.open(dir);
      // (a codec change must say so: test/codec-change.test.ts)
      const t = log2.topic<string>('t', { codec: 'string', changeCodec: true });
      expect(t.get(0)!.value).toBe('{"a":1}');
      for (let i = 0; i < 50; i++) await t.append('x'.repeat(100));
      expect(segmentBases(dir, 't').length).toBeGreaterThan(2);
      await log2.close();
      const t3 = (await h.open(dir)).topic<string>('t');
      expect(t3.get(0)!.value).toBe('{"a":1}');
    });

    test('LogOptions.defaults apply to topics created without options', async () => {
      const log = await h.open(h.tmp(), { defaults: { codec: 'json' } });
      const t = log.topic<unknown>('t');
      t.appendSync({ x: [1] });
      expect(t.get(0)!.value).toEqual({ x: [1] });
      expect(JSON.parse(t.get(0)!.valueBytes!.toString())).toEqual({ x: [1] });
    });

    test('invalid options are ERR_INVALID_ARGUMENT naming the option', async () => {
      const dir = h.tmp();
      await expectSeglogError(h.mod, () => h.mod.openLog(dir, { durability: 'x' as 'os' }), 'ERR_INVALID_ARGUMENT', ['durability']);
      await expectSeglogError(h.mod, () => h.mod.openLog(dir, { fsyncIntervalMs: -5 }), 'ERR_INVALID_ARGUMENT', ['fsyncIntervalMs']);
      await expectSeglogError(h.mod, () => h.mod.openLog(dir, { defaults: { segmentBytes: 0 } }), 'ERR_INVALID_ARGUMENT', ['segmentBytes']);
      // a failed open leaves the directory usable
      const log = await h.open(dir);
      const bad: Array<[Record<string, unknown>, string]> = [
        [{ segmentBytes: -1 }, 'segmentBytes'],
        [{ segmentBytes: 0 }, 'segmentBytes'],
        [{ segmentBytes: 1.5 }, 'segmentBytes'],
        [{ segmentBytes: 'big' }, 'segmentBytes'],
        [{ indexIntervalBytes: NaN }, 'indexIntervalBytes'],
        [{ indexIntervalBytes: -1 }, 'indexIntervalBytes'],
        [{ segmentMs: -1 }, 'segmentMs'],
        [{ maxRecordBytes: 0 }, 'maxRecordBytes'],
        [{ codec: 'yaml' }, 'codec'],
        [{ codec: { encode: () => new Uint8Array() } }, 'codec'],
        [{ cleanup: 'shred' }, 'cleanup'],
        [{ retention: { maxAgeMs: -1 } }, 'maxAgeMs'],
      ];
      for (const [options, name] of bad) {
        expectSeglogErrorSync(h.mod, () => log.topic('t', options as never), 'ERR_INVALID_ARGUMENT', [name]);
      }
      // nothing was created by the rejected calls, and good options still work
      expect(log.topics()).toEqual([]);
      expect(log.topic('t', { segmentBytes: 4096 }).appendSync(buf('ok'))).toBe(0);
    });
  });

  describe('read-only mode', () => {
    test('readOnly opens without the lock while a writer holds the directory, sees its data and refuses writes with ERR_READ_ONLY', async () => {
      const dir = h.tmp();
      const writer = await h.open(dir);
      const wt = writer.topic<unknown>('t', { codec: 'json' });
      for (let i = 0; i < 10; i++) await wt.append({ i });
      await writer.flush();
      const reader = await h.open(dir, { readOnly: true });
      expect(reader.topics()).toEqual(['t']);
      const rt = reader.topic<unknown>('t');
      expect(rt.endOffset).toBe(10);
      expect(collect(rt.read()).map((r) => r.value)).toEqual([...Array(10).keys()].map((i) => ({ i })));
      expectSeglogErrorSync(h.mod, () => rt.appendSync({ i: 99 }), 'ERR_READ_ONLY');
      await expectSeglogError(h.mod, () => rt.append({ i: 99 }), 'ERR_READ_ONLY');
      await expectSeglogError(h.mod, () => rt.appendBatch([{ value: { i: 99 } }]), 'ERR_READ_ONLY');
      const truncateError = await rt.truncateBefore(1).then(() => undefined, (e: { code: string }) => e);
      // refused either way; ERR_NOT_SUPPORTED while truncateBefore is not implemented
      expect(['ERR_READ_ONLY', 'ERR_NOT_SUPPORTED']).toContain(truncateError?.code);
      await expectSeglogError(h.mod, () => reader.deleteTopic('t'), 'ERR_READ_ONLY');
      await reader.close();
      // the writer is unaffected
      expect(await wt.append({ i: 10 })).toBe(10);
    });

    test('readOnly after the writer closed sees everything and does not change the files', async () => {
      const dir = h.tmp();
      const writer = await h.open(dir);
      const t = writer.topic('t', { segmentBytes: 1024 });
      for (let i = 0; i < 40; i++) t.appendSync(Buffer.alloc(100, i));
      await writer.close();
      const snapshot = () =>
        segmentBases(dir, 't').map((b) => [b, fs.statSync(segmentPath(dir, 't', b, 'log')).size]);
      const before = snapshot();
      const reader = await h.open(dir, { readOnly: true });
      const rt = reader.topic('t');
      expect(collect(rt.read()).map((r) => r.valueBytes![0])).toEqual([...Array(40).keys()]);
      expectSeglogErrorSync(h.mod, () => reader.topic('new-topic').appendSync(buf('x')), 'ERR_READ_ONLY');
      await reader.close();
      expect(snapshot()).toEqual(before);
      expect(fs.existsSync(path.join(dir, 'new-topic'))).toBe(false);
    });
  });

  describe('closing', () => {
    test('after log.close() calls on the log and its topics throw ERR_CLOSED', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      t.appendSync(buf('x'));
      await log.close();
      expectSeglogErrorSync(h.mod, () => log.topic('t'), 'ERR_CLOSED');
      expectSeglogErrorSync(h.mod, () => log.topics(), 'ERR_CLOSED');
      expectSeglogErrorSync(h.mod, () => log.stats(), 'ERR_CLOSED');
      await expectSeglogError(h.mod, () => log.flush(), 'ERR_CLOSED');
      await expectSeglogError(h.mod, () => log.deleteTopic('t'), 'ERR_CLOSED');
      expectSeglogErrorSync(h.mod, () => t.get(0), 'ERR_CLOSED');
      expectSeglogErrorSync(h.mod, () => collect(t.read()), 'ERR_CLOSED');
      expectSeglogErrorSync(h.mod, () => t.appendSync(buf('y')), 'ERR_CLOSED');
      expectSeglogErrorSync(h.mod, () => t.offsetForTime(0), 'ERR_CLOSED');
      await expectSeglogError(h.mod, () => t.append(buf('y')), 'ERR_CLOSED');
      await expectSeglogError(h.mod, () => t.appendBatch([{ value: buf('y') }]), 'ERR_CLOSED');
      await expectSeglogError(h.mod, () => t.truncateBefore(0), 'ERR_CLOSED');
    });

    test('close() waits for appends in flight, and a second close() does not throw anything but ERR_CLOSED', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('t');
      const pending = [t.append(buf('a')), t.append(buf('b'))];
      await log.close();
      expect(await Promise.all(pending)).toEqual([0, 1]);
      try {
        await log.close();
      } catch (e) {
        expect(e).toBeInstanceOf(h.mod.SeglogError);
        expect((e as { code: string }).code).toBe('ERR_CLOSED');
      }
      expect((await h.open(dir)).topic('t').endOffset).toBe(2);
    });

    test('await using closes the log at the end of the block', async () => {
      const dir = h.tmp();
      let escaped: Awaited<ReturnType<typeof h.mod.openLog>>;
      {
        await using log = await h.mod.openLog(dir);
        escaped = log;
        log.topic('t').appendSync(buf('x'));
      }
      expectSeglogErrorSync(h.mod, () => escaped.topics(), 'ERR_CLOSED');
      // closed means unlocked and flushed
      const again = await h.open(dir);
      expect(again.topic('t').get(0)!.valueBytes!.toString()).toBe('x');
    });

    test('Symbol.asyncDispose closes the log', async () => {
      const dir = h.tmp();
      const log = await h.mod.openLog(dir);
      await log[Symbol.asyncDispose]();
      expectSeglogErrorSync(h.mod, () => log.topics(), 'ERR_CLOSED');
      await (await h.open(dir)).close();
    });
  });

  describe('stats', () => {
    test('stats() reports per topic segments, bytes, startOffset and endOffset', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const a = log.topic('a', { segmentBytes: 1024 });
      for (let i = 0; i < 50; i++) a.appendSync(Buffer.alloc(100, i));
      log.topic('b').appendSync(buf('x'));
      log.topic('empty');
      await log.flush();
      const stats = log.stats();
      const sa = stats.topics.a!;
      expect(sa.segments).toBe(segmentBases(dir, 'a').length);
      const bytesA = segmentBases(dir, 'a').reduce((n, b) => n + fs.statSync(segmentPath(dir, 'a', b, 'log')).size, 0);
      expect(sa.bytes).toBe(bytesA);
      expect(sa.startOffset).toBe(0);
      expect(sa.endOffset).toBe(50);
      expect(stats.topics.b!.endOffset).toBe(1);
      expect(stats.topics.b!.segments).toBe(1);
      expect(stats.topics.empty!.endOffset).toBe(0);
      expect(stats.topics.empty!.bytes).toBe(0);
    });

    test('stats().startOffset follows truncateBefore', async ({ skip }) => {
      const log = await h.open(h.tmp());
      const a = log.topic('a', { segmentBytes: 1024 });
      for (let i = 0; i < 50; i++) a.appendSync(Buffer.alloc(100, i));
      await truncateBeforeOrSkip(a, 20, skip);
      expect(log.stats().topics.a!.startOffset).toBe(20);
      expect(log.stats().topics.a!.endOffset).toBe(50);
    });
  });

  describe('durability', () => {
    test.each(['fsync', 'os', 'none'] as const)("durability '%s': everything appended is there after close and reopen", async (durability) => {
      const dir = h.tmp();
      const log = await h.open(dir, { durability });
      const t = log.topic('t', { segmentBytes: 8192 });
      const expected: string[] = [];
      for (let i = 0; i < 300; i++) {
        const v = `${durability}-${i}-${'p'.repeat(i % 50)}`;
        expected.push(v);
        if (i % 3 === 0) t.appendSync(buf(v));
        else if (i % 3 === 1) await t.append(buf(v));
        else if (i % 30 === 2) {
          const vs = [v, `${v}+`];
          expected.push(vs[1]!);
          await t.appendBatch(vs.map((value) => ({ value: buf(value) })));
        } else void t.append(buf(v));
      }
      await log.close();
      const t2 = (await h.open(dir, { durability })).topic('t');
      expect(collect(t2.read()).map((r) => r.valueBytes!.toString())).toEqual(expected);
      expect(t2.endOffset).toBe(expected.length);
    });

    test("flush() under 'none' resolves once everything appended is on disk", async () => {
      const dir = h.tmp();
      const log = await h.open(dir, { durability: 'none' });
      const t = log.topic('t');
      for (let i = 0; i < 100; i++) t.appendSync(Buffer.alloc(50, i));
      await log.flush();
      const scan = scanLog(fs.readFileSync(segmentPath(dir, 't', 0, 'log')), 0);
      expect(scan.error).toBeUndefined();
      expect(scan.batches.reduce((n, b) => n + b.recordCount, 0)).toBe(100);
    });
  });
});
