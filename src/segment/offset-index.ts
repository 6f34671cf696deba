// OffsetIndex: the sparse offset index of one segment, kept in memory and mirrored to the
// segment's `.index` file (8-byte entries: u32 relativeOffset, u32 position; see docs/format.md).
// Entries point at batch starts and increase in both fields. New entries are appended to the file
// at checkpoints, rolls and close; after a crash, entries past the recovery point are dropped and
// rebuilt from the log, and a file that fails `decode` is rebuilt from the log as a whole.
import { INDEX_ENTRY_BYTES, readU32, writeU32 } from '../format/batch.js';

export class OffsetIndex {
  private rel: Uint32Array;
  private pos: Uint32Array;
  count = 0;
  /** Entries already in the file. */
  persistedCount = 0;

  constructor(capacity = 64) {
    this.rel = new Uint32Array(capacity);
    this.pos = new Uint32Array(capacity);
  }

  append(relativeOffset: number, position: number): void {
    if (this.count === this.rel.length) {
      const rel = new Uint32Array(this.count * 2);
      rel.set(this.rel);
      this.rel = rel;
      const pos = new Uint32Array(this.count * 2);
      pos.set(this.pos);
      this.pos = pos;
    }
    this.rel[this.count] = relativeOffset;
    this.pos[this.count] = position;
    this.count++;
  }

  relativeOffsetAt(i: number): number {
    return this.rel[i]!;
  }

  positionAt(i: number): number {
    return this.pos[i]!;
  }

  lastPosition(): number {
    return this.count === 0 ? -1 : this.pos[this.count - 1]!;
  }

  /** Index of the last entry with relativeOffset <= target, or -1. */
  floor(relativeOffset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= relativeOffset) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  /** Drops the entries at or past `position` (they point at data that is being cut or rebuilt). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.pos[this.count - 1]! >= position) this.count--;
    if (this.persistedCount > this.count) this.persistedCount = this.count;
  }

  /** The entries [from, count) in file form. */
  encode(from: number): Buffer {
    const out = Buffer.allocUnsafe((this.count - from) * INDEX_ENTRY_BYTES);
    for (let i = from, p = 0; i < this.count; i++, p += INDEX_ENTRY_BYTES) {
      writeU32(out, p, this.rel[i]!);
      writeU32(out, p + 4, this.pos[i]!);
    }
    return out;
  }

  /**
   * Reads an index file's bytes. Returns undefined when they cannot be trusted: a size that is not
   * a multiple of the entry size, a first entry other than (0, 0), entries that do not increase,
   * or a position at or past `logBytes`.
   */
  static decode(bytes: Uint8Array, logBytes: number): OffsetIndex | undefined {
    if (bytes.length % INDEX_ENTRY_BYTES !== 0) return undefined;
    const n = bytes.length / INDEX_ENTRY_BYTES;
    const index = new OffsetIndex(Math.max(64, n));
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = readU32(bytes, i * INDEX_ENTRY_BYTES);
      const pos = readU32(bytes, i * INDEX_ENTRY_BYTES + 4);
      if (i === 0 && (rel !== 0 || pos !== 0)) return undefined;
      if (rel <= prevRel || pos <= prevPos || pos >= logBytes) return undefined;
      index.append(rel, pos);
      prevRel = rel;
      prevPos = pos;
    }
    index.persistedCount = n;
    return index;
  }
}
