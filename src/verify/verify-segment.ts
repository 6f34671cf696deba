// verify()'s walk of one segment's `.log`: every batch checked completely (segment.ts's checkBatch,
// the test recovery and reads apply), offsets dense and increasing, each invalid batch judged as
// openLog's recovery does (corrupt before the recovery point or when a later batch claims it was
// fsynced; a torn tail otherwise), and the batch starts and running timestamps recorded for the
// index checks. It reads in READ_CHUNK_BYTES windows through a descriptor opened 'r', always
// closed, and reports progress as it goes.
import type { FileIO } from '../io/file-io.js';
import { isAborted, throwIfAborted } from '../base/abort.js';
import {
  ATTR_COMPACTED, H_ATTRIBUTES,
  BATCH_HEADER_BYTES, knownVersion, H_BASE_OFFSET, H_BATCH_BYTES, H_LAST_OFFSET_DELTA,
  H_MAX_TIMESTAMP, H_RECORD_COUNT, H_VERSION, readU32, readU64,
} from '../format/batch.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';
import { checkBatch } from '../segment/segment.js';
import { readAt } from './verify-claims.js';
import type { Progress, VerifyProblem, VerifyTopicReport } from './verify-report.js';

/** What the walk of one segment learned about its batch starts, for the index checks. */
export interface SegmentWalk {
  /** Byte position after the last valid batch that the walk reached without a break. */
  validEnd: number;
  /** The walk met an invalid batch (index entries past validEnd are then part of that damage). */
  damaged: boolean;
  /** Running maximum timestamp of the topic before each indexed batch, by relative offset. */
  maxBefore: Map<number, number>;
}

export interface WalkState {
  expected: number;
  /** The batch before was written by compaction: offsets may be missing after it (compacted away). */
  prevCompacted: boolean;
  runningMaxTs: number;
  report: VerifyTopicReport;
  add: (p: VerifyProblem) => void;
  progress: Progress;
  topic: string;
  /** Bytes of this segment known flushed (an invalid batch before it is damage, never a torn tail). */
  flushedBytes: number;
  /** The largest durable end claimed by valid batches from this position of the segment on (and in later segments). */
  claimedAfter: (from: number) => number;
  /** Set by the walk: openLog cuts the topic in this segment (a torn tail, or power-cut damage): nothing after it is judged. */
  cut: boolean;
}

/**
 * Walks the batches of one `.log` in 1 MiB windows. Returns the offset expected next, the running
 * maximum timestamp, and the batch starts (position → base offset) for the index checks.
 */
