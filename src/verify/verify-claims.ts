// verify's view of what openLog's recovery decides at damage past the recovery point
// (recovery-cut.ts): the largest durable end that the valid batches after the damage claim (format
// v2 durableDelta), in the damaged segment and every later one. A claim past the damaged offset
// means a completed fsync covered the damage (openLog: ERR_CORRUPT); none means openLog cuts there
// and keeps the bytes aside (a warning). Read-only, like verify. Crash: nothing to leave.
import type { FileIO } from '../io/file-io.js';
import { BATCH_HEADER_BYTES, H_BATCH_BYTES, H_VERSION, LOG_SUFFIX, claimedDurableOffset, knownVersion, readU32, segmentFileName } from '../format/batch.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';
import { checkBatch } from '../segment/segment.js';

/** Up to `length` bytes of `fd` at `position` (fewer at the end of the file). */
export function readAt(io: FileIO, fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = io.read(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** The largest durable end claimed by a valid batch of `file` at or after `from` (-1: none). */
function claimIn(io: FileIO, file: string, from: number, size: number): number {
  let claim = -1;
  let fd: number;
  try { fd = io.open(file, 'r'); } catch { return -1; }
  try {
    let p = from;
    while (p + BATCH_HEADER_BYTES <= size) {
      const win = readAt(io, fd, p, Math.min(READ_CHUNK_BYTES + BATCH_HEADER_BYTES, size - p));
      const stop = Math.min(READ_CHUNK_BYTES, win.length - BATCH_HEADER_BYTES + 1);
      if (stop <= 0) break;
      let i = 0;
      while (i < stop) {
        if (knownVersion(win[i + H_VERSION])) {
          const len = readU32(win, i + H_BATCH_BYTES);
          if (len >= BATCH_HEADER_BYTES && p + i + len <= size) {
            const batch = i + len <= win.length ? win.subarray(i, i + len) : readAt(io, fd, p + i, len);
            if (checkBatch(batch, 0, len, -1) === null) {
              claim = Math.max(claim, claimedDurableOffset(batch, 0));
              i += len;
              continue;
            }
          }
        }
        i++;
      }
      p += i;
    }
  } catch {
    // unreadable: no claim from it (the walk reports the read error)
  } finally {
    try { io.close(fd); } catch { /* nothing to do */ }
  }
  return claim;
}

/** The largest durable end claimed after position `from` of segment `si` (that segment's rest, then every later one). */
export function claimedAfter(io: FileIO, fileOf: (name: string) => string, bases: number[], sizes: number[], si: number, from: number): number {
  let claim = -1;
  for (let k = si; k < bases.length; k++) {
    if (sizes[k]! === 0) continue;
    claim = Math.max(claim, claimIn(io, fileOf(segmentFileName(bases[k]!, LOG_SUFFIX)), k === si ? from : 0, sizes[k]!));
  }
  return claim;
}
