// Shared consumer groups on a compacted topic: records a member was given and left unfinished
// (released), which compaction removed meanwhile, are finished as gone — and nothing else is.
// The share looks for the first record still there inside a released range [from, to)
// (group-share.ts firstRecord, read({ from, to, maxRecords: 1 })); a read that ran past `to` found
// a record outside the range instead — one another member holds, or one already finished — and
// handed it out again (to two members at once), or dead-lettered that other record in the place
// of the removed one. These tests pin that down; they fail when firstRecord ignores `to`.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, type Log, type Topic } from './helpers.js';

describe.each(entries)('$name: group members on a compacted topic', (entry) => {
  const h = harness(entry);

  /** Offsets 0..3 with keys z, a, b, c on a compacted topic. */
  async function setup(): Promise<{ log: Log; t: Topic<Buffer> }> {
    const log = await h.open(h.tmp());
    const t = log.topic('jobs', { cleanup: 'compact' });
    for (const k of ['z', 'a', 'b', 'c']) t.appendSync(Buffer.from(`job ${k}`), { key: k });
    await log.flush();
    return { log, t };
  }

  /** Supersedes key `key` and compacts: the older record of the key is gone. */
  async function supersede(t: Topic<Buffer>, key: string): Promise<number> {
    const offset = await t.append(Buffer.from(`job ${key} again`), { key });
    await t.compact();
    return offset;
  }

  const offsets = (t: Topic<Buffer>): number[] => [...t.read({ from: 0 })].map((r) => r.offset);

  test('a released record that compaction removed is finished; the next member gets the released records that are left, never one another member holds', async () => {
    const { t } = await setup();
    const a = t.subscribe({ group: 'g', autoCommit: false });
    const b = t.subscribe({ group: 'g', autoCommit: false });
    expect((await a.next()).value!.offset).toBe(0);
    expect((await b.next()).value!.offset).toBe(1);
    expect((await a.next()).value!.offset).toBe(2);
    expect((await b.next()).value!.offset).toBe(3);
    // a holds 0 and 2, b holds 1 and 3; then key a (offset 1) is superseded and compacted away
    const newer = await supersede(t, 'a');
    expect(offsets(t)).toEqual([0, 2, 3, newer]);
    await b.close(); // releases 1 (gone now) and 3; 2 stays a's
    const c = t.subscribe({ group: 'g', autoCommit: false });
    const first = (await c.next()).value!;
    // not 2: a still holds it (a read past the released range [1, 2) would hand 2 out a second time)
    expect([first.offset, first.deliveryCount, first.key!.toString()]).toEqual([3, 2, 'c']);
    const second = (await c.next()).value!;
    expect([second.offset, second.deliveryCount]).toEqual([newer, 1]);
    // 1 is finished (gone), 0 and 2 are a's: the group waits at 0
    expect(t.groups()[0]!.position).toBe(0);
    await a.commit(); // a finishes 0 and 2
    expect(t.groups()[0]!.position).toBe(3); // c holds 3 and the newer record
    await c.commit();
    expect(t.groups()[0]!.position).toBe(newer + 1);
    await a.close();
    await c.close();
  });

  test('a released record that compaction removed is not replaced by a finished one', async () => {
    const { t } = await setup();
    const a = t.subscribe({ group: 'g', autoCommit: false });
    const b = t.subscribe({ group: 'g', autoCommit: false });
    expect((await a.next()).value!.offset).toBe(0);
    expect((await b.next()).value!.offset).toBe(1);
    expect((await a.next()).value!.offset).toBe(2);
    await a.commit(); // 0 and 2 finished; 1 is b's
    expect(t.groups()[0]!.position).toBe(1);
    const newer = await supersede(t, 'a');
    await b.close(); // releases 1, which is gone
    const c = t.subscribe({ group: 'g', autoCommit: false });
    const got = (await c.next()).value!;
    // 2 was finished: the next record for c is 3, handed out for the first time
    expect([got.offset, got.deliveryCount]).toEqual([3, 1]);
    expect(t.groups()[0]!.position).toBe(3);
    expect((await c.next()).value!.offset).toBe(newer);
    await a.close();
    await c.close();
  });

  test('maxDeliveries: a record that compaction removed is not dead-lettered, and no other record is in its place', async () => {
    const { log, t } = await setup();
    const dead = log.topic('jobs.dead');
    const opts = { group: 'g', autoCommit: false, maxDeliveries: 1, deadLetter: dead };
    const a = t.subscribe(opts);
    const b = t.subscribe(opts);
    expect((await a.next()).value!.offset).toBe(0);
    expect((await b.next()).value!.offset).toBe(1);
    expect((await a.next()).value!.offset).toBe(2);
    await supersede(t, 'a');
    await b.close(); // 1 failed once: maxDeliveries reached, but it is gone — nothing to dead-letter
    expect(dead.endOffset).toBe(0);
    expect(t.groups()[0]!.position).toBe(0); // a holds 0 and 2; 1 is finished
    await a.close(); // now 0 and 2 reach maxDeliveries: they are dead-lettered, each as itself
    expect([...dead.read({ from: 0 })].map((r) => [r.key!.toString(), r.headers['seglog-dead-letter']!.toString()]))
      .toEqual([['z', 'jobs/0/g/1'], ['b', 'jobs/2/g/1']]);
    expect(t.groups()[0]!.position).toBe(3);
  });
});
