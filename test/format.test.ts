// The batch format (src/format.ts, src/segment.ts's checkBatch) against docs/format.md: constants,
// varint/zigzag/u64 codecs at their edges, what the library writes read back by an independent
// reader (test/format-reader.ts), every single-byte flip caught by the checksum, and the sparse
// indexes laid out exactly as the document's rules say.
import { afterEach, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as format from '../src/format/batch.js';
import { checkBatch } from '../src/segment/segment.js';
import { openLog } from '../src/index.js';
import {
  parseBatch,
  parseOffsetIndex,
  parseTimeIndex,
  readVarint as refReadVarint,
  scanLog,
  writeVarint as refWriteVarint,
  zigzagDecode,
  zigzagEncode,
  type ParsedBatch,
} from './format-reader.js';
import { Rng, segmentBases, segmentPath } from './helpers.js';

/** BATCH_BYTES_MAX as docs/format.md states it ("`BATCH_BYTES_MAX` (4 KiB)"). */
const DOC_BATCH_BYTES_MAX = (() => {
  const doc = fs.readFileSync(new URL('../docs/format.md', import.meta.url), 'utf8');
  const m = /`BATCH_BYTES_MAX` \((\d+) KiB\)/.exec(doc);
  if (m === null) throw new Error('docs/format.md no longer states BATCH_BYTES_MAX as "(<n> KiB)"');
  return Number(m[1]) * 1024;
})();

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-format-'));
  dirs.push(d);
  return d;
}

