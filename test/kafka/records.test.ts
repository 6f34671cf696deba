// src/kafka/records: CRC32C against published vectors, batches built by kafkajs's own encoder (all
// five codecs) read back, encodeBatch read by kafkajs's decoder and by ours (gaps, headers, null
// keys, tombstones, the byte limit), refusals with the right Kafka codes.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import * as lz4js from 'lz4js';
import * as snappyjs from 'snappyjs';
import { crc32c, encodeBatch, KafkaError, readProducedBatches, RecordsErrorCode, type ProducedRecord } from '../../src/kafka/records/index.js';
import { openLog } from '../../src/index.js';
import type { LogRecord } from '../../src/format/record.js';
import { kafkajsBatch, kafkajsDecode, withBatchField, type KafkajsMessage } from './records-helpers.js';

const require = createRequire(import.meta.url);

function bitwiseCrc32c(buf: Uint8Array): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

function expectKafkaError(fn: () => unknown, code: number, message?: RegExp): KafkaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).code, (err as Error).message).toBe(code);
    if (message) expect((err as Error).message).toMatch(message);
    return err as KafkaError;
  }
  throw new Error('expected a KafkaError, nothing was thrown');
}

describe('crc32c', () => {
  it('matches the RFC 3720 (iSCSI) test vectors and "123456789"', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    const pdu = Buffer.from(['01c00000', '00000000', '00000000', '00000000', '14000000', '00000400', '00000014', '00000018', '28000000', '00000000', '02000000', '00000000'].join(''), 'hex');
    expect(crc32c(pdu)).toBe(0xd9963a56);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('agrees with a bitwise CRC and with kafkajs at every length, start alignment and continuation', () => {
    const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
    const big = Buffer.alloc(5000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    for (const len of [0, 1, 7, 15, 16, 17, 255, 256, 257, 1000, 4093, 4999 - 8]) {
      for (let start = 0; start < 8; start++) {
        const slice = big.subarray(start, start + len);
        const want = bitwiseCrc32c(slice);
        expect(crc32c(big, start, start + len)).toBe(want);
        expect(crc32c(slice)).toBe(want);
        expect(kafkajsCrc(Buffer.from(slice)) >>> 0).toBe(want);
        const mid = start + (len >> 1);
        expect(crc32c(big, mid, start + len, crc32c(big, start, mid))).toBe(want);
      }
    }
  });
});

const NOW = 1_700_000_000_000;
const MESSAGES: KafkajsMessage[] = [
  { key: Buffer.from('k1'), value: Buffer.from('hello'), timestamp: NOW, headers: { trace: Buffer.from('abc'), empty: Buffer.alloc(0) } },
  { key: null, value: Buffer.from('no key'), timestamp: NOW + 5 },
  { key: Buffer.from('gone'), value: null, timestamp: NOW - 3 },
  { key: Buffer.alloc(0), value: Buffer.alloc(300, 7), timestamp: NOW + 100_000_000 },
  { key: Buffer.from('ü'), value: Buffer.from('x'.repeat(5000)), timestamp: NOW + 1, headers: { 'ünï': Buffer.from([0, 1, 2]) } },
];

function expectMessages(got: ProducedRecord[], want: KafkajsMessage[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((r, i) => {
    const m = want[i]!;
    expect(r.key === null ? null : Buffer.from(r.key)).toEqual(m.key === null || m.key === undefined ? null : Buffer.from(m.key));
    expect(r.value === null ? null : Buffer.from(r.value)).toEqual(m.value === null ? null : Buffer.from(m.value));
    expect(r.timestamp).toBe(m.timestamp);
    expect(r.headers.map(([k, v]) => [k, v === null ? null : Buffer.from(v)])).toEqual(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
  });
}

describe('readProducedBatches: batches from kafkajs (its Produce encoder, its CRC32C)', () => {
  for (const codec of ['none', 'gzip', 'snappy', 'snappy-xerial', 'lz4'] as const) {
    it(`reads a ${codec} batch: keys, null keys, tombstones, headers, timestamps`, async () => {
      const batch = await kafkajsBatch(MESSAGES, codec);
      expectMessages(readProducedBatches(batch), MESSAGES);
    });
  }

  it('reads several batches back to back', async () => {
    const a = await kafkajsBatch(MESSAGES.slice(0, 2), 'none');
    const b = await kafkajsBatch(MESSAGES.slice(2), 'gzip');
    const c = await kafkajsBatch(MESSAGES.slice(0, 1), 'lz4');
    expectMessages(readProducedBatches(Buffer.concat([a, b, c])), [...MESSAGES, MESSAGES[0]!]);
  });

  it('returns views of the request (uncompressed) — no copies', async () => {
    const batch = await kafkajsBatch(MESSAGES, 'none');
    const [first] = readProducedBatches(batch);
    expect(first!.value!.buffer).toBe(batch.buffer);
    expect(first!.key!.buffer).toBe(batch.buffer);
    // They are Buffers in every way a caller can tell.
    expect(Buffer.isBuffer(first!.value)).toBe(true);
    expect(first!.value).toBeInstanceOf(Buffer);
    expect(first!.value!.toString()).toBe('hello');
    expect(first!.value!.subarray(1, 3).toString()).toBe('el');
    expect(Buffer.isBuffer(first!.value!.subarray(1))).toBe(true);
    expect(first!.value!.equals(Buffer.from('hello'))).toBe(true);
    expect(Buffer.concat([first!.key!, first!.value!]).toString()).toBe('k1hello');
    expect(first!.value!.readUInt8(0)).toBe(0x68);
  });

  it('a LogAppendTime batch gives every record the batch maxTimestamp', async () => {
    const batch = withBatchField(await kafkajsBatch(MESSAGES, 'none'), (b) => b.writeInt16BE(b.readInt16BE(21) | 0x08, 21));
    const max = Math.max(...MESSAGES.map((m) => m.timestamp));
    expect(readProducedBatches(batch).map((r) => r.timestamp)).toEqual(MESSAGES.map(() => max));
  });
});

describe('readProducedBatches: refusals', () => {
  it('refuses magic 0 and 1 with UNSUPPORTED_FOR_MESSAGE_FORMAT, other magics with CORRUPT_MESSAGE', async () => {
    const batch = await kafkajsBatch(MESSAGES, 'none');
    for (const magic of [0, 1]) {
      const b = Buffer.from(batch);
      b[16] = magic;
      expectKafkaError(() => readProducedBatches(b), RecordsErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    }
    const b = Buffer.from(batch);
    b[16] = 3;
    expectKafkaError(() => readProducedBatches(b), RecordsErrorCode.CORRUPT_MESSAGE, /magic 3/);
  });

  it('refuses a bad CRC with CORRUPT_MESSAGE', async () => {
    const b = await kafkajsBatch(MESSAGES, 'none');
    b[b.length - 1]! ^= 1;
    expectKafkaError(() => readProducedBatches(b), RecordsErrorCode.CORRUPT_MESSAGE, /CRC32C/);
  });

  it('refuses codecs 5–7, transactional and control batches, a zero or inconsistent record count', async () => {
    const plain = await kafkajsBatch(MESSAGES, 'none');
    for (const codec of [5, 6, 7]) {
      expectKafkaError(() => readProducedBatches(withBatchField(plain, (b) => b.writeInt16BE(codec, 21))), RecordsErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    }
    expectKafkaError(() => readProducedBatches(withBatchField(plain, (b) => b.writeInt16BE(0x10, 21))), RecordsErrorCode.INVALID_RECORD, /transactional/);
    expectKafkaError(() => readProducedBatches(withBatchField(plain, (b) => b.writeInt16BE(0x20, 21))), RecordsErrorCode.INVALID_RECORD, /control/);
    expectKafkaError(() => readProducedBatches(withBatchField(plain, (b) => b.writeInt32BE(0, 57))), RecordsErrorCode.INVALID_RECORD, /record count of 0/);
    expectKafkaError(() => readProducedBatches(withBatchField(plain, (b) => b.writeInt32BE(MESSAGES.length + 1, 57))), RecordsErrorCode.INVALID_RECORD);
    expectKafkaError(() => readProducedBatches(withBatchField(plain, (b) => b.writeInt32BE(MESSAGES.length, 23))), RecordsErrorCode.INVALID_RECORD, /lastOffsetDelta/);
    // One record fewer than the header says (count and lastOffsetDelta agreeing): records run out.
    expectKafkaError(() => readProducedBatches(withBatchField(plain, (b) => { b.writeInt32BE(MESSAGES.length + 1, 57); b.writeInt32BE(MESSAGES.length, 23); })), RecordsErrorCode.INVALID_RECORD, /ends after 5 of its 6/);
    // One record more: bytes left over.
    expectKafkaError(() => readProducedBatches(withBatchField(plain, (b) => { b.writeInt32BE(MESSAGES.length - 1, 57); b.writeInt32BE(MESSAGES.length - 2, 23); })), RecordsErrorCode.INVALID_RECORD, /bytes after its 4 records/);
    expectKafkaError(() => readProducedBatches(Buffer.alloc(0)), RecordsErrorCode.INVALID_RECORD);
  });

  it('bounds decompression: a gzip, snappy (raw, xerial) or lz4 bomb is MESSAGE_TOO_LARGE', async () => {
    const big: KafkajsMessage[] = [{ key: null, value: Buffer.alloc(4 << 20), timestamp: NOW }];
    for (const codec of ['gzip', 'snappy', 'snappy-xerial', 'lz4'] as const) {
      const batch = await kafkajsBatch(big, codec);
      expect(batch.length).toBeLessThan(1 << 20);
      expect(readProducedBatches(batch)[0]!.value!.length).toBe(4 << 20);
      expectKafkaError(() => readProducedBatches(batch, { maxDecompressedBytes: 1 << 20 }), RecordsErrorCode.MESSAGE_TOO_LARGE);
    }
    // The bound counts all the batches of one call together.
    const two = Buffer.concat([await kafkajsBatch(big, 'gzip'), await kafkajsBatch(big, 'gzip')]);
    expect(readProducedBatches(two, { maxDecompressedBytes: 9 << 20 }).length).toBe(2);
    expectKafkaError(() => readProducedBatches(two, { maxDecompressedBytes: 6 << 20 }), RecordsErrorCode.MESSAGE_TOO_LARGE);
  });

  it('a zstd frame declaring a huge content size or window is refused from its header', () => {
    // Frame header: magic, descriptor 0xe0 (single segment, 8-byte content size), content size 2^40, one raw block.
    const frame = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]), Buffer.from([0, 0, 0, 0, 0, 1, 0, 0]), Buffer.from([1, 0, 0])]);
    const batch = compressedBatchOf(frame, 4);
    expectKafkaError(() => readProducedBatches(batch), RecordsErrorCode.MESSAGE_TOO_LARGE, /content size/);
    // No content size, window descriptor 0xf8 (2^41 bytes).
    const windowed = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8]), Buffer.from([1, 0, 0])]);
    expectKafkaError(() => readProducedBatches(compressedBatchOf(windowed, 4)), RecordsErrorCode.MESSAGE_TOO_LARGE, /window/);
    // RLE blocks of 128 KiB each from 4 bytes apiece.
    const rle = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // window 2^17... 8 MiB: 0x38 = 2^(10+7)
    for (let i = 0; i < 100; i++) rle.push(Buffer.from([((128 << 10) << 3 | 2 | (i === 99 ? 1 : 0)) & 0xff, ((128 << 10) << 3) >> 8 & 0xff, ((128 << 10) << 3) >> 16 & 0xff, 0]));
    expectKafkaError(() => readProducedBatches(compressedBatchOf(Buffer.concat(rle), 4), { maxDecompressedBytes: 1 << 20 }), RecordsErrorCode.MESSAGE_TOO_LARGE);
  });

  it('an lz4 block whose matches run past its bound stops at the bound (no runaway loop)', () => {
    // A frame of 64 KiB blocks; one compressed block: token 0x1f (a literal, match length 15+),
    // offset 1, then 4,000 x 0xff: a match of a million bytes.
    const block = Buffer.concat([Buffer.from([0x1f, 0x41, 0x01, 0x00]), Buffer.alloc(4000, 0xff), Buffer.from([0x00, 0x00])]);
    const frame = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]), u32le(block.length), block, u32le(0)]);
    expectKafkaError(() => readProducedBatches(compressedBatchOf(frame, 3)), RecordsErrorCode.INVALID_RECORD, /lz4/);
    expectKafkaError(() => readProducedBatches(compressedBatchOf(frame, 3), { maxDecompressedBytes: 1000 }), RecordsErrorCode.MESSAGE_TOO_LARGE);
  });

  it('malformed compressed bytes under a valid CRC are INVALID_RECORD, never another exception', () => {
    for (const codec of [1, 2, 3, 4]) {
      for (const junk of [Buffer.alloc(0), Buffer.from('not compressed at all'), Buffer.alloc(40, 0xff)]) {
        expectKafkaError(() => readProducedBatches(compressedBatchOf(junk, codec)), RecordsErrorCode.INVALID_RECORD);
      }
    }
    // Valid compression of bytes that are not records.
    expectKafkaError(() => readProducedBatches(compressedBatchOf(gzipSync(Buffer.from('hello')), 1)), RecordsErrorCode.INVALID_RECORD);
    expectKafkaError(() => readProducedBatches(compressedBatchOf(Buffer.from(snappyjs.compress(Buffer.from('hello'))), 2)), RecordsErrorCode.INVALID_RECORD);
    expectKafkaError(() => readProducedBatches(compressedBatchOf(Buffer.from(lz4js.compress(Buffer.from('hello'))), 3)), RecordsErrorCode.INVALID_RECORD);
  });
});

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** A one-record batch header (count 1) with codec `codec` over `payload`, CRC made right. */
function compressedBatchOf(payload: Buffer, codec: number): Buffer {
  const b = Buffer.alloc(61 + payload.length);
  b.writeInt32BE(49 + payload.length, 8);
  b[16] = 2;
  b.writeInt16BE(codec, 21);
  b.writeInt32BE(0, 23);
  b.writeInt32BE(-1, 43);
  b.writeInt32BE(-1, 47);
  b.writeInt16BE(-1, 51);
  b.writeInt32BE(-1, 53);
  b.writeInt32BE(1, 57);
  payload.copy(b, 61);
  b.writeUInt32BE(crc32c(b, 21, b.length), 17);
  return b;
}

