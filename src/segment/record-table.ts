// RecordTable: where each record of a mapped segment lies, by relative offset, for get() — one
// array read finds a record, where a Region (read-cache.ts) costs an index search, the region slot,
// the Region and its table: four dependent cache misses per random get over a large log (bench W4,
// `node --cpu-prof`: the misses were most of seglog's own time per get).
//
// Layout: chunks of TABLE_CHUNK_RECORDS relative offsets, allocated on first use; slot pair
// [record position + 1 in the segment's mapping (0: not known), its batch's position] (two uint32): a
// get reads the slot and the record, and the batch header only for the base timestamp. A record is only
// entered by fill(), after its batch's checksum matched in this mapping, so a slot that is set
// says "verified once in this mapping": get() does not verify it again (docs/guarantees.md,
// "Memory mapping"). The table lives and dies with the mapping it was filled from
// (Segment.mapTable; map-pool.ts drops it with the mapping) and with the segment's indexes.
// Chunks count against the read cache's bytes (ReadCache.putChunk), which may evict them.
//
// Crash: nothing here is on disk.
import { BATCH_HEADER_BYTES, H_BASE_OFFSET, H_BATCH_BYTES, H_LAST_OFFSET_DELTA, H_RECORD_COUNT, readU32, readU64 } from '../format/batch.js';
import { SEGMENT_RECORDS_MAX } from '../base/limits.js';
import { checksumMatches } from '../format/checksum.js';
import { recordEnd, skipRecord } from '../format/record.js';

/** Relative offsets per chunk: 4,096 (a 32 KiB chunk), so sparse gets over a big segment stay small. */
export const TABLE_CHUNK_SHIFT = 12;
export const TABLE_CHUNK_RECORDS = 1 << TABLE_CHUNK_SHIFT;
const CHUNK_MASK = TABLE_CHUNK_RECORDS - 1;
/** Bytes of one chunk (two uint32 per relative offset). */
export const TABLE_CHUNK_BYTES = TABLE_CHUNK_RECORDS * 8;

export class RecordTable {
  readonly chunks: Array<Uint32Array | undefined> = [];

  /** Slot index in its chunk of relative offset `rel` (the record position + 1 is there, its batch's position next). */
  static slot(rel: number): number { return (rel & CHUNK_MASK) << 1; }
  static chunkOf(rel: number): number { return rel >>> TABLE_CHUNK_SHIFT; }

  /**
   * Enters the records of the whole batches in [start, end) of `buf` (the mapping) whose checksum
   * matches; batches that fail are left out (the caller's slower path reports them). Returns -1, or
   * the position where [start, end) is not whole batches end to end (the index entry is suspect;
   * nothing is entered then). `made` is told of each chunk this call allocates.
   */
  fill(buf: Buffer, start: number, end: number, segBaseOffset: number, made: (chunk: number, table: Uint32Array) => void): number {
    for (let p = start; p < end;) {
      if (p + BATCH_HEADER_BYTES > end) return p;
      const batchBytes = readU32(buf, p + H_BATCH_BYTES);
      if (batchBytes < BATCH_HEADER_BYTES || p + batchBytes > end) return p;
      p += batchBytes;
    }
    const chunks = this.chunks;
    for (let p = start; p < end;) {
      const batchBytes = readU32(buf, p + H_BATCH_BYTES);
      const base = readU64(buf, p + H_BASE_OFFSET) - segBaseOffset;
      if (base >= 0 && base + readU32(buf, p + H_LAST_OFFSET_DELTA) < SEGMENT_RECORDS_MAX && checksumMatches(buf, p, batchBytes)) {
        const count = readU32(buf, p + H_RECORD_COUNT);
        const batchEnd = p + batchBytes;
        let rp = p + BATCH_HEADER_BYTES;
        for (let k = 0; k < count; k++) {
          const rel = base + skipRecord(buf, rp, batchEnd);
          const c = rel >>> TABLE_CHUNK_SHIFT;
          let chunk = chunks[c];
          if (chunk === undefined) {
            chunk = new Uint32Array(TABLE_CHUNK_RECORDS * 2);
            while (chunks.length < c) chunks.push(undefined);
            chunks[c] = chunk;
            made(c, chunk);
          }
          const s = (rel & CHUNK_MASK) << 1;
          chunk[s] = rp + 1;
          chunk[s + 1] = p;
          rp = recordEnd;
        }
      }
      p += batchBytes;
    }
    return -1;
  }
}
