// latest(key) on a read-only follower (SPEC: latest(), refresh(), read-only followers): after a
// refresh, or by itself with `follow`, a follower's latest() answers from the records it can read,
// as a full scan of them would: values and keys the writer wrote after the follower opened,
// tombstones, a writer whose key index lags its records (its key puts held back), a native-free key
// file the writer rewrote, a topic deleted and created again, a writer in another process, and a
// follower of the other entry point's writer (which reads no key index of the writer at all).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import type { MetaStore, MetaStoreFactory } from '../src/store/meta-store.js';
import { entries } from './entry.js';
import { collect, harness, waitUntil } from './helpers.js';
import { startWriter } from './follow-writer.js';

const metas = { 'seglog': lmdbMetaStore, 'seglog/native-free': fileMetaStore } as const;
const compacted = { cleanup: 'compact' as const, codec: 'string' as const };

type Keyed = { latest(key: string | Uint8Array): { value: string | null; offset: number } | undefined; read(): Iterable<{ key: Buffer | undefined; value: string | null; offset: number }> };

/** What a full scan says latest(key) is: the newest record with the key, undefined for a tombstone. */
function scanned(t: Keyed, key: string): string | undefined {
  let found: string | null | undefined;
  for (const r of t.read()) if (r.key?.toString() === key) found = r.value;
  return found ?? undefined;
}

/** latest() of each key, as `key=value` (`key=-` when absent). */
const answers = (t: Keyed, keys: string[]): string[] => keys.map((k) => `${k}=${t.latest(k)?.value ?? '-'}`);
const scans = (t: Keyed, keys: string[]): string[] => keys.map((k) => `${k}=${scanned(t, k) ?? '-'}`);

/** A store whose key puts are held back while `held` is set (a writer whose key index lags its records). */
function holding(factory: MetaStoreFactory): { factory: MetaStoreFactory; hold(on: boolean): void } {
  let held = false;
  let queue: Array<() => void> = [];
  const wrapped: MetaStoreFactory = (dir, readOnly, options) => {
    const store: MetaStore = factory(dir, readOnly, options);
    const put = store.putKeyOffsets.bind(store);
    store.putKeyOffsets = (topic, keys, offsets, upTo) => {
      if (held) queue.push(() => put(topic, [...keys], [...offsets], upTo)); else put(topic, keys, offsets, upTo);
    };
    return store;
  };
  return {
    factory: wrapped,
    hold(on) {
      held = on;
      if (!on) { const q = queue; queue = []; for (const f of q) f(); }
    },
  };
}