describe('constants match docs/format.md', () => {
  test('batch header layout, sizes and file names', () => {
    expect(format.FORMAT_VERSION).toBe(2);
    expect(format.FORMAT_VERSION_MIN).toBe(1);
    expect(format.BATCH_HEADER_BYTES).toBe(44);
    expect(format.BATCH_BYTES_MAX).toBe(DOC_BATCH_BYTES_MAX);
    expect([
      format.H_BATCH_BYTES, format.H_CHECKSUM, format.H_VERSION, format.H_ATTRIBUTES, format.H_DURABLE_DELTA,
      format.H_RECORD_COUNT, format.H_BASE_OFFSET, format.H_LAST_OFFSET_DELTA, format.H_BASE_TIMESTAMP, format.H_MAX_TIMESTAMP,
    ]).toEqual([0, 4, 8, 9, 10, 12, 16, 24, 28, 36]);
    expect(format.CHECKSUM_FROM).toBe(8);
    expect(format.INDEX_ENTRY_BYTES).toBe(8);
    expect(format.TIME_INDEX_ENTRY_BYTES).toBe(12);
    expect(format.LOCK_FILE).toBe('~seglog.lock');
  });

  test('segment file names are the base offset in 20 digits and parse back', () => {
    for (const base of [0, 1, 123456, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      for (const suffix of [format.LOG_SUFFIX, format.INDEX_SUFFIX, format.TIME_INDEX_SUFFIX]) {
        const name = format.segmentFileName(base, suffix);
        expect(name).toBe(String(base).padStart(20, '0') + suffix);
        expect(format.parseSegmentFileName(name, suffix)).toBe(base);
      }
    }
    for (const bad of ['0.log', '0000000000000000000a.log', '00000000000000000000.lo', '000000000000000000000.log', '00000000000000000000.index']) {
      expect(format.parseSegmentFileName(bad, format.LOG_SUFFIX), bad).toBe(-1);
    }
    // 20 digits beyond the safe range are not a usable offset
    expect(format.parseSegmentFileName('99999999999999999999.log', format.LOG_SUFFIX)).toBe(-1);
  });
});

describe('varint, zigzag and u64', () => {
  const edges = [
    0, 1, 2, 127, 128, 129, 255, 256, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31,
    2 ** 32 - 1, 2 ** 32, 2 ** 35 - 1, 2 ** 35, 2 ** 42, 2 ** 49 - 1, 2 ** 49, 2 ** 52, Number.MAX_SAFE_INTEGER,
  ];

  test('writeVarint/readVarint round-trip every edge value, agree with varintBytes and with the reference LEB128', () => {
    const buf = new Uint8Array(16);
    for (const v of edges) {
      buf.fill(0xee);
      const end = format.writeVarint(buf, 3, v);
      expect(end - 3, `length of ${v}`).toBe(format.varintBytes(v));
      expect(end - 3).toBeLessThanOrEqual(8);
      expect(Buffer.from(buf.subarray(3, end)).toString('hex'), `bytes of ${v}`).toBe(refWriteVarint(v).toString('hex'));
      expect(format.readVarint(buf, 3, end), `read ${v}`).toBe(v);
      expect(format.varintEnd).toBe(end);
      expect(refReadVarint(buf, 3, end)).toEqual([v, end]);
      expect(buf[end], 'nothing written past the varint').toBe(0xee);
    }
  });

  test('random values round-trip', () => {
    const rng = new Rng(99);
    const buf = new Uint8Array(10);
    for (let i = 0; i < 20_000; i++) {
      const v = Math.floor(rng.next() * 2 ** rng.int(0, 53));
      const end = format.writeVarint(buf, 0, v);
      expect(format.readVarint(buf, 0, end)).toBe(v);
    }
  });

  test('readVarint rejects truncated, over-long and out-of-range varints', () => {
    expect(format.readVarint(new Uint8Array([0x80]), 0, 1)).toBe(-1); // continues past the end
    expect(format.readVarint(new Uint8Array([0xff, 0xff]), 0, 2)).toBe(-1);
    expect(format.readVarint(new Uint8Array([0x81, 0x01]), 0, 1)).toBe(-1); // end bounds the read
    expect(format.readVarint(new Uint8Array(9).fill(0x80), 0, 9)).toBe(-1); // more than 8 bytes
    const tooBig = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]); // 2^56 - 1
    expect(format.readVarint(tooBig, 0, 8)).toBe(-1);
    expect(format.readVarint(new Uint8Array([]), 0, 0)).toBe(-1);
  });

  test('zigzag maps n >= 0 to 2n and n < 0 to -2n - 1, and back', () => {
    expect([0, -1, 1, -2, 2, -64, 64].map(format.zigzag)).toEqual([0, 1, 2, 3, 4, 127, 128]);
    const values = [0, 1, -1, 63, -64, 64, -65, 2 ** 31, -(2 ** 31), 2 ** 40, -(2 ** 40), 2 ** 51, -(2 ** 51), 2 ** 52 - 1, -(2 ** 52)];
    for (const n of values) {
      expect(format.zigzag(n), `zigzag(${n})`).toBe(zigzagEncode(n));
      expect(format.unzigzag(format.zigzag(n)), `round trip ${n}`).toBe(n);
      expect(zigzagDecode(format.zigzag(n))).toBe(n);
      expect(Number.isSafeInteger(format.zigzag(n))).toBe(true);
    }
  });

  test('u64 fields hold safe integers; larger values read as -1 (corruption)', () => {
    const buf = new Uint8Array(8);
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 1_700_000_000_000, Number.MAX_SAFE_INTEGER]) {
      format.writeU64(buf, 0, v);
      expect(format.readU64(buf, 0), String(v)).toBe(v);
      expect(Buffer.from(buf).readBigUInt64LE(0)).toBe(BigInt(v));
    }
    Buffer.from(buf.buffer).writeBigUInt64LE(2n ** 53n, 0);
    expect(format.readU64(buf, 0)).toBe(-1);
    Buffer.from(buf.buffer).writeBigUInt64LE(2n ** 64n - 1n, 0);
    expect(format.readU64(buf, 0)).toBe(-1);
    for (const v of [0, 1, 0xffff, 0xffffffff]) {
      format.writeU32(buf, 0, v);
      expect(format.readU32(buf, 0)).toBe(v);
    }
  });
});

interface Input {
  value: Buffer | null;
  key?: string | Buffer;
  headers?: Record<string, string | Buffer>;
  timestamp: number;
}

