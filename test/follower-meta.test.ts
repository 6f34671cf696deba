// A read-only follower takes the writer's metadata changes (SPEC: refresh(), read-only followers):
// after refresh(), or by itself with `follow`, its start offset is the one truncateBefore set in the
// middle of a segment, a topic the writer created opens with its stored options (its codec), and
// topic.groups() shows the writer's commits, resets and deletions — in both entry points (the
// native-free store reloads `~meta.json` and `~groups.log`; the default entry reads LMDB live), with
// the writer in this process or in a child. A damaged `~meta.json` leaves the last good one in force.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, harness, waitUntil } from './helpers.js';
import { startWriter } from './follow-writer.js';

const positions = (t: { groups(): Array<{ group: string; position: number }> }): string[] => t.groups().map((g) => `${g.group}@${g.position}`);

describe.each(entries)('$name: a read-only follower takes the writer\'s metadata', (entry) => {
  const h = harness(entry);

  test('after refresh(): truncateBefore in the middle of a segment moves startOffset, and reads start there', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic<string>('a', { codec: 'string' });
    for (let i = 0; i < 10; i++) t.appendSync(`v${i}`);
    await log.flush();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('a');
    expect(r.startOffset).toBe(0);
    await t.truncateBefore(5);
    await log.flush();
    expect(ro.refresh()).toBe(0);
    expect(r.startOffset).toBe(5);
    expect(collect(r.read()).map((x) => x.offset)).toEqual([5, 6, 7, 8, 9]);
    expect(() => collect(r.read({ from: 0 }))).toThrow(expect.objectContaining({ code: 'ERR_OFFSET_OUT_OF_RANGE' }));
    expect(ro.stats().topics.a!.startOffset).toBe(5);
    await t.truncateBefore(7);
    await log.flush();
    ro.refresh();
    expect(r.startOffset).toBe(7);
  });

  test('after refresh(): topic.groups() shows the writer\'s commits, resets and deletions, and a topic the writer created has its stored codec', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic<string>('a', { codec: 'string' });
    for (let i = 0; i < 10; i++) t.appendSync(`v${i}`);
    await log.flush();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('a');
    expect(positions(r)).toEqual([]);
    const s = t.subscribe({ group: 'g', autoCommit: false });
    let n = 0;
    for await (const _ of s) if (++n === 3) break;
    await s.commit();
    await s.close();
    log.topic<string>('b', { codec: 'string' }).appendSync('b0');
    await log.flush();
    ro.refresh();
    expect(positions(r)).toEqual(['g@3']);
    expect(collect(ro.topic<string>('b').read()).map((x) => x.value)).toEqual(['b0']);
    await t.resetGroup('g', 1);
    await t.resetGroup('other', 6);
    ro.refresh();
    expect(positions(r)).toEqual(['g@1', 'other@6']);
    expect(ro.stats().topics.a!.groups).toEqual({ g: { position: 1, lag: 9 }, other: { position: 6, lag: 4 } });
    await t.deleteGroup('g');
    ro.refresh();
    expect(positions(r)).toEqual(['other@6']);
    // a group subscription opened on the follower now starts at the writer's position
    const rs = r.subscribe({ group: 'other' });
    expect(rs.position).toBe(6);
    await rs.close();
  });

  test('a following log (follow: true) next to a writer process: truncateBefore in the middle of a segment moves its startOffset by itself', async () => {
    const dir = h.tmp();
    const writer = await startWriter(h, dir);
    await writer.send('append a 0 10');
    const ro = await h.open(dir, { readOnly: true, follow: true });
    const r = ro.topic<string>('a');
    await waitUntil(() => r.endOffset === 10, 'the follower sees the records');
    expect(r.startOffset).toBe(0);
    const base = Math.max(...fs.readdirSync(path.join(dir, 'a')).filter((f) => f.endsWith('.log')).map((f) => Number(f.slice(0, -4))));
    const cut = base + 2; // inside the active segment: no segment file goes
    expect(cut).toBeLessThan(10);
    await writer.send(`truncate a ${cut}`);
    await waitUntil(() => r.startOffset === cut, 'the follower takes the start offset');
    expect(collect(r.read())[0]!.offset).toBe(cut);
    await writer.send('append b 0 3');
    await waitUntil(() => ro.topics().includes('b') && ro.topic<string>('b').endOffset === 3, 'the follower opens the new topic');
    expect(collect(ro.topic<string>('b').read()).map((x) => x.value)).toEqual(['b-0', 'b-1', 'b-2']);
    await writer.send('close');
  });
});

describe('seglog/native-free: a damaged ~meta.json does not break a follower', () => {
  const h = harness(entries[1]!);
  test('the last good document stays in force, and the next good one is taken', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic<string>('a', { codec: 'string' });
    for (let i = 0; i < 10; i++) t.appendSync(`v${i}`);
    await log.flush();
    const ro = await h.open(dir, { readOnly: true });
    const r = ro.topic<string>('a');
    await t.truncateBefore(3);
    const file = path.join(dir, '~meta.json');
    const good = fs.readFileSync(file);
    // a foreign writer's half-written document, put in place by rename (another inode)
    fs.writeFileSync(file + '.x', good.subarray(0, good.length >> 1));
    fs.renameSync(file + '.x', file);
    expect(() => ro.refresh()).not.toThrow();
    expect(r.startOffset).toBe(0);
    expect(collect(r.read()).length).toBe(10);
    await t.truncateBefore(4); // the writer replaces it with a good one
    ro.refresh();
    expect(r.startOffset).toBe(4);
  });
});
