// The addon's batch checksum (native/seglog_xxh32.c): xxh32() is the same function as the plain-JS
// xxh32.ts (and so xxhash-wasm's h32Raw, test/checksum.test.ts) over views at any offset;
// verifyBatches() returns the end of the run of whole, matching batches and stops before a damaged,
// short or cut one. The default entry's load installs it for the forward walks (src/log/cursor.ts),
// and a walk through a damaged batch still reports that batch, after every record before it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { addonChecksums, loadMmapAddon } from '../src/io/mmap-addon.js';
import { xxh32 } from '../src/format/xxh32.js';
import { verifiedRunEnd } from '../src/format/checksum.js';
import { readPathEntries } from './entry.js';
import { harness, mulberry32 } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const native = addonChecksums(ROOT);

function randomBytes(n: number, next: () => number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (next() * 256) & 0xff;
  return b;
}

/** Batches as docs/format.md frames them (length at 0, xxHash32 of [8, length) at 4), of the given lengths. */
function batches(lengths: number[], next: () => number): { buf: Buffer; starts: number[] } {
  const starts: number[] = [];
  let total = 0;
  for (const n of lengths) { starts.push(total); total += n; }
  const buf = randomBytes(total, next);
  lengths.forEach((n, i) => {
    const p = starts[i]!;
    buf.writeUInt32LE(n, p);
    buf.writeUInt32LE(xxh32(buf.subarray(p + 8, p + n), 0), p + 4);
  });
  return { buf, starts };
}

describe('the addon\'s xxh32 and verifyBatches', () => {
  test('the addon is built with them', () => {
    expect(typeof native?.xxh32).toBe('function');
    expect(typeof native?.verifyBatches).toBe('function');
  });

  test('xxh32 equals the plain-JS one: every length 0..300, views at odd offsets, long inputs', () => {
    const next = mulberry32(7);
    const big = randomBytes(70_000, next);
    for (let n = 0; n <= 300; n++) {
      for (const skip of [0, 1, 3]) expect(native!.xxh32!(big, skip, skip + n), `length ${n} at ${skip}`).toBe(xxh32(big.subarray(skip, skip + n), 0));
    }
    const view = big.subarray(5, 69_999);
    expect(native!.xxh32!(view, 0, view.length)).toBe(xxh32(view, 0));
    expect(native!.xxh32!(view, 11, 4107)).toBe(xxh32(view.subarray(11, 4107), 0));
  });

  test('verifyBatches: the whole run, and it stops before a damaged, short, cut or overlong batch', () => {
    const next = mulberry32(11);
    const lengths = Array.from({ length: 40 }, () => 44 + Math.floor(next() * 4100));
    const { buf, starts } = batches(lengths, next);
    const v = native!.verifyBatches!;
    expect(v(buf, 0, buf.length)).toBe(buf.length);
    expect(v(buf, starts[3]!, buf.length)).toBe(buf.length);
    expect(v(buf, 0, starts[10]! + 50)).toBe(starts[10]); // the 11th batch runs past the end given
    expect(v(buf, starts[39]!, starts[39]!)).toBe(starts[39]);
    const damaged = Buffer.from(buf);
    damaged[starts[17]! + 44 + 3]! ^= 0x10;
    expect(v(damaged, 0, damaged.length)).toBe(starts[17]);
    const sumDamaged = Buffer.from(buf);
    sumDamaged[starts[5]! + 4]! ^= 1;
    expect(v(sumDamaged, 0, sumDamaged.length)).toBe(starts[5]);
    const short = Buffer.from(buf);
    short.writeUInt32LE(43, starts[20]!);
    expect(v(short, 0, short.length)).toBe(starts[20]);
    const huge = Buffer.from(buf);
    huge.writeUInt32LE(0xffffffff, starts[30]!);
    expect(v(huge, 0, huge.length)).toBe(starts[30]);
    // a view: positions are the view's
    const view = buf.subarray(starts[2]!);
    expect(v(view, 0, view.length)).toBe(view.length);
    expect(() => v(buf, 0, buf.length + 1)).toThrow(RangeError);
    expect(() => v(buf, 5, 4)).toThrow(RangeError);
    expect(() => v('x' as unknown as Uint8Array, 0, 0)).toThrow(TypeError);
  });

  test('the default entry\'s load installs it: verifiedRunEnd checks the run in place', () => {
    expect(loadMmapAddon().io).toBe('mmap');
    const { buf, starts } = batches([100, 4096, 44, 300], mulberry32(3));
    expect(verifiedRunEnd(buf, 0, buf.length)).toBe(buf.length);
    buf[starts[2]! + 20]! ^= 1;
    expect(verifiedRunEnd(buf, 0, buf.length)).toBe(starts[2]);
  });
});

describe.each(readPathEntries)('$name: a forward walk through a damaged batch', (entry) => {
  const h = harness(entry);

  test('hands out every record before it, then ERR_CORRUPT at its position (closed and active segment)', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 256 * 1024 });
    const n = 6000;
    for (let i = 0; i < n; i += 500) await t.appendBatch(Array.from({ length: 500 }, (_, k) => ({ value: Buffer.from(`v${String(i + k).padStart(6, '0')}${'x'.repeat(90)}`) })));
    await log.close();
    const files = fs.readdirSync(path.join(dir, 't')).filter((f) => f.endsWith('.log')).sort();
    expect(files.length).toBeGreaterThan(2);
    for (const file of [files[0]!, files[files.length - 1]!]) { // a closed (mapped) segment, the active one
      const copy = h.tmp();
      fs.cpSync(dir, copy, { recursive: true });
      const logPath = path.join(copy, 't', file);
      const bytes = fs.readFileSync(logPath);
      // the fifth batch of the file: inside the first run a walk checks ahead
      let p = 0;
      for (let k = 0; k < 4; k++) p += bytes.readUInt32LE(p);
      const firstBad = Number(bytes.readBigUInt64LE(p + 16));
      bytes[p + 60]! ^= 0x01;
      fs.writeFileSync(logPath, bytes);
      const again = await h.open(copy);
      const topic = again.topic('t');
      const from = Number(file.slice(0, 20));
      const seen: number[] = [];
      let caught: any;
      try {
        for (const r of topic.read({ from })) seen.push(r.offset);
      } catch (err) { caught = err; }
      expect(caught?.code).toBe('ERR_CORRUPT');
      expect(caught.message).toContain(`${file} at position ${p}`);
      expect(seen.length).toBe(firstBad - from);
      expect(seen[seen.length - 1]).toBe(firstBad - 1);
      // a group's member reads through the same walk: never a record of the damaged batch or past it
      // (a batch being gathered when the damage is found is not handed out)
      const sub = topic.subscribe({ group: 'g', from, maxBuffered: 10 });
      const got: number[] = [];
      await expect((async () => { for await (const batch of sub.batches()) for (const r of batch) got.push(r.offset); })()).rejects.toMatchObject({ code: 'ERR_CORRUPT' });
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => from + i));
      expect(got.length).toBeGreaterThan(firstBad - from - 10);
      expect(got.length).toBeLessThanOrEqual(firstBad - from);
      await again.close();
    }
  });
});
