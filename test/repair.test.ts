// openLog(dir, { repair: true }): where recovery refuses with ERR_CORRUPT, a repair cuts the topic at
// the first damage (dropping everything after it), says so on the `seglog:recovery` channel, and
// leaves a log that reopens cleanly without the option. Without it the behaviour stays ERR_CORRUPT.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entries } from './entry.js';
import { collect, expectSeglogError, harness, segmentBases, segmentPath } from './helpers.js';
import { scanLog } from './format-reader.js';

const TOPIC = 't';
const COUNT = 120;
const value = (o: number): string => `record ${o} ${'r'.repeat((o * 13) % 60)}`;

describe.each(entries)('$name: openLog with repair', (entry) => {
  const h = harness(entry);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-repair-'));
  const template = path.join(root, 'log');
  const events: Array<Record<string, unknown>> = [];
  const onRecovery = (m: unknown): void => { events.push(m as Record<string, unknown>); };

  beforeAll(async () => {
    diagnostics_channel.subscribe('seglog:recovery', onRecovery);
    const log = await h.mod.openLog(template);
    const t = log.topic<string>(TOPIC, { codec: 'string', segmentBytes: 2048, indexIntervalBytes: 256 });
    for (let o = 0; o < COUNT; o += 4) await t.appendBatch([0, 1, 2, 3].map((i) => ({ value: value(o + i) })));
    await log.close();
    expect(segmentBases(template, TOPIC).length).toBeGreaterThanOrEqual(4);
  });
  afterAll(() => {
    diagnostics_channel.unsubscribe('seglog:recovery', onRecovery);
    fs.rmSync(root, { recursive: true, force: true });
  });

  function copy(): string {
    const dir = h.tmp();
    fs.cpSync(template, dir, { recursive: true });
    events.length = 0;
    return dir;
  }
  const batchesOf = (dir: string, base: number) => scanLog(fs.readFileSync(segmentPath(dir, TOPIC, base, 'log')), base).batches;
  function flip(file: string, position: number): void {
    const data = fs.readFileSync(file);
    data[position] ^= 0x10;
    fs.writeFileSync(file, data);
  }

  /** Opens with repair and checks the log holds exactly records [0, n), takes appends at n, and reopens cleanly without repair. */
  async function expectRepairedTo(dir: string, n: number): Promise<void> {
    let log = await h.open(dir, { repair: true });
    let t = log.topic<string>(TOPIC);
    expect(t.endOffset).toBe(n);
    expect(collect(t.read()).map((r) => r.value)).toEqual(Array.from({ length: n }, (_, o) => value(o)));
    expect(await t.append('after repair')).toBe(n);
    await log.close();
    log = await h.open(dir);
    t = log.topic<string>(TOPIC);
    expect(t.endOffset).toBe(n + 1);
    expect(collect(t.read()).map((r) => r.value)).toEqual([...Array.from({ length: n }, (_, o) => value(o)), 'after repair']);
    expect((await h.mod.verify(dir)).ok).toBe(true);
  }

  test('a healthy log opens unchanged with repair, and no repair is reported', async () => {
    const dir = copy();
    await expectRepairedTo(dir, COUNT);
    expect(events.filter((e) => e.action === 'repair')).toEqual([]);
  });

  test('a damaged batch followed by valid ones (active segment): ERR_CORRUPT without repair; with it the topic is cut there and the cut is reported', async () => {
    const dir = copy();
    const last = segmentBases(dir, TOPIC).at(-1)!;
    const batches = batchesOf(dir, last);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    const victim = batches[1]!;
    const file = segmentPath(dir, TOPIC, last, 'log');
    const size = fs.statSync(file).size;
    flip(file, victim.position + 50);
    // a clean close records the size, so only repair's full scan looks at this batch at open; a
    // read reports it
    const log = await h.open(dir);
    await expectSeglogError(h.mod, () => collect(log.topic(TOPIC).read()), 'ERR_CORRUPT', [path.basename(file)]);
    await log.close();
    expect(fs.statSync(file).size).toBe(size);
    await expectRepairedTo(dir, victim.baseOffset);
    const repairs = events.filter((e) => e.action === 'repair');
    expect(repairs).toHaveLength(1);
    expect(repairs[0]).toMatchObject({ topic: TOPIC, file, position: victim.position, bytes: size - victim.position, dir: path.resolve(dir) });
    expect(String(repairs[0]!.reason)).toContain('checksum');
  });

  test('damage in the middle of a closed segment: with repair the later segments go too (everything after the damage is dropped)', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    const victim = batchesOf(dir, bases[1]!)[2]!;
    flip(segmentPath(dir, TOPIC, bases[1]!, 'log'), victim.position + 20);
    await expectRepairedTo(dir, victim.baseOffset);
    expect(segmentBases(dir, TOPIC)).toEqual(bases.slice(0, 2));
    const repairs = events.filter((e) => e.action === 'repair');
    expect(repairs).toHaveLength(1);
    expect(repairs[0]).toMatchObject({ file: segmentPath(dir, TOPIC, bases[1]!, 'log'), position: victim.position });
  });

  test('a rolled segment torn at its end while the next one holds data (a power cut under durability os): ERR_CORRUPT, and repair cuts at the tear', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    const rolled = bases.at(-2)!;
    const lastBatch = batchesOf(dir, rolled).at(-1)!;
    fs.truncateSync(segmentPath(dir, TOPIC, rolled, 'log'), lastBatch.position + 10);
    // after a crash openLog refuses (a torn batch followed by data); after a clean close, as here,
    // the first read of that segment does
    const log = await h.open(dir);
    await expectSeglogError(h.mod, () => collect(log.topic(TOPIC).read()), 'ERR_CORRUPT', [path.basename(segmentPath(dir, TOPIC, rolled, 'log'))]);
    await log.close();
    await expectRepairedTo(dir, lastBatch.baseOffset);
    expect(segmentBases(dir, TOPIC)).toEqual(bases.slice(0, -1));
  });

  test('a segment missing from the middle: repair keeps the segments before the gap', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    for (const ext of ['log', 'index', 'timeindex'] as const) fs.rmSync(segmentPath(dir, TOPIC, bases[2]!, ext));
    await expectRepairedTo(dir, bases[2]!);
    expect(events.filter((e) => e.action === 'repair')).toHaveLength(1);
  });

  test('repair must be a boolean, and cannot go with readOnly', async () => {
    const dir = copy();
    await expectSeglogError(h.mod, () => h.mod.openLog(dir, { repair: 'yes' as unknown as boolean }), 'ERR_INVALID_ARGUMENT', ['repair']);
    await expectSeglogError(h.mod, () => h.mod.openLog(dir, { repair: true, readOnly: true }), 'ERR_INVALID_ARGUMENT', ['repair']);
  });
});
