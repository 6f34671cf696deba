// The sparse indexes as units (src/offset-index.ts, src/time-index.ts): random lookups checked
// against a sorted array as the oracle, the file form round trip, and the checks that decide
// whether a file on disk can be trusted or must be rebuilt from the log.
import { describe, expect, test } from 'vitest';
import { OffsetIndex } from '../src/segment/offset-index.js';
import { TimeIndex } from '../src/segment/time-index.js';
import { Rng } from './helpers.js';

/** Strictly increasing (relativeOffset, position) pairs starting at (0, 0). */
function randomOffsetEntries(rng: Rng, n: number): Array<[number, number]> {
  const entries: Array<[number, number]> = [];
  let rel = 0;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    entries.push([rel, pos]);
    rel += rng.int(1, 500);
    pos += rng.int(44, 20_000);
  }
  return entries;
}

function oracleFloor(entries: Array<[number, number]>, target: number): number {
  let found = -1;
  for (let i = 0; i < entries.length; i++) if (entries[i]![0] <= target) found = i;
  return found;
}

describe('OffsetIndex', () => {
  test.each([0, 1, 2, 7, 64, 65, 1000])('floor() agrees with a sorted-array oracle (%i entries)', (n) => {
    const rng = new Rng(n + 1);
    const entries = randomOffsetEntries(rng, n);
    const index = new OffsetIndex(1); // grows as needed
    for (const [rel, pos] of entries) index.append(rel, pos);
    expect(index.count).toBe(n);
    const last = n === 0 ? 0 : entries[n - 1]![0];
    const targets = new Set<number>([0, 1, last, last + 1, last + 1000]);
    for (const [rel] of entries) [rel - 1, rel, rel + 1].forEach((t) => t >= 0 && targets.add(t));
    for (let i = 0; i < 500; i++) targets.add(rng.int(0, last + 10));
    for (const t of targets) {
      const i = index.floor(t);
      expect(i, `floor(${t})`).toBe(oracleFloor(entries, t));
      if (i >= 0) {
        expect(index.relativeOffsetAt(i)).toBe(entries[i]![0]);
        expect(index.positionAt(i)).toBe(entries[i]![1]);
      }
    }
    expect(index.lastPosition()).toBe(n === 0 ? -1 : entries[n - 1]![1]);
  });

  test('encode/decode round-trips the 8-byte little-endian file form', () => {
    const entries = randomOffsetEntries(new Rng(5), 300);
    const index = new OffsetIndex();
    for (const [rel, pos] of entries) index.append(rel, pos);
    const bytes = index.encode(0);
    expect(bytes.length).toBe(300 * 8);
    expect(bytes.readUInt32LE(8)).toBe(entries[1]![0]);
    expect(bytes.readUInt32LE(12)).toBe(entries[1]![1]);
    const logBytes = entries.at(-1)![1] + 1;
    const back = OffsetIndex.decode(bytes, logBytes)!;
    expect(back).toBeDefined();
    expect(back.count).toBe(300);
    expect(back.persistedCount).toBe(300);
    for (let i = 0; i < 300; i++) expect([back.relativeOffsetAt(i), back.positionAt(i)]).toEqual(entries[i]);
    // encode(from) gives the tail only
    expect(index.encode(298).equals(bytes.subarray(298 * 8))).toBe(true);
    expect(OffsetIndex.decode(Buffer.alloc(0), 0)!.count).toBe(0);
  });

  test('decode refuses a file that cannot be trusted', () => {
    const entries = randomOffsetEntries(new Rng(6), 20);
    const index = new OffsetIndex();
    for (const [rel, pos] of entries) index.append(rel, pos);
    const good = index.encode(0);
    const logBytes = entries.at(-1)![1] + 100;
    expect(OffsetIndex.decode(good, logBytes)).toBeDefined();
    expect(OffsetIndex.decode(good.subarray(0, good.length - 3), logBytes), 'not a multiple of 8').toBeUndefined();
    expect(OffsetIndex.decode(good, entries.at(-1)![1]), 'points at or past the end of the log').toBeUndefined();
    const swapped = Buffer.from(good);
    good.copy(swapped, 8 * 5, 8 * 6, 8 * 7);
    good.copy(swapped, 8 * 6, 8 * 5, 8 * 6);
    expect(OffsetIndex.decode(swapped, logBytes), 'not increasing').toBeUndefined();
    const repeated = Buffer.concat([good, good.subarray(good.length - 8)]);
    expect(OffsetIndex.decode(repeated, logBytes), 'repeated entry').toBeUndefined();
    const badFirst = Buffer.from(good);
    badFirst.writeUInt32LE(1, 4);
    expect(OffsetIndex.decode(badFirst, logBytes), 'first entry is not (0, 0)').toBeUndefined();
  });

  test('truncateToPosition drops exactly the entries at or past the position', () => {
    const entries = randomOffsetEntries(new Rng(7), 50);
    for (const cutEntry of [0, 1, 25, 49]) {
      for (const delta of [-1, 0, 1]) {
        const index = new OffsetIndex();
        for (const [rel, pos] of entries) index.append(rel, pos);
        index.persistedCount = index.count;
        const position = entries[cutEntry]![1] + delta;
        index.truncateToPosition(position);
        const want = entries.filter(([, pos]) => pos < position).length;
        expect(index.count, `cut at ${position}`).toBe(want);
        expect(index.persistedCount).toBe(want);
      }
    }
  });
});

