// Fetch: each partition's records from fetchOffset, read from the bytes of the log's batches (a
// Cursor's raw batches: no record object each) and encoded as one uncompressed record batch v2
// (records/encodeLogBatch: the real offsets, gaps after compaction kept, so a fetch from an offset
// compaction removed gets the next records and a batch whose base is above fetchOffset, as Kafka
// does). Limits: partitionMaxBytes per partition,
// maxBytes (v3+) for the whole answer, capped by the server's maxFetchBytes; the first partition
// with records gets at least one record even when it is larger (KIP-74), later ones only what fits.
// OFFSET_OUT_OF_RANGE below startOffset or past endOffset. highWatermark and lastStableOffset are
// endOffset (no transactions: isolationLevel is ignored), logStartOffset startOffset, from v11
// preferredReadReplica -1. Fetch sessions (v7+, KIP-227) are not kept: every answer has session id
// 0, which tells the client to send full fetches; a fetch naming a session is
// FETCH_SESSION_ID_NOT_FOUND.
//
// Prefetch (fetch-prefetch.ts): a partition whose answer was cut by its byte limit gets its next
// batch encoded once the answer is out, for the request that will ask exactly that.
//
// Long poll: with fewer than minBytes available (and no partition in error), the fetch waits up to
// maxWaitMs, woken by appends (fetch-wait.ts), and answers once minBytes are there or the time is up.
//
// Crash: nothing here is on disk.
import type { RecordView } from '../../format/record.js';
import type { TopicImpl } from '../../topic.js';
import { ErrorCode, type RequestHeader } from '../protocol/index.js';
import { releaseLogBatch, type EncodedLogBatch } from '../records/index.js';
import { encodeFrom, prefetchNext, takePrefetched, type PrefetchWant } from './fetch-prefetch.js';
import { ANSWER_WRITTEN, type RequestOrigin, type ServerContext } from './context.js';
import { kafkaErrorOf } from './errors.js';

interface FetchPartition { partition: number; fetchOffset: bigint; partitionMaxBytes: number }
interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  sessionId: number;
  sessionEpoch: number;
  topics: Array<{ topic: string; partitions: FetchPartition[] }>;
}

const EMPTY = Buffer.alloc(0);

/** Bytes of records readable from `from` in `t`, counted up to `want` (views of what is in memory or mapped). */
function bytesFrom(t: TopicImpl<unknown>, from: number, want: number): number {
  if (from >= t.endOffset || from < t.startOffset) return 0;
  let bytes = 0;
  for (const r of t.read({ from, maxBytes: want })) {
    bytes += (r as RecordView<unknown>).sizeBytes;
    if (bytes >= want) break;
  }
  return bytes;
}

/** Whether a partition of the fetch is in error (unknown, out of range): Kafka answers those at once. */
function inError(ctx: ServerContext, topic: string, p: FetchPartition): boolean {
  const t = ctx.topics.partition(topic, p.partition);
  if (t === undefined) return true;
  const offset = Number(p.fetchOffset);
  return offset < t.startOffset || offset > t.endOffset;
}

function partitionAnswer(partitionIndex: number, errorCode: number, t: TopicImpl<unknown> | undefined, records: Buffer): object {
  return {
    partitionIndex, errorCode,
    highWatermark: BigInt(t?.endOffset ?? -1), lastStableOffset: BigInt(t?.endOffset ?? -1), logStartOffset: BigInt(t?.startOffset ?? -1),
    abortedTransactions: null, preferredReadReplica: -1, records,
  };
}

/** Reads and encodes the answer (after the wait, if any). */
function answer(ctx: ServerContext, header: RequestHeader, body: FetchRequest, origin: RequestOrigin): object {
  let budget = Math.min(header.apiVersion >= 3 ? Math.max(0, body.maxBytes) : Infinity, ctx.options.maxFetchBytes);
  let first = true; // no records in the answer yet: the next partition gets at least one record
  const batches: EncodedLogBatch[] = [];
  const next: PrefetchWant[] = []; // partitions cut by their limit: the next fetch asks from where they end
  const responses = body.topics.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map((p) => {
      const t = ctx.topics.partition(topic, p.partition);
      if (t === undefined) return partitionAnswer(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, undefined, EMPTY);
      try {
        const offset = Number(p.fetchOffset);
        if (offset < t.startOffset || offset > t.endOffset) return partitionAnswer(p.partition, ErrorCode.OFFSET_OUT_OF_RANGE, t, EMPTY);
        const limit = Math.min(Math.max(0, p.partitionMaxBytes), budget);
        if (offset === t.endOffset || (limit <= 0 && !first)) return partitionAnswer(p.partition, ErrorCode.NONE, t, EMPTY);
        let encoded = takePrefetched(origin, t, offset, limit);
        if (encoded !== undefined) ctx.counts.prefetchedBatches++;
        else encoded = encodeFrom(t, offset, limit);
        const batch = encoded.bytes;
        if (batch.length === 0) return partitionAnswer(p.partition, ErrorCode.NONE, t, EMPTY);
        if (!first && batch.length > limit) {
          releaseLogBatch(encoded);
          return partitionAnswer(p.partition, ErrorCode.NONE, t, EMPTY);
        }
        batches.push(encoded);
        if (encoded.lastOffset + 1 < t.endOffset) next.push({ t, offset: encoded.lastOffset + 1, limit });
        budget -= batch.length;
        first = false;
        return partitionAnswer(p.partition, ErrorCode.NONE, t, batch);
      } catch (err) {
        return partitionAnswer(p.partition, kafkaErrorOf(err).errorCode, t, EMPTY);
      }
    }),
  }));
  if (next.length > 0) prefetchNext(origin, next);
  // The batches' chunks go back to the encoder's pool once the socket wrote the answer.
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses, [ANSWER_WRITTEN]: () => { for (const b of batches) releaseLogBatch(b); } };
}

export async function fetchHandler(ctx: ServerContext, header: RequestHeader, body: FetchRequest, origin: RequestOrigin): Promise<object> {
  if (body.sessionId !== 0) return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
  const minBytes = Math.max(1, body.minBytes);
  if (body.maxWaitMs > 0 && !body.topics.some(({ topic, partitions }) => partitions.some((p) => inError(ctx, topic, p)))) {
    // Counted incrementally: each wake reads only the records that came since the last one.
    const positions = body.topics.flatMap(({ topic, partitions }) => partitions.map((p) => ({ t: ctx.topics.partition(topic, p.partition)!, next: Number(p.fetchOffset) })));
    let have = 0;
    const enough = (): boolean => {
      for (const pos of positions) {
        if (have >= minBytes) break;
        if (pos.t.closed) return true;
        const end = pos.t.endOffset;
        if (pos.next >= end) continue;
        have += bytesFrom(pos.t, pos.next, minBytes - have);
        pos.next = end; // (what lies between was counted, or more than enough was)
      }
      return have >= minBytes;
    };
    if (!enough()) await ctx.waits.wait(positions.map((p) => p.t), enough, body.maxWaitMs, origin.signal);
  }
  return answer(ctx, header, body, origin);
}
