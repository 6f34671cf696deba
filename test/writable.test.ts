// topic.writable(): a Node Writable that appends. pipeline() from an array, from a topic's read()
// and from Readable.from(subscription) into it; chunks as values or records ('auto', 'values',
// 'records'); backpressure (write() turns false at highWaterMark records awaiting acknowledgement,
// 'drain' once they are acknowledged, never more than that many pending); a chunk the topic
// refuses fails the stream with its SeglogError after appending exactly the chunks before it; a
// log closed under the stream fails it with ERR_CLOSED and loses nothing acknowledged; options
// are validated.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { expectSeglogError, expectSeglogErrorSync, harness } from './helpers.js';

describe.each(entries)('$name: topic.writable()', (entry) => {
  const h = harness(entry);

  test('pipeline(source, topic.writable()) appends every value in order and resolves once all are acknowledged (fsync)', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic('events', { codec: 'json' });
    const values = Array.from({ length: 3000 }, (_, i) => ({ i, kind: i % 2 ? 'odd' : 'even' }));
    await pipeline(Readable.from(values), t.writable());
    expect(t.endOffset).toBe(3000);
    expect([...t.read()].map((r) => r.value)).toEqual(values);
  });

  test('records carry key, headers and timestamp; auto takes only { value, key?, headers?, timestamp? } for a record', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic('mixed', { codec: 'json' });
    await pipeline(Readable.from([
      { value: { n: 1 }, key: 'a', headers: { h: 'v' }, timestamp: 1_700_000_000_000 },
      { value: 2 },
      { value: 3, other: true },
      [4],
      'five',
    ]), t.writable());
    const rs = [...t.read()];
    expect(rs.map((r) => r.value)).toEqual([{ n: 1 }, 2, { value: 3, other: true }, [4], 'five']);
    expect(rs[0]!.key!.toString()).toBe('a');
    expect(rs[0]!.headers.h!.toString()).toBe('v');
    expect(rs[0]!.timestamp).toBe(1_700_000_000_000);
    const values = log.topic('values', { codec: 'json' });
    await pipeline(Readable.from([{ value: 1, key: 'k' }]), values.writable({ chunks: 'values' }));
    expect(values.get(0)!.value).toEqual({ value: 1, key: 'k' });
    expect(values.get(0)!.key).toBeUndefined();
    const bin = log.topic('bin');
    await pipeline(Readable.from([Buffer.from('x'), { value: Buffer.from('y'), key: 'k' }]), bin.writable());
    expect([...bin.read()].map((r) => [r.value!.toString(), r.key?.toString()])).toEqual([['x', undefined], ['y', 'k']]);
  });

  test('a tombstone goes in as { value: null, key } (a stream cannot carry null itself)', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic<string>('table', { codec: 'string', cleanup: 'compact' });
    await pipeline(Readable.from([{ value: 'on', key: 'lamp' }, { value: null, key: 'lamp' }]), t.writable());
    expect(t.get(0)!.value).toBe('on');
    expect(t.get(1)!.value).toBeNull();
    expect(t.get(1)!.key!.toString()).toBe('lamp');
    expect(t.latest('lamp')).toBeUndefined(); // deleted
  });

  test('backpressure: write() is false once highWaterMark records await acknowledgement; drain comes when they are acknowledged', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic('bp', { codec: 'string' });
    const w = t.writable({ highWaterMark: 4 });
    const acked: number[] = [];
    const results: boolean[] = [];
    for (let i = 0; i < 4; i++) results.push(w.write(`r${i}`, () => acked.push(i)));
    expect(results).toEqual([true, true, true, false]);
    expect(acked).toEqual([]); // nothing is acknowledged in the tick it was written (fsync pending)
    await once(w, 'drain');
    expect(acked).toEqual([0, 1, 2, 3]);
    expect(w.writableLength).toBe(0);
    // a producer that honours write() never has more than highWaterMark records pending
    let pending = 0;
    let pendingMax = 0;
    for (let i = 4; i < 400; i++) {
      pending++;
      pendingMax = Math.max(pendingMax, pending);
      if (!w.write(`r${i}`, () => pending--)) await once(w, 'drain');
    }
    w.end();
    await once(w, 'finish');
    expect(pending).toBe(0);
    expect(pendingMax).toBeLessThanOrEqual(4);
    expect([...t.read()].map((r) => r.value)).toEqual(Array.from({ length: 400 }, (_, i) => `r${i}`));
  });

  test('Readable.from(subscription) → transform → other.writable(): a topic copied through streams', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const src = log.topic<unknown>('src', { codec: 'json' });
    const dst = log.topic('dst', { codec: 'json' });
    for (let i = 0; i < 500; i++) src.appendSync({ i }, { key: `k${i % 7}` });
    const sub = src.subscribe({ from: 0 });
    let n = 0;
    await pipeline(Readable.from(sub), async function* (records) {
      for await (const r of records) {
        yield { value: { doubled: (r.value as { i: number }).i * 2 }, key: r.key };
        if (++n === 500) return;
      }
    }, dst.writable());
    expect(dst.endOffset).toBe(500);
    expect(dst.get(499)!.value).toEqual({ doubled: 998 });
    expect(dst.get(499)!.key!.toString()).toBe('k2');
    const raw = log.topic('raw');
    await pipeline(Readable.from(dst.read({ from: 100, maxRecords: 10 })), async function* (rs) {
      for await (const r of rs) yield r.valueBytes;
    }, raw.writable());
    expect(JSON.parse(raw.get(9)!.value!.toString())).toEqual({ doubled: 218 });
  });

  test('a refused chunk fails the stream with its SeglogError after appending exactly the chunks before it', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic('strict', { codec: 'string' });
    const chunks: unknown[] = Array.from({ length: 50 }, (_, i) => `ok ${i}`);
    chunks.splice(37, 0, 12345); // not a string
    const err = await expectSeglogError(h.mod, () => pipeline(Readable.from(chunks), t.writable()), 'ERR_INVALID_ARGUMENT', ['12345']);
    expect(err).toBeInstanceOf(h.mod.SeglogError);
    expect(t.endOffset).toBe(37);
    expect([...t.read()].map((r) => r.value)).toEqual(chunks.slice(0, 37));
    // a record of the wrong shape, and a too-large record, the same way; the topic still takes appends
    const r = log.topic<string>('records', { codec: 'string', maxRecordBytes: 1024 });
    await expectSeglogError(h.mod, () => pipeline(Readable.from([{ value: 'a' }, 'plain']), r.writable({ chunks: 'records' })), 'ERR_INVALID_ARGUMENT', ['"plain"']);
    await expectSeglogError(h.mod, () => pipeline(Readable.from([{ value: 'b', kye: 'x' }]), r.writable({ chunks: 'records' })), 'ERR_INVALID_ARGUMENT', ['kye']);
    await expectSeglogError(h.mod, () => pipeline(Readable.from(['c', 'x'.repeat(5000)]), r.writable()), 'ERR_RECORD_TOO_LARGE');
    expect([...r.read()].map((x) => x.value)).toEqual(['a', 'c']);
    await r.append('d');
    expect(r.endOffset).toBe(3);
  });

  test('a log closed under the stream fails it with ERR_CLOSED; everything acknowledged is there after a reopen', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('closing', { codec: 'string' });
    const w = t.writable({ highWaterMark: 8 });
    const acked: string[] = [];
    for (let i = 0; i < 8; i++) w.write(`v${i}`, (err) => { if (!err) acked.push(`v${i}`); });
    await once(w, 'drain');
    await log.close();
    const failed = once(w, 'error');
    w.write('after close');
    const [err] = await failed as [Error & { code: string }];
    expect(err.code).toBe('ERR_CLOSED');
    const again = await h.open(dir);
    expect([...again.topic('closing', { codec: 'string' }).read()].map((r) => r.value)).toEqual(acked);
    expect(acked).toHaveLength(8);
  });

  test('bad options and a read-only log are refused when the stream is made', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('opts');
    expectSeglogErrorSync(h.mod, () => t.writable({ highWaterMark: 0 }), 'ERR_INVALID_ARGUMENT', ['highWaterMark', '0']);
    expectSeglogErrorSync(h.mod, () => t.writable({ highWaterMark: 1.5 }), 'ERR_INVALID_ARGUMENT', ['highWaterMark']);
    expectSeglogErrorSync(h.mod, () => t.writable({ chunks: 'rows' } as never), 'ERR_INVALID_ARGUMENT', ['chunks', '"rows"']);
    expectSeglogErrorSync(h.mod, () => t.writable({ objectMode: false } as never), 'ERR_INVALID_ARGUMENT', ['objectMode']);
    expectSeglogErrorSync(h.mod, () => t.writable('fast' as never), 'ERR_INVALID_ARGUMENT', ['"fast"']);
    expect(t.writable()).toBeInstanceOf(Writable);
    await t.append(Buffer.from('x'));
    await log.close();
    const reader = await h.open(dir, { readOnly: true });
    expectSeglogErrorSync(h.mod, () => reader.topic('opts').writable(), 'ERR_READ_ONLY', ['opts']);
  });
});
