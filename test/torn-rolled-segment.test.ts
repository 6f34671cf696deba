// A power cut before a rolled segment's fsync finished can leave that segment torn while the next
// one holds data (unsynced writes reach the disk in any order). When no later batch claims (format
// v2 durableDelta) that the torn bytes had been fsynced, openLog cuts there, moves the later
// segments aside as `.cut` files and says so on seglog:recovery — no ERR_CORRUPT, no repair option
// needed. When a later batch claims it, or before the recovery point, it stays ERR_CORRUPT.
// The crash state is made by editing native-free's ~meta.json (the recovery code is shared by both
// entry points; LMDB's state cannot be edited from a test as simply).
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { expectSeglogError, harness, segmentBases, segmentPath } from './helpers.js';
import { dropDurableClaims } from './format-reader.js';

const nativeFree = entries.find((e) => e.name === 'seglog/native-free')!;

describe('a rolled segment torn past the recovery point', () => {
  const h = harness(nativeFree);

  async function writeThreeSegments(): Promise<{ dir: string; bases: number[] }> {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { segmentBytes: 1024 });
    for (let i = 0; i < 60; i++) await t.append(Buffer.from(`record ${i} ${'x'.repeat(40)}`));
    await log.close();
    const bases = segmentBases(dir, 't');
    expect(bases.length).toBeGreaterThanOrEqual(3);
    return { dir, bases };
  }

  /** Rewrites the topic's state as a crash would leave it, with the recovery point at `base`. */
  function crashStateAt(dir: string, base: number): void {
    const file = path.join(dir, '~meta.json');
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    Object.assign(doc.state.t, { clean: false, recoveryBase: base, recoveryPosition: 0, recoveryOffset: base, recoveryMaxTimestampMs: -1 });
    fs.writeFileSync(file, JSON.stringify(doc));
  }

  test('is cut there, the later segments are kept aside as .cut files, and a recovery event says so', async () => {
    const { dir, bases } = await writeThreeSegments();
    crashStateAt(dir, bases[0]!);
    const torn = segmentPath(dir, 't', bases[1]!, 'log');
    const size = fs.statSync(torn).size;
    fs.truncateSync(torn, size - 7); // the last batch of the middle segment is torn
    // the later segments' batches were written before the middle one's fsync completed
    const later = bases.slice(2).map((b) => segmentPath(dir, 't', b, 'log'));
    for (const f of later) fs.writeFileSync(f, dropDurableClaims(fs.readFileSync(f)));
    const laterBytes = later.map((f) => fs.readFileSync(f));
    const events: Array<{ action: string; file?: string }> = [];
    const onEvent = (m: unknown): void => { events.push(m as { action: string }); };
    diagnostics_channel.subscribe('seglog:recovery', onEvent);
    try {
      const log = await h.open(dir);
      const t = log.topic('t');
      const records = [...t.read()];
      expect(records.length).toBe(t.endOffset);
      expect(t.endOffset).toBeLessThan(bases[2]!);
      expect(t.endOffset).toBeGreaterThan(bases[1]!);
      records.forEach((r, i) => expect(r.valueBytes!.toString().startsWith(`record ${i} `)).toBe(true));
      expect(segmentBases(dir, 't').includes(bases[2]!), 'the later segment is gone').toBe(false);
      later.forEach((f, i) => expect(fs.readFileSync(`${f}.cut`).equals(laterBytes[i]!), `${f} kept aside`).toBe(true));
      expect(events.some((e) => e.action === 'cut' && e.file === torn)).toBe(true);
      expect(await t.append(Buffer.from('next'))).toBe(records.length);
    } finally {
      diagnostics_channel.unsubscribe('seglog:recovery', onEvent);
    }
  });

  test('when a later batch shows the torn bytes had been fsynced, it is ERR_CORRUPT naming the file, and nothing is cut', async () => {
    const { dir, bases } = await writeThreeSegments(); // under 'fsync': each batch claims everything before it
    crashStateAt(dir, bases[0]!);
    const torn = segmentPath(dir, 't', bases[1]!, 'log');
    const size = fs.statSync(torn).size;
    fs.truncateSync(torn, size - 7);
    await expectSeglogError(h.mod, () => h.open(dir), 'ERR_CORRUPT', [torn]);
    expect(fs.statSync(torn).size).toBe(size - 7);
    expect(segmentBases(dir, 't')).toEqual(bases);
    expect(fs.readdirSync(path.join(dir, 't')).filter((f) => f.endsWith('.cut'))).toEqual([]);
  });

  test('before the recovery point the same damage is ERR_CORRUPT naming the file', async () => {
    const { dir, bases } = await writeThreeSegments();
    crashStateAt(dir, bases[2]!);
    const torn = segmentPath(dir, 't', bases[1]!, 'log');
    const bytes = fs.readFileSync(torn);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(torn, bytes);
    const log = await h.open(dir); // the recovery point is past the damage: open does not scan it
    await expectSeglogError(h.mod, () => [...log.topic('t').read()], 'ERR_CORRUPT', [torn]);
  });
});
