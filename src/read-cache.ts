// ReadCache: the regions get() has read from segment files, bounded by bytes, evicted oldest
// first. A region is the run of whole batches between two offset-index entries, checksums
// verified when read; on first use it builds a table of its records' positions, so a lookup is
// one index search plus one table read instead of a walk over up to ~40 records (bench W4).
// Regions are carved from slabs that are never reused: a record handed out stays valid after its
// region is evicted. Only get() fills the cache; scans never do, so they cannot evict it.
import { BATCH_HEADER_BYTES, H_BASE_OFFSET, H_BASE_TIMESTAMP, H_BATCH_BYTES, H_LAST_OFFSET_DELTA, H_RECORD_COUNT, readU32, readU64 } from './format.js';
import { checksumMatches } from './segment.js';
import { READ_SLAB_BYTES } from './limits.js';
import { recordEnd, skipRecord } from './record.js';
import type { Segment } from './segment.js';

export class Region {
  /** Offset of the first record of the region's first undamaged batch (set by build). */
  private firstOffset = 0;
  private recPos: Uint32Array | undefined = undefined;
  private recDelta: Uint32Array | undefined = undefined;
  private recBatch: Uint16Array | undefined = undefined;
  private batchBase: Float64Array | undefined = undefined;
  private batchTs: Float64Array | undefined = undefined;
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
    if (this.recPos === undefined) this.build();
    for (let i = 0; i < this.bad.length; i += 3) {
      if (offset >= this.bad[i]! && offset <= this.bad[i + 1]!) {
        this.badPosition = this.filePos + this.bad[i + 2]!;
        return -2;
      }
    }
    const deltas = this.recDelta!;
    const want = offset - this.firstOffset;
    let k = want;
    if (k < 0 || k >= deltas.length || deltas[k] !== want) {
      // Offsets are not dense here (never the case before compaction): binary search.
      let lo = 0;
      let hi = deltas.length - 1;
      k = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const d = deltas[mid]!;
        if (d === want) { k = mid; break; }
        if (d < want) lo = mid + 1; else hi = mid - 1;
      }
      if (k < 0) {
        // A damaged batch's header can no longer say which offsets it holds: blame it.
        if (this.bad.length > 0) {
          this.badPosition = this.filePos + this.bad[2]!;
          return -2;
        }
        return -1;
      }
    }
    const b = this.recBatch![k]!;
    this.foundBatchBase = this.batchBase![b]!;
    this.foundBatchTs = this.batchTs![b]!;
    return this.recPos![k]!;
  }

  private isBad(position: number): boolean {
    for (let i = 2; i < this.bad.length; i += 3) if (this.bad[i] === position) return true;
    return false;
  }

  private build(): void {
    const buf = this.buf;
    let records = 0;
    let batches = 0;
    for (let p = 0; p < buf.length; p += readU32(buf, p + H_BATCH_BYTES)) {
      if (checksumMatches(buf, p, readU32(buf, p + H_BATCH_BYTES))) records += readU32(buf, p + H_RECORD_COUNT);
      else this.bad.push(readU64(buf, p + H_BASE_OFFSET), readU64(buf, p + H_BASE_OFFSET) + readU32(buf, p + H_LAST_OFFSET_DELTA), p);
      batches++;
    }
    for (let p = 0; p < buf.length; p += readU32(buf, p + H_BATCH_BYTES)) {
      if (!this.isBad(p)) {
        this.firstOffset = readU64(buf, p + H_BASE_OFFSET);
        break;
      }
    }
    const recPos = new Uint32Array(records);
    const recDelta = new Uint32Array(records);
    const recBatch = new Uint16Array(records);
    const batchBase = new Float64Array(batches);
    const batchTs = new Float64Array(batches);
    let r = 0;
    let b = 0;
    for (let p = 0; p < buf.length; b++) {
      const batchBytes = readU32(buf, p + H_BATCH_BYTES);
      const base = readU64(buf, p + H_BASE_OFFSET);
      if (this.isBad(p)) { p += batchBytes; continue; }
      batchBase[b] = base;
      batchTs[b] = readU64(buf, p + H_BASE_TIMESTAMP);
      const count = readU32(buf, p + H_RECORD_COUNT);
      const end = p + batchBytes;
      let rp = p + BATCH_HEADER_BYTES;
      for (let k = 0; k < count; k++, r++) {
        recPos[r] = rp;
        recDelta[r] = base + skipRecord(buf, rp, end) - this.firstOffset;
        recBatch[r] = b;
        rp = recordEnd;
      }
      p = end;
    }
    this.recPos = recPos;
    this.recDelta = recDelta;
    this.recBatch = recBatch;
    this.batchBase = batchBase;
    this.batchTs = batchTs;
  }
}

export class ReadCache {
  private order: Array<{ seg: Segment; entry: number; region: Region }> = [];
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

  get(seg: Segment, entry: number): Region | undefined {
    return seg.regions[entry];
  }

  put(seg: Segment, entry: number, region: Region): void {
    if (this.maxBytes === 0 || region.buf.length > this.maxBytes) return;
    if (seg.regions[entry] !== undefined) return;
    seg.regions[entry] = region;
    this.order.push({ seg, entry, region });
    this.bytes += region.buf.length;
    // `bytes` counts every region still in `order`, in its slot or not (a forgotten segment's
    // regions leave their slots at once and the queue when their turn comes).
    while (this.bytes > this.maxBytes && this.head < this.order.length) {
      const old = this.order[this.head]!;
      this.order[this.head++] = undefined!;
      if (old.seg.regions[old.entry] === old.region) old.seg.regions[old.entry] = undefined;
      this.bytes -= old.region.buf.length;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops a segment's regions (deleted, or its indexes rebuilt). */
  forgetSegment(seg: Segment): void {
    seg.regions = [];
  }

  forgetTopic(topic: { segments: Segment[] }): void {
    for (const s of topic.segments) this.forgetSegment(s);
  }
}
