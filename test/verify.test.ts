// verify(dir): the read-only checker. A log is written through the API, damaged the ways a crash
// or a bad disk damages it, and verify must name the damage (file, position, kind) without
// changing a byte, without the lock, and agree with what openLog then does.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entries } from './entry.js';
import { expectSeglogError, harness, pad20, Rng, segmentBases, segmentPath } from './helpers.js';
import { scanLog } from './format-reader.js';
import { verifyWith } from '../src/verify/verify.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';

const TOPIC = 'a';
const COUNT = 90;
const value = (o: number): Buffer => Buffer.from(`value ${o} ${'z'.repeat((o * 29) % 70)}`);
const timestamp = (o: number): number => 1_700_000_000_000 + o * 10 - (o % 7 === 3 ? 400 : 0);

/** Every file under `dir` with a hash of its bytes (to prove verify changed nothing). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, f);
    const st = fs.statSync(full);
    out[f] = st.isDirectory() ? 'dir' : `${st.size}:${crypto.createHash('sha1').update(fs.readFileSync(full)).digest('hex')}:${st.mtimeMs}`;
  }
  return out;
}

/** A file layer that fails the test on anything but reading. */
const readOnlyIO: FileIO = {
  ...nodeFileIO,
  open(p, flags) {
    if (flags !== 'r') throw new Error(`verify opened ${p} with flags ${flags}`);
    return nodeFileIO.open(p, flags);
  },
  write() { throw new Error('verify wrote'); },
  truncate() { throw new Error('verify truncated'); },
  rename() { throw new Error('verify renamed'); },
  unlink() { throw new Error('verify unlinked'); },
  mkdir() { throw new Error('verify made a directory'); },
  removeDir() { throw new Error('verify removed a directory'); },
  fsync() { throw new Error('verify fsynced'); },
  fsyncSync() { throw new Error('verify fsynced'); },
  fsyncDir() { throw new Error('verify fsynced a directory'); },
};

