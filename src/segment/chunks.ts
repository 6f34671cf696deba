// The newest bytes of a segment kept in memory: the active segment's write chunks, with the
// records appended in this tick not yet written, and the tail of what was written (a read cache for
// subscribers near the end). Owned by the Segment (its `chunks` and `memFrom`); these are its chunk
// operations. A chunk's buffer is reused for a later chunk only if no reader ever took it
// (`shared`: a cursor or a view may outlive the chunk, and must keep seeing its bytes) and it was
// retired and fully written: dropChunks keeps such a buffer of the largest chunk size as a spare
// (SPARE_BUFFERS_MAX of them, for the process), takeSpareBuffer hands it to the next chunk. A
// producer that nobody reads (`seglog serve` under a Kafka producer, bench W1) then allocates no
// fresh megabyte per chunk: fresh buffers are external memory, and each 64 MiB of it brought a
// full garbage collection. Nothing here is on disk: a crash loses only what was not handed to the
// OS (`written`).
import { WRITE_CHUNK_BYTES_MAX } from '../base/limits.js';

/** A buffer of the newest bytes of the active segment; `buf[0]` is at `filePos` of the `.log`. */
export interface Chunk {
  buf: Buffer;
  filePos: number;
  /** Bytes filled (sealed batches, then the open batch). */
  len: number;
  /** Bytes handed to the OS. */
  written: number;
  /** No more appends go here (it filled up, or a failed write retired it). */
  retired: boolean;
  /** A reader took `buf` (cursor.ts, reader.ts): it is never reused. */
  shared: boolean;
}

/** Spare buffers kept for the whole process (each WRITE_CHUNK_BYTES_MAX and what newChunk puts behind it). */
const SPARE_BUFFERS_MAX = 2;
const spares: Buffer[] = [];

/**
 * A buffer no reader ever saw, of `size` bytes with `roomBehind` bytes of its memory behind its end
 * (what newChunk asks of a fresh one), or undefined.
 */
export function takeSpareBuffer(size: number, roomBehind: number): Buffer | undefined {
  const buf = spares[spares.length - 1];
  // (a chunk of another size, for a record larger than the largest chunk, leaves the spares alone)
  if (buf === undefined || buf.length !== size || buf.buffer.byteLength - buf.byteOffset - size < roomBehind) return undefined;
  spares.pop();
  return buf;
}

/** Keeps the buffer of a dropped chunk for reuse when nothing can still read it (the largest size only). */
function keepSpare(c: Chunk): void {
  if (c.shared || !c.retired || c.written !== c.len || c.buf.length !== WRITE_CHUNK_BYTES_MAX || spares.length >= SPARE_BUFFERS_MAX) return;
  spares.push(c.buf);
}

/** The part of a segment its chunks belong to. */
export interface ChunkedSegment {
  chunks: Chunk[];
  /** File position from which the bytes are in `chunks` (== logBytes when none are). */
  memFrom: number;
  readonly logBytes: number;
}

/** The chunk holding file position `position` (which must be >= the segment's memFrom). */
export function chunkAt(chunks: readonly Chunk[], position: number): Chunk | undefined {
  for (let i = chunks.length - 1; i >= 0; i--) {
    const c = chunks[i]!;
    if (position >= c.filePos) return position < c.filePos + c.len || i === chunks.length - 1 ? c : undefined;
  }
  return undefined;
}

/**
 * Forgets the in-memory copy of written bytes (all of them, or the oldest until under `keepBytes`);
 * a dropped buffer that can be reused becomes a spare (keepSpare).
 */
export function dropChunks(seg: ChunkedSegment, keepBytes: number): void {
  let total = 0;
  for (const c of seg.chunks) total += c.len;
  while (seg.chunks.length > 1 && total > keepBytes) {
    const c = seg.chunks[0]!;
    if (c.written < c.len) break;
    seg.chunks.shift();
    keepSpare(c);
    total -= c.len;
    seg.memFrom = seg.chunks[0]!.filePos;
  }
  if (keepBytes === 0 && seg.chunks.length === 1 && seg.chunks[0]!.written === seg.chunks[0]!.len) {
    keepSpare(seg.chunks[0]!);
    seg.chunks = [];
    seg.memFrom = seg.logBytes;
  }
}
