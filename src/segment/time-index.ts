// TimeIndex: the sparse time index of one segment, kept in memory and mirrored to `.timeindex`
// (12-byte entries: u64 timestampMs, u32 relativeOffset). An entry (T, r) says: the largest
// timestamp of all records of the topic before offset base + r is T. The first entry of a segment
// is at r = 0; later ones sit at offset-index points where T has grown, so T increases strictly
// after the first entry. Like the offset index, it is rebuilt from the log whenever it cannot be
// trusted.
import { TIME_INDEX_ENTRY_BYTES, readU32, readU64, writeU32, writeU64 } from '../format/batch.js';

export class TimeIndex {
  private ts: Float64Array;
  private rel: Uint32Array;
  count = 0;
  persistedCount = 0;

  constructor(capacity = 16) {
    this.ts = new Float64Array(capacity);
    this.rel = new Uint32Array(capacity);
  }

  append(timestampMs: number, relativeOffset: number): void {
    if (this.count === this.ts.length) {
      const ts = new Float64Array(this.count * 2);
      ts.set(this.ts);
      this.ts = ts;
      const rel = new Uint32Array(this.count * 2);
      rel.set(this.rel);
      this.rel = rel;
    }
    this.ts[this.count] = timestampMs;
    this.rel[this.count] = relativeOffset;
    this.count++;
  }

  timestampAt(i: number): number {
    return this.ts[i]!;
  }

  relativeOffsetAt(i: number): number {
    return this.rel[i]!;
  }

  lastTimestamp(): number {
    return this.count === 0 ? -1 : this.ts[this.count - 1]!;
  }

  /** Index of the last entry with timestamp < t, or -1. */
  lastBelow(timestampMs: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! < timestampMs) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  /** Drops the entries at or past `relativeOffset`. */
  truncateToRelativeOffset(relativeOffset: number): void {
    while (this.count > 0 && this.rel[this.count - 1]! >= relativeOffset) this.count--;
    if (this.persistedCount > this.count) this.persistedCount = this.count;
  }

  encode(from: number): Buffer {
    const out = Buffer.allocUnsafe((this.count - from) * TIME_INDEX_ENTRY_BYTES);
    for (let i = from, p = 0; i < this.count; i++, p += TIME_INDEX_ENTRY_BYTES) {
      writeU64(out, p, this.ts[i]!);
      writeU32(out, p + 8, this.rel[i]!);
    }
    return out;
  }

  /** Reads a `.timeindex` file; undefined when it cannot be trusted. */
  static decode(bytes: Uint8Array, relativeOffsetLimit: number): TimeIndex | undefined {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return undefined;
    const n = bytes.length / TIME_INDEX_ENTRY_BYTES;
    const index = new TimeIndex(Math.max(16, n));
    let prevTs = -1;
    let prevRel = -1;
    for (let i = 0; i < n; i++) {
      const ts = readU64(bytes, i * TIME_INDEX_ENTRY_BYTES);
      const rel = readU32(bytes, i * TIME_INDEX_ENTRY_BYTES + 8);
      if (ts < 0 || (i === 0 && rel !== 0)) return undefined;
      if (i > 0 && (ts <= prevTs || rel <= prevRel)) return undefined;
      if (rel >= relativeOffsetLimit && i > 0) return undefined;
      index.append(ts, rel);
      prevTs = ts;
      prevRel = rel;
    }
    index.persistedCount = n;
    return index;
  }
}
