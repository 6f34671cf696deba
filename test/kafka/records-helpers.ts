// Test plumbing for src/kafka/records: batches built by kafkajs's own Produce encoding (its
// RecordBatch and Record encoders, as requests/produce/v3 calls them) with codecs registered the
// way a kafkajs user plugs them in, and kafkajs's RecordBatch decoder for what encodeBatch writes.
import { createRequire } from 'node:module';
import * as lz4js from 'lz4js';
import * as snappyjs from 'snappyjs';
import { crc32c } from '../../src/kafka/records/index.js';

const require = createRequire(import.meta.url);

export interface KafkajsMessage {
  key?: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: Record<string, Buffer>;
}

interface KafkajsEncoder { buffer: Buffer }
type Codec = { compress(encoder: KafkajsEncoder): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };

const compression = require('kafkajs/src/protocol/message/compression/index.js') as {
  Types: Record<string, number>;
  Codecs: Record<number, () => Codec>;
};
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (o: object) => Promise<KafkajsEncoder> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: object) => KafkajsEncoder;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => object;
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: object) => Promise<KafkajsDecodedBatch>;

export interface KafkajsDecodedBatch {
  firstOffset: string;
  lastOffsetDelta: number;
  records: Array<{ offset: string; key: Buffer | null; value: Buffer | null; timestamp: string; headers: Record<string, Buffer> }>;
}

/** Xerial snappy framing, as snappy-java's SnappyOutputStream writes it (Java producers). */
function xerial(data: Buffer, blockBytes = 32 << 10): Buffer {
  const parts = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (let p = 0; p < data.length || p === 0; p += blockBytes) {
    const block = Buffer.from(snappyjs.compress(data.subarray(p, p + blockBytes)));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(block.length);
    parts.push(len, block);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

const CODECS = {
  none: { type: 0, codec: undefined },
  gzip: { type: 1, codec: undefined }, // kafkajs's own
  snappy: { type: 2, codec: async (e: KafkajsEncoder) => Buffer.from(snappyjs.compress(e.buffer)) },
  'snappy-xerial': { type: 2, codec: async (e: KafkajsEncoder) => xerial(e.buffer) },
  lz4: { type: 3, codec: async (e: KafkajsEncoder) => Buffer.from(lz4js.compress(e.buffer)) },
} as const;

/** The `records` field kafkajs's producer would send for `messages` with `codec`. */
export async function kafkajsBatch(messages: KafkajsMessage[], codec: keyof typeof CODECS): Promise<Buffer> {
  const { type, codec: compress } = CODECS[codec];
  if (compress) {
    compression.Codecs[type] = () => ({ compress, decompress: async () => { throw new Error('not used'); } });
  }
  const timestamps = messages.map((m) => m.timestamp).sort((a, b) => a - b);
  const firstTimestamp = timestamps[0]!;
  const records = messages.map((m, i) => Record({ ...m, offsetDelta: i, timestampDelta: m.timestamp - firstTimestamp }));
  const batch = await RecordBatch({
    compression: type, records, firstTimestamp, maxTimestamp: timestamps.at(-1), lastOffsetDelta: records.length - 1,
  });
  return Buffer.from(batch.buffer);
}

/** kafkajs's decoding of one uncompressed batch (as its consumer would read a Fetch response). */
export async function kafkajsDecode(batch: Buffer): Promise<KafkajsDecodedBatch> {
  return decodeRecordBatch(new Decoder(Buffer.from(batch)));
}

/** A copy of `batch` changed by `edit`, its CRC made right again (to reach the checks behind it). */
export function withBatchField(batch: Buffer, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(batch);
  edit(b);
  b.writeUInt32BE(crc32c(b, 21, b.length), 17);
  return b;
}

