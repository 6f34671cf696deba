// frameRun: the per-record loop of appendBatch (append-records.ts) for its common records — a
// value, no key, no headers — framed straight into the open batch with the checks of the writer's
// appendEncoded (topic-writer.ts) worked out once per run instead of once per record: the batch's
// room (BATCH_BYTES_MAX), the chunk's, the segment's (segmentBytes, SEGMENT_RECORDS_MAX,
// segmentMs) and maxRecordBytes fold into a few comparisons. A record this loop does not take
// (a key, headers, a tombstone, a timestamp too far from the batch's base, or one that would need
// a seal, a new chunk or a roll) ends the run; the caller appends it with appendEncoded, which
// does all of that, and calls again. So the bytes are exactly appendEncoded's: the same batches,
// the same varints (test/append-run.test.ts compares the files byte for byte).
//
// Bench W1 (1M × 100 B in batches of 1,000, 'os'), `node --cpu-prof`: appendEncoded took about
// 35 ns per record of its own, plus copyBytes's call; in this loop everything but the value's
// set() is about 6 ns per record (set() itself, the copy raw.js makes too, about three times that).
//
// Crash: nothing here is on disk (the writer's end-of-tick write hands the bytes to the OS).
import { BATCH_BYTES_MAX, BATCH_HEADER_BYTES, writeVarint } from '../format/batch.js';
import type { ResolvedTopicOptions } from '../format/options.js';
import type { AppendMeta } from '../format/record.js';
import { SEGMENT_RECORDS_MAX } from '../base/limits.js';
import type { Chunk, Segment } from '../segment/segment.js';
import type { WriterSync } from './topic-context.js';

/** What frameRun needs of the writer (TopicWriter's fields). */
export interface RunWriter {
  readonly options: ResolvedTopicOptions<any>;
  readonly active: Segment;
  readonly sync: WriterSync;
  chunk: Chunk | undefined;
  batchStart: number;
  oneBatch: boolean;
  batchBase: number;
  batchBaseTs: number;
  batchCount: number;
  batchMaxTs: number;
  maxTimestampMs: number;
  _endOffset: number;
  tickScheduled: boolean;
}

/** Largest value framed here: its length varint and the record's take at most two bytes each. */
const RUN_VALUE_BYTES_MAX = 4000;

/**
 * Frames `records[from..n)` into the writer's open batch while each is a run record that fits
 * it; returns the index of the first record not taken (`from` when no batch is open). `values`:
 * the records' encoded values; `now`: the timestamp of records that carry none. The caller checked
 * every record (encodeRecords).
 */
export function frameRun(w: RunWriter, records: ReadonlyArray<AppendMeta>, values: ReadonlyArray<Uint8Array | null>,
  from: number, n: number, now: number): number {
  const start = w.batchStart;
  const chunk = w.chunk;
  if (start < 0 || w.oneBatch || chunk === undefined || chunk.retired || !w.sync.dirtyMarked || !w.tickScheduled) return from;
  const options = w.options;
  const seg = w.active;
  const segmentMs = options.segmentMs;
  const firstTs = seg.firstTimestampMs; // (set by the batch's first record, which appendEncoded framed)
  if (firstTs < 0) return from;
  const buf = chunk.buf;
  // A record taken ends at or before `limit`: within the batch's size, the chunk, and the
  // segment's bytes with a batch header to spare (appendEncoded's roll rule counts one).
  const limit = Math.min(start + BATCH_BYTES_MAX, buf.length, options.segmentBytes - chunk.filePos - BATCH_HEADER_BYTES);
  const maxRecordBytes = options.maxRecordBytes;
  const offset0 = w._endOffset;
  const end = Math.min(n, from + (seg.baseOffset + SEGMENT_RECORDS_MAX - offset0));
  const baseTs = w.batchBaseTs;
  let od = offset0 - w.batchBase;
  let maxTs = w.batchMaxTs;
  let p = chunk.len;
  let i = from;
  for (; i < end; i++) {
    const r = records[i]!;
    const value = values[i]!;
    if (value === null || r.key !== undefined || r.headers !== undefined) break;
    const ts = r.timestamp ?? now;
    const dt = ts - baseTs;
    // (a zigzag delta of one byte: -64..63 ms from the batch's base)
    if (dt < -64 || dt > 63 || (segmentMs !== Infinity && ts - firstTs > segmentMs)) break;
    const valueLen = value.length;
    if (valueLen > RUN_VALUE_BYTES_MAX || od > 0x3fff) break;
    // body: offset delta, timestamp delta, key length (absent: 0), value length + 1, value, header count
    const body = (od < 128 ? 1 : 2) + 2 + (valueLen < 127 ? 1 : 2) + valueLen + 1;
    const recordBytes = (body < 128 ? 1 : 2) + body;
    // (recordBytes >= the record's fresh size, which maxRecordBytes and the roll rule count)
    if (p + recordBytes > limit || recordBytes > maxRecordBytes) break;
    if (body < 128) buf[p++] = body; else p = writeVarint(buf, p, body);
    if (od < 128) buf[p++] = od; else p = writeVarint(buf, p, od);
    buf[p++] = dt >= 0 ? dt * 2 : -dt * 2 - 1;
    buf[p++] = 0;
    if (valueLen < 127) buf[p++] = valueLen + 1; else p = writeVarint(buf, p, valueLen + 1);
    if (valueLen > 0) { buf.set(value, p); p += valueLen; }
    buf[p++] = 0;
    if (ts > maxTs) maxTs = ts;
    od++;
  }
  if (i === from) return from;
  chunk.len = p;
  w.batchCount += i - from;
  w.batchMaxTs = maxTs;
  if (maxTs > w.maxTimestampMs) w.maxTimestampMs = maxTs;
  w._endOffset = offset0 + (i - from);
  return i;
}
