// FdPool: a bound on the `.log` descriptors of one log's segments, over all its topics: an LRU
// over every segment with an open `.log`, active segments included. Segments open their `.log`
// on first use (read, write, truncate, fsync) and tell the pool; past the bound, the least
// recently used descriptor is closed, and its segment reopens it by path on its next use. The one
// exception is a descriptor with an fsync running on it (`syncing`): closing it would fail the
// call or, once the number is reused, fsync another file. Writes and reads are synchronous, so no
// descriptor is ever in use across a turn otherwise. Index files are not pooled: they are open
// only from a persist until the fsync after it (index-files.ts). fsyncs in flight are bounded by
// the pool's gate (`syncs`, sync-gate.ts), so descriptors stay bounded by `max` plus three per
// gate slot, not by the number of topics. The log's mappings of sealed segments (map-pool.ts),
// when mapping is on, are reached through the same object: `maps`.
//
// Crash: nothing on disk. Closing a descriptor with written, unsynced bytes loses nothing: the
// next fsync of the segment reopens the file, and fsync makes the file's data durable whichever
// descriptor wrote it (Linux reports a writeback error to a later open that nobody has seen yet).
import fs from 'node:fs';
import type { MapPool } from './map-pool.js';
import { SyncGate, syncsMaxFor } from './sync-gate.js';

/** A segment as the pool sees it: whether an fsync runs on its descriptor, and how to close it. */
export interface PooledSegment {
  /** fsyncs running on the `.log` descriptor (while > 0 the pool must not close it). */
  readonly syncing: number;
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
  /** The bound on fsyncs of the log's segment files running at once. */
  readonly syncs: SyncGate;

  /** @param maps the log's mappings (undefined: every read is a positional read). */
  constructor(readonly max: number = OPEN_SEGMENTS_MAX, readonly maps: MapPool | undefined = undefined) {
    this.syncs = new SyncGate(syncsMaxFor(max));
  }

  /** `.log` descriptors open now (tests, stats). */
  get size(): number {
    return this.lru.size;
  }

  /** A segment just opened its descriptor. */
  opened(seg: PooledSegment): void {
    this.lru.delete(seg);
    this.lru.set(seg, true);
    this.trim(seg);
  }

  /** Closes least recently used descriptors with no fsync running until within the bound (also when an fsync ends). */
  trim(keep?: PooledSegment): void {
    if (this.lru.size <= this.max) return;
    for (const victim of this.lru.keys()) {
      if (this.lru.size <= this.max) break;
      if (victim === keep || victim.syncing > 0) continue;
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
