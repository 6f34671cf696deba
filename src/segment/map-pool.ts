// MapPool: the memory mappings of one log's closed segments (through the Mapper of io/mapper.ts).
// A segment is mapped on its first read of its sealed prefix (segment.ts: bytes nothing will ever
// cut again; a closed segment's whole file), one mapping, and keeps it while it is among the
// MAPPINGS_HELD_MAX most recently used; its reads are views into that mapping.
//
// Invariants: a mapping is never unmapped here: dropping one only forgets it (the addon's finalizer
// unmaps once no view of it is left), so a view outlives eviction, retention, deletion of the file
// and close. Resident pages are bounded: mappings used since they were last advised count their
// bytes, and past MAP_RESIDENT_BYTES_MAX the least recently used ones are madvise'd
// (MADV_DONTNEED), as is a segment a scan has walked through. Live mappings of the process (held or
// kept alive by views) stay under MAP_LIVE_FRACTION of vm.max_map_count: past it, reads. A mapping
// that fails (ENOMEM, EACCES, ...) leaves its segment on positional reads for good.
//
// Crash: nothing here is on disk.
import fs from 'node:fs';
import type { Mapper } from '../io/mapper.js';
import { MAPPINGS_HELD_MAX, MAP_LIVE_FRACTION, MAP_RESIDENT_BYTES_MAX } from '../base/limits.js';

/** A segment as the pool sees it. */
export interface MappedSegment {
  /** The mapping's bytes as one Buffer, while the segment holds one. */
  mapping: Buffer | undefined;
  /** What was verified in this mapping (record-table.ts): dropped with it. */
  mapTable?: object | undefined;
  /** A mapping failed: the segment reads from now on. */
  mapRefused: boolean;
  /** Its pages were advised away and it has not been touched since. */
  mapAdvised: boolean;
  /** The bytes mapped: the prefix nothing will cut (segment.ts). */
  readonly sealedBytes: number;
  readonly logPath: string;
  /** The `.log` descriptor (opened on demand). */
  logFd(): number;
}

/** Live mappings allowed in the process: a share of vm.max_map_count (Linux), else 16,384. */
export const LIVE_MAPPINGS_MAX = liveMappingsMax();

function liveMappingsMax(): number {
  let max = 65_536;
  try {
    const n = Number(fs.readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim());
    if (Number.isSafeInteger(n) && n > 0) max = n;
  } catch { /* not Linux */ }
  return Math.max(64, Math.floor(max * MAP_LIVE_FRACTION));
}

/** What `log.stats().mapped` reports. */
export interface MapStats {
  /** Segments holding a mapping now. */
  segments: number;
  /** Reads served by views into mappings (one per region or sequential span, not per record). */
  reads: number;
  /** Mappings that failed (the segment reads instead). */
  failures: number;
  /** Mappings alive in the process (held, or kept alive by views not collected yet). */
  live: number;
}

export class MapPool {
  private readonly lru = new Map<MappedSegment, true>();
  private last: MappedSegment | undefined = undefined;
  /** Bytes of held mappings touched since they were last advised. */
  private residentBytes = 0;
  reads = 0;
  failures = 0;

  constructor(readonly mapper: Mapper, readonly residentBytesMax = MAP_RESIDENT_BYTES_MAX,
    readonly heldMax = MAPPINGS_HELD_MAX, readonly liveMax = LIVE_MAPPINGS_MAX) {}

  /** The segment's mapping, made now; undefined when refused (failure, or too many live mappings). */
  map(seg: MappedSegment): Buffer | undefined {
    if (this.mapper.liveMappings() >= this.liveMax) return undefined; // reads until views are collected
    let buf: Buffer;
    try {
      const ab = this.mapper.map(seg.logFd(), seg.sealedBytes);
      buf = Buffer.from(ab, 0, ab.byteLength);
    } catch {
      // ENOMEM (vm.max_map_count, address space), EACCES, ENODEV (a file system that cannot map), or
      // the descriptor could not be opened: this segment reads, as the native-free entry does.
      seg.mapRefused = true;
      this.failures++;
      return undefined;
    }
    seg.mapping = buf;
    seg.mapTable = undefined;
    seg.mapAdvised = false;
    this.residentBytes += buf.length;
    this.lru.set(seg, true);
    this.last = seg;
    if (this.lru.size > this.heldMax) {
      for (const victim of this.lru.keys()) {
        if (this.lru.size <= this.heldMax) break;
        if (victim !== seg) this.forget(victim);
      }
    }
    this.trim(seg);
    return buf;
  }

  /** A read was served from the segment's mapping (most recently used now). */
  touch(seg: MappedSegment): void {
    this.reads++;
    if (seg === this.last) return;
    this.last = seg;
    this.lru.delete(seg);
    this.lru.set(seg, true);
    if (seg.mapAdvised) {
      seg.mapAdvised = false;
      this.residentBytes += seg.mapping!.length;
      this.trim(seg);
    }
  }

  /** A scan walked through the segment and no other iterator is in it: its pages may go. */
  scanned(seg: MappedSegment): void {
    if (seg.mapping !== undefined && !seg.mapAdvised) this.advise(seg);
  }

  /** The segment leaves the pool (removed, closed, evicted); views keep the mapping alive. */
  forget(seg: MappedSegment): void {
    if (!this.lru.delete(seg)) return;
    if (!seg.mapAdvised) this.residentBytes -= seg.mapping!.length;
    seg.mapping = undefined;
    seg.mapTable = undefined;
    seg.mapAdvised = false;
    if (this.last === seg) this.last = undefined;
  }

  stats(): MapStats {
    return { segments: this.lru.size, reads: this.reads, failures: this.failures, live: this.mapper.liveMappings() };
  }

  /** Advises least recently used mappings until the resident bytes are within the bound. */
  private trim(keep: MappedSegment): void {
    if (this.residentBytes <= this.residentBytesMax) return;
    for (const victim of this.lru.keys()) {
      if (this.residentBytes <= this.residentBytesMax) break;
      if (victim !== keep && !victim.mapAdvised) this.advise(victim);
    }
  }

  private advise(seg: MappedSegment): void {
    try {
      this.mapper.advise(seg.mapping!.buffer as ArrayBuffer);
    } catch { /* advice only: the pages stay */ }
    seg.mapAdvised = true;
    this.residentBytes -= seg.mapping!.length;
  }
}
