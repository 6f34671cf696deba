// The Produce path without per-record objects: readProducedSpans (positions in the request) and
// Topic.appendSpans (log/append-spans.ts: copied into the segment). What comes back from the log
// must be what readProducedBatches decodes — keys (null, empty), values (tombstones, short and
// long, unaligned in the request), headers (a repeated name keeps its last value, a null value is
// empty), timestamps (-1: the append's clock) — in every codec, over several batches; a refused
// record appends nothing of the set; the scratch lets go of the request when reset.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLog } from '../../src/index.js';
import { binaryCodec } from '../../src/format/codecs.js';
import type { TopicImpl } from '../../src/topic.js';
import type { Log } from '../../src/log.js';
import { ProducedSpans, readHeaders, readProducedBatches, readProducedSpans } from '../../src/kafka/records/index.js';
import { kafkajsBatch, type KafkajsMessage } from './records-helpers.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

async function tempLog(): Promise<Log> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-spans-'));
  dirs.push(dir);
  return openLog(dir, { durability: 'os' });
}

function topicOf(log: Log, name: string, options: object = {}): TopicImpl<unknown> {
  return log.topic<unknown>(name, { codec: binaryCodec as never, ...options }) as unknown as TopicImpl<unknown>;
}

const NOW = 1_700_000_000_000;
const MESSAGES: KafkajsMessage[] = [
  { key: Buffer.from('k1'), value: Buffer.from('hello'), timestamp: NOW, headers: { trace: Buffer.from('abc'), empty: Buffer.alloc(0) } },
  { key: null, value: Buffer.from('no key'), timestamp: NOW + 5 },
  { key: Buffer.from('gone'), value: null, timestamp: NOW - 3 },
  { key: Buffer.alloc(0), value: Buffer.alloc(300, 7), timestamp: NOW + 100_000_000 },
  { key: Buffer.from('ü'.repeat(40)), value: Buffer.from('x'.repeat(5000)), timestamp: NOW + 1, headers: { 'ünï': Buffer.from([0, 1, 2]) } },
  { key: Buffer.from('short'), value: Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'), timestamp: NOW + 2 },
];

async function appendAll(t: TopicImpl<unknown>, records: Buffer): Promise<number> {
  const spans = readProducedSpans(records, new ProducedSpans());
  for (let i = 0; i < spans.count; i++) {
    if (spans.headerCount[i]! > 0) {
      const h: Record<string, Buffer> = {};
      for (const [name, value] of readHeaders(spans.sources[i]!, spans.headerPos[i]!, spans.headerCount[i]!)) h[name] = value ?? Buffer.alloc(0);
      spans.headers[i] = h;
    }
  }
  return t.appendSpans(spans);
}

describe('readProducedSpans + Topic.appendSpans', () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4'] as const) {
    it(`stores what readProducedBatches decodes (${codec}, two batches in one request)`, async () => {
      const log = await tempLog();
      try {
        const t = topicOf(log, 't');
        // an odd-length pad in front: every key and value lies unaligned in the request
        const request = Buffer.concat([Buffer.alloc(3), await kafkajsBatch(MESSAGES.slice(0, 3), codec), await kafkajsBatch(MESSAGES.slice(3), codec)]).subarray(3);
        const want = readProducedBatches(request);
        expect(await appendAll(t, request)).toBe(0);
        const got = [...t.read({ from: 0 })];
        expect(got.length).toBe(MESSAGES.length);
        got.forEach((r, i) => {
          const w = want[i]!;
          expect(r.offset).toBe(i);
          expect(r.key === undefined ? null : Buffer.from(r.key)).toEqual(w.key === null ? null : Buffer.from(w.key));
          expect(r.valueBytes === null ? null : Buffer.from(r.valueBytes)).toEqual(w.value === null ? null : Buffer.from(w.value));
          expect(r.timestamp).toBe(w.timestamp);
          expect(Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Buffer.from(v)]))).toEqual(Object.fromEntries(w.headers.map(([k, v]) => [k, Buffer.from(v ?? [])])));
        });
      } finally {
        await log.close();
      }
    });
  }

  it('a record without a timestamp (-1) gets the append\'s clock; later appends continue the offsets', async () => {
    const log = await tempLog();
    try {
      const t = topicOf(log, 't');
      const before = Date.now();
      expect(await appendAll(t, await kafkajsBatch([{ key: null, value: Buffer.from('a'), timestamp: -1 }], 'none'))).toBe(0);
      expect(await appendAll(t, await kafkajsBatch(MESSAGES, 'none'))).toBe(1);
      const got = [...t.read({ from: 0 })];
      expect(got.length).toBe(1 + MESSAGES.length);
      expect(got[0]!.timestamp).toBeGreaterThanOrEqual(before);
      expect(got[0]!.timestamp).toBeLessThanOrEqual(Date.now());
      expect(got.map((r) => r.offset)).toEqual([...Array(1 + MESSAGES.length).keys()]);
    } finally {
      await log.close();
    }
  });

  it('a record over maxRecordBytes refuses the whole set: nothing of it is appended', async () => {
    const log = await tempLog();
    try {
      const t = topicOf(log, 'small', { maxRecordBytes: 1024 });
      await expect(appendAll(t, await kafkajsBatch(MESSAGES, 'none'))).rejects.toMatchObject({ code: 'ERR_RECORD_TOO_LARGE' });
      expect(t.endOffset).toBe(0);
      expect([...t.read({ from: 0 })]).toEqual([]);
      expect(await appendAll(t, await kafkajsBatch(MESSAGES.slice(0, 3), 'none'))).toBe(0);
      expect(t.endOffset).toBe(3);
    } finally {
      await log.close();
    }
  });

  it('an empty set is refused; reset() lets go of the request and keeps the arrays', async () => {
    const log = await tempLog();
    try {
      const t = topicOf(log, 't');
      const spans = new ProducedSpans();
      await expect(t.appendSpans(spans)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      const many = Array.from({ length: 3000 }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: NOW + i }));
      readProducedSpans(await kafkajsBatch(many, 'none'), spans);
      expect(spans.count).toBe(3000);
      const rows = spans.keyPos.length;
      expect(rows).toBeGreaterThanOrEqual(3000);
      spans.reset();
      expect(spans.count).toBe(0);
      expect(spans.sources.slice(0, 3000).every((s) => s === undefined)).toBe(true);
      expect(spans.keyPos.length).toBe(rows);
    } finally {
      await log.close();
    }
  });
});
