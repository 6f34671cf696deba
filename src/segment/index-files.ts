// The bytes of a segment's index files on disk (`.index`, `.timeindex`; docs/format.md): reading
// them whole (readIndexFiles), appending or rewriting them from the in-memory indexes
// (persistIndexFiles), and writeFully, the positional write loop that the segment, recovery's cut,
// the writer and compaction share. Segment's readIndexFiles() and persistIndexes() call these;
// segment.ts re-exports writeFully.
//
// The files only ever mirror memory: `persistedCount` says how many entries of an index are in
// its file, and on a full disk the files are cut back to that count (never left half written with
// the count moved on); what is short or inconsistent after a crash is rebuilt at the next open.
// They reach the segment through the narrow IndexFileOwner, never the segment module itself.
import { ioError } from '../base/errors.js';
import { isNoSpace } from '../io/space-reserve.js';
import type { FileIO } from '../io/file-io.js';
import type { OffsetIndex } from './offset-index.js';
import type { TimeIndex } from './time-index.js';

/** The part of a Segment that owns its index files. */
export interface IndexFileOwner {
  readonly io: FileIO;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  indexFd: number;
  timeIndexFd: number;
  /** Bytes of index data in the files that no longer match memory (rewrite instead of append). */
  indexDirty: boolean;
  readonly index: OffsetIndex | undefined;
  readonly timeIndex: TimeIndex | undefined;
}

/** Reads both index files as they are on disk; undefined for a file that is missing. */
export function readIndexFiles(io: FileIO, indexPath: string, timeIndexPath: string): { index: Uint8Array | undefined; timeIndex: Uint8Array | undefined } {
  return { index: readWholeFile(io, indexPath), timeIndex: readWholeFile(io, timeIndexPath) };
}

function readWholeFile(io: FileIO, file: string): Uint8Array | undefined {
  const st = io.stat(file);
  if (st === undefined) return undefined;
  let fd = -1;
  try {
    fd = io.open(file, 'r');
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = io.read(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch (err) {
    throw ioError('read', file, err);
  } finally {
    if (fd >= 0) io.close(fd);
  }
}

/**
 * Appends index entries not yet in the files (or rewrites the files after a rebuild). On a full
 * disk it gives up without throwing (false): the files are cut back to what they held, the
 * entries stay in memory for a later try, and an open after a crash or close rebuilds what is short.
 */
export function persistIndexFiles(seg: IndexFileOwner): boolean {
  const index = seg.index;
  const timeIndex = seg.timeIndex;
  if (index === undefined || timeIndex === undefined) return true;
  if (!seg.indexDirty && index.persistedCount === index.count && timeIndex.persistedCount === timeIndex.count) return true;
  try {
    if (seg.indexFd < 0) seg.indexFd = seg.io.open(seg.indexPath, seg.io.stat(seg.indexPath) ? 'r+' : 'w+');
    if (seg.timeIndexFd < 0) seg.timeIndexFd = seg.io.open(seg.timeIndexPath, seg.io.stat(seg.timeIndexPath) ? 'r+' : 'w+');
    if (seg.indexDirty) {
      index.persistedCount = 0;
      timeIndex.persistedCount = 0;
    }
    writeFully(seg.io, seg.indexFd, index.encode(index.persistedCount), index.persistedCount * 8);
    writeFully(seg.io, seg.timeIndexFd, timeIndex.encode(timeIndex.persistedCount), timeIndex.persistedCount * 12);
    if (seg.indexDirty || seg.io.fileSize(seg.indexFd) !== index.count * 8) seg.io.truncate(seg.indexFd, index.count * 8);
    if (seg.indexDirty || seg.io.fileSize(seg.timeIndexFd) !== timeIndex.count * 12) seg.io.truncate(seg.timeIndexFd, timeIndex.count * 12);
    index.persistedCount = index.count;
    timeIndex.persistedCount = timeIndex.count;
    seg.indexDirty = false;
    return true;
  } catch (err) {
    if (!isNoSpace(err)) throw ioError('write index', seg.indexPath, err);
    try {
      if (seg.indexFd >= 0) seg.io.truncate(seg.indexFd, index.persistedCount * 8);
      if (seg.timeIndexFd >= 0) seg.io.truncate(seg.timeIndexFd, timeIndex.persistedCount * 12);
    } catch { /* what is left over is inconsistent or short: rebuilt at the next open */ }
    return false;
  }
}

export function writeFully(io: FileIO, fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    done += io.write(fd, buf, done, buf.length - done, position + done);
  }
}
