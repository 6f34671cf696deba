// The exactly-once append, writer side (functions of the narrow RiddenWriter, the topic's writer:
// topic-writer.ts): appendWithCommit appends a transaction's records as ONE batch that ends with a
// commit block (ridden.ts, docs/format.md) and tracks the commit until the store has it; the
// checks in front are consumers/exactly-once.ts's. It runs once per such append; the records go
// through the writer's own per-record appendEncoded.
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
import { ATTR_COMMIT, BATCH_HEADER_BYTES, H_ATTRIBUTES, freshRecordBytes, headersBytes, recordFieldsBytes, type HeadersInput } from '../format/batch.js';
import { SEGMENT_RECORDS_MAX } from '../base/limits.js';
import type { RollReason } from '../base/diagnostics.js';
import { SeglogError, ioError } from '../base/errors.js';
import type { RecoveryPoint } from './topic-log.js';
import type { Mark } from './topic-context.js';
import { RiddenCommits, type HeldGroups, type RiddenEntry } from './ridden.js';
import { settledNone } from './turns.js';
import { newChunk, type ChunkWriter } from './tick-write.js';

/** What appendRidden needs of the writer (TopicWriter's fields and its per-record append). */
export interface RiddenWriter extends ChunkWriter {
  readonly dir: string;
  readonly options: { readonly segmentBytes: number };
  readonly keptEnd: number;
  writeBeforeSwitch(): void;
  mark(): Mark;
  rollbackTo(mark: Mark, error: SeglogError): void;
  _endOffset: number;
  maxTimestampMs: number;
  oneBatch: boolean;
  roll(reason: RollReason): void;
  appendEncoded(value: Uint8Array | null, keyIn: string | Uint8Array | undefined,
    headers: HeadersInput | undefined, timestamp: number): number;
}

/**
 * Appends the records as one batch that ends with `block` (a commit block, ridden.ts): the
 * segment is rolled first if the batch would not fit, and the chunk is made big enough for all
 * of it, so nothing splits it. The caller checked every record (appendEncoded's throws are the
 * I/O of a roll or a chunk switch, before anything of the batch is in memory).
 */
function appendRidden(w: RiddenWriter, values: Array<Uint8Array | null>, records: Array<AppendMeta>, now: number, block: CommitBlock): RecoveryPoint {
  if (w.batchStart >= 0) w.sealBatch();
  let total = BATCH_HEADER_BYTES + commitBlockBytes(block);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const v = values[i]!;
    const keyLen = r.key === undefined ? -1 : typeof r.key === 'string' ? Buffer.byteLength(r.key, 'utf8') : r.key.length;
    total += freshRecordBytes(recordFieldsBytes(keyLen, v === null ? -1 : v.length, r.headers === undefined ? 1 : headersBytes(r.headers)));
  }
  if (!w.sync.dirtyMarked) w.sync.markDirty();
  const seg = w.active;
  const segEnd = w.chunk !== undefined && !w.chunk.retired ? w.chunk.filePos + w.chunk.len : seg.endPosition();
  if (segEnd > 0 && (segEnd + total > w.options.segmentBytes || w._endOffset + records.length - seg.baseOffset > SEGMENT_RECORDS_MAX)) w.roll('bytes');
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

/**
 * The records as one batch carrying `block` (the caller checked them and the commit); resolves
 * like appendBatch, after `apply` ran (the commit is applied then, once the append is
 * acknowledged). Until the batch is durable the group is held (ridden.ts).
 */
export function appendWithCommit<S>(w: RiddenWriter, records: Array<AppendMeta>, values: Array<Uint8Array | null>, block: CommitBlock,
  groups: HeldGroups<S>, state: S, apply: () => void): Promise<number> {
  if (w.keptEnd > w.committedEnd && w.ctx.options.durability !== 'none') w.writeBeforeSwitch();
  const first = w._endOffset;
  const mark = w.mark();
  let start: RecoveryPoint;
  try {
    start = appendRidden(w, values, records, Date.now(), block);
  } catch (err) {
    w.rollbackTo(mark, err instanceof SeglogError ? err : ioError('append', w.dir, err));
    throw err;
  }
  const entry: RiddenEntry = { start, last: w._endOffset - 1, groups, state, acked: false, held: false };
  w.ctx.noteRidden();
  const ridden = (w.sync.ridden ??= new RiddenCommits());
  ridden.add(entry);
  const ack = (): void => { apply(); ridden.acked(entry, w.sync.durableOffset); };
  if (w.ctx.options.durability === 'none') {
    ack();
    return settledNone(first);
  }
  return new Promise<number>((resolve, reject) => {
    w.tickWaiters.push({ resolve: (o) => { ack(); resolve(o); }, reject, offset: first, last: w._endOffset - 1, mark });
  });
}
