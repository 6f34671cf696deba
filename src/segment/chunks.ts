// The newest bytes of a segment kept in memory: the active segment's write chunks (buffers never
// reused, so views handed out stay valid), with the records appended in this tick not yet written,
// and the tail of what was written (a read cache for subscribers near the end). Owned by the
// Segment (its `chunks` and `memFrom`); these are its chunk operations. Nothing here is on disk: a
// crash loses only what was not handed to the OS (`written`).

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

/** Forgets the in-memory copy of written bytes (all of them, or the oldest until under `keepBytes`). */
export function dropChunks(seg: ChunkedSegment, keepBytes: number): void {
  let total = 0;
  for (const c of seg.chunks) total += c.len;
  while (seg.chunks.length > 1 && total > keepBytes) {
    const c = seg.chunks[0]!;
    if (c.written < c.len) break;
    seg.chunks.shift();
    total -= c.len;
    seg.memFrom = seg.chunks[0]!.filePos;
  }
  if (keepBytes === 0 && seg.chunks.length === 1 && seg.chunks[0]!.written === seg.chunks[0]!.len) {
    seg.chunks = [];
    seg.memFrom = seg.logBytes;
  }
}
