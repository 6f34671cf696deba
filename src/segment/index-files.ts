// The bytes of a segment's index files on disk (`.index`, `.timeindex`; docs/format.md): creating
// them empty (createIndexFiles), reading them whole (readIndexFiles), appending or rewriting them
// from the in-memory indexes (persistIndexFiles), fsyncing them (fsyncIndexFiles, and the
// synchronous fsyncIndexFilesSync), closing them, and writeFully, the positional write loop that
// the segment, recovery's cut, the writer and compaction share. Segment's methods of the same
// names call these; segment.ts re-exports writeFully.
//
// Descriptors: a persist (roll, flush, checkpoint, close, a rebuild) opens the files, writes and
// closes them again; an fsync reopens files written since their last fsync (`indexUnsynced`),
// within the pool's bound on fsyncs in flight, and closes them after it. Between persists the
// active segment's new entries live in memory only. So a topic holds no index descriptor unless
// an fsync of its index files is running, whatever the number of topics. fsyncs and the closes
// that follow them run one after the other through `indexIo`, so a descriptor is never closed
// under an fsync (a persist during one writes through the open descriptors and leaves them open).
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
import type { SyncGate } from './sync-gate.js';

/** The part of a Segment that owns its index files. */
export interface IndexFileOwner {
  readonly io: FileIO;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  indexFd: number;
  timeIndexFd: number;
  /** Bytes of index data in the files that no longer match memory (rewrite instead of append). */
  indexDirty: boolean;
  /** Bytes were written to the files since their last fsync (the next fsync reopens them if closed). */
  indexUnsynced: boolean;
  /** The chain of index fsyncs and closes (one at a time). */
  indexIo: Promise<void>;
  readonly index: OffsetIndex | undefined;
  readonly timeIndex: TimeIndex | undefined;
  /** The log's bound on fsyncs in flight (undefined in tools and tests). */
  readonly pool: { readonly syncs: SyncGate } | undefined;
}

/** Creates both index files of a new segment, empty, and closes them again (no descriptor kept). */
export function createIndexFiles(io: FileIO, indexPath: string, timeIndexPath: string): void {
  for (const file of [indexPath, timeIndexPath]) io.close(io.open(file, 'w+'));
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
  const opened = seg.indexFd < 0 && seg.timeIndexFd < 0; // (else an fsync holds them: it closes them)
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
    seg.indexUnsynced = true;
    return true;
  } catch (err) {
    seg.indexUnsynced = true; // (whatever part was written or cut)
    if (!isNoSpace(err)) throw ioError('write index', seg.indexPath, err);
    try {
      if (seg.indexFd >= 0) seg.io.truncate(seg.indexFd, index.persistedCount * 8);
      if (seg.timeIndexFd >= 0) seg.io.truncate(seg.timeIndexFd, timeIndex.persistedCount * 12);
    } catch { /* what is left over is inconsistent or short: rebuilt at the next open */ }
    return false;
  } finally {
    if (opened) closeIndexFiles(seg); // the fsync that follows reopens them, within the pool's bound
  }
}

/**
 * fsyncs the index files if bytes were written since their last fsync (reopening a file closed
 * since), then closes them unless entries were persisted meanwhile. Chained through `indexIo`
 * and bounded by the pool's gate. A file that is gone (the segment was deleted) has nothing left
 * to make durable.
 */
export function fsyncIndexFiles(seg: IndexFileOwner): Promise<void> {
  const sync = async (): Promise<void> => {
    seg.indexUnsynced = false; // bytes persisted from here on wait for the next fsync
    try {
      if (!reopenIndexFiles(seg)) return;
      await seg.io.fsync(seg.indexFd);
      await seg.io.fsync(seg.timeIndexFd);
    } catch (err) {
      seg.indexUnsynced = true;
      throw err;
    }
    if (!seg.indexUnsynced) closeIndexFiles(seg);
  };
  const run = seg.indexIo.then(() => {
    if (!seg.indexUnsynced) { closeIndexFiles(seg); return undefined; }
    return seg.pool === undefined ? sync() : seg.pool.syncs.run(sync);
  });
  seg.indexIo = run.catch(() => undefined);
  return run;
}

/** The synchronous fsyncIndexFiles (recovery, a burst of rolls); the files stay open. */
export function fsyncIndexFilesSync(seg: IndexFileOwner): void {
  if (!seg.indexUnsynced || !reopenIndexFiles(seg)) return;
  seg.io.fsyncSync(seg.indexFd);
  seg.io.fsyncSync(seg.timeIndexFd);
  seg.indexUnsynced = false;
}

/** Opens the index files that are closed; false when they are gone. */
function reopenIndexFiles(seg: IndexFileOwner): boolean {
  try {
    if (seg.indexFd < 0) seg.indexFd = seg.io.open(seg.indexPath, 'r+');
    if (seg.timeIndexFd < 0) seg.timeIndexFd = seg.io.open(seg.timeIndexPath, 'r+');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    closeIndexFiles(seg);
    return false;
  }
}

/** Closes the index files once every fsync asked for before has finished. */
export function closeIndexFilesWhenIdle(seg: IndexFileOwner): Promise<void> {
  const run = seg.indexIo.then(() => closeIndexFiles(seg));
  seg.indexIo = run;
  return run;
}

/** Closes the index files' descriptors now (the next persist or fsync reopens them). */
export function closeIndexFiles(seg: IndexFileOwner): void {
  if (seg.indexFd >= 0) { try { seg.io.close(seg.indexFd); } catch { /* already gone */ } seg.indexFd = -1; }
  if (seg.timeIndexFd >= 0) { try { seg.io.close(seg.timeIndexFd); } catch { /* already gone */ } seg.timeIndexFd = -1; }
}

export function writeFully(io: FileIO, fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    done += io.write(fd, buf, done, buf.length - done, position + done);
  }
}
