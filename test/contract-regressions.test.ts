// SPEC behaviours a review found broken, each pinned: tiny segmentBytes, explicit retention right
// after rolls (segments whose background fsync was still running were skipped), a subscription's
// position after retention, an aborted consumer's commit, and retention limits kept one by one.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, segmentBases } from './helpers.js';

describe.each(entries)('$name: contract regressions', (entry) => {
  const h = harness(entry);

  test('segmentBytes smaller than a record: every segment takes at least one batch; reads and reopen work', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const t = log.topic<string>('t', { codec: 'string', segmentBytes: 100 });
    for (let i = 0; i < 12; i++) await t.append(`record ${i} ${'x'.repeat(i * 20)}`);
    expect(segmentBases(dir, 't').length).toBeGreaterThanOrEqual(10);
    await log.close();
    log = await h.open(dir);
    const t2 = log.topic<string>('t', { codec: 'string' });
    expect([...t2.read()].map((r) => r.value)).toEqual(Array.from({ length: 12 }, (_, i) => `record ${i} ${'x'.repeat(i * 20)}`));
  });

  for (const durability of ['none', 'os', 'fsync'] as const) {
    test(`durability '${durability}': enforceRetention and truncateBefore right after rolls remove every segment they should`, async () => {
      const dir = h.tmp();
      const log = await h.open(dir, { durability });
      const t = log.topic('t', { segmentBytes: 1024 });
      for (let i = 0; i < 40; i++) t.appendSync(Buffer.alloc(300, i));
      const before = segmentBases(dir, 't').length;
      expect(before).toBeGreaterThan(10);
      await t.truncateBefore(30);
      expect(t.startOffset).toBe(30);
      const bases = segmentBases(dir, 't');
      expect(bases.length).toBeLessThan(before);
      expect(bases[0]!).toBeLessThanOrEqual(30);
      expect(bases.length > 1 ? bases[1]! : Infinity).toBeGreaterThan(30); // the first segment left holds offset 30
      const res = await t.enforceRetention(Date.now() + 1000 * 86400 * 365 * 10); // no retention set: nothing by age
      expect(res).toEqual({ segmentsDeleted: 0, bytesFreed: 0 });
    });
  }

  test('enforceRetention by size right after appendSync rolls deletes down to maxBytes', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 1024, retention: { maxBytes: 2048 } });
    for (let i = 0; i < 40; i++) t.appendSync(Buffer.alloc(300, i));
    await t.enforceRetention();
    expect(log.stats().topics.t!.bytes).toBeLessThanOrEqual(2048 + 1024);
    expect(segmentBases(dir, 't').length).toBeLessThanOrEqual(3);
  });

  test('a subscription and a group whose position retention removed report startOffset as their position', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { segmentBytes: 1024 });
    for (let i = 0; i < 40; i++) await t.append(Buffer.alloc(100, i));
    const sub = t.subscribe({ group: 'g' });
    await sub.next();
    await sub.close();
    await t.truncateBefore(20);
    expect(log.stats().topics.t!.groups.g).toEqual({ position: 20, lag: 20 });
    const again = t.subscribe({ group: 'g' });
    expect(again.position).toBe(20);
    expect(again.lag).toBe(20);
    expect((await again.next()).value!.offset).toBe(20);
    await again.close();
  });

  // SPEC (issue 12) changed this: the signal commits only what came before the record in hand, and
  // the next() that for await makes after the end commits nothing (it used to commit offset 2).
  test('after the signal ends a group subscription, the record in hand stays unfinished: a reopen delivers it again', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const t = log.topic('t');
    for (let i = 0; i < 10; i++) await t.append(Buffer.from(`r${i}`));
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const r of t.subscribe({ group: 'g', signal: ac.signal })) {
      seen.push(r.offset);
      if (seen.length === 3) ac.abort();
    }
    expect(seen).toEqual([0, 1, 2]);
    await log.close();
    log = await h.open(dir);
    const sub = log.topic('t').subscribe({ group: 'g' });
    expect((await sub.next()).value!.offset).toBe(2);
    await sub.close();
  });

  test('retention limits are kept one by one: reopening with only maxBytes keeps the stored maxAgeMs', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    log.topic('t', { retention: { maxAgeMs: 5000, maxBytes: 100_000 } });
    await log.close();
    log = await h.open(dir);
    log.topic('t', { retention: { maxBytes: 50_000 } });
    await log.close();
    log = await h.open(dir);
    const t2 = log.topic('t', { segmentBytes: 1024 });
    const now = Date.now();
    t2.appendSync(Buffer.alloc(900), { timestamp: now - 60_000 }); // alone in the first segment
    for (let i = 0; i < 10; i++) t2.appendSync(Buffer.alloc(200, i), { timestamp: now });
    const res = await t2.enforceRetention(now);
    expect(res.segmentsDeleted, 'the 5 s age limit still applies').toBeGreaterThan(0);
    expect(t2.startOffset).toBeGreaterThan(0);
  });
});
