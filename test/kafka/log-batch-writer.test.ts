// encodeLogBatch (src/kafka/records/log-batch-writer.ts), the Fetch path's encoder from the bytes of
// the log's batches: for every start offset and byte limit it must write exactly the batch
// encodeBatch writes from the same records read as RecordViews (keys, values of every size across
// the staging window and chunk growth, headers, tombstones, compaction's gaps, in memory and read
// back from mapped segments), and a chunk must be reused only once every batch in it was released.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeBatch, encodeLogBatch, readProducedBatches } from '../../src/kafka/records/index.js';
import { releaseLogBatch } from '../../src/kafka/records/log-batch-writer.js';
import { Cursor } from '../../src/log/cursor.js';
import { openLog, type Log } from '../../src/index.js';
import type { TopicImpl } from '../../src/topic.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-log-batch-writer-'));
  dirs.push(dir);
  return dir;
}

function fromLog(t: TopicImpl<unknown>, from: number, maxBytes: number) {
  const cursor = new Cursor<unknown>(t, from, t.endOffset, Infinity, Infinity);
  try {
    return encodeLogBatch(cursor, from, { maxBytes });
  } finally {
    cursor.return();
  }
}

/** Every (from, maxBytes) pair walked through the topic: encodeLogBatch's bytes equal encodeBatch's. */
function expectSameAsViews(t: TopicImpl<unknown>, limits: number[], step: (from: number) => number): number {
  let compared = 0;
  for (const maxBytes of limits) {
    for (let from = t.startOffset; from < t.endOffset; from = step(from)) {
      const views = encodeBatch(t.read({ from }), { maxBytes });
      const raw = fromLog(t, from, maxBytes);
      expect(raw.recordCount).toBe(views.recordCount);
      expect(raw.lastOffset).toBe(views.lastOffset);
      if (!raw.bytes.equals(views.bytes)) throw new Error(`from ${from}, maxBytes ${maxBytes}: the batches differ`);
      compared++;
    }
  }
  return compared;
}

async function fill(log: Log): Promise<TopicImpl<unknown>> {
  const t = log.topic('sizes', { codec: 'binary', segmentBytes: 256 * 1024 }) as unknown as TopicImpl<unknown>;
  const sizes = [0, 1, 15, 16, 17, 100, 4095, 4096, 4097, 20_000, 65_535, 65_536, 65_537, 200_000];
  const input = [];
  for (let i = 0; i < 700; i++) {
    const size = i < sizes.length * 2 ? sizes[i % sizes.length]! : (i * 7919) % 3000;
    const value = Buffer.alloc(size);
    for (let j = 0; j < size; j++) value[j] = (i + j * 31) & 0xff;
    const headers = i % 3 === 0 ? { h: `v${i}`, ['x'.repeat(i % 200)]: Buffer.alloc(i % 300, i & 0xff) } : undefined;
    input.push({ value, key: i % 5 === 0 ? undefined : 'k'.repeat(i % 40) + i, headers, timestamp: 1_700_000_000_000 + ((i * 37) % 1000) });
  }
  await t.appendBatch(input);
  return t;
}

describe('encodeLogBatch', () => {
  it('writes what encodeBatch writes from RecordViews, in memory and from mapped segments, for every start and limit', async () => {
    const dir = tmp();
    let log = await openLog(dir);
    const step = (from: number) => from + 1 + (from % 7) * 3;
    const limits = [Infinity, 1, 200, 5000, 70_000, 300_000, 2_000_000];
    try {
      const t = await fill(log);
      expect(expectSameAsViews(t, limits, step)).toBeGreaterThan(500);
    } finally {
      await log.close();
    }
    log = await openLog(dir);
    try {
      const t = log.topic('sizes', { codec: 'binary' }) as unknown as TopicImpl<unknown>;
      expect(t.segments.length).toBeGreaterThan(3);
      expect(expectSameAsViews(t, limits, step)).toBeGreaterThan(500);
      // and the batch reads back as the records
      const { bytes, recordCount } = fromLog(t, 3, Infinity);
      const back = readProducedBatches(bytes);
      const want = [...t.read({ from: 3 })];
      expect(recordCount).toBe(want.length);
      for (let i = 0; i < want.length; i++) {
        expect(back[i]!.value!.equals(want[i]!.valueBytes!)).toBe(true);
        expect(back[i]!.timestamp).toBe(want[i]!.timestamp);
      }
    } finally {
      await log.close();
    }
  });

  it('keeps tombstones and the offset gaps compaction leaves', async () => {
    const log = await openLog(tmp());
    try {
      const t = log.topic('c', { codec: 'binary', cleanup: 'compact', segmentBytes: 16 * 1024 }) as unknown as TopicImpl<unknown>;
      for (let round = 0; round < 6; round++) {
        const input = [];
        // a third of the keys written once (they stay, between the removed ones), the rest rewritten every round
        for (let i = 0; i < 300; i++) input.push({ value: round === 5 && i % 4 === 0 ? null : Buffer.alloc(40 + (i % 50), round), key: i % 3 === 0 ? `u${round}-${i}` : `k${i % 50}` });
        await t.appendBatch(input);
      }
      await t.compact();
      const offsets = [...t.read({ from: t.startOffset })].map((r) => r.offset);
      expect(offsets.length).toBeLessThan(1800);
      expect(offsets.some((o, i) => i > 0 && o > offsets[i - 1]! + 1)).toBe(true);
      expect([...t.read({ from: t.startOffset })].some((r) => r.valueBytes === null)).toBe(true);
      expectSameAsViews(t, [Infinity, 500, 8000], (from) => from + 1 + (from % 11) * 5);
    } finally {
      await log.close();
    }
  });

  it('reuses a chunk only after every batch written into it was released', async () => {
    const log = await openLog(tmp());
    try {
      const t = await fill(log);
      const a = fromLog(t, 40, 300_000);
      const copyOfA = Buffer.from(a.bytes);
      const b = fromLog(t, 100, 300_000);
      const copyOfB = Buffer.from(b.bytes);
      // released out of order, and one batch never: nothing handed out is ever overwritten
      releaseLogBatch(b);
      for (let i = 0; i < 30; i++) releaseLogBatch(fromLog(t, (i * 17) % 600, 1_100_000));
      expect(a.bytes.equals(copyOfA)).toBe(true);
      releaseLogBatch(a);
      releaseLogBatch(a); // a second release is ignored
      const kept = fromLog(t, 7, 900_000);
      const copyOfKept = Buffer.from(kept.bytes);
      for (let i = 0; i < 30; i++) releaseLogBatch(fromLog(t, (i * 29) % 600, 1_100_000));
      expect(kept.bytes.equals(copyOfKept)).toBe(true);
      expect(copyOfB.length).toBeGreaterThan(0);
    } finally {
      await log.close();
    }
  });
});
