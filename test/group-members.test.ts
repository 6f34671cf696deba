// Members of one consumer group share its records (SPEC, "Members share the work"): each record
// goes to one open member at a time; what a member was given and did not finish (it threw, broke
// out, closed, was aborted) goes to another member above the last offset it was given, or to the
// next member; the committed position is the first unfinished record; each record tells its
// deliveryCount; maxDeliveries sends a record that failed that often to the dead-letter topic;
// maxInFlight bounds what a manual-commit member holds; batches() members share too.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { expectSeglogError, expectSeglogErrorSync, harness, type Log } from './helpers.js';

describe.each(entries)('$name: members of a group share the work', (entry) => {
  const h = harness(entry);

  async function setup(n: number): Promise<{ log: Log; dir: string }> {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('jobs');
    for (let i = 0; i < n; i++) t.appendSync(Buffer.from(`job ${i}`));
    await log.flush();
    return { log, dir };
  }

  test('two members get disjoint records, each in increasing order, together every record once', async () => {
    const { log } = await setup(200);
    const t = log.topic('jobs');
    const a = t.subscribe({ group: 'g' });
    const b = t.subscribe({ group: 'g' });
    const got: Record<string, number[]> = { a: [], b: [] };
    for (let i = 0; i < 100; i++) {
      got.a!.push((await a.next()).value!.offset);
      got.b!.push((await b.next()).value!.offset);
    }
    const all = [...got.a!, ...got.b!].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const k of ['a', 'b']) expect(got[k]).toEqual([...got[k]!].sort((x, y) => x - y));
    // both hold their last record: the group is at the lower of the two
    expect(t.groups()).toEqual([{ group: 'g', position: Math.min(got.a!.at(-1)!, got.b!.at(-1)!), lag: 200 - Math.min(got.a!.at(-1)!, got.b!.at(-1)!), members: 2 }]);
    await a.close();
    await b.close();
  });

  test('a record a member threw on goes to another member, with deliveryCount 2; the group waits for it', async () => {
    const { log, dir } = await setup(10);
    const t = log.topic('jobs');
    const a = t.subscribe({ group: 'g' });
    const b = t.subscribe({ group: 'g' });
    expect((await a.next()).value!.offset).toBe(0);
    const r1 = (await b.next()).value!;
    expect([r1.offset, r1.deliveryCount]).toEqual([1, 1]);
    await expect((async () => {
      for await (const r of { [Symbol.asyncIterator]: () => b }) if (r.offset === 2) throw new Error('handler failed');
    })()).rejects.toThrow('handler failed');
    // b finished 1 (it asked for more), threw on 2: 2 is released; a (last given 0) takes it
    const again = (await a.next()).value!;
    expect([again.offset, again.deliveryCount]).toEqual([2, 2]);
    expect(t.groups()[0]!.position).toBe(2); // a holds 2; 0 and 1 are finished
    const next = (await a.next()).value!;
    expect([next.offset, next.deliveryCount]).toEqual([3, 1]);
    await a.close();
    await log.close();
    const reopened = await h.open(dir);
    expect((await reopened.topic('jobs').subscribe({ group: 'g' }).next()).value!.offset).toBe(3);
  });

  test('records finished out of order past the first unfinished one are remembered durably: a reopen redoes only the unfinished', async () => {
    const { log, dir } = await setup(10);
    const t = log.topic('jobs');
    const a = t.subscribe({ group: 'g' });
    const b = t.subscribe({ group: 'g' });
    expect((await a.next()).value!.offset).toBe(0); // a is stuck on 0
    for (const o of [1, 2, 3, 4]) expect((await b.next()).value!.offset).toBe(o); // b finished 1..3, holds 4
    expect(t.groups()[0]!.position).toBe(0);
    await log.close(); // the process goes down with 0 and 4 unfinished
    let again = await h.open(dir);
    let t2 = again.topic('jobs');
    expect(t2.groups()[0]!.position).toBe(0);
    const c = t2.subscribe({ group: 'g' });
    const redo: number[] = [];
    for (let i = 0; i < 4; i++) redo.push((await c.next()).value!.offset);
    expect(redo).toEqual([0, 4, 5, 6]);
    expect(t2.groups()[0]!.position).toBe(6);
    // finished out of order no more: the lone member reads on alone, and the ranges are forgotten
    await c.commit();
    await again.close();
    again = await h.open(dir);
    t2 = again.topic('jobs');
    expect(t2.groups()[0]!.position).toBe(7);
    const d = t2.subscribe({ group: 'g' });
    expect((await d.next()).value!.offset).toBe(7);
    await d.close();
  });

  test('a released record below what the other members were given waits for the next member', async () => {
    const { log } = await setup(10);
    const t = log.topic('jobs');
    const a = t.subscribe({ group: 'g' });
    const b = t.subscribe({ group: 'g' });
    expect((await a.next()).value!.offset).toBe(0);
    expect((await b.next()).value!.offset).toBe(1);
    await a.close(); // 0 released; b was given 1 already, so it may not take 0
    expect((await b.next()).value!.offset).toBe(2);
    expect(t.groups()[0]!.position).toBe(0);
    const c = t.subscribe({ group: 'g' });
    const r = (await c.next()).value!;
    expect([r.offset, r.deliveryCount]).toEqual([0, 2]);
    expect((await c.next()).value!.offset).toBe(3);
    expect(t.groups()[0]!.position).toBe(2); // b holds 2
    await b.close();
    await c.close();
  });

  test('a member waiting at the tail is woken by records another member released', async () => {
    const { log } = await setup(2);
    const t = log.topic('jobs');
    const a = t.subscribe({ group: 'g' });
    const b = t.subscribe({ group: 'g' });
    expect((await a.next()).value!.offset).toBe(0);
    expect((await a.next()).value!.offset).toBe(1);
    const waiting = b.next(); // nothing for b: it waits
    await a.close(); // releases 1 (0 was finished)
    const r = (await waiting).value!;
    expect([r.offset, r.deliveryCount]).toEqual([1, 2]);
    await b.close();
  });

  test('batches() members share too: a batch another member left is taken over, then the lone member reads on', async () => {
    const { log } = await setup(1000);
    const t = log.topic('jobs');
    const a = t.subscribe({ group: 'g', maxBuffered: 64 });
    const b = t.subscribe({ group: 'g', maxBuffered: 64 });
    const ia = a.batches();
    const ib = b.batches();
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      for (const it of [ia, ib]) for (const r of (await it.next()).value!) {
        expect(seen.has(r.offset)).toBe(false);
        seen.add(r.offset);
      }
    }
    expect(seen.size).toBe(640);
    await b.close(); // its last batch [576, 640) is released: a was given only up to 575, so it takes it
    const rest: Array<[number, number]> = [];
    for (;;) {
      const { value } = await ia.next();
      for (const r of value!) rest.push([r.offset, r.deliveryCount]);
      if (rest.at(-1)![0] === 999) break;
    }
    expect(rest).toEqual(Array.from({ length: 424 }, (_, i) => [576 + i, i < 64 ? 2 : 1]));
    await a.close();
    // every record was finished but the last batch a holds
    expect(t.groups()[0]!.position).toBeGreaterThan(900);
  });

  test('maxDeliveries sends a record that failed that many times to the dead-letter topic', async () => {
    const { log } = await setup(5);
    const t = log.topic('jobs');
    const dead = log.topic('jobs.dead');
    const opts = { group: 'g', maxDeliveries: 2, deadLetter: dead };
    for (let attempt = 1; attempt <= 2; attempt++) {
      const sub = t.subscribe(opts);
      const r = (await sub.next()).value!;
      expect([r.offset, r.deliveryCount]).toEqual([0, attempt]);
      await sub.close(); // failed: not finished
    }
    expect(dead.endOffset).toBe(1);
    const d = dead.get(0)!;
    expect(d.valueBytes!.toString()).toBe('job 0');
    expect(d.headers['seglog-dead-letter']!.toString()).toBe('jobs/0/g/2');
    const sub = t.subscribe(opts);
    const r = (await sub.next()).value!;
    expect([r.offset, r.deliveryCount]).toEqual([1, 1]);
    expect(t.groups()[0]!.position).toBe(1);
    await sub.close();
  });

  test('maxInFlight bounds the unfinished records of a manual-commit member; bad options are refused', async () => {
    const { log } = await setup(20);
    const t = log.topic('jobs');
    const a = t.subscribe({ group: 'g', autoCommit: false, maxInFlight: 3 });
    const b = t.subscribe({ group: 'g', autoCommit: false });
    for (let i = 0; i < 3; i++) await a.next();
    await expectSeglogError(h.mod, () => a.next(), 'ERR_INVALID_ARGUMENT', ['maxInFlight', 3]);
    await a.commit();
    expect((await a.next()).done).toBe(false);
    await a.close();
    await b.close();
    expectSeglogErrorSync(h.mod, () => t.subscribe({ group: 'g', maxInFlight: 0 }), 'ERR_INVALID_ARGUMENT', ['maxInFlight']);
    expectSeglogErrorSync(h.mod, () => t.subscribe({ maxInFlight: 5 }), 'ERR_INVALID_ARGUMENT', ['maxInFlight']);
    expectSeglogErrorSync(h.mod, () => t.subscribe({ group: 'g', maxDeliveries: 3 }), 'ERR_INVALID_ARGUMENT', ['maxDeliveries']);
    expectSeglogErrorSync(h.mod, () => t.subscribe({ group: 'g', maxDeliveries: 3, deadLetter: 'dead' as never }), 'ERR_INVALID_ARGUMENT', ['deadLetter']);
  });
});
