// Many topics: the descriptors a log holds are bounded by its pool, not by its number of topics.
// The pool is an LRU over every segment's `.log`, active segments included, and never closes one
// with an fsync running on it; index files are open only from a persist to its fsync; fsyncs in
// flight are bounded (SyncGate); native-free's key files of compacted topics by their own LRU
// (store/key-file.ts KeyFileFds; half the topics here are compacted). Checked on the parts, in-process over more topics than the
// bound, and in a child process limited to 256 descriptors (main before this change failed with
// EMFILE at about the 80th topic there: three descriptors per topic).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { ChildLines, FIXTURES, harness } from './helpers.js';
import { FdPool, OPEN_SEGMENTS_MAX, type PooledSegment } from '../src/segment/fd-pool.js';
import { SyncGate } from '../src/segment/sync-gate.js';

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** The pool's bound, the gate's fsyncs (three descriptors each at most), the metadata store, slack. */
const FDS_BOUND = OPEN_SEGMENTS_MAX + 64;
/** More topics than FDS_BOUND: one descriptor per topic, let alone three, would be past it. */
const TOPICS = FDS_BOUND + 100;
/** Topics of the child process limited to 256 descriptors: more than the limit, so even one descriptor each would fail. */
const CHILD_TOPICS = 300;

class FakeSegment implements PooledSegment {
  syncing = 0;
  open = true;
  closeLogFd(): void { this.open = false; }
}

describe('FdPool and SyncGate', () => {
  test('the pool closes the least recently used descriptor past its bound, whatever the segment, but never one with an fsync running', () => {
    const pool = new FdPool(2);
    const [a, b, c, d] = [new FakeSegment(), new FakeSegment(), new FakeSegment(), new FakeSegment()];
    pool.opened(a); // (say, an idle topic's active segment)
    pool.opened(b);
    a.syncing = 1;
    pool.opened(c);
    expect([a.open, b.open, c.open]).toEqual([true, false, true]);
    expect(pool.size).toBe(2);
    pool.opened(d); // a is still syncing: c goes, although a is older
    expect([a.open, c.open, d.open]).toEqual([true, false, true]);
    a.syncing = 0;
    b.open = true;
    pool.opened(b); // b reopens: now a, the least recently used, goes
    expect([a.open, b.open, d.open]).toEqual([false, true, true]);
    expect(pool.size).toBe(2);
  });

  test('the gate runs at most its bound of fsyncs at once, in order, and frees the slot when one fails', async () => {
    const gate = new SyncGate(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number) => gate.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
      order.push(i);
      if (i === 1) throw new Error('fsync failed');
    });
    const results = await Promise.allSettled(Array.from({ length: 7 }, (_, i) => job(i)));
    expect(peak).toBe(2);
    expect(results.filter((r) => r.status === 'rejected').length).toBe(1);
    expect(order.slice().sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(gate.inFlight).toBe(0);
  });
});

describe.each(entries)('$name: many topics', (entry) => {
  const h = harness(entry);

  test(`${TOPICS} topics with records keep the log's descriptors within the pool's bound, and an idle topic whose descriptor was closed writes and syncs again`, async () => {
    expect(TOPICS).toBeGreaterThan(FDS_BOUND);
    const dir = h.tmp();
    const baseline = openFds();
    const log = await h.open(dir, { durability: 'fsync' });
    let peak = 0;
    for (let i = 0; i < TOPICS; i += 50) {
      const batch = [];
      // every other topic compacted: in native-free its key index is a file of its own (key-file.ts)
      for (let j = i; j < Math.min(TOPICS, i + 50); j++) {
        const t = log.topic(`t${j}`, j % 2 === 0 ? { cleanup: 'compact' } : undefined);
        batch.push(t.appendBatch([{ key: `k${j}`, value: Buffer.from(`a${j}`) }, { key: `k${j}`, value: Buffer.from(`b${j}`) }]));
      }
      await Promise.all(batch); // (their group commits overlap)
      peak = Math.max(peak, openFds() - baseline);
    }
    await log.flush(); // every topic at once
    peak = Math.max(peak, openFds() - baseline);
    expect(peak).toBeLessThanOrEqual(FDS_BOUND);
    // t0's descriptor went long ago (the least recently used): it is reopened for this write
    const t0 = log.topic('t0');
    expect(await t0.append(Buffer.from('c0'))).toBe(2);
    for (let j = 0; j < TOPICS; j += 7) expect(log.topic(`t${j}`).get(1)!.valueBytes!.toString()).toBe(`b${j}`);
    expect(openFds() - baseline).toBeLessThanOrEqual(FDS_BOUND);
    await log.close();
    expect(openFds() - baseline).toBeLessThanOrEqual(2);

    const again = await h.open(dir);
    expect(again.topic('t0').get(2)!.valueBytes!.toString()).toBe('c0');
    for (let j = 1; j < TOPICS; j += 3) expect(again.topic(`t${j}`).endOffset).toBe(2);
    for (let j = 2; j < TOPICS; j += 2) expect(again.topic(`t${j}`).latest(`k${j}`)!.offset).toBe(1);
    // compacted topics written again after the reopen: their key files reopen within the bound too
    await Promise.all(Array.from({ length: TOPICS / 2 }, (_, k) => again.topic(`t${2 * k}`).append(Buffer.from('d'), { key: `k${2 * k}` })));
    await again.flush();
    expect(openFds() - baseline).toBeLessThanOrEqual(FDS_BOUND);
    expect(again.topic('t4').latest('k4')!.valueBytes!.toString()).toBe('d');
    expect(openFds() - baseline).toBeLessThanOrEqual(FDS_BOUND);
    await again.close();
  }, 60_000);

  test(`a process limited to 256 descriptors creates ${CHILD_TOPICS} topics, flushes them all at once, reopens, reads every one, appends to every one and reopens again`, async () => {
    const dir = h.tmp();
    const child = spawn('bash', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, path.join(FIXTURES, 'many-topics.mjs'), entry.dist, dir, String(CHILD_TOPICS), '10', 'fsync'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: entry.env === undefined ? process.env : { ...process.env, ...entry.env },
    });
    h.track(child);
    const lines = new ChildLines(child);
    const line = await lines.waitFor((l) => l.startsWith('{'), 55_000);
    const out = JSON.parse(line) as { read: number; ends: number; fdsMax: number };
    expect(out.read).toBe(CHILD_TOPICS * 10);
    expect(out.ends).toBe(CHILD_TOPICS);
    expect(out.fdsMax).toBeLessThan(256);
    await lines.exit();
  }, 60_000);
});
