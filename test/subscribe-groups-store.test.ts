// Committed group positions in the metadata store: many groups over several topics survive a
// reopen, deleting one topic keeps the others' groups, and (native-free) the append-only
// `~groups.log` recovers from a torn last line and refuses a damaged line followed by valid ones.
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { entries } from './entry.js';
import { expectSeglogError, harness } from './helpers.js';

describe.each(entries)('$name: consumer group positions in the metadata store', (entry) => {
  const h = harness(entry);

  test('positions of many groups on several topics survive reopen; deleteTopic removes only its own', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const expected: Record<string, Record<string, { position: number; lag: number }>> = {};
    for (const name of ['a', 'b', 'c']) {
      const t = log.topic(name);
      for (let i = 0; i < 100; i++) t.appendSync(Buffer.from(`${name}${i}`));
      expected[name] = {};
      for (let g = 0; g < 20; g++) {
        const sub = t.subscribe({ group: `group ${g} of ${name} ✓`, autoCommit: false });
        // several commits per group in the same tick: the last (largest) wins
        await Promise.all([sub.commit(g), sub.commit(g * 3), sub.commit(g * 2)]);
        expected[name]![`group ${g} of ${name} ✓`] = { position: g * 3, lag: 100 - g * 3 };
      }
    }
    await log.close();
    log = await h.open(dir);
    for (const name of ['a', 'b', 'c']) expect(log.stats().topics[name]!.groups).toEqual(expected[name]);
    await log.deleteTopic('b');
    await log.close();
    log = await h.open(dir);
    expect(log.topics()).toEqual(['a', 'c']);
    expect(log.stats().topics.a!.groups).toEqual(expected.a);
    expect(log.stats().topics.c!.groups).toEqual(expected.c);
  });

  test.runIf(entry.name === 'seglog/native-free')('~groups.log: a torn last line is dropped, earlier positions are kept', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const t = log.topic('t');
    for (let i = 0; i < 50; i++) t.appendSync(Buffer.from(`r${i}`));
    const sub = t.subscribe({ group: 'g', autoCommit: false });
    await sub.commit(10);
    await sub.commit(20);
    await log.close();
    const file = path.join(dir, '~groups.log');
    const text = fs.readFileSync(file);
    // a third commit torn half-way through its line (a crash in the middle of the write)
    const lines = text.toString('utf8').trimEnd().split('\n');
    const last = lines[lines.length - 1]!.replace('20', '30');
    fs.appendFileSync(file, last.slice(0, last.length - 3));
    log = await h.open(dir);
    expect(log.stats().topics.t!.groups.g!.position).toBe(20);
    // and the file was rewritten without the torn line: later commits are read back
    await log.topic('t').subscribe({ group: 'g', autoCommit: false }).commit(25);
    await log.close();
    log = await h.open(dir);
    expect(log.stats().topics.t!.groups.g!.position).toBe(25);
  });

  test.runIf(entry.name === 'seglog/native-free')('~groups.log: a damaged line followed by valid ones is ERR_CORRUPT naming the file and byte', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const t = log.topic('t');
    for (let i = 0; i < 50; i++) t.appendSync(Buffer.from(`r${i}`));
    const sub = t.subscribe({ group: 'g', autoCommit: false });
    await sub.commit(10);
    await sub.commit(20);
    await sub.commit(30);
    await log.close();
    const file = path.join(dir, '~groups.log');
    const bytes = fs.readFileSync(file);
    const secondLine = bytes.indexOf(10) + 1;
    bytes[secondLine + 12] ^= 0x01; // flip a bit inside the second line's JSON
    fs.writeFileSync(file, bytes);
    const err = await expectSeglogError(h.mod, () => h.open(dir), 'ERR_CORRUPT', ['~groups.log', secondLine]);
    expect((err as { position?: number }).position).toBe(secondLine);
  });
});