export async function walkSegment(io: FileIO, logPath: string, segBase: number, size: number, isLastWithData: boolean, s: WalkState):
  Promise<{ expected: number; runningMaxTs: number; prevCompacted: boolean; segment: SegmentWalk; batchStarts: Map<number, number> }> {
  const segment: SegmentWalk = { validEnd: 0, damaged: false, maxBefore: new Map() };
  const batchStarts = new Map<number, number>(); // position → base offset
  let fd: number;
  try {
    fd = io.open(logPath, 'r');
  } catch (err) {
    s.add({ file: logPath, position: 0, kind: 'io', severity: 'error', message: `cannot open ${logPath}: ${(err as Error).message}` });
    s.progress.bytesDone += size;
    return { expected: -1, runningMaxTs: s.runningMaxTs, prevCompacted: false, segment, batchStarts };
  }
  let expected = s.expected;
  let prevCompacted = s.prevCompacted;
  let runningMaxTs = s.runningMaxTs;
  let progressAt = s.progress.bytesDone;
  try {
    let buf: Buffer = Buffer.alloc(0);
    let bufPos = 0;
    let pos = 0;
    let intact = true; // no damage met yet in this segment
    while (pos < size) {
      let p = pos - bufPos;
      if (p < 0 || p + BATCH_HEADER_BYTES > buf.length) {
        throwIfAborted(s.progress.signal, s.progress.what);
        buf = readAt(io, fd, pos, Math.min(READ_CHUNK_BYTES, size - pos));
        bufPos = pos;
        p = 0;
        s.progress.bytesDone = progressAt + pos;
        s.progress.onProgress?.({ topic: s.topic, file: logPath, bytesDone: s.progress.bytesDone, bytesTotal: s.progress.bytesTotal });
        await new Promise<void>((resolve) => setImmediate(resolve)); // let a progress bar draw
      }
      const batchBytes = buf.length - p >= 4 ? readU32(buf, p + H_BATCH_BYTES) : 0;
      if (batchBytes >= BATCH_HEADER_BYTES && p + batchBytes > buf.length && pos + batchBytes <= size) {
        buf = readAt(io, fd, pos, batchBytes);
        bufPos = pos;
        p = 0;
      }
      const reason = checkBatch(buf, p, Math.min(buf.length - p, size - pos), -1);
      if (reason !== null) {
        const resume = nextValidBatch(io, fd, pos + 1, size);
        const pastDurable = pos >= s.flushedBytes;
        const claim = pastDurable && expected >= 0 && (resume >= 0 || !isLastWithData) ? s.claimedAfter(pos + 1) : -1;
        if (resume < 0 && isLastWithData && pastDurable) {
          s.add({
            file: logPath, position: pos, kind: 'torn-tail', severity: 'warning',
            message: `invalid batch in ${logPath} at position ${pos} (${reason}) with nothing valid after it: a torn tail of ${size - pos} bytes that openLog cuts after a crash (ERR_CORRUPT if it was flushed)`,
          });
          s.cut = true;
        } else if (pastDurable && expected >= 0 && claim <= expected) {
          s.add({
            file: logPath, position: pos, kind: 'torn-tail', severity: 'warning',
            message: `invalid batch in ${logPath} at position ${pos} (${reason}) past the recovery point, with data after it that no completed fsync covered (a power cut): openLog cuts the log there and keeps the ${size - pos} bytes from there on (and any later segments) aside as .cut files`,
          });
          s.cut = true;
        } else {
          s.add({
            file: logPath, position: pos, kind: 'corrupt-batch', severity: 'error',
            message: `corrupt batch in ${logPath} at position ${pos}: ${reason}; ${claim > expected && expected >= 0 ? `a later batch shows offsets up to ${claim - 1} had been fsynced; ` : ''}${resume < 0 ? (isLastWithData ? `the rest of the segment (${size - pos} bytes) is unreadable, and the log had flushed it (closed cleanly, or before its recovery point)` : `the rest of the segment (${size - pos} bytes) is unreadable and later segments hold data`) : `bytes ${pos} to ${resume - 1} are unreadable, valid batches resume at ${resume}`}`,
          });
        }
        if (intact) segment.validEnd = pos;
        intact = false;
        segment.damaged = true;
        if (resume < 0 || s.cut) break;
        pos = resume;
        expected = -1; // what the damage hid cannot be known: resynchronise on the next batch
        continue;
      }
      const baseOffset = readU64(buf, p + H_BASE_OFFSET);
      const lastOffset = baseOffset + readU32(buf, p + H_LAST_OFFSET_DELTA);
      const compacted = (buf[p + H_ATTRIBUTES]! & ATTR_COMPACTED) !== 0;
      // Compaction removes records but keeps offsets: a batch it wrote, or the one after it, may
      // start past the offset expected.
      const gapAllowed = baseOffset > expected && (compacted || prevCompacted);
      prevCompacted = compacted;
      if (expected >= 0 && baseOffset !== expected && !gapAllowed && pos >= s.flushedBytes && s.claimedAfter(pos + 1) <= expected) {
        // openLog's scan takes a batch at the wrong offset for an invalid one (stale bytes a power
        // cut left): past the recovery point, with no later batch vouching for it, it cuts there
        s.add({
          file: logPath, position: pos, kind: 'torn-tail', severity: 'warning',
          message: `batch in ${logPath} at position ${pos} starts at offset ${baseOffset} but ${expected} was expected, past the recovery point and with nothing after it that a completed fsync covered (stale bytes of a power cut): openLog cuts the log there and keeps the ${size - pos} bytes from there on (and any later segments) aside as .cut files`,
        });
        if (intact) segment.validEnd = pos;
        segment.damaged = true;
        s.cut = true;
        break;
      }
      if (expected >= 0 && baseOffset !== expected && !gapAllowed) {
        s.add({
          file: logPath, position: pos, kind: 'offsets', severity: 'error',
          message: baseOffset > expected
            ? `batch in ${logPath} at position ${pos} starts at offset ${baseOffset} but ${expected} was expected: offsets ${expected} to ${baseOffset - 1} are missing`
            : `batch in ${logPath} at position ${pos} starts at offset ${baseOffset} but offsets up to ${expected - 1} came before it`,
        });
      }
      if (baseOffset < segBase) {
        s.add({ file: logPath, position: pos, kind: 'offsets', severity: 'error', message: `batch in ${logPath} at position ${pos} holds offset ${baseOffset}, below the segment's base offset ${segBase}` });
      }
      if (intact) {
        batchStarts.set(pos, baseOffset);
        segment.maxBefore.set(baseOffset - segBase, runningMaxTs);
      }
      s.report.batches++;
      s.report.records += readU32(buf, p + H_RECORD_COUNT);
      const maxTs = readU64(buf, p + H_MAX_TIMESTAMP);
      if (maxTs > runningMaxTs) runningMaxTs = maxTs;
      expected = lastOffset + 1;
      pos += readU32(buf, p + H_BATCH_BYTES);
      if (intact) segment.validEnd = pos;
    }
  } catch (err) {
    if (isAborted(err)) throw err;
    s.add({ file: logPath, position: 0, kind: 'io', severity: 'error', message: `cannot read ${logPath}: ${(err as Error).message}` });
  } finally {
    try { io.close(fd); } catch { /* nothing to do */ }
    s.progress.bytesDone = progressAt + size;
  }
  return { expected, runningMaxTs, prevCompacted, segment, batchStarts };
}

/** Position of the first valid batch at or after `from`, or -1 (tries every position: damage only). */
function nextValidBatch(io: FileIO, fd: number, from: number, size: number): number {
  for (let winPos = from; winPos + BATCH_HEADER_BYTES <= size; winPos += READ_CHUNK_BYTES) {
    const win = readAt(io, fd, winPos, Math.min(READ_CHUNK_BYTES + BATCH_HEADER_BYTES, size - winPos));
    const stop = Math.min(READ_CHUNK_BYTES, win.length - BATCH_HEADER_BYTES + 1);
    for (let p = 0; p < stop; p++) {
      if (!knownVersion(win[p + H_VERSION])) continue;
      const len = readU32(win, p + H_BATCH_BYTES);
      if (len < BATCH_HEADER_BYTES || winPos + p + len > size) continue;
      const batch = p + len <= win.length ? win.subarray(p, p + len) : readAt(io, fd, winPos + p, len);
      if (checkBatch(batch, 0, len, -1) === null) return winPos + p;
    }
  }
  return -1;
}
