// Values at the edges of what the API accepts: extreme timestamps side by side in one batch, a
// header called `__proto__`, topic names that look like the library's own files, and segmentMs
// across a reopen.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, harness, killHard, segmentBases, spawnFixture } from './helpers.js';
import type { Log } from './helpers.js';

const MAX = Number.MAX_SAFE_INTEGER;
/** Timestamps whose deltas within one batch do not fit a safe integer (zigzag of MAX is 2^54 - 2). */
const EXTREME = [0, MAX, 1];

function rows(log: Log, topic = 't'): Array<[number, number, string]> {
  return collect(log.topic(topic).read()).map((r) => [r.offset, r.timestamp, r.valueBytes!.toString()]);
}

describe.each(entries)('$name: edge values', (entry) => {
  const h = harness(entry);

  describe('timestamps', () => {
    const expected: Array<[number, number, string]> = [[0, 0, 'a'], [1, MAX, 'b'], [2, 1, 'c']];

    test('timestamps 0, MAX_SAFE_INTEGER and 1 appended in one tick read back exactly, in process, after a clean reopen and after a crash-style reopen', async () => {
      const dir = h.tmp();
      const log = await h.open(dir, { durability: 'fsync' });
      const t = log.topic('t');
      const acks = await Promise.all(EXTREME.map((ts, i) => t.append(Buffer.from('abc'[i]!), { timestamp: ts })));
      expect(acks).toEqual([0, 1, 2]);
      expect(rows(log)).toEqual(expected);
      expect(t.get(1)!.timestamp).toBe(MAX);
      // time lookups use the running maximum: 0, MAX, MAX
      expect(t.offsetForTime(0)).toBe(0);
      expect(t.offsetForTime(1)).toBe(1);
      expect(t.offsetForTime(MAX)).toBe(1);
      // a copy taken while the log is open (everything acknowledged was fsynced) is what a crash
      // leaves behind: no clean-shutdown marker, so reopening it scans the data
      const crashed = h.tmp();
      fs.cpSync(dir, crashed, { recursive: true });
      fs.rmSync(path.join(crashed, '~seglog.lock'), { force: true }); // the copied lock names this process
      await log.close();
      const clean = await h.open(dir);
      expect(rows(clean)).toEqual(expected);
      await clean.close();
      const recovered = await h.open(crashed);
      expect(rows(recovered)).toEqual(expected);
      expect(recovered.topic('t').offsetForTime(1)).toBe(1);
      expect(await recovered.topic('t').append(Buffer.from('d'), { timestamp: 2 })).toBe(3);
    });

    test('an appendBatch with timestamps 0, MAX_SAFE_INTEGER and 1 survives SIGKILL of its writer intact', async () => {
      const dir = h.tmp();
      const specFile = path.join(h.tmp(), 'spec.json');
      fs.writeFileSync(specFile, JSON.stringify({
        logOptions: { durability: 'fsync', fsyncIntervalMs: 600_000 },
        topic: 't',
        groups: [{ kind: 'batch', records: EXTREME.map((ts, i) => ({ value: Buffer.from('abc'[i]!).toString('base64'), timestamp: ts })) }],
      }));
      const child = spawnFixture(h, 'write-and-hang.mjs', [entry.dist, dir, specFile]);
      expect(await child.waitFor((l) => l.startsWith('done') || l.startsWith('error'))).toBe('done 3');
      await killHard(child);
      const log = await h.open(dir);
      expect(rows(log)).toEqual(expected);
      expect(log.topic('t').endOffset).toBe(3);
    });
  });

  test('a header named "__proto__" round-trips as an own property and leaves the headers object a plain object', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t');
    const headers = JSON.parse('{"__proto__":"evil","ok":"1"}') as Record<string, string>;
    expect(Object.keys(headers)).toEqual(['__proto__', 'ok']);
    await t.append(Buffer.from('a'), { headers });
    const check = (got: Record<string, Buffer>) => {
      expect(Object.keys(got)).toEqual(['__proto__', 'ok']);
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
      expect(Object.prototype.hasOwnProperty.call(got, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(got, '__proto__')!.value.toString()).toBe('evil');
      expect(got.ok!.toString()).toBe('1');
    };
    check(t.get(0)!.headers);
    check(collect(t.read())[0]!.headers);
    await log.close();
    const again = await h.open(dir);
    check(again.topic('t').get(0)!.headers);
  });

  test('topics named like library files (seglog.lock, meta.json, meta.json.tmp, meta.lmdb, meta.lmdb-lock) are ordinary topics and survive reopen', async () => {
    const names = ['seglog.lock', 'seglog.lock.takeover', 'meta.json', 'meta.json.tmp', 'meta.lmdb', 'meta.lmdb-lock'];
    const dir = h.tmp();
    const log = await h.open(dir);
    await log.topic('a').append(Buffer.from('a0'));
    for (const n of names) expect(await log.topic(n).append(Buffer.from(`${n} 0`))).toBe(0);
    expect(await log.topic('a').append(Buffer.from('a1'))).toBe(1);
    await log.close();
    const again = await h.open(dir);
    expect(again.topics().sort()).toEqual(['a', ...names].sort());
    expect(rows(again, 'a').map((r) => r[2])).toEqual(['a0', 'a1']);
    for (const n of names) {
      expect(rows(again, n).map((r) => r[2])).toEqual([`${n} 0`]);
      expect(await again.topic(n).append(Buffer.from(`${n} 1`))).toBe(1);
    }
    await again.close();
    const third = await h.open(dir);
    for (const n of names) expect(third.topic(n).endOffset).toBe(2);
  });

  test('segmentMs still rolls after a reopen: the active segment keeps the age of its first record', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    let t = log.topic('t', { segmentMs: 1000 });
    await t.append(Buffer.from('a'), { timestamp: 10_000 });
    await t.append(Buffer.from('b'), { timestamp: 10_500 });
    await t.append(Buffer.from('c'), { timestamp: 12_000 }); // 2000 ms after the segment's first record: rolls
    expect(log.stats().topics.t!.segments).toBe(2);
    await log.close();
    log = await h.open(dir);
    t = log.topic('t'); // segmentMs is a stored option
    await t.append(Buffer.from('d'), { timestamp: 13_500 }); // 1500 ms after 'c', the active segment's first
    expect(log.stats().topics.t!.segments).toBe(3);
    await t.append(Buffer.from('e'), { timestamp: 14_400 }); // 900 ms after 'd': same segment
    expect(log.stats().topics.t!.segments).toBe(3);
    await log.flush();
    expect(segmentBases(dir, 't')).toEqual([0, 2, 3]);
    expect(rows(log).map((r) => r[2])).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