/** Writes inputs through the library: in ticks of appendSync, and appendBatch calls. */
async function writeLog(dir: string, inputs: Input[], topicOptions: Record<string, unknown>, rng: Rng): Promise<void> {
  const log = await openLog(dir, { durability: 'none' });
  const t = log.topic('f', topicOptions);
  let i = 0;
  while (i < inputs.length) {
    const n = Math.min(inputs.length - i, rng.int(1, 40));
    const group = inputs.slice(i, i + n);
    if (rng.bool()) {
      for (const r of group) t.appendSync(r.value, { key: r.key, headers: r.headers, timestamp: r.timestamp });
    } else {
      await t.appendBatch(group.map((r) => ({ value: r.value, key: r.key, headers: r.headers, timestamp: r.timestamp })));
    }
    await new Promise((resolve) => setImmediate(resolve));
    i += n;
  }
  await log.close();
}

function genInputs(rng: Rng, count: number, tombstones: boolean): Input[] {
  const inputs: Input[] = [];
  let clock = 1_650_000_000_000;
  for (let i = 0; i < count; i++) {
    clock += rng.int(0, 30);
    const r = rng.next();
    const size = r < 0.7 ? rng.int(0, 300) : r < 0.97 ? rng.int(300, 3000) : rng.int(16 * 1024, 20 * 1024);
    const input: Input = {
      value: tombstones && rng.bool(0.1) ? null : rng.bytes(size),
      timestamp: rng.bool(0.15) ? clock - rng.int(1, 10_000) : clock,
    };
    if (rng.bool(0.5) || input.value === null) input.key = rng.bool() ? `k${rng.int(0, 99)}` : rng.bytes(rng.int(0, 20));
    if (rng.bool(0.3)) input.headers = { a: `h${i}`, [`b${i % 3}`]: rng.bytes(rng.int(0, 10)) };
    inputs.push(input);
  }
  return inputs;
}

describe('batches written by the library', () => {
  test('decode with the independent reader to exactly the records appended (round trip), with valid headers', async () => {
    const dir = tmp();
    const rng = new Rng(2024);
    const inputs = genInputs(rng, 600, true);
    await writeLog(dir, inputs, { segmentBytes: 64 * 1024, cleanup: 'compact' }, rng);
    const records: ParsedBatch['records'] = [];
    const batches: ParsedBatch[] = [];
    for (const base of segmentBases(dir, 'f')) {
      const scan = scanLog(fs.readFileSync(segmentPath(dir, 'f', base, 'log')), base);
      expect(scan.error, `segment ${base}`).toBeUndefined();
      if (scan.batches.length > 0) expect(scan.batches[0]!.baseOffset).toBe(base);
      for (const b of scan.batches) {
        batches.push(b);
        records.push(...b.records);
      }
    }
    expect(records.length).toBe(inputs.length);
    records.forEach((rec, i) => {
      const input = inputs[i]!;
      expect(rec.offset).toBe(i);
      expect(rec.timestamp).toBe(input.timestamp);
      expect(rec.value === null ? null : rec.value.toString('hex')).toBe(input.value === null ? null : input.value.toString('hex'));
      expect(rec.key?.toString('hex')).toBe(input.key === undefined ? undefined : Buffer.from(input.key).toString('hex'));
      const wantHeaders = Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
      expect(Object.fromEntries(Object.entries(rec.headers).map(([k, v]) => [k, v.toString('hex')]))).toEqual(wantHeaders);
    });
    for (const b of batches) {
      expect(b.lastOffsetDelta).toBe(b.recordCount - 1); // dense in a never-compacted topic
      expect(b.baseTimestampMs).toBe(b.records[0]!.timestamp);
      expect(b.maxTimestampMs).toBe(Math.max(...b.records.map((r) => r.timestamp)));
      // a batch only passes BATCH_BYTES_MAX when it holds a single record
      if (b.batchBytes > DOC_BATCH_BYTES_MAX) expect(b.recordCount).toBe(1);
    }
    // appends of one tick are coalesced: far fewer batches than records
    expect(batches.length).toBeLessThan(inputs.length / 3);
  });

  test('checksums catch every single-byte flip, and every truncation, of a small batch', async () => {
    const dir = tmp();
    const log = await openLog(dir);
    await log.topic('f').appendBatch([
      { value: Buffer.from('hello'), key: 'k', headers: { h: 'v' }, timestamp: 1_700_000_000_000 },
      { value: Buffer.from('world!'), timestamp: 1_699_999_999_000 },
      { value: Buffer.alloc(0), key: Buffer.from([0]), timestamp: 1_700_000_000_500 },
    ]);
    await log.close();
    const data = fs.readFileSync(segmentPath(dir, 'f', 0, 'log'));
    const batch = parseBatch(data, 0, 0);
    expect(batch.batchBytes).toBe(data.length);
    expect(checkBatch(data, 0, data.length, 0)).toBeNull();
    expect(format.checkBatchStructure(data, 0, data.length)).toBeNull();
    for (let pos = 0; pos < data.length; pos++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const copy = Buffer.from(data);
        copy[pos] = copy[pos]! ^ mask;
        expect(checkBatch(copy, 0, copy.length, 0), `byte ${pos} ^ ${mask}`).not.toBeNull();
        expect(() => parseBatch(copy, 0, 0), `reference reader, byte ${pos} ^ ${mask}`).toThrow();
      }
    }
    for (let available = 0; available < data.length; available++) {
      expect(checkBatch(data, 0, available, 0), `truncated to ${available}`).not.toBeNull();
    }
    // a batch copied to a wrong place (another expected offset) is caught too
    expect(checkBatch(data, 0, data.length, 7)).not.toBeNull();
  });
});

