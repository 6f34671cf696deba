// Finished-out-of-order ranges and the delivery counts of records handed out and not finished
// (issue 12) vs the neutral export/import (src/store/neutral.ts) and vs an LMDB repair that
// restores from ~meta.json. The log closes while a and b hold 0 and 4: those deliveries count.
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness } from './helpers.js';

const [defaultEntry, nativeFree] = [entries.find((e) => e.name === 'seglog')!, entries.find((e) => e.name === 'seglog/native-free')!];

async function leaveRanges(log: any): Promise<void> {
  const t = log.topic('jobs');
  for (let i = 0; i < 10; i++) t.appendSync(Buffer.from(`job ${i}`));
  await log.flush();
  const a = t.subscribe({ group: 'g' });
  const b = t.subscribe({ group: 'g' });
  expect((await a.next()).value!.offset).toBe(0);            // a stuck on 0
  for (const o of [1, 2, 3, 4]) expect((await b.next()).value!.offset).toBe(o); // b finished 1..3, holds 4
  await log.close();
}

async function redo(log: any): Promise<number[]> {
  const c = log.topic('jobs').subscribe({ group: 'g' });
  const got: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = (await c.next()).value!;
    got.push(r.offset);
    counts.push(r.deliveryCount);
  }
  await c.close();
  // 0 and 4 were in hand when the log closed: given once before, so this is their second delivery
  expect(counts, 'deliveryCount of 0, 4, 5, 6').toEqual([2, 2, 1, 1]);
  return got;
}

describe('finished ranges across entry points and repair', () => {
  const d = harness(defaultEntry);
  const nf = harness(nativeFree);

  test('same entry (control): seglog -> seglog redoes only 0,4,...', async () => {
    const dir = d.tmp();
    await leaveRanges(await d.open(dir));
    expect(await redo(await d.open(dir))).toEqual([0, 4, 5, 6]);
  });

  test('seglog -> native-free keeps the finished ranges', async () => {
    const dir = d.tmp();
    await leaveRanges(await d.open(dir));
    expect(fs.readFileSync(`${dir}/~groups.log`, 'utf8')).toContain('"f"');
    expect(fs.readFileSync(`${dir}/~groups.log`, 'utf8')).toContain('["i","jobs","g",[0,1,1,4,5,1]]');
    expect(await redo(await nf.open(dir))).toEqual([0, 4, 5, 6]);
  });

  test('native-free -> seglog keeps the finished ranges', async () => {
    const dir = d.tmp();
    await leaveRanges(await nf.open(dir));
    expect(await redo(await d.open(dir))).toEqual([0, 4, 5, 6]);
  });

  test('seglog: damaged ~meta.lmdb + repair restores positions and finished ranges from the neutral files', async () => {
    const dir = d.tmp();
    await leaveRanges(await d.open(dir));
    fs.truncateSync(`${dir}/~meta.lmdb`, 4096);
    const log = await d.open(dir, { repair: true } as any);
    expect(log.topic('jobs').groups()[0]!.position).toBe(0);
    expect(await redo(log)).toEqual([0, 4, 5, 6]);
  });
});
