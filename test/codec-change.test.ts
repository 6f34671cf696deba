// No silent retyping: opening an existing topic with a codec other than its own — in the same
// process or after a reopen, in a writable or a read-only log — or a custom-codec topic without its
// codec, is ERR_INVALID_ARGUMENT naming both codecs and `changeCodec`, and changes nothing (neither
// the stored options nor the topic object other holders have). `changeCodec: true` makes the
// change on purpose; it is stored and the old records decode with the new codec. Both entries.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, expectSeglogError, expectSeglogErrorSync, harness, type Log } from './helpers.js';
import type { Codec } from '../src/index.js';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import type { MetaStoreFactory } from '../src/store/meta-store.js';

type Point = { x: number; y: number };
const pointCodec = (): Codec<Point> => ({
  encode: (p) => Buffer.from(`${p.x},${p.y}`),
  decode: (b) => { const [x, y] = b.toString().split(',').map(Number); return { x: x!, y: y! }; },
});

const codecOf = (log: Log, name: string): string | undefined => log.stats().topics[name]?.codec;

describe.each(entries)('no silent retyping ($name)', (entry) => {
  const h = harness(entry);

  test('a different codec name for an open topic is refused; the topic keeps its codec for every holder', async () => {
    const log = await h.open(h.tmp());
    const json = log.topic('t', { codec: 'json' });
    await json.append({ a: 1 });
    const err = expectSeglogErrorSync(h.mod, () => log.topic('t', { codec: 'string', cleanup: 'compact' }), 'ERR_INVALID_ARGUMENT', ["codec 'string'", "codec 'json'", 'changeCodec: true', 'topic t']);
    expect((err as unknown as { value: unknown }).value).toBe('string');
    expectSeglogErrorSync(h.mod, () => log.topic('t', { codec: 'binary' }), 'ERR_INVALID_ARGUMENT', ["codec 'binary'"]);
    expectSeglogErrorSync(h.mod, () => log.topic('t', { codec: pointCodec() }), 'ERR_INVALID_ARGUMENT', ['a custom codec', "codec 'json'"]);
    // nothing changed: neither the codec nor the other options of the refused call
    expect(codecOf(log, 't')).toBe('json');
    expect(log.stats().topics.t!.cleanup).toBe('delete');
    expect(json.get(0)!.value).toEqual({ a: 1 });
    await json.append({ b: 2 });
    // the same codec, or none, is fine
    expect(log.topic('t', { codec: 'json' })).toBe(json);
    expect(log.topic('t')).toBe(json);
  });

  test('across close and reopen the stored codec is kept, and a different one refused', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    await log.topic('t', { codec: 'json' }).append({ a: 1 });
    await log.close();
    log = await h.open(dir);
    expectSeglogErrorSync(h.mod, () => log.topic('t', { codec: 'string' }), 'ERR_INVALID_ARGUMENT', ["codec 'string'", "codec 'json'"]);
    expectSeglogErrorSync(h.mod, () => log.topic('t', { codec: 'msgpack' }), 'ERR_INVALID_ARGUMENT', ["codec 'msgpack'"]);
    await log.close();
    log = await h.open(dir);
    expect(codecOf(log, 't')).toBe('json');
    expect(log.topic<unknown>('t').get(0)!.value).toEqual({ a: 1 });
  });

  test('changeCodec: true changes it on purpose: stored, seen by every holder, old records decoded with the new codec', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const held = log.topic<unknown>('t', { codec: 'json' });
    await held.append({ a: 1 });
    const s = log.topic('t', { codec: 'string', changeCodec: true });
    expect(s).toBe(held);
    expect(held.get(0)!.value).toBe('{"a":1}');
    await s.append('plain');
    await log.close();
    log = await h.open(dir);
    expect(codecOf(log, 't')).toBe('string');
    expect(collect(log.topic('t', { codec: 'string' }).read()).map((r) => r.value)).toEqual(['{"a":1}', 'plain']);
    expectSeglogErrorSync(h.mod, () => log.topic('t', { codec: 'json' }), 'ERR_INVALID_ARGUMENT', ["codec 'json'", "codec 'string'"]);
  });

  test('a custom-codec topic opened without its codec, or with a name, is refused; with a codec object it opens', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const p = log.topic('p', { codec: pointCodec() });
    await p.append({ x: 1, y: 2 });
    expect(log.topic('p')).toBe(p); // in this process the codec is in force
    // other options given later keep it (it is not stored, so it is not taken from the store)
    expect(log.topic('p', { segmentBytes: 1 << 20 })).toBe(p);
    expect(p.get(0)!.value).toEqual({ x: 1, y: 2 });
    await p.append({ x: 7, y: 8 });
    expect(p.get(1)!.valueBytes!.toString()).toBe('7,8');
    expectSeglogErrorSync(h.mod, () => log.topic('p', { codec: 'json' }), 'ERR_INVALID_ARGUMENT', ["codec 'json'", 'a custom codec']);
    await log.close();

    log = await h.open(dir);
    expect(codecOf(log, 'p')).toBe('custom');
    expectSeglogErrorSync(h.mod, () => log.topic('p'), 'ERR_INVALID_ARGUMENT', ['topic p', 'custom codec', 'pass it']);
    expectSeglogErrorSync(h.mod, () => log.topic('p', { segmentBytes: 1 << 20 }), 'ERR_INVALID_ARGUMENT', ['custom codec']);
    expectSeglogErrorSync(h.mod, () => log.topic('p', { codec: 'binary' }), 'ERR_INVALID_ARGUMENT', ["codec 'binary'", 'a custom codec']);
    const again = log.topic('p', { codec: pointCodec() });
    expect(again.get(0)!.value).toEqual({ x: 1, y: 2 });
    expect(codecOf(log, 'p')).toBe('custom');
    await log.close();

    // changing it to a name on purpose
    log = await h.open(dir);
    const asString = log.topic('p', { codec: 'string', changeCodec: true });
    expect(asString.get(0)!.value).toBe('1,2');
    await log.close();
    log = await h.open(dir);
    expect(codecOf(log, 'p')).toBe('string');
  });

  test('a follower that cannot see the stored codec takes the first one given, then keeps it', async () => {
    // a topic the writer created after the follower opened, picked up by refresh(): a native-free
    // follower of a default-entry writer does not read its LMDB metadata, so nothing says the codec
    const dir = h.tmp();
    const writer = await h.open(dir);
    const ro = await h.open(dir, { readOnly: true });
    await writer.topic('later', { codec: 'string' }).append('hello');
    await writer.flush();
    ro.refresh();
    const t = ro.topic('later', { codec: 'string' });
    expect(t.get(0)!.value).toBe('hello');
    expectSeglogErrorSync(h.mod, () => ro.topic('later', { codec: 'json' }), 'ERR_INVALID_ARGUMENT', ["codec 'json'", "codec 'string'"]);
  });

  test('a read-only log refuses a different codec too', async () => {
    const dir = h.tmp();
    const writer = await h.open(dir);
    await writer.topic('t', { codec: 'json' }).append({ a: 1 });
    await writer.topic('c', { codec: pointCodec() }).append({ x: 3, y: 4 });
    await writer.flush();
    const ro = await h.open(dir, { readOnly: true });
    expectSeglogErrorSync(h.mod, () => ro.topic('t', { codec: 'string' }), 'ERR_INVALID_ARGUMENT', ["codec 'string'"]);
    expectSeglogErrorSync(h.mod, () => ro.topic('c'), 'ERR_INVALID_ARGUMENT', ['custom codec']);
    expect(ro.topic<unknown>('t').get(0)!.value).toEqual({ a: 1 });
    expect(ro.topic('c', { codec: pointCodec() }).get(0)!.value).toEqual({ x: 3, y: 4 });
  });

  test("a topic created with the default codec stores 'binary': a later log-level default does not retype it", async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    await log.topic('b').append(Buffer.from('{"raw":true}'));
    await log.close();
    log = await h.open(dir, { defaults: { codec: 'json' } });
    expect(codecOf(log, 'b')).toBe('binary');
    expect(Buffer.isBuffer(log.topic('b').get(0)!.value)).toBe(true);
    expectSeglogErrorSync(h.mod, () => log.topic('b', { codec: 'json' }), 'ERR_INVALID_ARGUMENT', ["codec 'json'", "codec 'binary'"]);
    // a new topic takes the default, and keeps it when the default goes
    await log.topic<unknown>('j').append({ n: 1 });
    await log.close();
    log = await h.open(dir);
    expect(codecOf(log, 'j')).toBe('json');
  });

  test('changeCodec is checked: a boolean, with a codec, and not a log-level default', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    log.topic('t', { codec: 'json' });
    expectSeglogErrorSync(h.mod, () => log.topic('t', { codec: 'string', changeCodec: 'yes' } as never), 'ERR_INVALID_ARGUMENT', ['changeCodec', '"yes"']);
    expectSeglogErrorSync(h.mod, () => log.topic('t', { changeCodec: true }), 'ERR_INVALID_ARGUMENT', ['changeCodec', 'with the new codec']);
    expect(codecOf(log, 't')).toBe('json');
    await log.close();
    await expectSeglogError(h.mod, () => h.mod.openLog(h.tmp(), { defaults: { changeCodec: true } as never }), 'ERR_INVALID_ARGUMENT', ['changeCodec']);
    // changeCodec: false is the default behaviour (refused)
    const again = await h.open(dir);
    expectSeglogErrorSync(h.mod, () => again.topic('t', { codec: 'string', changeCodec: false }), 'ERR_INVALID_ARGUMENT', ["codec 'string'"]);
  });

  test('a topic stored before codecs were recorded (no codec in its options) takes its custom codec object', async () => {
    // what an older version stored for a custom-codec topic: options without a codec
    const factory: MetaStoreFactory = entry.name === 'seglog' ? lmdbMetaStore : fileMetaStore;
    const olderVersion: MetaStoreFactory = (d, readOnly, o) => {
      const store = factory(d, readOnly, o);
      const put = store.putTopicOptions.bind(store);
      store.putTopicOptions = (topic, options) => { const { codec: _dropped, ...rest } = options; put(topic, rest); };
      return store;
    };
    const dir = h.tmp();
    const old = await openLogWith({ meta: olderVersion }, dir);
    await old.topic('p', { codec: pointCodec() }).append({ x: 5, y: 6 });
    await old.close();
    const log = await h.open(dir);
    expect(log.topic('p', { codec: pointCodec() }).get(0)!.value).toEqual({ x: 5, y: 6 });
    await log.close();
    const after = await h.open(dir);
    expect(codecOf(after, 'p')).toBe('custom'); // recorded from now on
    expectSeglogErrorSync(h.mod, () => after.topic('p'), 'ERR_INVALID_ARGUMENT', ['custom codec']);
  });
});
