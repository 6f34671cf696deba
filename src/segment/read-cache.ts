// ReadCache: the regions get() has read from segment files, bounded by bytes, evicted oldest
// first. A region is the run of whole batches between two offset-index entries, checksums
// verified when read; on first use it builds a table of its records' positions, so a lookup is
// one index search plus one table read instead of a walk over up to ~40 records (bench W4).
// Regions are carved from slabs that are never reused: a record handed out stays valid after its
// region is evicted. Only get() fills the cache; scans never do, so they cannot evict it. The chunks
// of mapped segments' record tables (record-table.ts) count against the same bytes and leave the
// same way, oldest first.
import { BATCH_HEADER_BYTES, H_BASE_OFFSET, H_BASE_TIMESTAMP, H_BATCH_BYTES, H_LAST_OFFSET_DELTA, H_RECORD_COUNT, readU32, readU64 } from '../format/batch.js';
import { checksumMatches } from '../format/checksum.js';
import { READ_SLAB_BYTES } from '../base/limits.js';
import { recordEnd, skipRecord } from '../format/record.js';
import { TABLE_CHUNK_BYTES, type RecordTable } from './record-table.js';

/** A segment as the cache sees it: the regions it holds for it, by offset-index entry, and its record table. */
export interface CachedSegment {
  regions: Array<Region | undefined>;
  mapTable: RecordTable | undefined;
}

export class Region {
  /** Offset of the first record of the region's first undamaged batch (set by build). */
  private firstOffset = 0;
  /**
   * Per record: [position of the record, position of its batch] in `buf` — one allocation per
   * region (bench W4: five small typed arrays per region showed up as GC time).
   */
  private table: Uint32Array | undefined = undefined;
  /** Per record offset minus firstOffset; only kept when offsets are not dense (compacted data). */
  private deltas: Uint32Array | undefined = undefined;
  /** Damaged batches: [firstOffset, lastOffset, position in buf] triples. */
  private bad: number[] = [];
  /** Set by find(): the base offset and base timestamp of the found record's batch. */
  foundBatchBase = 0;
  foundBatchTs = 0;
  /** Set by find() when it returns -2: the file position of the damaged batch. */
  badPosition = 0;

  /** `buf` holds whole batches (framing checked) read from file position `filePos`. */
  constructor(readonly buf: Buffer, readonly filePos: number) {}

  /**
   * Position in `buf` of the record at `offset`; -1 when the region does not hold it, -2 when it
   * lies in a batch whose checksum fails (see badPosition).
   */
  find(offset: number): number {
    if (this.table === undefined) this.build();
    const table = this.table!;
    const n = table.length >>> 1;
    let k = offset - this.firstOffset;
    if (this.deltas !== undefined) k = search(this.deltas, k);
    if (k < 0 || k >= n || this.bad.length > 0) {
      for (let i = 0; i < this.bad.length; i += 3) {
        if (offset >= this.bad[i]! && offset <= this.bad[i + 1]!) {
          this.badPosition = this.filePos + this.bad[i + 2]!;
          return -2;
        }
      }
      if (k < 0 || k >= n) {
        // A damaged batch's header can no longer say which offsets it holds: blame it.
        if (this.bad.length > 0) {
          this.badPosition = this.filePos + this.bad[2]!;
          return -2;
        }
        return -1;
      }
    }
    const batchPos = table[2 * k + 1]!;
    this.foundBatchBase = readU64(this.buf, batchPos + H_BASE_OFFSET);
    this.foundBatchTs = readU64(this.buf, batchPos + H_BASE_TIMESTAMP);
    return table[2 * k]!;
  }

  private isBad(position: number): boolean {
    for (let i = 2; i < this.bad.length; i += 3) if (this.bad[i] === position) return true;
    return false;
  }

