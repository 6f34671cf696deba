// ListOffsets (v1+): timestamp -2 is the earliest offset (startOffset), -1 the latest (endOffset),
// any other the first offset whose running-maximum timestamp is at least it (topic.offsetForTime,
// the time index), with that record's timestamp; none (offsetForTime gives endOffset) answers
// offset -1 and timestamp -1, as Kafka does. The isolation level is ignored (no transactions).
//
// Crash: nothing here is on disk.
import { ErrorCode } from '../protocol/index.js';
import type { TopicImpl } from '../../topic.js';
import type { ServerContext } from './context.js';
import { kafkaErrorOf } from './errors.js';

interface ListOffsetsRequest {
  replicaId: number;
  isolationLevel: number;
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; timestamp: bigint }> }>;
}

const LATEST = -1n;
const EARLIEST = -2n;

function lookup(t: TopicImpl<unknown>, timestamp: bigint): { timestamp: bigint; offset: bigint } {
  if (timestamp === EARLIEST) return { timestamp: -1n, offset: BigInt(t.startOffset) };
  if (timestamp === LATEST) return { timestamp: -1n, offset: BigInt(t.endOffset) };
  const ms = timestamp > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(timestamp);
  const offset = t.offsetForTime(ms);
  if (offset >= t.endOffset) return { timestamp: -1n, offset: -1n };
  // the record at that offset (after compaction, the next one that is left)
  for (const r of t.read({ from: Math.max(offset, t.startOffset), maxRecords: 1 })) return { timestamp: BigInt(r.timestamp), offset: BigInt(r.offset) };
  return { timestamp: -1n, offset: -1n };
}

export function listOffsets(ctx: ServerContext, body: ListOffsetsRequest): object {
  const topics = body.topics.map(({ name, partitions }) => ({
    name,
    partitions: partitions.map(({ partitionIndex, timestamp }) => {
      const t = ctx.topics.partition(name, partitionIndex);
      if (t === undefined) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
      // -3 (the largest timestamp, v7+) and other negative specials are not served
      if (timestamp < 0n && timestamp !== EARLIEST && timestamp !== LATEST) return { partitionIndex, errorCode: ErrorCode.UNSUPPORTED_VERSION, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
      try {
        return { partitionIndex, errorCode: ErrorCode.NONE, ...lookup(t, timestamp), leaderEpoch: 0 };
      } catch (err) {
        return { partitionIndex, errorCode: kafkaErrorOf(err).errorCode, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
      }
    }),
  }));
  return { throttleTimeMs: 0, topics };
}
