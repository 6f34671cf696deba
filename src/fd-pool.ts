// FdPool: a bound on the descriptors of segment files kept open for reading, per log. Segments
// open their `.log` on first read and tell the pool; past the bound, the least recently used
// descriptor of a segment that is not pinned (the active segment, or one with an fsync in flight)
// is closed, and reopened by its segment on the next read.
import type { Segment } from './segment.js';

/** Enough for the active segments of many topics plus a working set of readers, far below ulimits. */
export const OPEN_SEGMENTS_MAX = 256;

export class FdPool {
  private readonly lru = new Map<Segment, true>();

  constructor(readonly max: number = OPEN_SEGMENTS_MAX) {}

  /** A segment just opened its descriptor. */
  opened(seg: Segment): void {
    this.lru.delete(seg);
    this.lru.set(seg, true);
    if (this.lru.size <= this.max) return;
    for (const victim of this.lru.keys()) {
      if (this.lru.size <= this.max) break;
      if (victim === seg || victim.pins > 0) continue;
      victim.closeLogFd();
      this.lru.delete(victim);
    }
  }

  /** A segment used its descriptor (most recently used now). */
  touch(seg: Segment): void {
    if (this.lru.size <= this.max / 2) return; // far from the bound: ordering does not matter yet
    if (this.lru.delete(seg)) this.lru.set(seg, true);
  }

  /** A segment closed its descriptor itself. */
  closed(seg: Segment): void {
    this.lru.delete(seg);
  }
}