describe.each(entries)('$name: latest() on a read-only follower', (entry) => {
  const h = harness(entry);
  const meta = metas[entry.name as keyof typeof metas] as MetaStoreFactory;

  test('after refresh(), latest() sees the values, keys and tombstones the writer appended since the follower opened', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic<string>('c', { ...compacted, segmentBytes: 1024 });
    for (let i = 0; i < 100; i++) t.appendSync(`v${i}`, { key: `k${i % 10}` });
    await log.flush();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('c');
    const keys = [...Array.from({ length: 10 }, (_, i) => `k${i}`), 'new', 'gone'];
    expect(answers(r, keys)).toEqual(answers(t, keys));
    t.appendSync('two', { key: 'k3' });
    t.appendSync('first', { key: 'new' });
    t.appendSync('soon', { key: 'gone' });
    t.appendSync(null, { key: 'k4' });
    await log.flush();
    expect(answers(r, ['k3', 'new'])).toEqual(['k3=v93', 'new=-']); // not refreshed yet: what it read at open
    expect(ro.refresh()).toBe(4);
    expect(answers(r, keys)).toEqual(answers(t, keys));
    expect(r.latest(Buffer.from('k3'))!.value).toBe('two');
    expect(r.latest('k4')).toBeUndefined();
    // and again, across a roll and a compaction
    for (let i = 0; i < 100; i++) t.appendSync(`w${i}`, { key: `k${i % 7}` });
    t.appendSync(null, { key: 'gone' });
    await t.compact();
    t.appendSync('last', { key: 'k3' });
    await log.flush();
    ro.refresh();
    expect(answers(r, keys)).toEqual(answers(t, keys));
    expect(answers(r, keys)).toEqual(scans(r, keys));
    expect(r.latest('k3')!.value).toBe('last');
  });

  test('a writer whose key index lags its records (its key puts held back): the follower answers from the records it reads', async () => {
    const dir = h.tmp();
    const held = holding(meta);
    const log = await openLogWith({ meta: held.factory }, dir, { durability: 'os' });
    try {
      const t = log.topic<string>('c', compacted);
      t.appendSync('one', { key: 'k' });
      t.appendSync('x', { key: 'other' });
      await log.flush();
      const ro = await h.open(dir, { readOnly: true });
      const r = ro.topic<string>('c');
      expect(r.latest('k')!.value).toBe('one');
      held.hold(true);
      t.appendSync('two', { key: 'k' });
      t.appendSync('now', { key: 'later' });
      await log.flush();
      ro.refresh();
      expect(answers(r, ['k', 'later', 'other'])).toEqual(['k=two', 'later=now', 'other=x']);
      t.appendSync(null, { key: 'k' });
      t.appendSync('three', { key: 'later' });
      await log.flush();
      ro.refresh();
      expect(answers(r, ['k', 'later', 'other'])).toEqual(['k=-', 'later=three', 'other=x']);
      // the store catches up: its answers and the follower's agree
      held.hold(false);
      t.appendSync('again', { key: 'k' });
      await log.flush();
      ro.refresh();
      expect(answers(r, ['k', 'later', 'other'])).toEqual(['k=again', 'later=three', 'other=x']);
      expect(ro.refresh()).toBe(0);
      expect(answers(r, ['k', 'later', 'other'])).toEqual(answers(t, ['k', 'later', 'other']));
    } finally {
      await log.close();
    }
  });

  test('a key file the writer rewrote, and a topic it deleted and created again: the follower follows', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic<string>('c', compacted);
    const keyCount = 12_000;
    const sample = ['k0', 'k1', 'k5999', `k${keyCount - 1}`, 'none'];
    for (let i = 0; i < keyCount; i++) t.appendSync(`r0-${i}`, { key: `k${i}` });
    await log.flush();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('c');
    expect(answers(r, sample)).toEqual(answers(t, sample));
    const keyFile = path.join(dir, 'c~keys');
    const inoBefore = fs.existsSync(keyFile) ? fs.statSync(keyFile).ino : undefined;
    for (let round = 1; round <= 7; round++) {
      for (let i = 0; i < keyCount; i++) t.appendSync(`r${round}-${i}`, { key: `k${i}` });
      await log.flush();
      ro.refresh();
      expect(answers(r, sample)).toEqual(answers(t, sample));
    }
    // (native-free: the append-only file grew past twice its live entries and 1 MiB and was rewritten)
    if (inoBefore !== undefined) expect(fs.statSync(keyFile).ino).not.toBe(inoBefore);
    expect(r.latest('k1')!.value).toBe('r7-1');

    await log.deleteTopic('c');
    const t2 = log.topic<string>('c', compacted);
    t2.appendSync('reborn', { key: 'k1' });
    await log.flush();
    ro.refresh();
    const r2 = ro.topic<string>('c');
    expect(answers(r2, sample)).toEqual(answers(t2, sample));
    expect(r2.latest('k1')!.value).toBe('reborn');
    expect(r2.latest('k0')).toBeUndefined();
  });

  test('a following log (follow: true) next to a writer process: latest() sees the writer\'s new values, keys and tombstones by itself', async () => {
    const dir = h.tmp();
    const writer = await startWriter(h, dir);
    await writer.send('put kv k one');
    await writer.send('put kv gone soon');
    const ro = await h.open(dir, { readOnly: true, follow: true });
    const r = ro.topic<string>('kv', { codec: 'string' });
    expect(answers(r, ['k', 'gone', 'later'])).toEqual(['k=one', 'gone=soon', 'later=-']);
    await writer.send('put kv k two');
    await writer.send('put kv later now');
    await writer.send('put kv gone null');
    await waitUntil(() => r.endOffset === 5, 'the follower sees the writer\'s records');
    expect(answers(r, ['k', 'gone', 'later'])).toEqual(['k=two', 'gone=-', 'later=now']);
    expect(answers(r, ['k', 'gone', 'later'])).toEqual(scans(r, ['k', 'gone', 'later']));
    await writer.send('close');
  });
});

describe('latest() on a follower of the other entry point\'s writer (no key index of the writer to read)', () => {
  const [d, nf] = [harness(entries[0]!), harness(entries[1]!)];
  for (const [wname, fname] of [['seglog', 'seglog/native-free'], ['seglog/native-free', 'seglog']] as const) {
    test(`${wname} writer, ${fname} follower: latest() after refresh() sees what the writer appended since`, async () => {
      const [wh, fh] = wname === 'seglog' ? [d, nf] : [nf, d];
      const dir = wh.tmp();
      const log = await wh.open(dir, { durability: 'os' });
      const t = log.topic<string>('c', compacted);
      t.appendSync('one', { key: 'k' });
      await log.flush();
      const ro = await fh.open(dir, { readOnly: true });
      const r = ro.topic<string>('c', compacted);
      expect(r.latest('k')!.value).toBe('one');
      t.appendSync('two', { key: 'k' });
      t.appendSync('now', { key: 'later' });
      await log.flush();
      expect(ro.refresh()).toBe(2);
      expect(answers(r, ['k', 'later'])).toEqual(['k=two', 'later=now']);
      expect(collect(r.read()).map((x) => x.value)).toEqual(['one', 'two', 'now']);
    });
  }
});
