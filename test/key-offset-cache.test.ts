// The key index entries a writable LMDB store keeps in memory for latest() (store/key-offset-cache.ts):
// a cached answer is the store's newest, through puts, tombstones removed by compaction, a topic
// deleted and created again and a rebuilt key index; the cache holds at most its bound, oldest
// entries leaving first; a read-only LMDB store caches nothing, so it sees what the writer wrote.
import { describe, expect, test } from 'vitest';
import { ABSENT, KeyOffsetCache } from '../src/store/key-offset-cache.js';
import { entries } from './entry.js';
import { harness } from './helpers.js';

describe('KeyOffsetCache', () => {
  test('answers what was added, takes the offsets of writes of keys it holds, and forgets a dropped topic', () => {
    const c = new KeyOffsetCache(100);
    expect(c.get('t', 'a')).toBeUndefined();
    c.add('t', 'a', 5);
    c.add('t', 'b', ABSENT);
    c.add('u', 'a', 9);
    expect([c.get('t', 'a'), c.get('t', 'b'), c.get('u', 'a')]).toEqual([5, ABSENT, 9]);
    c.written('t', ['a', 'b', 'c'], [7, 8, 9]);
    expect([c.get('t', 'a'), c.get('t', 'b'), c.get('t', 'c')]).toEqual([7, 8, undefined]); // c was not held
    c.written('t', ['a'], [-1]);
    expect(c.get('t', 'a')).toBe(ABSENT);
    c.dropTopic('t');
    expect([c.get('t', 'a'), c.get('t', 'b'), c.get('u', 'a')]).toEqual([undefined, undefined, 9]);
  });

  test('holds at most its bound; the oldest entries leave first', () => {
    const c = new KeyOffsetCache(64);
    for (let i = 0; i < 1000; i++) c.add(i % 2 === 0 ? 'even' : 'odd', `k${i}`, i);
    let held = 0;
    for (let i = 0; i < 1000; i++) {
      const v = c.get(i % 2 === 0 ? 'even' : 'odd', `k${i}`);
      if (v !== undefined) { held++; expect(v).toBe(i); }
    }
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(64);
    expect(c.get('odd', 'k999')).toBe(999); // the newest stays
    expect(c.get('even', 'k0')).toBeUndefined();
  });
});

describe.each(entries)('$name: latest() answers stay the newest through the key cache', (entry) => {
  const h = harness(entry);

  test('after new records, a tombstone compacted away, a rebuilt index and a topic deleted and created again', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const opts = { cleanup: 'compact' as const, codec: 'string' as const, segmentBytes: 1024, tombstoneRetentionMs: 0 };
    const t = log.topic<string>('c', opts);
    for (let i = 0; i < 300; i++) await t.append(`v${i}`, { key: `k${i % 10}` });
    await log.flush();
    // asked (and cached) before the store has the newest, then again after each change
    expect(t.latest('k3')!.value).toBe('v293');
    expect(t.latest('nope')).toBeUndefined();
    await t.append('new', { key: 'k3' });
    await t.append('first', { key: 'nope' });
    await log.flush();
    expect(t.latest('k3')!.value).toBe('new');
    expect(t.latest('nope')!.value).toBe('first');
    await t.append(null, { key: 'k3' }); // tombstone
    await log.flush();
    expect(t.latest('k3')).toBeUndefined();
    for (let i = 0; i < 50; i++) await t.append(`w${i}`, { key: `k${(i % 9) + 4}` }); // roll past the tombstone
    await log.flush();
    await t.compact();
    expect(t.latest('k3')).toBeUndefined();
    expect(t.latest('k4')!.value).toBe('w45');
    await log.close();

    // reopened: the cache starts empty, the store answers
    const again = await h.open(dir, { durability: 'os' });
    const t2 = again.topic<string>('c');
    expect(t2.latest('k4')!.value).toBe('w45');
    expect(t2.latest('nope')!.value).toBe('first');
    await again.deleteTopic('c');
    const t3 = again.topic<string>('c', opts);
    expect(t3.latest('k4')).toBeUndefined();
    await t3.append('again', { key: 'k4' });
    await again.flush();
    expect(t3.latest('k4')!.value).toBe('again');
  });

  test('a read-only log answers with what the writer wrote since it last asked', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic<string>('c', { cleanup: 'compact', codec: 'string' });
    await t.append('one', { key: 'k' });
    await log.flush();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('c');
    expect(r.latest('k')!.value).toBe('one');
    expect(r.latest('later')).toBeUndefined();
    await t.append('two', { key: 'k' });
    await t.append('now', { key: 'later' });
    await log.flush();
    ro.refresh();
    expect(r.latest('k')!.value).toBe('two');
    expect(r.latest('later')!.value).toBe('now');
  });
});
