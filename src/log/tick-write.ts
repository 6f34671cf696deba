// Per-chunk and per-write steps of the append path (moved out of TopicWriter, topic-writer.ts, as
// functions of the narrow ChunkWriter: the writer passes itself): newChunk (a fresh write chunk
// for the active segment) and dispatchWritten (settles the appends whose records were handed to
// the OS). They run per chunk switch, per write or per tick, never per record.
//
// Invariants: a chunk is never reused (its buffer may be, for a later chunk, once no reader took it:
// segment/chunks.ts); the one it replaces is sealed, written and retired first,
// and chunk sizes double from WRITE_CHUNK_BYTES_MIN up to WRITE_CHUNK_BYTES_MAX. An append is
// settled (or queued for the group commit) only once every record it covers was handed to the OS.
//
// Crash: nothing here is on disk beyond what writePending wrote.
import { CHUNK_STAGE_BYTES, TAIL_CACHE_BYTES, WRITE_CHUNK_BYTES_MAX } from '../base/limits.js';
import { takeSpareBuffer, type Chunk, type Segment } from '../segment/segment.js';
import type { LogContext, Waiter, WriterSync } from './topic-context.js';
import type { Tail } from './tail.js';
import { afterTurn, loopStarved } from './turns.js';

/** What newChunk and dispatchWritten need of the writer (TopicWriter's fields). */
export interface ChunkWriter {
  readonly ctx: LogContext;
  readonly active: Segment;
  chunk: Chunk | undefined;
  chunkBytesNext: number;
  batchStart: number;
  committedEnd: number;
  tickWaiters: Waiter[];
  readonly sync: WriterSync;
  readonly tail: Tail;
  sealBatch(): void;
  writePending(): void;
}

export function newChunk(w: ChunkWriter, minBytes: number): Chunk {
  const seg = w.active;
  seg.ensureIndexes(); // the first write of a session into a segment whose indexes were deferred (recovery.ts)
  if (w.chunk !== undefined) {
    if (w.batchStart >= 0) w.sealBatch();
    w.writePending(); // a chunk retired by a rolled-back batch may still hold earlier appends
    w.chunk.retired = true;
  }
  const size = Math.max(minBytes, w.chunkBytesNext);
  if (w.chunkBytesNext < WRITE_CHUNK_BYTES_MAX) w.chunkBytesNext *= 2;
  // (CHUNK_STAGE_BYTES of room behind the chunk's end: append-spans.ts stages the bytes it copies there)
  const buf = takeSpareBuffer(size, CHUNK_STAGE_BYTES) ?? Buffer.allocUnsafe(size + CHUNK_STAGE_BYTES).subarray(0, size);
  const chunk: Chunk = { buf, filePos: seg.endPosition(), len: 0, written: 0, retired: false, shared: false };
  if (seg.chunks.length === 0) seg.memFrom = chunk.filePos;
  seg.chunks.push(chunk);
  seg.dropChunks(TAIL_CACHE_BYTES);
  w.chunk = chunk;
  return chunk;
}

/**
 * Moves the appends whose records were all handed to the OS out of the tick: resolved now
 * ('os'), or queued for the next group commit ('fsync'). Called after every successful write, so
 * that a later failure in the same tick only rejects appends that really were not written.
 */
export function dispatchWritten(w: ChunkWriter, endOfTick: boolean): void {
  const waiters = w.tickWaiters;
  let n = 0;
  while (n < waiters.length && waiters[n]!.last < w.committedEnd) n++;
  if (n > 0) {
    const done = n === waiters.length ? waiters : waiters.slice(0, n);
    w.tickWaiters = n === waiters.length ? [] : waiters.slice(n);
    if (w.ctx.options.durability === 'fsync') {
      for (const x of done) w.sync.syncWaiters.push(x);
    } else if (loopStarved()) {
      afterTurn(() => { for (const x of done) x.resolve(x.offset); }); // (turns.ts)
    } else {
      for (const x of done) x.resolve(x.offset);
    }
  }
  // The group commit starts at the end of the tick only: starting it at a write in the middle of
  // a tick (a chunk switch) splits the producers into two groups that then alternate, halving
  // the appends per fsync (bench W-durable: 32 instead of 64).
  if (endOfTick && w.sync.syncWaiters.length > 0) w.sync.startFsync();
  if (endOfTick && w.tail.waitingCount > 0) w.tail.wake();
}