describe('sparse indexes written by the library follow the rules of docs/format.md', () => {
  test.each([
    [100, 4096],
    [1000, 16 * 1024],
    [4096, 64 * 1024],
  ])('indexIntervalBytes %i, segmentBytes %i: .index and .timeindex hold exactly the documented entries', async (indexIntervalBytes, segmentBytes) => {
    const dir = tmp();
    const rng = new Rng(indexIntervalBytes);
    const inputs = genInputs(rng, 800, false);
    await writeLog(dir, inputs, { segmentBytes, indexIntervalBytes }, rng);
    const timestamps = inputs.map((i) => i.timestamp);
    const maxBefore = (offset: number) => {
      let m = 0;
      for (let i = 0; i < offset; i++) m = Math.max(m, timestamps[i]!);
      return m;
    };
    const bases = segmentBases(dir, 'f');
    expect(bases.length).toBeGreaterThan(1);
    for (const base of bases) {
      const { batches } = scanLog(fs.readFileSync(segmentPath(dir, 'f', base, 'log')), base);
      // offset index: the first batch, then the first batch at least indexIntervalBytes after the last indexed one
      const wantIndex: Array<{ relativeOffset: number; position: number }> = [];
      let lastIndexed = -Infinity;
      for (const b of batches) {
        if (wantIndex.length === 0 || b.position - lastIndexed >= indexIntervalBytes) {
          wantIndex.push({ relativeOffset: b.baseOffset - base, position: b.position });
          lastIndexed = b.position;
        }
      }
      expect(parseOffsetIndex(fs.readFileSync(segmentPath(dir, 'f', base, 'index'))), `${base}.index`).toEqual(wantIndex);
      // time index: (max timestamp before the segment, 0), then offset-index points where the running max grew
      const wantTime: Array<{ timestampMs: number; relativeOffset: number }> = [];
      for (const e of wantIndex) {
        const t = maxBefore(base + e.relativeOffset);
        if (wantTime.length === 0 || t > wantTime.at(-1)!.timestampMs) wantTime.push({ timestampMs: t, relativeOffset: e.relativeOffset });
      }
      expect(parseTimeIndex(fs.readFileSync(segmentPath(dir, 'f', base, 'timeindex'))), `${base}.timeindex`).toEqual(wantTime);
    }
  });
});
