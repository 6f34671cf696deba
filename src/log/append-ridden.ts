// The exactly-once append (moved out of TopicWriter, topic-writer.ts, as a function of the narrow
// RiddenWriter: the writer passes itself): appendRidden appends a transaction's records as ONE
// batch that ends with a commit block (ridden.ts, docs/format.md). It runs once per such append;
// the records go through the writer's own per-record appendEncoded.
//
// Invariants: nothing splits the batch: the open batch is sealed first, the segment is rolled
// before it if it would not fit, the chunk is made big enough for all of it, and oneBatch keeps
// appendEncoded from sealing or rolling in the middle. The caller checked every record, so the
// only throws are the I/O of a roll or a chunk switch, before anything of the batch is in memory.
//
// Crash: the batch and its commit reach the OS together in one write; recovery re-applies a
// commit found in a batch past the recovery point.
import { commitBlockBytes, writeCommitBlock, type CommitBlock } from '../format/commit-block.js';
import type { AppendMeta } from '../format/record.js';
import { ATTR_COMMIT, BATCH_HEADER_BYTES, H_ATTRIBUTES, freshRecordBytes, headersBytes, recordFieldsBytes } from '../format/batch.js';
import { SEGMENT_RECORDS_MAX } from '../base/limits.js';
import type { RollReason } from '../base/diagnostics.js';
import type { RecoveryPoint } from './topic-log.js';
import { newChunk, type ChunkWriter } from './tick-write.js';

/** What appendRidden needs of the writer (TopicWriter's fields and its per-record append). */
export interface RiddenWriter extends ChunkWriter {
  readonly options: { readonly segmentBytes: number };
  _endOffset: number;
  maxTimestampMs: number;
  dirtyMarked: boolean;
  oneBatch: boolean;
  markDirty(): void;
  /** The writer's roll (protected there: TopicImpl overrides it). */
  rollFor(reason: RollReason): void;
  appendEncoded(value: Uint8Array | null, keyIn: string | Uint8Array | undefined,
    headers: Record<string, string | Uint8Array> | undefined, timestamp: number): number;
}

/**
 * Appends the records as one batch that ends with `block` (a commit block, ridden.ts): the
 * segment is rolled first if the batch would not fit, and the chunk is made big enough for all
 * of it, so nothing splits it. The caller checked every record (appendEncoded's throws are the
 * I/O of a roll or a chunk switch, before anything of the batch is in memory).
 */
export function appendRidden(w: RiddenWriter, values: Array<Uint8Array | null>, records: Array<AppendMeta>, now: number, block: CommitBlock): RecoveryPoint {
  if (w.batchStart >= 0) w.sealBatch();
  let total = BATCH_HEADER_BYTES + commitBlockBytes(block);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const v = values[i]!;
    const keyLen = r.key === undefined ? -1 : typeof r.key === 'string' ? Buffer.byteLength(r.key, 'utf8') : r.key.length;
    total += freshRecordBytes(recordFieldsBytes(keyLen, v === null ? -1 : v.length, r.headers === undefined ? 1 : headersBytes(r.headers)));
  }
  if (!w.dirtyMarked) w.markDirty();
  const seg = w.active;
  const segEnd = w.chunk !== undefined && !w.chunk.retired ? w.chunk.filePos + w.chunk.len : seg.endPosition();
  if (segEnd > 0 && (segEnd + total > w.options.segmentBytes || w._endOffset + records.length - seg.baseOffset > SEGMENT_RECORDS_MAX)) w.rollFor('bytes');
  const chunk = w.chunk;
  if (chunk === undefined || chunk.retired || chunk.buf.length - chunk.len < total) newChunk(w, total);
  const start: RecoveryPoint = { base: w.active.baseOffset, position: w.chunk!.filePos + w.chunk!.len, offset: w._endOffset, maxTimestampMs: w.maxTimestampMs };
  w.oneBatch = true;
  try {
    for (let i = 0; i < records.length; i++) w.appendEncoded(values[i]!, records[i]!.key, records[i]!.headers, records[i]!.timestamp ?? now);
  } finally {
    w.oneBatch = false;
  }
  const c = w.chunk!;
  c.len = writeCommitBlock(c.buf, c.len, block);
  c.buf[w.batchStart + H_ATTRIBUTES] = c.buf[w.batchStart + H_ATTRIBUTES]! | ATTR_COMMIT;
  w.sealBatch();
  return start;
}
