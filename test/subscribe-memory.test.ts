// A slow consumer far behind the tail holds bounded memory: the subscription reads from segment
// files through one read buffer and queues nothing, however much was appended since its position.
// Measured with the garbage collector run explicitly (v8 --expose-gc at run time).
import { describe, expect, test } from 'vitest';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { entries } from './entry.js';
import { harness } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 1 << 20;

function external(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.arrayBuffers + m.heapUsed;
}

describe.each(entries)('$name: memory of a slow subscription', (entry) => {
  const h = harness(entry);

  test('a consumer 48 MiB behind, taking one small batch per turn while appends go on, stays within a few MiB', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 8 * MiB });
    const value = Buffer.alloc(1000, 7);
    const sub = t.subscribe({ maxBuffered: 16 });
    const batches = sub.batches();
    // 48 MiB appended while the consumer has taken nothing
    for (let i = 0; i < 48 * 1024; i++) t.appendSync(value);
    await t.append(value);
    const base = external();
    let peak = 0;
    let consumed = 0;
    for (let step = 0; step < 400; step++) {
      const b = (await batches.next()).value!;
      expect(b.length).toBeLessThanOrEqual(16);
      for (const r of b) expect(r.offset).toBe(consumed++);
      // the subscription reads no record ahead of what it handed out
      expect(sub.position).toBe(consumed);
      if (step % 20 === 0) {
        for (let i = 0; i < 100; i++) t.appendSync(value);
        peak = Math.max(peak, external() - base);
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(consumed).toBe(400 * 16);
    // one 1 MiB read buffer, the writer's tail chunks and records in flight: far below the 48 MiB behind
    expect(peak).toBeLessThan(12 * MiB);
    await sub.close();
  });
});
