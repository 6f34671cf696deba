// Appends that settle without I/O of their own ('os' at the end of their tick, 'none' at once) must
// not starve the event loop: a loop of awaited appends still lets timers, I/O callbacks and
// compaction's slices run (src/turns.ts).
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, harness } from './helpers.js';

describe.each(entries)('$name: awaited appends leave the event loop its turns', (entry) => {
  const h = harness(entry);

  test.each(['os', 'none'] as const)('durability %s: timers fire during a tight loop of awaited appends, and compact() started in it finishes', async (durability) => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability });
    const t = log.topic<string>('c', { cleanup: 'compact', codec: 'string', segmentBytes: 4096 });
    let fired = 0;
    const timer = setInterval(() => { fired++; }, 1);
    try {
      const start = performance.now();
      let n = 0;
      while (performance.now() - start < 300) await t.append(`v${n++}`, { key: `k${n % 8}` });
      expect(fired, `a 1 ms interval during 300 ms of ${n} awaited appends`).toBeGreaterThanOrEqual(3);
      let done = false;
      const compaction = t.compact().then((r) => { done = true; return r; });
      const deadline = performance.now() + 20_000;
      while (!done && performance.now() < deadline) await t.append(`v${n++}`, { key: `k${n % 8}` });
      expect(done, 'compact() finished while the loop went on').toBe(true);
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
    const producer = async (): Promise<void> => {
      const start = performance.now();
      while (performance.now() - start < 250) settled.push(await t.append(Buffer.from('x')));
    };
    await Promise.all([producer(), producer(), producer(), producer()]);
    expect(settled.length).toBeGreaterThan(1000);
    let inversions = 0;
    for (let i = 1; i < settled.length; i++) if (settled[i]! < settled[i - 1]!) inversions++;
    expect(inversions).toBe(0);
    await log.close();
  });
});