  private build(): void {
    const buf = this.buf;
    let records = 0;
    let first = -1;
    for (let p = 0; p < buf.length; p += readU32(buf, p + H_BATCH_BYTES)) {
      const base = readU64(buf, p + H_BASE_OFFSET);
      if (checksumMatches(buf, p, readU32(buf, p + H_BATCH_BYTES))) {
        records += readU32(buf, p + H_RECORD_COUNT);
        if (first < 0) first = base;
      } else {
        this.bad.push(base, base + readU32(buf, p + H_LAST_OFFSET_DELTA), p);
      }
    }
    this.firstOffset = Math.max(first, 0);
    const table = new Uint32Array(records * 2);
    let deltas: Uint32Array | undefined;
    let r = 0;
    for (let p = 0; p < buf.length;) {
      const batchBytes = readU32(buf, p + H_BATCH_BYTES);
      if (this.isBad(p)) { p += batchBytes; continue; }
      const base = readU64(buf, p + H_BASE_OFFSET);
      const count = readU32(buf, p + H_RECORD_COUNT);
      const end = p + batchBytes;
      let rp = p + BATCH_HEADER_BYTES;
      for (let k = 0; k < count; k++, r++) {
        table[2 * r] = rp;
        table[2 * r + 1] = p;
        const delta = base + skipRecord(buf, rp, end) - this.firstOffset;
        if (delta !== r && deltas === undefined) {
          deltas = new Uint32Array(records);
          for (let j = 0; j < r; j++) deltas[j] = j;
        }
        if (deltas !== undefined) deltas[r] = delta;
        rp = recordEnd;
      }
      p = end;
    }
    this.table = table;
    this.deltas = deltas;
  }
}

/** Index of `want` in the sorted `deltas`, or -1. */
function search(deltas: Uint32Array, want: number): number {
  let lo = 0;
  let hi = deltas.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const d = deltas[mid]!;
    if (d === want) return mid;
    if (d < want) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

export class ReadCache {
  /** Oldest first: regions (by index entry) and record-table chunks (by chunk number). */
  private order: Array<{ seg: CachedSegment; entry: number; region: Region | Uint32Array | undefined; bytes: number }> = [];
  private head = 0;
  private bytes = 0;
  private slab: Buffer = Buffer.alloc(0);
  private slabUsed = 0;

  constructor(readonly maxBytes: number) {}

  /** A fresh buffer of `length` bytes carved from a never-reused slab (one allocation per many misses). */
  allocate(length: number): Buffer {
    if (length > READ_SLAB_BYTES / 4) return Buffer.allocUnsafe(length);
    if (this.slabUsed + length > this.slab.length) {
      this.slab = Buffer.allocUnsafe(READ_SLAB_BYTES);
      this.slabUsed = 0;
    }
    const buf = this.slab.subarray(this.slabUsed, this.slabUsed + length);
    this.slabUsed += length;
    return buf;
  }

  get(seg: CachedSegment, entry: number): Region | undefined {
    return seg.regions[entry];
  }

  put(seg: CachedSegment, entry: number, region: Region): void {
    if (this.maxBytes === 0 || region.buf.length > this.maxBytes) return;
    if (seg.regions[entry] !== undefined) return;
    seg.regions[entry] = region;
    this.add(seg, entry, region, region.buf.length);
  }

  /** A chunk the segment's record table allocated (record-table.ts): it counts, and may be evicted, like a region. */
  putChunk(seg: CachedSegment, chunk: number, table: Uint32Array): void {
    this.add(seg, chunk, table, TABLE_CHUNK_BYTES);
  }

  private add(seg: CachedSegment, entry: number, region: Region | Uint32Array, bytes: number): void {
    this.order.push({ seg, entry, region, bytes });
    this.bytes += bytes;
    // `bytes` counts every region still in `order`, in its slot or not (a forgotten segment's
    // regions leave their slots at once and the queue when their turn comes).
    while (this.bytes > this.maxBytes && this.head < this.order.length) {
      const old = this.order[this.head]!;
      this.order[this.head++] = undefined!;
      if (old.region instanceof Region) {
        if (old.seg.regions[old.entry] === old.region) old.seg.regions[old.entry] = undefined;
      } else if (old.region !== undefined) {
        const chunks = old.seg.mapTable?.chunks;
        if (chunks !== undefined && chunks[old.entry] === old.region) chunks[old.entry] = undefined;
      }
      this.bytes -= old.bytes;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Drops a segment's regions (deleted, or its indexes rebuilt). The queue lets go of them too: a
   * region may be a view into a mapping, which keeps a removed file's space until it is collected.
   */
  forgetSegment(seg: CachedSegment): void {
    if (seg.regions.length === 0 && seg.mapTable === undefined) return;
    seg.regions = [];
    seg.mapTable = undefined;
    for (let i = this.head; i < this.order.length; i++) if (this.order[i]!.seg === seg) this.order[i]!.region = undefined;
  }

  forgetTopic(topic: { segments: CachedSegment[] }): void {
    for (const s of topic.segments) this.forgetSegment(s);
  }
}
