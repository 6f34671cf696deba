// What recovery does with an invalid batch past the recovery point when more data follows it (a
// power cut reorders unsynced writes: a dropped or torn write with a later one kept, stale bytes,
// a rolled segment torn while the next one holds batches).
//
// The question is whether a completed fsync ever covered the damaged bytes. The recorded recovery
// point answers it for the bytes before it; past it, every valid v2 batch found after the damage
// (in the same segment or a later one) carries the durable end at the time it was written
// (format.ts, durableDelta). If one of them claims an offset past the damaged one, the damage is
// in fsynced data: ERR_CORRUPT. Otherwise nothing from the damage on was ever fsynced, so nothing
// there was acknowledged under 'fsync' or promised by a flush(): the log is cut there, and the
// cut bytes are kept aside in `<segment>.log.cut` files (this segment's tail copied, later
// segments renamed), listed by verify and published on `seglog:recovery`.
//
// A disk too full for the copy: the space reserve is given back and the copy tried again; if even
// that is not enough, the later segments are still renamed aside (a rename needs no space) but the
// segment is not truncated: its tail stays in the file past the end the topic reads (a PendingCut),
// appends to the topic are refused with ERR_NO_SPACE until the copy fits (tried again at each append
// call and compact()), and the event says so (action `cut-pending`). The cut bytes are never
// destroyed for lack of space.
//
// Crash: the cut file is written and fsynced (with its directory) before the segment is truncated,
// and later segments are renamed before the truncation is recorded; a crash part-way leaves a cut
// file too many (the next open cuts again, into a new file), never bytes lost. A pending cut is only
// in memory: the next open finds the same damage and decides again.
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import { publish } from '../base/diagnostics.js';
import type { FileIO } from '../io/file-io.js';
import { isNoSpace, type SpaceReserve } from '../io/space-reserve.js';
import { BATCH_HEADER_BYTES, H_BATCH_BYTES, H_VERSION, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, claimedDurableOffset, cutFileName, knownVersion, readU32, segmentFileName } from '../format/batch.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';
import { checkBatch, writeFully, type Segment } from '../segment/segment.js';

/** What the valid batches after a position show. */
export interface AfterDamage {
  /** Valid batches found. */
  validBatches: number;
  /** The largest durable end any of them claims (-1: none claims anything). */
  claimedDurable: number;
}

/**
 * Looks at every position of a `.log` from `from` on for valid batches (the damaged batch's own
 * length may be wrong, so every position is tried; a valid batch found is skipped whole, so batches
 * stored inside record values are not taken for the log's own). A rare path: only after damage.
 */
export function validBatchesFrom(seg: Segment, from: number, into: AfterDamage): AfterDamage {
  const fileBytes = seg.fileSizeNow();
  let p = from;
  while (p + BATCH_HEADER_BYTES <= fileBytes) {
    const win = seg.readLog(p, Math.min(READ_CHUNK_BYTES + BATCH_HEADER_BYTES, fileBytes - p));
    const stop = Math.min(READ_CHUNK_BYTES, win.length - BATCH_HEADER_BYTES + 1);
    let i = 0;
    while (i < stop) {
      if (knownVersion(win[i + H_VERSION])) {
        const len = readU32(win, i + H_BATCH_BYTES);
        if (len >= BATCH_HEADER_BYTES && p + i + len <= fileBytes) {
          const batch = i + len <= win.length ? win.subarray(i, i + len) : seg.readLog(p + i, len);
          if (checkBatch(batch, 0, len, -1) === null) {
            into.validBatches++;
            into.claimedDurable = Math.max(into.claimedDurable, claimedDurableOffset(batch, 0));
            i += len;
            continue;
          }
        }
      }
      i++;
    }
    p += i;
  }
  return into;
}

/** The first free name for cut bytes of `logPath`. */
function freeCutPath(io: FileIO, logPath: string): string {
  for (let n = 0; ; n++) {
    const p = path.join(path.dirname(logPath), cutFileName(path.basename(logPath), n));
    if (io.stat(p) === undefined) return p;
  }
}

/**
 * Keeps the bytes about to be cut: bytes [at, end) of `seg` are copied into a new cut file (unless
 * `copyTail` is false), and each later segment's `.log` is renamed to a cut file (its index files
 * go). Returns the cut files. The caller truncates `seg` at `at` afterwards and drops the later
 * segments from its list.
 */
