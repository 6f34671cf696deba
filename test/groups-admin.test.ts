// Group management (SPEC, "Consumer groups: shared work and managed positions"): topic.groups()
// lists groups with position, lag and open members; resetGroup() sets a position explicitly,
// backwards too, and that rewind survives a reopen; deleteGroup() forgets a group durably; both
// are refused with ERR_INVALID_ARGUMENT naming the group while it has open members. Positions never
// go backwards otherwise (a commit below is still ignored after a reset).
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { expectSeglogError, harness } from './helpers.js';

describe.each(entries)('$name: managing consumer groups', (entry) => {
  const h = harness(entry);

  async function setup(n = 20) {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('jobs');
    for (let i = 0; i < n; i++) t.appendSync(Buffer.from(`job ${i}`), { timestamp: Date.UTC(2026, 0, 1, 0, i) });
    await log.flush();
    return { dir, log, t };
  }

  test('groups() lists each group by name with its position, lag and open members', async () => {
    const { t } = await setup();
    expect(t.groups()).toEqual([]);
    await t.subscribe({ group: 'b', autoCommit: false }).commit(5);
    const a = t.subscribe({ group: 'a' });
    await a.next();
    const a2 = t.subscribe({ group: 'a', autoCommit: false });
    expect(t.groups()).toEqual([
      { group: 'a', position: 0, lag: 20, members: 2 },
      { group: 'b', position: 5, lag: 15, members: 1 },
    ]);
    await a.close();
    await a2.close();
    expect(t.groups().find((g) => g.group === 'a')!.members).toBe(0);
  });

  test('resetGroup rewinds a group (backwards too); the rewind survives a reopen and the group resumes there', async () => {
    const { dir, log, t } = await setup();
    const sub = t.subscribe({ group: 'g', autoCommit: false });
    await sub.commit(15);
    await sub.close();
    await t.resetGroup('g', 4);
    expect(t.groups()).toEqual([{ group: 'g', position: 4, lag: 16, members: 0 }]);
    await log.close();
    const again = await h.open(dir);
    const t2 = again.topic('jobs');
    expect(t2.groups()[0]!.position).toBe(4);
    const resumed = t2.subscribe({ group: 'g', autoCommit: false });
    expect((await resumed.next()).value!.offset).toBe(4);
    // after the reset, positions go forward only again
    await resumed.commit(2);
    expect(t2.groups()[0]!.position).toBe(4);
    await resumed.close();
  });

  test("resetGroup takes 'earliest', 'latest', an offset and a Date; a new group is created", async () => {
    const { log, t } = await setup();
    await t.truncateBefore(3);
    await t.resetGroup('g', 'latest');
    expect(t.groups()[0]!.position).toBe(20);
    await t.resetGroup('g', 'earliest');
    expect(t.groups()[0]!.position).toBe(3);
    await t.resetGroup('g', new Date(Date.UTC(2026, 0, 1, 0, 7)));
    expect(t.groups()[0]!.position).toBe(7);
    await t.resetGroup('g', 1); // below startOffset: resumes at startOffset
    expect(t.groups()[0]!.position).toBe(3);
    expect(log.stats().topics.jobs!.groups.g!.position).toBe(3);
  });

  test('resetGroup and deleteGroup refuse bad input with ERR_INVALID_ARGUMENT naming the value', async () => {
    const { t } = await setup();
    await expectSeglogError(h.mod, () => t.resetGroup('g', 21), 'ERR_INVALID_ARGUMENT', [21]);
    await expectSeglogError(h.mod, () => t.resetGroup('g', -1), 'ERR_INVALID_ARGUMENT', [-1]);
    await expectSeglogError(h.mod, () => t.resetGroup('g', 'first' as never), 'ERR_INVALID_ARGUMENT', ['first']);
    await expectSeglogError(h.mod, () => t.resetGroup('g', new Date(NaN)), 'ERR_INVALID_ARGUMENT');
    await expectSeglogError(h.mod, () => t.resetGroup('', 0), 'ERR_INVALID_ARGUMENT', ['group']);
    await expectSeglogError(h.mod, () => t.deleteGroup(7 as never), 'ERR_INVALID_ARGUMENT', [7]);
    // NUL separates the default entry's LMDB keys ('\0done\0<group>' holds a group's finished ranges)
    await expectSeglogError(h.mod, () => t.resetGroup('a\0done\0b', 0), 'ERR_INVALID_ARGUMENT');
    await expectSeglogError(h.mod, () => t.deleteGroup('\0'), 'ERR_INVALID_ARGUMENT');
    await expectSeglogError(h.mod, () => (t.subscribe({ group: 'x\0y' }), Promise.resolve()), 'ERR_INVALID_ARGUMENT');
    expect(t.groups()).toEqual([]);
  });

  test('both are refused while the group has open members, naming the group; allowed once they closed', async () => {
    const { t } = await setup();
    const sub = t.subscribe({ group: 'mailer' });
    await sub.next();
    await expectSeglogError(h.mod, () => t.resetGroup('mailer', 0), 'ERR_INVALID_ARGUMENT', ['mailer']);
    await expectSeglogError(h.mod, () => t.deleteGroup('mailer'), 'ERR_INVALID_ARGUMENT', ['mailer']);
    // a member that ended by the signal counts no more
    const ac = new AbortController();
    t.subscribe({ group: 'other', signal: ac.signal });
    await expectSeglogError(h.mod, () => t.deleteGroup('other'), 'ERR_INVALID_ARGUMENT', ['other']);
    ac.abort();
    await t.deleteGroup('other');
    await sub.close();
    await t.resetGroup('mailer', 10);
    expect(t.groups()).toEqual([{ group: 'mailer', position: 10, lag: 10, members: 0 }]);
  });

  test('deleteGroup forgets a group durably: after a reopen a new member starts at from', async () => {
    const { dir, log, t } = await setup();
    await t.subscribe({ group: 'gone', autoCommit: false }).commit(12);
    await t.subscribe({ group: 'kept', autoCommit: false }).commit(6);
    await log.close();
    let again = await h.open(dir);
    let t2 = again.topic('jobs');
    await t2.deleteGroup('gone');
    await t2.deleteGroup('never-was'); // nothing to forget
    expect(t2.groups().map((g) => g.group)).toEqual(['kept']);
    expect(again.stats().topics.jobs!.groups).toEqual({ kept: { position: 6, lag: 14 } });
    await again.close();
    again = await h.open(dir);
    t2 = again.topic('jobs');
    expect(t2.groups().map((g) => g.group)).toEqual(['kept']);
    const late = t2.subscribe({ group: 'gone', from: 'latest', autoCommit: false });
    expect(late.position).toBe(20);
    await late.close();
    // and it can be used again like a new group
    await t2.subscribe({ group: 'gone', autoCommit: false }).commit(3);
    await again.close();
    again = await h.open(dir);
    expect(again.topic('jobs').groups()).toEqual([
      { group: 'gone', position: 3, lag: 17, members: 0 },
      { group: 'kept', position: 6, lag: 14, members: 0 },
    ]);
  });

  test('a reset or delete in the same tick as commits of other groups keeps each of them', async () => {
    const { dir, log, t } = await setup();
    const a = t.subscribe({ group: 'a', autoCommit: false });
    await a.commit(9);
    await a.close();
    const b = t.subscribe({ group: 'b', autoCommit: false });
    await Promise.all([t.resetGroup('a', 2), b.commit(11), t.resetGroup('c', 5)]);
    await b.close();
    await t.deleteGroup('c');
    await log.close();
    const again = await h.open(dir);
    expect(again.stats().topics.jobs!.groups).toEqual({ a: { position: 2, lag: 18 }, b: { position: 11, lag: 9 } });
  });

  test('on a read-only log, groups() lists and changes are ERR_READ_ONLY', async () => {
    const { dir, log, t } = await setup();
    await t.subscribe({ group: 'g', autoCommit: false }).commit(8);
    await log.close();
    const ro = await h.open(dir, { readOnly: true });
    const rt = ro.topic('jobs');
    expect(rt.groups()).toEqual([{ group: 'g', position: 8, lag: 12, members: 0 }]);
    await expectSeglogError(h.mod, () => rt.resetGroup('g', 0), 'ERR_READ_ONLY', ['g']);
    await expectSeglogError(h.mod, () => rt.deleteGroup('g'), 'ERR_READ_ONLY', ['g']);
  });
});
