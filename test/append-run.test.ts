// appendBatch's fast loop (log/append-run.ts, frameRun) frames exactly as the per-record path
// (appendEncoded): the same records appended once with appendBatch and once record by record with
// appendSync (which never takes the fast loop), a tick apart per batch so both seal at the same
// places, leave byte-identical segment and index files (but for each batch's durableDelta, which
// depends on when fsyncs complete, and so its checksum: both are checked, then set aside). The records mix what the loop takes (plain
// values of every varint width, timestamps near the batch's base) with what ends a run (keys,
// headers, tombstones, far timestamps, values too large for it), under small segments so that
// batches fill, chunks switch and segments roll (by size, and by time with segmentMs).
import { afterEach, describe, expect, test, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from '../src/index.js';
import { H_BATCH_BYTES, H_CHECKSUM, H_DURABLE_DELTA, readU32 } from '../src/format/batch.js';
import { checksumMatches } from '../src/format/checksum.js';
import { Rng } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-append-run-'));
  dirs.push(d);
  return d;
}

type Rec = { value: Buffer | null; key?: string | Buffer; headers?: Record<string, string | Buffer>; timestamp?: number };
const NOW = 1_700_000_000_000;
/** The clock advances this much per batch (Date.now is mocked), so segmentMs rolls come round. */
const TICK_MS = 40;
const SIZES = [0, 1, 7, 100, 121, 122, 123, 125, 126, 127, 128, 200, 1000, 3999, 4000, 4001, 4100, 6000];

function makeBatches(seed: number, count: number, plainOnly: boolean): Rec[][] {
  const rng = new Rng(seed);
  const batches: Rec[][] = [];
  for (let b = 0; b < count; b++) {
    const n = 1 + rng.int(0, rng.int(0, 3) === 0 ? 2 : 399);
    const batch: Rec[] = [];
    for (let i = 0; i < n; i++) {
      const size = rng.int(0, 3 - 1) === 0 ? SIZES[rng.int(0, SIZES.length - 1)]! : rng.int(0, 160 - 1);
      const value = Buffer.alloc(size, (b * 31 + i) & 0xff);
      const r: Rec = { value };
      const k = plainOnly ? 9 : rng.int(0, 20 - 1);
      if (k === 0) r.key = `k${rng.int(0, 50 - 1)}`;
      else if (k === 1) r.key = Buffer.from([rng.int(0, 256 - 1), rng.int(0, 256 - 1)]);
      else if (k === 2) r.headers = { h: 'v', n: Buffer.from([1, 2, 3]) };
      else if (k === 3) r.value = null;
      if (rng.int(0, 5 - 1) === 0) {
        // near the batch's base (one zigzag byte: -64..63 ms), at its edges, or far from it
        const d = [0, 1, -1, 63, -64, 64, -65, 1000, -1000, 3_600_000][rng.int(0, 10 - 1)]!;
        r.timestamp = NOW + b * TICK_MS + d + rng.int(0, 2 - 1);
      }
      batch.push(r);
    }
    batches.push(batch);
  }
  return batches;
}

/**
 * A `.log` with each batch's checksum checked and then zeroed with its durableDelta: that field
 * says what a completed fsync covered when the batch was written (the fsyncs of rolled segments
 * complete at their own pace), the one part of the bytes that is not a function of the appends.
 */
function withoutDurableDelta(log: Buffer, name: string): Buffer {
  const out = Buffer.from(log);
  let p = 0;
  while (p < out.length) {
    const batchBytes = readU32(out, p + H_BATCH_BYTES);
    expect(checksumMatches(out, p, batchBytes), `${name} batch at ${p}`).toBe(true);
    out.fill(0, p + H_CHECKSUM, p + H_CHECKSUM + 4);
    out.fill(0, p + H_DURABLE_DELTA, p + H_DURABLE_DELTA + 2);
    p += batchBytes;
  }
  return out;
}

function segmentFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const topicDir = path.join(dir, 't');
  for (const name of fs.readdirSync(topicDir).sort()) {
    const bytes = fs.readFileSync(path.join(topicDir, name));
    if (name.endsWith('.log')) out.set(name, withoutDurableDelta(bytes, name));
    else if (/\.(index|timeindex)$/.test(name)) out.set(name, bytes);
  }
  return out;
}

async function writeBoth(batches: Rec[][], topicOptions: { segmentBytes?: number; segmentMs?: number }): Promise<[Map<string, Buffer>, Map<string, Buffer>]> {
  let clock = NOW;
  vi.spyOn(Date, 'now').mockImplementation(() => clock);
  const dirA = tmp();
  const dirB = tmp();
  const a = await openLog(dirA, { durability: 'os' });
  const b = await openLog(dirB, { durability: 'os' });
  const ta = a.topic('t', topicOptions);
  const tb = b.topic('t', topicOptions);
  for (const [i, batch] of batches.entries()) {
    clock = NOW + i * TICK_MS;
    const first = await ta.appendBatch(batch);
    let offset = -1;
    for (const r of batch) {
      const o = tb.appendSync(r.value, { key: r.key, headers: r.headers, timestamp: r.timestamp });
      if (offset < 0) offset = o;
    }
    await new Promise<void>((resolve) => setImmediate(resolve)); // (the tick's seal and write)
    expect(offset).toBe(first);
  }
  expect(ta.endOffset).toBe(tb.endOffset);
  await a.close();
  await b.close();
  return [segmentFiles(dirA), segmentFiles(dirB)];
}

describe('appendBatch frames exactly as record-by-record appends', () => {
  test('mixed records, small segments: identical segment and index files', async () => {
    const [a, b] = await writeBoth(makeBatches(1, 60, false), { segmentBytes: 256 * 1024 });
    expect([...a.keys()]).toEqual([...b.keys()]);
    expect([...a.keys()].filter((n) => n.endsWith('.log')).length).toBeGreaterThan(3);
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
  });

  test('plain values only, segments that roll by size within a batch', async () => {
    const [a, b] = await writeBoth(makeBatches(2, 40, true), { segmentBytes: 50_000 });
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
  });

  test('segments that roll by time (segmentMs) within a batch', async () => {
    const [a, b] = await writeBoth(makeBatches(3, 60, false), { segmentMs: 60 });
    expect([...a.keys()]).toEqual([...b.keys()]);
    expect([...a.keys()].filter((n) => n.endsWith('.log')).length).toBeGreaterThan(3);
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
  });
});
