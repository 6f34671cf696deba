// One directory, either entry point: a log closed by `seglog` opens with `seglog/native-free` and
// the other way round, with its records, options, start offsets, group positions and compacted
// topics' latest values (native-free/neutral.ts). A directory the default entry point did not close
// cleanly is refused by native-free (its LMDB metadata would be lost), and a native-free crash is
// imported by the default entry point.
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, expectSeglogError, harness, killHard, spawnFixture } from './helpers.js';

const [defaultEntry, nativeFree] = [entries.find((e) => e.name === 'seglog')!, entries.find((e) => e.name === 'seglog/native-free')!];

async function consume(topic: { subscribe(o: object): AsyncIterable<{ offset: number }> & { close(): Promise<void>; commit(): Promise<void> } }, group: string, n: number): Promise<number[]> {
  const seen: number[] = [];
  const sub = topic.subscribe({ group });
  for await (const r of sub) {
    seen.push(r.offset);
    if (seen.length === n) {
      await sub.commit(); // the n-th is finished too (break alone leaves it in hand)
      break;
    }
  }
  return seen;
}

describe('one directory, either entry point', () => {
  const d = harness(defaultEntry);
  const nf = harness(nativeFree);

  test('seglog -> native-free -> seglog -> native-free: records, options, startOffset, groups and latest() carry over', async () => {
    const dir = d.tmp();
    // 1. default entry
    let log = await d.open(dir);
    const ev = log.topic<{ i: number }>('events', { codec: 'json', segmentBytes: 4096 });
    await ev.appendBatch(Array.from({ length: 500 }, (_, i) => ({ value: { i } })));
    await ev.truncateBefore(100);
    expect(await consume(ev as never, 'g', 50)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
    const kv = log.topic<string>('kv', { codec: 'string', cleanup: 'compact', segmentBytes: 2048 });
    for (let i = 0; i < 300; i++) kv.appendSync(`v${i}`, { key: `k${i % 7}` });
    await kv.compact();
    await log.close();
    expect(fs.existsSync(`${dir}/~meta.json`), 'the default entry exported its metadata at close').toBe(true);

    // 2. native-free
    log = await nf.open(dir);
    let ev2 = log.topic<{ i: number }>('events', { codec: 'json' });
    expect([ev2.startOffset, ev2.endOffset]).toEqual([100, 500]);
    expect(ev2.get(321)!.value!.i).toBe(321);
    expect(log.stats().topics.events!.groups.g!.position).toBe(150);
    expect(await consume(ev2 as never, 'g', 10)).toEqual(Array.from({ length: 10 }, (_, i) => 150 + i));
    let kv2 = log.topic<string>('kv', { codec: 'string' });
    expect(kv2.latest('k3')!.value).toBe('v297');
    kv2.appendSync('from native-free', { key: 'k3' });
    await ev2.append({ i: 500 });
    await log.close();

    // 3. default entry again: sees what native-free did
    log = await d.open(dir);
    ev2 = log.topic<{ i: number }>('events', { codec: 'json' });
    expect(ev2.endOffset).toBe(501);
    expect(log.stats().topics.events!.groups.g!.position).toBe(160);
    kv2 = log.topic<string>('kv', { codec: 'string' });
    expect(kv2.latest('k3')!.value).toBe('from native-free');
    expect(kv2.latest('k4')!.value).toBe('v298');
    expect(fs.existsSync(`${dir}/~meta.json`), 'the neutral files are removed while LMDB has the directory').toBe(false);
    await consume(ev2 as never, 'g', 5);
    await log.close();

    // 4. native-free once more
    log = await nf.open(dir);
    expect(log.stats().topics.events!.groups.g!.position).toBe(165);
    expect(log.topic<string>('kv', { codec: 'string' }).latest('k3')!.value).toBe('from native-free');
    await log.close();
  });

  test('a topic deleted under native-free stays deleted for the default entry', async () => {
    const dir = d.tmp();
    let log = await d.open(dir);
    await log.topic('a').append(Buffer.from('x'));
    await log.topic('b').append(Buffer.from('y'));
    await log.close();
    log = await nf.open(dir);
    await log.deleteTopic('a');
    await log.close();
    log = await d.open(dir);
    expect(log.topics()).toEqual(['b']);
    await log.close();
  });

  test('native-free refuses a directory the default entry did not close cleanly; after one open/close by seglog it opens', async () => {
    const dir = d.tmp();
    const child = spawnFixture(d, 'hold-lock.mjs', [defaultEntry.dist, dir]);
    await child.waitFor((l) => l === 'open');
    await killHard(child);
    await expectSeglogError(nf.mod, () => nf.mod.openLog(dir), 'ERR_NOT_SUPPORTED', ["Open it once with 'seglog'", 'readOnly', dir]);
    // read-only it opens meanwhile, without metadata: the records are there
    const ro = await nf.mod.openLog(dir, { readOnly: true });
    expect(ro.topics()).toEqual(['held']);
    expect(collect(ro.topic('held').read()).map((r) => r.valueBytes!.toString()).length).toBe(1);
    await ro.close();
    const log = await d.open(dir);
    expect(log.topic('held').endOffset).toBe(1);
    await log.close();
    const log2 = await nf.open(dir);
    expect(log2.topic('held').endOffset).toBe(1);
    await log2.close();
  });

  test('a read-only native-free follower next to a live default-entry writer reads what it writes (without its metadata), compacted topics included', async () => {
    const dir = d.tmp();
    const writer = await d.open(dir, { durability: 'os' });
    const w = writer.topic<string>('kv', { cleanup: 'compact', codec: 'string', segmentBytes: 1024 });
    for (let i = 0; i < 200; i++) w.appendSync(`v${i}`, { key: `k${i % 7}` });
    await writer.flush();
    const ro = await nf.mod.openLog(dir, { readOnly: true });
    const r = ro.topic<string>('kv', { cleanup: 'compact', codec: 'string' });
    expect(collect(r.read()).map((x) => x.value)).toEqual(collect(w.read()).map((x) => x.value));
    expect(r.latest('k3')?.value).toBe(w.latest('k3')?.value);
    for (let i = 200; i < 220; i++) w.appendSync(`v${i}`, { key: `k${i % 7}` });
    await w.compact();
    await writer.flush();
    ro.refresh();
    expect(collect(r.read()).map((x) => `${x.offset}:${x.value}`)).toEqual(collect(w.read()).map((x) => `${x.offset}:${x.value}`));
    await ro.close();
    await writer.close();
  });

  test('a native-free writer killed with -9: the default entry imports its metadata and group positions', async () => {
    const dir = d.tmp();
    let log = await nf.open(dir);
    const t = log.topic('held');
    await t.append(Buffer.from('first'));
    await consume(t as never, 'g', 1);
    await log.close();
    const child = spawnFixture(nf, 'hold-lock.mjs', [nativeFree.dist, dir]);
    await child.waitFor((l) => l === 'open');
    await killHard(child);
    log = await d.open(dir);
    expect(log.topic('held').endOffset).toBe(2);
    expect(log.stats().topics.held!.groups.g!.position).toBe(1);
    await log.close();
  });

  test('a read-only default-entry open of a directory native-free wrote last reads its metadata', async () => {
    const dir = d.tmp();
    const log = await nf.open(dir);
    const t = log.topic<string>('t', { codec: 'string' });
    await t.append('one');
    await consume(t as never, 'g', 1);
    await log.close();
    const ro = await d.open(dir, { readOnly: true });
    expect(ro.topic<string>('t', { codec: 'string' }).get(0)!.value).toBe('one');
    expect(ro.stats().topics.t!.groups.g!.position).toBe(1);
    await ro.close();
  });
});