describe('encodeBatch', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

  /** Records as seglog reads them (RecordView): keys, none, headers, tombstones. */
  async function seglogRecords(): Promise<Array<LogRecord<unknown>>> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-kafka-records-'));
    dirs.push(dir);
    const log = await openLog(dir);
    try {
      const t = log.topic('t', { codec: 'binary', cleanup: 'compact' });
      for (let i = 0; i < 40; i++) {
        await t.append(i % 7 === 3 ? null : Buffer.from(`value-${i}`.repeat(i % 5)), {
          key: i % 3 === 0 ? undefined : `key-${i % 11}`,
          headers: i % 4 === 0 ? { a: `h${i}`, 'ünï': Buffer.alloc(i) } : undefined,
          timestamp: NOW + (i % 2 === 0 ? i * 1000 : -i * 3_000_000_000),
        });
      }
      return [...t.read({ from: 0 })];
    } finally {
      await log.close();
    }
  }

  /** Buffers compared with `equals` (vitest's deep equality walks a buffer byte by byte in JS, seconds
   *  for this file's 200 kB values); on a mismatch `toEqual` still shows the difference. */
  function expectBytes(got: Buffer | null | undefined, want: Buffer | null | undefined): void {
    if (got != null && want != null && got.equals(want)) return;
    expect(got).toEqual(want);
  }

  function expectSame(got: ProducedRecord[], want: Array<LogRecord<unknown>>): void {
    expect(got.length).toBe(want.length);
    got.forEach((r, i) => {
      const w = want[i]!;
      expectBytes(r.key === null ? undefined : Buffer.from(r.key), w.key === undefined ? undefined : Buffer.from(w.key));
      expectBytes(r.value === null ? null : Buffer.from(r.value), w.valueBytes === null ? null : Buffer.from(w.valueBytes));
      expect(r.timestamp).toBe(w.timestamp);
      expect(Object.fromEntries(r.headers.map(([k, v]) => [k, Buffer.from(v!)]))).toEqual(Object.fromEntries(Object.entries(w.headers).map(([k, v]) => [k, Buffer.from(v)])));
    });
  }

  /** The same records as plain objects (the path for a LogRecord that is not a RecordView). */
  function plain(records: Array<LogRecord<unknown>>): Array<LogRecord<unknown>> {
    return records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key, headers: r.headers, valueBytes: r.valueBytes, value: null, deliveryCount: 1 }));
  }

  it('writes seglog records (RecordView and plain objects alike) that our reader and kafkajs read back', async () => {
    const records = await seglogRecords();
    for (const input of [records, plain(records)]) {
      const { bytes, recordCount, lastOffset } = encodeBatch(input);
      expect(recordCount).toBe(40);
      expect(lastOffset).toBe(39);
      expectSame(readProducedBatches(Buffer.from(bytes)), records);
      const decoded = await kafkajsDecode(bytes);
      expect(decoded.firstOffset).toBe('0');
      expect(decoded.lastOffsetDelta).toBe(39);
      expect(decoded.records.map((r) => r.offset)).toEqual(records.map((r) => String(r.offset)));
      decoded.records.forEach((r, i) => {
        const w = records[i]!;
        expect(r.key).toEqual(w.key ?? null);
        expect(r.value).toEqual(w.valueBytes);
        expect(r.timestamp).toBe(String(w.timestamp));
        expect(r.headers).toEqual(Object.fromEntries(Object.entries(w.headers).map(([k, v]) => [k, Buffer.from(v)])));
      });
    }
  });

  it('keeps the gaps compaction leaves: offsets as they are, lastOffsetDelta from the real last offset', async () => {
    const records = (await seglogRecords()).filter((r) => r.offset % 3 !== 1 && r.offset >= 5);
    for (const input of [records, plain(records)]) {
      const { bytes, recordCount, lastOffset } = encodeBatch(input, { partitionLeaderEpoch: 7 });
      expect(recordCount).toBe(records.length);
      expect(lastOffset).toBe(records.at(-1)!.offset);
      expect(bytes.readBigInt64BE(0)).toBe(BigInt(records[0]!.offset));
      expect(bytes.readInt32BE(12)).toBe(7);
      expect(bytes.readInt32BE(23)).toBe(records.at(-1)!.offset - records[0]!.offset);
      expect(bytes.readInt32BE(57)).toBe(records.length);
      expect(bytes.readUInt32BE(17)).toBe(crc32c(bytes, 21, bytes.length));
      expect(Number(bytes.readBigInt64BE(35))).toBe(Math.max(...records.map((r) => r.timestamp)));
      const decoded = await kafkajsDecode(bytes);
      expect(decoded.records.map((r) => Number(r.offset))).toEqual(records.map((r) => r.offset));
    }
  });

  it('stops at maxBytes but always writes the first record; the batch views a pooled chunk', async () => {
    const records = await seglogRecords();
    const whole = encodeBatch(records).bytes.length;
    const half = encodeBatch(records, { maxBytes: whole >> 1 });
    expect(half.recordCount).toBeGreaterThan(1);
    expect(half.recordCount).toBeLessThan(40);
    expect(half.bytes.length).toBeLessThanOrEqual(whole >> 1);
    expect(half.lastOffset).toBe(records[half.recordCount - 1]!.offset);
    expectSame(readProducedBatches(Buffer.from(half.bytes)), records.slice(0, half.recordCount));
    const one = encodeBatch(records, { maxBytes: 1 });
    expect(one.recordCount).toBe(1);
    expectSame(readProducedBatches(one.bytes), records.slice(0, 1));
    expect(encodeBatch([])).toEqual({ bytes: Buffer.alloc(0), recordCount: 0, lastOffset: -1 });
    // Many batches in a row (across pool chunks) stay intact.
    const batches = Array.from({ length: 200 }, () => encodeBatch(records).bytes);
    for (const b of batches) expect(b.readUInt32BE(17)).toBe(crc32c(b, 21, b.length));
  });

  it('copies RecordView keys and values of every size right, across staging windows and chunk growth', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-kafka-records-'));
    dirs.push(dir);
    const log = await openLog(dir);
    let records: Array<LogRecord<unknown>>;
    try {
      const t = log.topic('sizes', { codec: 'binary' });
      const sizes = [0, 1, 15, 16, 17, 100, 4095, 4096, 4097, 20_000, 65_535, 65_536, 65_537, 200_000];
      const input = [];
      for (let i = 0; i < 600; i++) {
        const size = i < sizes.length * 2 ? sizes[i % sizes.length]! : (i * 7919) % 3000;
        const value = Buffer.alloc(size);
        for (let j = 0; j < size; j++) value[j] = (i + j * 31) & 0xff;
        input.push({ value, key: i % 5 === 0 ? undefined : 'k'.repeat(i % 40) + i });
      }
      await t.appendBatch(input);
      records = [...t.read({ from: 0 })];
    } finally {
      await log.close();
    }
    for (const maxBytes of [Infinity, 1, 5000, 70_000, 300_000, 2_000_000]) {
      let from = 0;
      while (from < records.length) {
        const { bytes, recordCount } = encodeBatch(records.slice(from), { maxBytes });
        if (maxBytes !== Infinity && recordCount > 1) expect(bytes.length).toBeLessThanOrEqual(maxBytes);
        expectSame(readProducedBatches(bytes), records.slice(from, from + recordCount));
        from += recordCount;
      }
    }
  });

  it('grows past the pooled chunk for a big batch', () => {
    const value = Buffer.alloc(100_000, 1);
    const records = Array.from({ length: 30 }, (_, i) => ({ offset: 1000 + i, timestamp: NOW, key: undefined, headers: {}, valueBytes: value, value: null, deliveryCount: 1 }));
    const { bytes, recordCount } = encodeBatch(records);
    expect(recordCount).toBe(30);
    const back = readProducedBatches(bytes);
    expect(back.every((r) => r.value!.equals(value))).toBe(true);
  });

  it('stops before an offset 2^31 past the first one and refuses offsets out of order', () => {
    const at = (offset: number) => ({ offset, timestamp: NOW, key: undefined, headers: {}, valueBytes: Buffer.from('v'), value: null, deliveryCount: 1 });
    expect(encodeBatch([at(0), at(0x7fffffff), at(0x80000000)]).recordCount).toBe(2);
    expect(() => encodeBatch([at(5), at(5)])).toThrow(/increasing offset order/);
  });
});
