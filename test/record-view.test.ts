// A record read back (format/record.ts RecordView: the offset and the timestamp's delta decoded at
// once, the batch's base timestamp and codec shared by its records, key, value and headers found
// when asked): every field as appended, for keys, no keys, tombstones, headers and values of every
// varint width, timestamps far from the batch's base (deltas past 2^30 ms), read from memory, from
// a mapped closed segment and with positional reads, and the raw positions the Kafka writer uses.
import { describe, expect, test } from 'vitest';
import { readPathEntries } from './entry.js';
import { harness } from './helpers.js';

describe.each(readPathEntries)('$name: records read back', (entry) => {
  const h = harness(entry);

  test('every field as appended, with far timestamp deltas, from memory and from files', async () => {
    const dir = h.tmp();
    const base = 1_700_000_000_000;
    const specs = Array.from({ length: 300 }, (_, i) => ({
      key: i % 3 === 0 ? undefined : `k${i}`.repeat(1 + (i % 70)),
      value: i % 11 === 5 ? null : Buffer.alloc(i * 7, i & 0xff),
      headers: i % 4 === 0 ? { a: `h${i}`, b: Buffer.alloc(i % 200, 1) } : undefined,
      timestamp: base + (i % 5 === 1 ? 2 ** 40 + i : i % 5 === 2 ? -(2 ** 31) - i : i % 5 === 3 ? 2 ** 30 + i : i),
    }));
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('t');
    await t.appendBatch(specs.map((s) => ({ value: s.value as Buffer, ...(s.key === undefined ? {} : { key: s.key }), ...(s.headers === undefined ? {} : { headers: s.headers }), timestamp: s.timestamp })));
    const check = (records: any[]): void => {
      expect(records.length).toBe(specs.length);
      records.forEach((r, i) => {
        const s = specs[i]!;
        expect(r.offset).toBe(i);
        expect(r.timestamp, `timestamp of ${i}`).toBe(s.timestamp);
        expect(r.key?.toString()).toBe(s.key);
        if (s.value === null) {
          expect(r.valueBytes).toBeNull();
          expect(r.value).toBeNull();
        } else {
          expect(Buffer.compare(r.valueBytes, s.value)).toBe(0);
          expect(r.value).toBe(r.valueBytes);
        }
        expect(r.key).toBe(r.key); // built once
        expect(Object.keys(r.headers)).toEqual(s.headers === undefined ? [] : ['a', 'b']);
        if (s.headers !== undefined) expect(r.headers.a.toString()).toBe(s.headers.a);
        // the raw positions (src/kafka/records/batch-writer.ts) agree with the views
        expect(r.rawKeyLength).toBe(s.key === undefined ? -1 : Buffer.byteLength(s.key));
        if (s.key !== undefined) expect(r.key.byteOffset - r.rawBuffer.byteOffset).toBe(r.rawKeyPos);
        expect(r.rawValueLength).toBe(s.value === null ? -1 : s.value.length);
        if (s.value !== null) expect(r.valueBytes.byteOffset - r.rawBuffer.byteOffset).toBe(r.rawValuePos);
        expect(r.toJSON()).toMatchObject({ offset: i, timestamp: s.timestamp });
      });
    };
    check([...t.read()]);
    check(specs.map((_, i) => t.get(i)));
    await log.close();
    const again = await h.open(dir);
    const t2 = again.topic('t');
    check([...t2.read()]);
    check(specs.map((_, i) => t2.get(i)));
    await again.close();
  });
});
