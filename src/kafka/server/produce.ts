// Produce: each partition's record batches (records/readProducedSpans: magic 2 only, CRC32C
// checked, decompressed, every record checked) are appended in ONE Topic.appendSpans (all or
// nothing: a refused record refuses its whole partition, and nothing of it is in the log), the
// bytes as the producer sent them (the topic's codec is not applied), copied from the request into
// the segment with no record object or view per record (a record with headers gets its headers object).
// acks 0: no answer at all; acks 1: answered once the
// records are appended (readable, as appendSync); acks -1: once the append's promise resolved under
// the log's durability ('fsync': fsynced). Kafka does not create topics on Produce: an unknown one
// is UNKNOWN_TOPIC_OR_PARTITION. Idempotence and transactions (producer ids, sequences) are
// ignored here (issue #12); InitProducerId is not served (connection.ts).
//
// The handler appends synchronously, before its first await, so that the Produce requests of one
// connection append in the order they were sent; for the same reason one ProducedSpans serves
// every request (filled, appended and reset within one call). And because of it the connection may
// assemble the next Produce frame in the same buffer (connection.ts): nothing here may read the
// request after an await, nor keep a view of it (test/kafka/server.test.ts checks pipelined frames).
//
// Crash: what an append leaves is seglog's business; a refused partition appended nothing.
import type { HeadersInput } from '../../format/batch.js';
import { ErrorCode, type RequestHeader } from '../protocol/index.js';
import { ProducedSpans, readHeaders, readProducedSpans } from '../records/index.js';
import type { ServerContext } from './context.js';
import { debug, kafkaErrorOf } from './errors.js';

interface ProduceRequest {
  transactionalId: string | null;
  acks: number;
  timeoutMs: number;
  topicData: Array<{ name: string; partitionData: Array<{ index: number; records: Buffer | null }> }>;
}

interface PartitionResult { index: number; errorCode: number; baseOffset: bigint; errorMessage: string | null; logStartOffset: bigint }

const EMPTY = Buffer.alloc(0);

/** The scratch every Produce fills, appends and resets (see the file header). */
const spans = new ProducedSpans();

/** Kafka headers as seglog headers: a repeated name keeps its last value, a null value is empty. */
function seglogHeaders(buf: Buffer, pos: number, count: number): HeadersInput {
  const headers: Record<string, Uint8Array> = Object.create(null) as Record<string, Uint8Array>;
  for (const [name, value] of readHeaders(buf, pos, count)) headers[name] = value ?? EMPTY;
  return headers;
}

function failed(index: number, err: unknown): PartitionResult {
  const { errorCode, errorMessage } = kafkaErrorOf(err);
  return { index, errorCode, baseOffset: -1n, errorMessage, logStartOffset: -1n };
}

/** Appends one partition's records; the result, or a promise of it for acks -1. */
function producePartition(ctx: ServerContext, topic: string, index: number, records: Buffer | null, acks: number): PartitionResult | Promise<PartitionResult> {
  const t = ctx.topics.partition(topic, index);
  if (t === undefined) return { index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, baseOffset: -1n, errorMessage: `no partition ${index} of topic ${topic}`, logStartOffset: -1n };
  if (acks !== 0 && acks !== 1 && acks !== -1) return { index, errorCode: ErrorCode.INVALID_REQUIRED_ACKS, baseOffset: -1n, errorMessage: `acks must be 0, 1 or -1, got ${acks}`, logStartOffset: -1n };
  if (records === null) return { index, errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1n, errorMessage: 'no records', logStartOffset: -1n };
  const base = t.endOffset;
  let appended: Promise<number>;
  let count: number;
  try {
    readProducedSpans(records, spans);
    count = spans.count;
    if (spans.anyHeaders) {
      for (let i = 0; i < count; i++) if (spans.headerCount[i]! > 0) spans.headers[i] = seglogHeaders(spans.sources[i]!, spans.headerPos[i]!, spans.headerCount[i]!);
    }
    appended = t.appendSpans(spans);
  } catch (err) {
    return failed(index, err);
  } finally {
    spans.reset();
  }
  const ok = (offset: number): PartitionResult => ({ index, errorCode: ErrorCode.NONE, baseOffset: BigInt(offset), errorMessage: null, logStartOffset: BigInt(t.startOffset) });
  if (acks === -1) return appended.then(ok, (err: unknown) => failed(index, err));
  if (t.endOffset === base + count) {
    // appended and readable (acks 1 answers now, acks 0 not at all): a later failure of the write is
    // the log's 'error' event and the next append's refusal, as with appendSync
    appended.catch((err: unknown) => debug('kafka: produce to %s[%d] failed after it was acknowledged: %s', topic, index, String(err)));
    return ok(base);
  }
  return appended.then(ok, (err: unknown) => failed(index, err)); // refused before anything was appended
}

export function produce(ctx: ServerContext, header: RequestHeader, body: ProduceRequest): Promise<object | undefined> {
  void header;
  const acks = body.acks;
  const responses = body.topicData.map((td) => ({
    name: td.name,
    partitionResponses: td.partitionData.map((pd) => producePartition(ctx, td.name, pd.index, pd.records, acks)),
  }));
  if (acks === 0) {
    // nothing goes back, not even an error (the client does not read one): refusals are only logged
    for (const r of responses) for (const p of r.partitionResponses) void Promise.resolve(p).then((x) => { if (x.errorCode !== ErrorCode.NONE) debug('kafka: acks=0 produce to %s[%d] refused: %s', r.name, x.index, x.errorMessage); });
    return Promise.resolve(undefined);
  }
  return Promise.all(responses.map(async (r) => ({
    name: r.name,
    partitionResponses: (await Promise.all(r.partitionResponses)).map((p) => ({
      index: p.index, errorCode: p.errorCode, baseOffset: p.baseOffset, logAppendTimeMs: -1n, logStartOffset: p.logStartOffset,
      recordErrors: [], errorMessage: p.errorCode === ErrorCode.NONE ? null : p.errorMessage,
    })),
  }))).then((responses) => ({ responses, throttleTimeMs: 0 }));
}
