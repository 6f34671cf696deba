// Topic.appendSpans (log/append-spans.ts) writes most records through appendRun, its own loop with
// the writer's boundary conditions hoisted and the key and value bytes staged behind the write
// chunk's end: the segment files it leaves must be byte for byte what the per-record path
// (appendEncoded, here through appendBatch of the same bytes) leaves — across new batches (batch
// bytes, a timestamp jump), chunk switches, rolls (segment bytes and age), keys and values larger
// than the stage, empty and null ones, headers in the middle, several source buffers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLog } from '../src/index.js';
import { binaryCodec } from '../src/format/codecs.js';
import type { RecordSpans } from '../src/format/record-spans.js';
import type { HeadersInput } from '../src/format/batch.js';
import type { TopicImpl } from '../src/topic.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

/** A small deterministic generator (tests must not depend on Math.random). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Rec { key: Buffer | undefined; value: Buffer | null; timestamp: number; headers: HeadersInput | undefined }

/** `count` records as ranges of a few source buffers (odd offsets), and the same records as objects. */
function makeRecords(count: number, seed: number): { spans: RecordSpans; recs: Rec[] } {
  const r = rng(seed);
  const sources: Buffer[] = [];
  for (let s = 0; s < 3; s++) {
    const b = Buffer.allocUnsafe(400_000 + 7);
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    sources.push(b.subarray(3 + s)); // a view with an odd byteOffset
  }
  const spans = {
    count, sources: [] as Buffer[], keyPos: new Int32Array(count), keyLen: new Int32Array(count), valuePos: new Int32Array(count),
    valueLen: new Int32Array(count), anyHeaders: false, headers: [] as Array<HeadersInput | undefined>, timestamps: new Float64Array(count),
  };
  const recs: Rec[] = [];
  let ts = 1_700_000_000_000;
  const pos = [0, 0, 0];
  for (let i = 0; i < count; i++) {
    const s = Math.floor(i / 700) % 3; // runs from one source, then the next
    const src = sources[s]!;
    const x = r();
    const kl = x < 0.3 ? -1 : x < 0.35 ? 0 : x < 0.36 ? 9000 + Math.floor(r() * 100) : Math.floor(r() * 40);
    const y = r();
    const vl = y < 0.02 ? -1 : y < 0.04 ? 0 : y < 0.05 ? 8192 + Math.floor(r() * 3000) : y < 0.1 ? 200 + Math.floor(r() * 300) : 90 + Math.floor(r() * 20);
    if (pos[s]! + Math.max(kl, 0) + Math.max(vl, 0) + 10 > src.length) pos[s] = 0;
    const kp = pos[s]! + 1;
    const vp = kp + Math.max(kl, 0) + 2;
    pos[s] = vp + Math.max(vl, 0) + 1;
    const z = r();
    // now and then a jump past TIMESTAMP_DELTA_MAX (2^51) and back: a new batch
    if (z < 0.002) ts = ts > 2 ** 51 ? 1_700_000_000_000 : ts + 2 ** 51 + 5;
    else ts += z < 0.05 ? -Math.floor(r() * 1000) : Math.floor(r() * 3);
    const headers = r() < 0.01 ? { h: Buffer.from([i & 255]), n: Buffer.alloc(0) } : undefined;
    spans.sources.push(src);
    spans.keyPos[i] = kp;
    spans.keyLen[i] = kl;
    spans.valuePos[i] = vp;
    spans.valueLen[i] = vl;
    spans.timestamps[i] = ts;
    spans.headers[i] = headers;
    if (headers !== undefined) spans.anyHeaders = true;
    recs.push({ key: kl < 0 ? undefined : Buffer.from(src.subarray(kp, kp + kl)), value: vl < 0 ? null : Buffer.from(src.subarray(vp, vp + vl)), timestamp: ts, headers });
  }
  return { spans, recs };
}

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.log')) out.set(f, fs.readFileSync(path.join(dir, f)));
  return out;
}

async function written(options: object, fill: (t: TopicImpl<Buffer>) => Promise<void>): Promise<Map<string, Buffer>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-append-spans-'));
  dirs.push(dir);
  const log = await openLog(dir, { durability: 'os' });
  try {
    const t = log.topic<Buffer>('t', { codec: binaryCodec as never, ...options }) as unknown as TopicImpl<Buffer>;
    await fill(t);
    await log.flush();
  } finally {
    await log.close();
  }
  return filesOf(path.join(dir, fs.readdirSync(dir).find((d) => d.startsWith('t'))!));
}

describe('Topic.appendSpans writes what the per-record path writes', () => {
  const cases: Array<[string, object]> = [
    ['default options', {}],
    ['small segments (rolls in the middle of runs)', { segmentBytes: 40_000 }],
    ['segments by age', { segmentMs: 500 }],
  ];
  for (const [name, options] of cases) {
    it(name, async () => {
      const { spans, recs } = makeRecords(6000, 7);
      // the same records, appended in the same three calls
      const cuts = [0, 1, 2500, 6000];
      const viaSpans = await written(options, async (t) => {
        for (let c = 0; c < 3; c++) {
          const part = { ...spans, count: cuts[c + 1]! - cuts[c]!, sources: spans.sources.slice(cuts[c], cuts[c + 1]), keyPos: spans.keyPos.subarray(cuts[c]), keyLen: spans.keyLen.subarray(cuts[c]),
            valuePos: spans.valuePos.subarray(cuts[c]), valueLen: spans.valueLen.subarray(cuts[c]), headers: spans.headers.slice(cuts[c], cuts[c + 1]), timestamps: spans.timestamps.subarray(cuts[c]) };
          expect(await t.appendSpans(part)).toBe(cuts[c]);
        }
      });
      const viaBatch = await written(options, async (t) => {
        for (let c = 0; c < 3; c++) {
          expect(await t.appendBatch(recs.slice(cuts[c], cuts[c + 1]).map((x) => ({ value: x.value, key: x.key, timestamp: x.timestamp, headers: x.headers })))).toBe(cuts[c]);
        }
      });
      expect(viaSpans.size).toBe(viaBatch.size);
      if (name !== 'default options') expect(viaSpans.size).toBeGreaterThan(1);
      for (const [f, bytes] of viaBatch) expect(viaSpans.get(f)?.equals(bytes), f).toBe(true);
    });
  }
});