/** Entries as the time index holds them: first at relative offset 0, then strictly increasing. */
function randomTimeEntries(rng: Rng, n: number): Array<[number, number]> {
  const entries: Array<[number, number]> = [];
  let ts = rng.int(0, 1) === 0 ? 0 : 1_600_000_000_000;
  let rel = 0;
  for (let i = 0; i < n; i++) {
    entries.push([ts, rel]);
    ts += rng.int(1, 100_000);
    rel += rng.int(1, 300);
  }
  return entries;
}

function oracleLastBelow(entries: Array<[number, number]>, t: number): number {
  let found = -1;
  for (let i = 0; i < entries.length; i++) if (entries[i]![0] < t) found = i;
  return found;
}

describe('TimeIndex', () => {
  test.each([0, 1, 2, 15, 16, 17, 500])('lastBelow() agrees with a sorted-array oracle (%i entries)', (n) => {
    const rng = new Rng(100 + n);
    const entries = randomTimeEntries(rng, n);
    const index = new TimeIndex(1);
    for (const [ts, rel] of entries) index.append(ts, rel);
    const lastTs = n === 0 ? 0 : entries[n - 1]![0];
    const targets = new Set<number>([0, 1, lastTs, lastTs + 1, Number.MAX_SAFE_INTEGER]);
    for (const [ts] of entries) [ts - 1, ts, ts + 1].forEach((t) => targets.add(t));
    for (let i = 0; i < 500; i++) targets.add(rng.int(0, lastTs + 10));
    for (const t of targets) {
      const i = index.lastBelow(t);
      expect(i, `lastBelow(${t})`).toBe(oracleLastBelow(entries, t));
      if (i >= 0) {
        expect(index.timestampAt(i)).toBe(entries[i]![0]);
        expect(index.relativeOffsetAt(i)).toBe(entries[i]![1]);
      }
    }
    expect(index.lastTimestamp()).toBe(n === 0 ? -1 : lastTs);
  });

  test('encode/decode round-trips the 12-byte little-endian file form', () => {
    const entries = randomTimeEntries(new Rng(8), 200);
    const index = new TimeIndex();
    for (const [ts, rel] of entries) index.append(ts, rel);
    const bytes = index.encode(0);
    expect(bytes.length).toBe(200 * 12);
    expect(Number(bytes.readBigUInt64LE(12))).toBe(entries[1]![0]);
    expect(bytes.readUInt32LE(20)).toBe(entries[1]![1]);
    const back = TimeIndex.decode(bytes, entries.at(-1)![1] + 1)!;
    expect(back.count).toBe(200);
    for (let i = 0; i < 200; i++) expect([back.timestampAt(i), back.relativeOffsetAt(i)]).toEqual(entries[i]);
  });

  test('decode refuses a file that cannot be trusted', () => {
    const entries = randomTimeEntries(new Rng(9), 10);
    const index = new TimeIndex();
    for (const [ts, rel] of entries) index.append(ts, rel);
    const good = index.encode(0);
    const limit = entries.at(-1)![1] + 1;
    expect(TimeIndex.decode(good, limit)).toBeDefined();
    expect(TimeIndex.decode(good.subarray(0, 30), limit), 'not a multiple of 12').toBeUndefined();
    expect(TimeIndex.decode(good, entries.at(-1)![1]), 'points past the segment').toBeUndefined();
    const flat = Buffer.from(good);
    flat.writeBigUInt64LE(BigInt(entries[3]![0]), 12 * 4); // timestamp not strictly increasing
    expect(TimeIndex.decode(flat, limit)).toBeUndefined();
    const badFirst = Buffer.from(good);
    badFirst.writeUInt32LE(3, 8);
    expect(TimeIndex.decode(badFirst, limit), 'first entry not at relative offset 0').toBeUndefined();
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(2n ** 63n, 12 * 9);
    expect(TimeIndex.decode(huge, limit), 'timestamp beyond 2^53').toBeUndefined();
  });

  test('truncateToRelativeOffset drops exactly the entries at or past the offset', () => {
    const entries = randomTimeEntries(new Rng(10), 40);
    for (const cut of [0, 1, entries[20]![1], entries[20]![1] + 1, entries[39]![1], 1e9]) {
      const index = new TimeIndex();
      for (const [ts, rel] of entries) index.append(ts, rel);
      index.truncateToRelativeOffset(cut);
      expect(index.count, `cut at ${cut}`).toBe(entries.filter(([, rel]) => rel < cut).length);
    }
  });
});