export function moveAside(io: FileIO, topicDir: string, topic: string, seg: Segment, at: number, later: Segment[], reason: string, copyTail = true): string[] {
  const files: string[] = [];
  const size = seg.fileSizeNow();
  let bytes = 0;
  if (size > at && copyTail) {
    const target = freeCutPath(io, seg.logPath);
    let fd = -1;
    try {
      fd = io.open(target, 'wx');
      for (let p = at; p < size; p += READ_CHUNK_BYTES) writeFully(io, fd, seg.readLog(p, Math.min(READ_CHUNK_BYTES, size - p)), p - at);
      io.fsyncSync(fd);
    } catch (err) {
      // a copy that could not be finished (a full disk) is not kept: the next open makes it again,
      // instead of piling up partial copies that nothing removes
      if (fd >= 0) { try { io.close(fd); } catch { /* the first error matters */ } fd = -1; }
      try { io.unlink(target); } catch { /* never created */ }
      throw ioError('keep cut bytes in', target, err);
    } finally {
      if (fd >= 0) io.close(fd);
    }
    files.push(target);
    bytes += size - at;
  }
  for (const s of later) {
    s.closeFiles();
    if (s.logBytes === 0) continue;
    const target = freeCutPath(io, s.logPath);
    try {
      io.rename(s.logPath, target);
    } catch (err) {
      throw ioError('move a cut segment aside to', target, err);
    }
    files.push(target);
    bytes += s.logBytes;
  }
  try { io.fsyncDir(topicDir); } catch (err) { throw ioError('fsync directory', topicDir, err); }
  for (const s of later) {
    for (const f of [segmentFileName(s.baseOffset, LOG_SUFFIX), segmentFileName(s.baseOffset, INDEX_SUFFIX), segmentFileName(s.baseOffset, TIME_INDEX_SUFFIX)]) {
      try { io.unlink(path.join(topicDir, f)); } catch { /* renamed, or never there */ }
    }
  }
  if (copyTail || files.length > 0) {
    publish('recovery', {
      dir: path.dirname(topicDir), topic, action: 'cut', file: seg.logPath, position: at, bytes,
      reason: `${reason}; no completed fsync covered it, so the log was cut there and the ${bytes} bytes from there on were kept in ${files.join(', ')}`,
    });
  }
  return files;
}

/**
 * moveAside, and when the disk has no room for the copy of the tail: the space reserve is given
 * back and the copy tried again; if it still does not fit, the later segments are moved aside and
 * the tail stays in the segment's file (returned as a PendingCut; the caller does not truncate).
 */
export function cutKeepingAside(io: FileIO, reserve: SpaceReserve | undefined, topicDir: string, topic: string, seg: Segment, at: number,
  later: Segment[], reason: string): PendingCut | undefined {
  for (;;) {
    try {
      moveAside(io, topicDir, topic, seg, at, later, reason);
      return undefined;
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      if (reserve === undefined || reserve.released) break;
      reserve.release(); // the reserve is there for the library's own writes on a full disk: this is one
    }
  }
  moveAside(io, topicDir, topic, seg, at, later, reason, false);
  const pending = new PendingCut(io, topicDir, topic, seg, at, reason);
  publish('recovery', {
    dir: path.dirname(topicDir), topic, action: 'cut-pending', file: seg.logPath, position: at, bytes: seg.fileSizeNow() - at,
    reason: `${reason}; no completed fsync covered it, so the topic ends there, but the disk has no room to keep the ${seg.fileSizeNow() - at} bytes from there on ` +
      `in a .cut file: they stay in ${seg.logPath} past the topic's end, and appends to topic ${topic} are refused with ERR_NO_SPACE until they can be kept`,
  });
  return pending;
}

/**
 * A cut recovery could not finish for lack of space: the topic ends at `at` of `seg` (the active
 * segment), and the file still holds the cut bytes after it. Nothing may write there before they
 * are kept: finish() runs before every append and before a compaction rolls the segment.
 */
export class PendingCut {
  constructor(private readonly io: FileIO, private readonly topicDir: string, private readonly topic: string,
    readonly seg: Segment, readonly at: number, private readonly reason: string) {}

  /** Copies the cut bytes into a cut file and truncates the segment; ERR_NO_SPACE while the disk has no room for them. */
  finish(): void {
    try {
      moveAside(this.io, this.topicDir, this.topic, this.seg, this.at, [], this.reason);
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      const bytes = this.seg.fileSizeNow() - this.at;
      throw new SeglogError('ERR_NO_SPACE',
        `topic ${this.topic} takes no appends until the ${bytes} bytes that recovery cut from ${this.seg.logPath} at position ${this.at} (never fsynced, after a power cut) ` +
        `are kept in a .cut file, and the disk has no room for them: free space (truncateBefore, retention, or outside the log) and append again`,
        { file: this.seg.logPath, position: this.at, value: bytes, cause: err });
    }
    try {
      this.seg.truncateLog(this.at); // (the sealed prefix ends at `at`: log/seal.ts seals logBytes)
    } catch (err) {
      throw ioError('truncate the cut tail of', this.seg.logPath, err);
    }
  }
}
