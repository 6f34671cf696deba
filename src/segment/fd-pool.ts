// FdPool: a bound on the descriptors of segment files kept open for reading, per log. Segments
// open their `.log` on first read and tell the pool; past the bound, the least recently used
// descriptor of a segment that is not pinned (the active segment, or one with an fsync in flight)
// is closed, and reopened by its segment on the next read. The log's mappings of sealed segments
// (map-pool.ts), when mapping is on, are reached through the same object: `maps`.
import fs from 'node:fs';
import type { MapPool } from './map-pool.js';

/** A segment as the pool sees it: whether its descriptor is pinned, and how to close it. */
export interface PooledSegment {
  readonly pins: number;
  closeLogFd(): void;
}

/**
 * Segment descriptors kept open for reading: 128, or a quarter of the process's descriptor limit
 * where that is lower (Linux: /proc/self/limits), leaving room for the application and LMDB.
 */
export const OPEN_SEGMENTS_MAX = openSegmentsMax();

function openSegmentsMax(): number {
  let soft = Infinity;
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const n = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isSafeInteger(n) && n > 0) soft = n;
  } catch { /* not Linux: keep the default */ }
  return Math.max(16, Math.min(128, Math.floor(soft / 4)));
}

export class FdPool {
  private readonly lru = new Map<PooledSegment, true>();

  /** @param maps the log's mappings (undefined: every read is a positional read). */
  constructor(readonly max: number = OPEN_SEGMENTS_MAX, readonly maps: MapPool | undefined = undefined) {}

  /** A segment just opened its descriptor. */
  opened(seg: PooledSegment): void {
    this.lru.delete(seg);
    this.lru.set(seg, true);
    this.trim(seg);
  }

  /** Closes least recently used unpinned descriptors until within the bound (also when a pin is released). */
  trim(keep?: PooledSegment): void {
    if (this.lru.size <= this.max) return;
    for (const victim of this.lru.keys()) {
      if (this.lru.size <= this.max) break;
      if (victim === keep || victim.pins > 0) continue;
      victim.closeLogFd();
      this.lru.delete(victim);
    }
  }

  /** A segment used its descriptor (most recently used now). */
  touch(seg: PooledSegment): void {
    if (this.lru.size <= this.max / 2) return; // far from the bound: ordering does not matter yet
    if (this.lru.delete(seg)) this.lru.set(seg, true);
  }

  /** A segment closed its descriptor itself. */
  closed(seg: PooledSegment): void {
    this.lru.delete(seg);
  }
}
