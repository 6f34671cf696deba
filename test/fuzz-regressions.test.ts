// Regressions found by the file fuzzer (test/fuzz-files.test.ts), pinned down as plain tests:
//   1. an `.index` entry pointing into the middle of a batch, inside a read span whose first entry
//      frames correctly: get() built a region from the middle of a batch, met a zero batch length
//      and grew an array until the process died (V8 "invalid size error");
//   2. a segment file copied over a later segment (offsets going backwards): read() handed out the
//      copied records again, at offsets below the ones it had already returned.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entries } from './entry.js';
import { collect, expectSeglogError, harness, segmentBases, segmentPath } from './helpers.js';
import { scanLog } from './format-reader.js';

const TOPIC = 't';

describe.each(entries)('$name: damage found by the fuzzer', (entry) => {
  const h = harness(entry);
  const template = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-fuzzreg-')), 'log');
  const value = (o: number) => `rec ${o} ${'w'.repeat((o * 11) % 40)}`;
  const COUNT = 80;

  beforeAll(async () => {
    const log = await h.mod.openLog(template);
    const t = log.topic<string>(TOPIC, { codec: 'string', segmentBytes: 2048, indexIntervalBytes: 100 });
    for (let o = 0; o < COUNT; o++) await t.append(value(o), { timestamp: 1_000 + o });
    await log.close();
  });

  afterAll(() => fs.rmSync(path.dirname(template), { recursive: true, force: true }));

  function copy(): string {
    const dir = h.tmp();
    fs.cpSync(template, dir, { recursive: true });
    return dir;
  }

  test('an index entry pointing at a zero-length field inside a batch: get() of every offset returns the right record or ERR_CORRUPT, and the process lives', async () => {
    const dir = copy();
    const base = segmentBases(dir, TOPIC)[0]!;
    const batches = scanLog(fs.readFileSync(segmentPath(dir, TOPIC, base, 'log')), base).batches;
    const indexFile = segmentPath(dir, TOPIC, base, 'index');
    const index = fs.readFileSync(indexFile);
    expect(index.length).toBeGreaterThanOrEqual(24);
    // entry 2 moved to byte 18 of the batch it names: bytes 18..21 are the high half of a small
    // base offset, i.e. a batch length of 0 when read as a batch start
    const target = batches.find((b) => b.position === index.readUInt32LE(20))!;
    index.writeUInt32LE(target.position + 18, 20);
    fs.writeFileSync(indexFile, index);
    const log = await h.open(dir);
    const t = log.topic<string>(TOPIC);
    for (let o = 0; o < COUNT; o++) {
      try {
        expect(t.get(o)!.value, `get(${o})`).toBe(value(o));
      } catch (err) {
        expect(err).toBeInstanceOf(h.mod.SeglogError);
        expect((err as { code: string }).code).toBe('ERR_CORRUPT');
      }
    }
  });

  test('a segment file copied over a later one: read() stops with ERR_CORRUPT instead of handing out offsets again', async () => {
    const dir = copy();
    const bases = segmentBases(dir, TOPIC);
    fs.copyFileSync(segmentPath(dir, TOPIC, bases[0]!, 'log'), segmentPath(dir, TOPIC, bases[1]!, 'log'));
    const log = await h.open(dir);
    const t = log.topic<string>(TOPIC);
    const seen: number[] = [];
    await expectSeglogError(h.mod, () => { for (const r of t.read()) seen.push(r.offset); }, 'ERR_CORRUPT', [path.basename(segmentPath(dir, TOPIC, bases[1]!, 'log'))]);
    expect(seen).toEqual([...Array(bases[1]).keys()]);
    // and from the copied segment on, nothing that is not at its offset
    expect(() => collect(t.read({ from: bases[1]! }))).toThrow();
  });
});