describe.each(entries)('$name: verify()', (entry) => {
  const h = harness(entry);
  const templateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-verify-'));
  const template = path.join(templateRoot, 'log');

  beforeAll(async () => {
    const log = await h.mod.openLog(template);
    const a = log.topic(TOPIC, { segmentBytes: 2048, indexIntervalBytes: 128 });
    for (let o = 0; o < COUNT; ) {
      if (o % 5 === 2) {
        await a.appendBatch([0, 1, 2].map((i) => ({ value: value(o + i), timestamp: timestamp(o + i) })));
        o += 3;
      } else {
        await a.append(value(o), { timestamp: timestamp(o) });
        o++;
      }
    }
    const b = log.topic<string>('b', { codec: 'string' });
    await b.appendBatch([{ value: 'x' }, { value: 'y' }]);
    await log.close();
  });

  afterAll(() => fs.rmSync(templateRoot, { recursive: true, force: true }));

  function copy(): string {
    const dir = h.tmp();
    fs.cpSync(template, dir, { recursive: true });
    return dir;
  }

  const batchesOf = (dir: string, base: number) => scanLog(fs.readFileSync(segmentPath(dir, TOPIC, base, 'log')), base).batches;

  test('a healthy log: ok, no problems, and the counts of what is on disk', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    expect(bases.length).toBeGreaterThanOrEqual(4);
    const batches = bases.reduce((n, b) => n + batchesOf(dir, b).length, 0);
    const bytes = bases.reduce((n, b) => n + fs.statSync(segmentPath(dir, TOPIC, b, 'log')).size, 0);
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.dir).toBe(path.resolve(dir));
    expect(report.topics.map((t) => t.topic)).toEqual(['a', 'b']);
    const a = report.topics[0]!;
    expect(a).toEqual({ topic: 'a', segments: bases.length, batches, records: COUNT, bytes, startOffset: 0, endOffset: COUNT, problems: [] });
    expect(report.topics[1]).toMatchObject({ topic: 'b', segments: 1, batches: 1, records: 2, startOffset: 0, endOffset: 2, problems: [] });
  });

  test('verify changes nothing: no file is opened for writing, and every byte and mtime stays', async () => {
    const dir = copy();
    fs.appendFileSync(segmentPath(dir, TOPIC, segmentBases(dir, TOPIC).at(-1)!, 'log'), new Rng(3).bytes(100)); // damage to look at
    fs.writeFileSync(path.join(dir, TOPIC, `${pad20(1)}.log.tmp`), 'x');
    const before = snapshot(dir);
    const report = await verifyWith(readOnlyIO, dir);
    expect(report.topics[0]!.problems.map((p) => p.kind).sort()).toEqual(['leftover', 'torn-tail']);
    expect(snapshot(dir)).toEqual(before);
  });

  test('runs without the lock while a writer holds the directory, and sees its flushed data', async () => {
    const dir = copy();
    const log = await h.open(dir);
    const t = log.topic<Buffer>(TOPIC);
    await t.append(value(COUNT), { timestamp: timestamp(COUNT) });
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(true);
    expect(report.topics[0]!.endOffset).toBe(COUNT + 1);
    await log.close();
  });

  test('a compacted topic (offsets removed inside and between segments) verifies clean; damage in it is still found', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const kv = log.topic<string>('kv', { codec: 'string', cleanup: 'compact', segmentBytes: 1024 });
    for (let i = 0; i < 400; i++) kv.appendSync(`value ${i}`, { key: `k${i % 9}` });
    const res = await kv.compact();
    expect(res.recordsAfter).toBeLessThan(res.recordsBefore);
    kv.appendSync('after', { key: 'k1' });
    await log.close();
    const report = await h.mod.verify(dir);
    expect(report.topics.flatMap((t) => t.problems).filter((p) => p.severity === 'error')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.topics[0]!.endOffset).toBe(401);
    const first = segmentPath(dir, 'kv', segmentBases(dir, 'kv')[0]!, 'log');
    const bytes = fs.readFileSync(first);
    bytes[60] ^= 0xff;
    fs.writeFileSync(first, bytes);
    const damaged = await h.mod.verify(dir);
    expect(damaged.ok).toBe(false);
    const problems = damaged.topics.flatMap((t) => t.problems);
    expect(problems.filter((p) => p.severity === 'error').map((p) => [p.file, p.kind]), JSON.stringify(problems)).toContainEqual([first, 'corrupt-batch']);
  });

  test('onProgress reports bytes done rising to the total, for the files of every topic', async () => {
    const dir = copy();
    const seen: Array<{ topic: string; file: string; bytesDone: number; bytesTotal: number }> = [];
    const report = await h.mod.verify(dir, { onProgress: (p) => seen.push({ ...p }) });
    const total = report.topics.reduce((n, t) => n + t.bytes, 0);
    expect(seen.length).toBeGreaterThan(report.topics[0]!.segments);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytesDone).toBeGreaterThanOrEqual(seen[i - 1]!.bytesDone);
    for (const p of seen) expect(p.bytesTotal).toBe(total);
    expect(seen.at(-1)!.bytesDone).toBe(total);
    expect(new Set(seen.map((p) => p.topic).filter((t) => t !== ''))).toEqual(new Set(['a', 'b']));
    for (const base of segmentBases(dir, TOPIC)) expect(seen.some((p) => p.file === segmentPath(dir, TOPIC, base, 'log'))).toBe(true);
  });

  test('topics: only the named topics are checked; an unknown one is ERR_INVALID_ARGUMENT naming it', async () => {
    const dir = copy();
    const report = await h.mod.verify(dir, { topics: ['b'] });
    expect(report.topics.map((t) => t.topic)).toEqual(['b']);
    await expectSeglogError(h.mod, () => h.mod.verify(dir, { topics: ['nope'] }), 'ERR_INVALID_ARGUMENT', ['nope']);
  });

  test('bad arguments are ERR_INVALID_ARGUMENT naming them', async () => {
    const dir = copy();
    await expectSeglogError(h.mod, () => h.mod.verify(path.join(dir, 'missing')), 'ERR_INVALID_ARGUMENT', ['missing']);
    await expectSeglogError(h.mod, () => h.mod.verify(path.join(dir, TOPIC, `${pad20(0)}.log`)), 'ERR_INVALID_ARGUMENT');
    await expectSeglogError(h.mod, () => h.mod.verify(42 as unknown as string), 'ERR_INVALID_ARGUMENT', ['42']);
    await expectSeglogError(h.mod, () => h.mod.verify(dir, { onProgres: () => {} } as never), 'ERR_INVALID_ARGUMENT', ['onProgres']);
    await expectSeglogError(h.mod, () => h.mod.verify(dir, { onProgress: 'yes' } as never), 'ERR_INVALID_ARGUMENT', ['onProgress']);
    await expectSeglogError(h.mod, () => h.mod.verify(dir, { topics: 'a' } as never), 'ERR_INVALID_ARGUMENT', ['topics']);
    await expectSeglogError(h.mod, () => h.mod.verify(dir, { topics: ['../x'] }), 'ERR_INVALID_ARGUMENT', ['../x']);
  });

  test('a flipped byte in a closed segment: a corrupt-batch error at that batch, the rest still checked, and openLog agrees (ERR_CORRUPT)', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    const batches = batchesOf(dir, bases[1]!);
    const victim = batches[Math.floor(batches.length / 2)]!;
    const file = segmentPath(dir, TOPIC, bases[1]!, 'log');
    const data = fs.readFileSync(file);
    data[victim.position + 50] ^= 0x40;
    fs.writeFileSync(file, data);
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(false);
    const a = report.topics[0]!;
    const errors = a.problems.filter((p) => p.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'corrupt-batch', file, position: victim.position });
    expect(errors[0]!.message).toContain(String(victim.position));
    expect(a.records).toBe(COUNT - victim.recordCount); // everything else was read and counted
    expect(a.endOffset).toBe(COUNT);
    expect(report.topics[1]!.problems).toEqual([]);
    await expectSeglogError(h.mod, async () => {
      const log = await h.open(dir);
      // a closed segment's damage shows at the first read when open does not scan it
      for (const _ of log.topic(TOPIC).read()) { /* read all */ }
    }, 'ERR_CORRUPT', [path.basename(file)]);
  });

  test('a torn last batch: a torn-tail warning at its position, ok stays true, and endOffset is where openLog cuts', async () => {
    const dir = copy();
    const last = segmentBases(dir, TOPIC).at(-1)!;
    const batch = batchesOf(dir, last).at(-1)!;
    for (const cut of [batch.position + 1, batch.position + 44, batch.position + batch.batchBytes - 1]) {
      fs.truncateSync(segmentPath(dir, TOPIC, last, 'log'), cut);
      const report = await h.mod.verify(dir);
      expect(report.ok).toBe(true);
      const a = report.topics[0]!;
      expect(a.problems).toEqual([expect.objectContaining({ kind: 'torn-tail', severity: 'warning', position: batch.position, file: segmentPath(dir, TOPIC, last, 'log') })]);
      expect(a.endOffset).toBe(batch.baseOffset);
    }
  });

  test('after a clean close a damaged last batch is an error (the log had flushed it, ~meta.json says so); without ~meta.json it is a torn-tail warning', async () => {
    const dir = copy();
    const last = segmentBases(dir, TOPIC).at(-1)!;
    const file = segmentPath(dir, TOPIC, last, 'log');
    const batch = batchesOf(dir, last).at(-1)!;
    const data = fs.readFileSync(file);
    data[batch.position + batch.batchBytes - 3] ^= 0x10;
    fs.writeFileSync(file, data);
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(false);
    expect(report.topics[0]!.problems).toEqual([expect.objectContaining({ kind: 'corrupt-batch', severity: 'error', position: batch.position, file })]);
    expect(report.topics[0]!.problems[0]!.message).toContain('flushed');
    await expectSeglogError(h.mod, async () => {
      const log = await h.open(dir);
      for (const _ of log.topic(TOPIC).read()) { /* read all */ }
    }, 'ERR_CORRUPT', [path.basename(file)]);
    // (the default entry's open above holds the directory: its metadata is in LMDB and the file is gone)
    fs.rmSync(path.join(dir, '~meta.json'), { force: true });
    const blind = await h.mod.verify(dir);
    expect(blind.ok).toBe(true);
    expect(blind.topics[0]!.problems).toEqual([expect.objectContaining({ kind: 'torn-tail', severity: 'warning', position: batch.position })]);
  });

  test('zeros or garbage after the end are a torn tail', async () => {
    for (const tail of [Buffer.alloc(4096), new Rng(9).bytes(300)]) {
      const dir = copy();
      const last = segmentBases(dir, TOPIC).at(-1)!;
      const size = fs.statSync(segmentPath(dir, TOPIC, last, 'log')).size;
      fs.appendFileSync(segmentPath(dir, TOPIC, last, 'log'), tail);
      const a = (await h.mod.verify(dir)).topics[0]!;
      expect(a.problems).toEqual([expect.objectContaining({ kind: 'torn-tail', position: size })]);
      expect(a.endOffset).toBe(COUNT);
    }
  });

  test('a damaged batch followed by valid ones in the last segment is an error, not a torn tail', async () => {
    const dir = copy();
    const last = segmentBases(dir, TOPIC).at(-1)!;
    const batches = batchesOf(dir, last);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    const victim = batches.at(-2)!;
    const file = segmentPath(dir, TOPIC, last, 'log');
    const data = fs.readFileSync(file);
    data[victim.position + 4] ^= 1; // the checksum field
    fs.writeFileSync(file, data);
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(false);
    expect(report.topics[0]!.problems).toEqual([expect.objectContaining({ kind: 'corrupt-batch', position: victim.position, file })]);
    expect(report.topics[0]!.problems[0]!.message).toContain('checksum');
  });

  test('a topic whose first segments were removed (what retention leaves) is healthy, starting at its first segment', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    for (const base of bases.slice(0, 2)) for (const ext of ['log', 'index', 'timeindex'] as const) fs.rmSync(segmentPath(dir, TOPIC, base, ext));
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(true);
    expect(report.topics[0]).toMatchObject({ startOffset: bases[2], endOffset: COUNT, records: COUNT - bases[2]!, problems: [] });
  });

  test('a segment missing from the middle: an offsets error naming the missing offsets', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    for (const ext of ['log', 'index', 'timeindex'] as const) fs.rmSync(segmentPath(dir, TOPIC, bases[1]!, ext));
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(false);
    const problems = report.topics[0]!.problems;
    expect(problems).toEqual([expect.objectContaining({ kind: 'offsets', severity: 'error', file: segmentPath(dir, TOPIC, bases[2]!, 'log'), position: 0 })]);
    expect(problems[0]!.message).toContain(`offsets ${bases[1]} to ${bases[2]! - 1} are missing`);
  });

  test('a batch whose offsets do not follow the one before (copied from elsewhere): an offsets error', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    const batches = batchesOf(dir, bases[0]!);
    const [b0, b1] = [batches[0]!, batches[1]!];
    const file = segmentPath(dir, TOPIC, bases[0]!, 'log');
    const data = fs.readFileSync(file);
    // put batch 0 once more in place of the rest of the segment: valid, but its offsets repeat
    const forged = Buffer.concat([data.subarray(0, b1.position), data.subarray(b0.position, b0.position + b0.batchBytes)]);
    fs.writeFileSync(file, forged);
    const problems = (await h.mod.verify(dir)).topics[0]!.problems.filter((p) => p.kind === 'offsets');
    expect(problems[0]).toMatchObject({ file, position: b1.position, severity: 'error' });
    expect(problems[0]!.message).toContain(`starts at offset ${b0.baseOffset}`);
  });

  describe('indexes', () => {
    const firstIndex = (dir: string) => segmentPath(dir, TOPIC, segmentBases(dir, TOPIC)[0]!, 'index');
    const firstTimeIndex = (dir: string) => segmentPath(dir, TOPIC, segmentBases(dir, TOPIC)[0]!, 'timeindex');
    type Case = [string, 'index' | 'timeindex', (dir: string) => number];
    const cases: Case[] = [
      ['.index missing', 'index', (d) => { fs.rmSync(firstIndex(d)); return 0; }],
      ['.index of a size not a multiple of 8', 'index', (d) => { fs.appendFileSync(firstIndex(d), Buffer.alloc(3)); return 0; }],
      ['.index entry pointing into the middle of a batch', 'index', (d) => {
        const data = fs.readFileSync(firstIndex(d));
        data.writeUInt32LE(data.readUInt32LE(12) + 1, 12);
        fs.writeFileSync(firstIndex(d), data);
        return 8;
      }],
      ['.index entry with the wrong relative offset', 'index', (d) => {
        const data = fs.readFileSync(firstIndex(d));
        data.writeUInt32LE(data.readUInt32LE(8) + 1, 8);
        fs.writeFileSync(firstIndex(d), data);
        return 8;
      }],
      ['.index entries past the end of the log', 'index', (d) => {
        const data = fs.readFileSync(firstIndex(d));
        const extra = Buffer.alloc(8);
        extra.writeUInt32LE(data.readUInt32LE(data.length - 8) + 50, 0);
        extra.writeUInt32LE(1_000_000, 4);
        fs.appendFileSync(firstIndex(d), extra);
        return data.length;
      }],
      ['.timeindex missing', 'timeindex', (d) => { fs.rmSync(firstTimeIndex(d)); return 0; }],
      ['.timeindex with a wrong timestamp', 'timeindex', (d) => {
        const data = fs.readFileSync(firstTimeIndex(d));
        expect(data.length).toBeGreaterThanOrEqual(24);
        data.writeBigUInt64LE(data.readBigUInt64LE(12) + 5n, 12);
        fs.writeFileSync(firstTimeIndex(d), data);
        return 12;
      }],
      ['.timeindex entry off the offset-index points', 'timeindex', (d) => {
        const data = fs.readFileSync(firstTimeIndex(d));
        data.writeUInt32LE(data.readUInt32LE(12 + 8) + 1, 12 + 8);
        fs.writeFileSync(firstTimeIndex(d), data);
        return 12;
      }],
    ];
    test.each(cases)('%s: one warning of that kind naming the file and entry; openLog still reads everything', async (_name, kind, damage) => {
      const dir = copy();
      const position = damage(dir);
      const report = await h.mod.verify(dir);
      expect(report.ok).toBe(true);
      const file = kind === 'index' ? firstIndex(dir) : firstTimeIndex(dir);
      expect(report.topics[0]!.problems).toEqual([expect.objectContaining({ kind, severity: 'warning', file, position })]);
      expect(report.topics[0]!.records).toBe(COUNT);
    });
  });

  test('leftovers of interrupted operations are warnings: *.tmp, an index without its .log, an empty segment past the end, a ~deleted folder', async () => {
    const dir = copy();
    fs.writeFileSync(path.join(dir, TOPIC, `${pad20(0)}.index.tmp`), 'x');
    fs.writeFileSync(segmentPath(dir, TOPIC, 999_999, 'index'), '');
    fs.writeFileSync(segmentPath(dir, TOPIC, COUNT + 7, 'log'), ''); // an empty last segment past the end
    fs.mkdirSync(path.join(dir, 'gone~deleted'));
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'leftover', file: path.join(dir, 'gone~deleted') })]);
    const files = report.topics[0]!.problems.map((p) => [p.kind, path.basename(p.file)]).sort();
    expect(files).toEqual([
      ['leftover', `${pad20(0)}.index.tmp`],
      ['leftover', `${pad20(999_999)}.index`],
      ['leftover', `${pad20(COUNT + 7)}.log`],
    ].sort());
  });
});
