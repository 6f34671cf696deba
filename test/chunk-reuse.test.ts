// Write chunks' buffers are reused for later chunks only when no reader ever took them
// (segment/chunks.ts: Chunk.shared, takeSpareBuffer). What this must never break: a record, a raw
// batch or a cursor handed out from the tail in memory keeps its bytes however far the writer moves
// on; and what is written through reused buffers reads back exactly (in this session, from the
// files, and after a reopen). Each case writes well past the tail cache (4 MiB) and the largest
// chunk size (1 MiB), so that chunks are dropped and their buffers become spares. Both entry
// points, and the default one with memory mapping off.
import { describe, expect, test } from 'vitest';
import { readPathEntries } from './entry.js';
import { harness } from './helpers.js';

/** Record i's value: 100 bytes that name i (so that bytes of another record cannot pass for it). */
function valueOf(i: number): Buffer {
  const b = Buffer.alloc(100, 97 + (i % 26));
  b.write(String(i).padStart(12, '0'), 0);
  return b;
}

/** Appends records [from, from + count) in batches of 1,000 (the writer's fast loop: appendRun). */
async function appendRange(topic: { appendBatch(records: Array<{ value: Buffer }>): Promise<number> }, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += 1000) {
    const n = Math.min(1000, from + count - i);
    await topic.appendBatch(Array.from({ length: n }, (_, k) => ({ value: valueOf(i + k) })));
  }
}

/** ~13 MB of 100-byte records (~110 B each, framed): thirteen chunks of the largest size, and more than three tail caches. */
const MORE = 120_000;

describe.each(readPathEntries)('$name: write chunk buffers are reused only when nobody read them', (entry) => {
  const h = harness(entry);

  test('records read from the tail in memory keep their bytes while the writer goes on', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic('t', { codec: 'binary' });
    await appendRange(t, 0, 60_000); // the newest chunks are of the largest size (the ones reused)
    const held = [...t.read({ from: 59_000 })]; // from the chunks in memory: they are never reused now
    const got = t.get(58_500)!;
    expect(held).toHaveLength(1000);
    await appendRange(t, 60_000, MORE);
    for (const r of held) expect(Buffer.compare(r.valueBytes!, valueOf(r.offset))).toBe(0);
    expect(Buffer.compare(got.valueBytes!, valueOf(58_500))).toBe(0);
    await log.close();
  });

  test('a live subscriber: the raw batches and records it was given keep their bytes', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic('t', { codec: 'binary' });
    const ac = new AbortController();
    const kept: Array<{ offset: number; bytes: Uint8Array }> = [];
    let seen = 0;
    const done = (async () => {
      for await (const batch of t.subscribe({ from: 0, signal: ac.signal }).batches()) {
        for (const r of batch) {
          if (r.offset % 997 === 0) kept.push({ offset: r.offset, bytes: r.valueBytes! });
          seen++;
        }
        if (seen >= MORE) break;
      }
    })();
    await appendRange(t, 0, MORE);
    await done;
    ac.abort();
    expect(kept.length).toBeGreaterThan(100);
    for (const k of kept) expect(Buffer.compare(k.bytes, valueOf(k.offset))).toBe(0);
    await log.close();
  });

  test('what is written through reused buffers reads back exactly, now and after a reopen', async () => {
    const dir = h.tmp();
    let log = await h.open(dir, { durability: 'os' });
    let t = log.topic('t', { codec: 'binary', segmentBytes: 4 * 1024 * 1024 }); // rolls too
    await appendRange(t, 0, MORE); // nobody reads: dropped chunks become spares
    const check = (topic: typeof t, from: number): void => {
      let i = from;
      for (const r of topic.read({ from })) {
        if (r.offset !== i || Buffer.compare(r.valueBytes!, valueOf(i)) !== 0) throw new Error(`record ${i}: offset ${r.offset}, other bytes`);
        i++;
      }
      expect(i).toBe(MORE);
    };
    check(t, 0);
    check(t, MORE - 3000); // the tail in memory
    await log.close();
    log = await h.open(dir, { durability: 'os' });
    t = log.topic('t', { codec: 'binary' });
    check(t, 0);
    await log.close();
  });

  test('two topics writing in turns share the spares without mixing their bytes', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const a = log.topic('a', { codec: 'binary' });
    const b = log.topic('b', { codec: 'binary' });
    for (let i = 0; i < MORE; i += 10_000) {
      await appendRange(a, i, 10_000);
      await appendRange(b, i, 10_000);
    }
    for (const topic of [a, b]) {
      let i = 0;
      for (const r of topic.read({ from: 0 })) {
        if (Buffer.compare(r.valueBytes!, valueOf(i)) !== 0) throw new Error(`${topic.name}: record ${i} holds other bytes`);
        i++;
      }
      expect(i).toBe(MORE);
    }
    await log.close();
  });
});
