// Rows of the fault matrix that test/corruption.test.ts and test/faults/ do not cover yet:
// a clean-shutdown marker that is missing (the state says "not clean", or the metadata is gone
// altogether), index files left without their `.log`, and a roll interrupted while the first
// batch of the new segment was being written. Each row: openLog recovers every whole batch, reads
// and time lookups are right, appends continue, and verify() agrees.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entries } from './entry.js';
import { collect, harness, segmentBases, segmentPath, type Topic } from './helpers.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { countingIO } from './faults/faulty-io.js';
import { openLogWith } from '../src/log.js';
import { scanLog } from './format-reader.js';

const TOPIC = 't';
const COUNT = 70;
const value = (o: number) => `m${o} ${'k'.repeat((o * 19) % 45)}`;
const ts = (o: number) => 2_000_000 + o * 5 - (o % 6 === 5 ? 12 : 0);

describe.each(entries)('$name: more rows of the fault matrix', (entry) => {
  const h = harness(entry);
  const meta = entry.name === 'seglog' ? lmdbMetaStore : fileMetaStore;
  const template = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-matrix-')), 'log');

  beforeAll(async () => {
    const log = await h.mod.openLog(template);
    const t = log.topic<string>(TOPIC, { codec: 'string', segmentBytes: 2048, indexIntervalBytes: 200 });
    for (let o = 0; o < COUNT; o++) await t.append(value(o), { timestamp: ts(o) });
    await log.close();
    expect(segmentBases(template, TOPIC).length).toBeGreaterThanOrEqual(3);
  });

  afterAll(() => fs.rmSync(path.dirname(template), { recursive: true, force: true }));

  function copy(): string {
    const dir = h.tmp();
    fs.cpSync(template, dir, { recursive: true });
    return dir;
  }

  /** The first n records are there and right, time lookups agree, appends continue at n. */
  async function expectLog(dir: string, n: number, codec: 'string' | 'binary' = 'string'): Promise<void> {
    const log = await h.open(dir);
    const t: Topic<Buffer | string> = codec === 'binary' ? log.topic(TOPIC) : log.topic(TOPIC, { codec });
    expect(t.endOffset).toBe(n);
    const all = collect(t.read());
    expect(all.map((r) => r.valueBytes!.toString())).toEqual(Array.from({ length: n }, (_, o) => value(o)));
    expect(all.map((r) => r.timestamp)).toEqual(Array.from({ length: n }, (_, o) => ts(o)));
    for (const o of [0, Math.floor(n / 2), n - 1]) {
      let max = -1;
      let want = n;
      for (let i = 0; i < n; i++) { max = Math.max(max, ts(i)); if (max >= ts(o)) { want = i; break; } }
      expect(t.offsetForTime(ts(o))).toBe(want);
    }
    expect(t.appendSync(codec === 'binary' ? Buffer.from('next') : 'next')).toBe(n);
    await log.close();
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(true);
    expect(report.topics.find((x) => x.topic === TOPIC)).toMatchObject({ endOffset: n + 1, problems: [] });
  }

  test('clean-shutdown marker missing (state says not clean): the log is scanned from the recovery point and nothing changes', async () => {
    const dir = copy();
    const store = meta(dir, false);
    const state = store.getState(TOPIC)!;
    expect(state.clean).toBe(true);
    store.putStateSync(TOPIC, { ...state, clean: false });
    await store.close();
    // the open scans: more than the clean reopen's handful of header bytes are read
    const io = countingIO();
    const log = await openLogWith({ meta, io }, dir);
    expect(io.logBytesRead).toBeGreaterThan(0);
    await log.close();
    await expectLog(dir, COUNT);
  });

  test('metadata lost altogether: the topic folder opens by scanning its segments, every record is there', async () => {
    const dir = copy();
    for (const f of fs.readdirSync(dir)) if (f.startsWith('~meta')) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    await expectLog(dir, COUNT, 'binary'); // the stored codec went with the metadata
  });

  test('index files without their .log (a roll or deletion interrupted) are removed at open and change nothing', async () => {
    const dir = copy();
    const orphan = COUNT + 1000;
    fs.writeFileSync(segmentPath(dir, TOPIC, orphan, 'index'), Buffer.alloc(16, 3));
    fs.writeFileSync(segmentPath(dir, TOPIC, orphan, 'timeindex'), Buffer.alloc(24, 4));
    expect((await h.mod.verify(dir)).topics[0]!.problems.map((p) => p.kind)).toEqual(['leftover', 'leftover']);
    await expectLog(dir, COUNT);
    expect(fs.existsSync(segmentPath(dir, TOPIC, orphan, 'index'))).toBe(false);
    expect(fs.existsSync(segmentPath(dir, TOPIC, orphan, 'timeindex'))).toBe(false);
  });

  test('a roll interrupted while the new segment\'s first batch was written (state not clean): the torn batch goes, the new segment stays empty at the end offset', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    const last = bases.at(-1)!;
    const lastBatches = scanLog(fs.readFileSync(segmentPath(dir, TOPIC, last, 'log')), last).batches;
    // the active segment's data becomes a rolled segment; a new one starts at COUNT with half a batch
    const torn = fs.readFileSync(segmentPath(dir, TOPIC, last, 'log')).subarray(lastBatches[0]!.position, lastBatches[0]!.position + 30);
    fs.writeFileSync(segmentPath(dir, TOPIC, COUNT, 'log'), torn);
    fs.writeFileSync(segmentPath(dir, TOPIC, COUNT, 'index'), '');
    fs.writeFileSync(segmentPath(dir, TOPIC, COUNT, 'timeindex'), '');
    const store = meta(dir, false);
    const state = store.getState(TOPIC)!;
    store.putStateSync(TOPIC, { ...state, clean: false });
    await store.close();
    await expectLog(dir, COUNT);
    expect(fs.statSync(segmentPath(dir, TOPIC, COUNT, 'log')).size).toBeGreaterThan(0); // the append after recovery
  });
});
