// Appends that settle without I/O of their own ('os' at the end of their tick, 'none' at once) must
// not starve the event loop: a loop of awaited appends still lets timers, I/O callbacks and
// compaction's slices run (src/turns.ts). However busy the machine, and however long one append
// takes. The loops here stop on the event they wait for (a timer fired, compact() finished); their
// bounds only catch a loop that never lets the event happen.
import { describe, expect, test } from 'vitest';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';
import type { MetaStoreFactory } from '../src/store/meta-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { entries } from './entry.js';
import { collect, harness } from './helpers.js';

/** Far more appends than any of these loops needs once the loop gets its turns (a few thousand). */
const MAX_APPENDS = 2_000_000;

describe.each(entries)('$name: awaited appends leave the event loop its turns', (entry) => {
  const h = harness(entry);

  test.each(['os', 'none'] as const)('durability %s: timers fire during a tight loop of awaited appends, and compact() started in it finishes', async (durability) => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability });
    const t = log.topic<string>('c', { cleanup: 'compact', codec: 'string', segmentBytes: 4096 });
    let fired = 0;
    const timer = setInterval(() => { fired++; }, 1);
    try {
      let n = 0;
      while (fired < 3 && n < MAX_APPENDS) await t.append(`v${n++}`, { key: `k${n % 8}` });
      expect(fired, `a 1 ms interval during ${n} awaited appends`).toBeGreaterThanOrEqual(3);
      let done = false;
      const compaction = t.compact().then((r) => { done = true; return r; });
      const start = n;
      while (!done && n - start < MAX_APPENDS) await t.append(`v${n++}`, { key: `k${n % 8}` });
      expect(done, `compact() finished while the loop went on (${n - start} appends)`).toBe(true);
      const result = await compaction;
      expect(result.recordsAfter).toBeLessThan(result.recordsBefore);
      expect(collect(t.read()).length).toBeLessThan(n);
    } finally {
      clearInterval(timer);
      await log.close();
    }
  });

  test.each(['os', 'none'] as const)('durability %s: several producers looping on awaited appends see them settle in offset order, starved or not', async (durability) => {
    const log = await h.open(h.tmp(), { durability });
    const t = log.topic('t');
    const settled: number[] = [];
    // the producers go on until the loop was starved and given its turn a few times (the interval
    // fires only in those turns) and enough appends settled to see their order
    let fired = 0;
    const timer = setInterval(() => { fired++; }, 1);
    const producer = async (): Promise<void> => {
      while ((fired < 3 || settled.length < 5000) && settled.length < MAX_APPENDS) settled.push(await t.append(Buffer.from('x')));
    };
    try {
      await Promise.all([producer(), producer(), producer(), producer()]);
    } finally {
      clearInterval(timer);
    }
    expect(fired, `turns during ${settled.length} appends`).toBeGreaterThanOrEqual(3);
    let inversions = 0;
    for (let i = 1; i < settled.length; i++) if (settled[i]! < settled[i - 1]!) inversions++;
    expect(inversions).toBe(0);
    await log.close();
  });
});

/** node:fs, with every write of a .log file taking at least `ms` (a disk that a busy machine keeps waiting). */
function slowWritesIO(ms: number): FileIO {
  const logFds = new Set<number>();
  return {
    ...nodeFileIO,
    open(path: string, flags: string): number {
      const fd = nodeFileIO.open(path, flags);
      if (path.endsWith('.log')) logFds.add(fd); else logFds.delete(fd);
      return fd;
    },
    write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
      if (logFds.has(fd)) {
        const until = performance.now() + ms;
        while (performance.now() < until) { /* the write waits */ }
      }
      return nodeFileIO.write(fd, buf, offset, length, position);
    },
  };
}

const wirings: Array<[string, MetaStoreFactory]> = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]];

describe.each(wirings)('%s: awaited appends whose writes are slow', (_name, meta) => {
  const h = harness(entries[0]!);

  test("durability 'os': each write takes 3 ms; a loop of awaited appends still lets a timer fire within 60 appends", async () => {
    // 60 appends of at least 3 ms each keep the loop busy for 180 ms or more: the loop must see it
    // is starved from the clock (20 ms), not from a count of calls (the code used to look at the
    // clock every 64th call only, so appends that took 4 ms each kept timers from firing for 250 ms)
    const log = await openLogWith({ meta, io: slowWritesIO(3) }, h.tmp(), { durability: 'os' });
    const t = log.topic('t');
    await t.append(Buffer.from('first')); // the segment exists, the first write is behind us
    let fired = 0;
    const timer = setInterval(() => { fired++; }, 1);
    let n = 0;
    try {
      while (fired === 0 && n < 60) { await t.append(Buffer.from(`v${n}`)); n++; }
    } finally {
      clearInterval(timer);
      await log.close();
    }
    expect(fired, `the interval fired during ${n} awaited appends of 3 ms each`).toBeGreaterThan(0);
  });
});
