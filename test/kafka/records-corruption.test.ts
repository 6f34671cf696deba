// The corruption matrix of readProducedBatches, over real batches (librdkafka's fixtures for every
// codec, kafkajs's, encodeBatch's): every truncation and every single-byte flip is a KafkaError
// (CORRUPT_MESSAGE or the code of the check that caught it) except flips in the two fields no
// broker reads from a producer (baseOffset, partitionLeaderEpoch), which change nothing; and with
// the CRC made right after the flip (the producer's own bytes are bad), every flip either still
// decodes or is a KafkaError — never another exception, never a hang.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c, encodeBatch, KafkaError, readProducedBatches, RecordsErrorCode } from '../../src/kafka/records/index.js';
import { kafkajsBatch } from './records-helpers.js';

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'kafka');

function outcome(b: Buffer): 'ok' | number {
  try {
    readProducedBatches(b, { maxDecompressedBytes: 1 << 20 });
    return 'ok';
  } catch (err) {
    if (!(err instanceof KafkaError)) throw new Error(`not a KafkaError: ${(err as Error)?.stack ?? String(err)}`);
    return err.code;
  }
}

async function samples(): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = [];
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) out.push([`kcat ${codec}`, fs.readFileSync(path.join(FIXTURES, `kcat-${codec}.bin`))]);
  const msgs = [
    { key: Buffer.from('k'), value: Buffer.from('v'.repeat(40)), timestamp: 1_700_000_000_000, headers: { h: Buffer.from('x') } },
    { key: null, value: null, timestamp: 1_700_000_000_001 },
  ];
  for (const codec of ['snappy-xerial', 'lz4'] as const) out.push([`kafkajs ${codec}`, await kafkajsBatch(msgs, codec)]);
  const at = (offset: number) => ({ offset, timestamp: 1_700_000_000_000 + offset, key: Buffer.from(`k${offset}`), headers: { a: Buffer.from('b') }, valueBytes: Buffer.from('value'), value: null, deliveryCount: 1 });
  out.push(['encodeBatch', Buffer.from(encodeBatch([at(3), at(4), at(5)]).bytes)]);
  return out;
}

/** Bytes of the batch header no check covers: baseOffset and partitionLeaderEpoch. */
const UNCHECKED = (i: number) => i < 8 || (i >= 12 && i < 16);

describe('corruption matrix', () => {
  it('every truncation is a KafkaError', async () => {
    for (const [name, batch] of await samples()) {
      for (let len = 0; len < batch.length; len++) {
        const got = outcome(batch.subarray(0, len));
        expect(got, `${name} truncated to ${len}`).not.toBe('ok');
        if (len >= 17) expect(got, `${name} truncated to ${len}`).toBe(RecordsErrorCode.CORRUPT_MESSAGE);
      }
    }
  });

  it('every single-byte flip is a KafkaError, except in baseOffset and partitionLeaderEpoch', async () => {
    for (const [name, batch] of await samples()) {
      const want = readProducedBatches(batch);
      for (let i = 0; i < batch.length; i++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const b = Buffer.from(batch);
          b[i]! ^= mask;
          const got = outcome(b);
          if (UNCHECKED(i)) {
            expect(got, `${name} byte ${i} ^ ${mask}`).toBe('ok');
            expect(readProducedBatches(b)).toEqual(want);
          } else {
            expect(got, `${name} byte ${i} ^ ${mask}`).not.toBe('ok');
            // A flip in the CRC'd range is caught by the CRC; one in the magic byte by the magic check.
            if (i >= 17) expect(got, `${name} byte ${i} ^ ${mask}`).toBe(RecordsErrorCode.CORRUPT_MESSAGE);
          }
        }
      }
    }
  });

  it('with the CRC made right, every flip and every cut of the records decodes or is a KafkaError', async () => {
    for (const [name, batch] of await samples()) {
      for (let i = 21; i < batch.length; i++) {
        for (const mask of [0x01, 0x10, 0x80, 0xff]) {
          const b = Buffer.from(batch);
          b[i]! ^= mask;
          b.writeUInt32BE(crc32c(b, 21, b.length), 17);
          outcome(b); // throws if anything but a KafkaError comes out
        }
      }
      // The records cut short inside a batch whose length and CRC agree.
      for (let len = 61; len < batch.length; len++) {
        const b = Buffer.from(batch.subarray(0, len));
        b.writeInt32BE(len - 12, 8);
        b.writeUInt32BE(crc32c(b, 21, b.length), 17);
        expect(outcome(b), `${name} cut at ${len}`).not.toBe('ok');
      }
    }
  });
});
