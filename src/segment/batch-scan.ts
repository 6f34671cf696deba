// Batch checking and scanning of a segment's `.log` (docs/format.md): checkBatch (the full check
// of one batch), scanLog (the walk over a segment's batches that recovery, loadIndexes and
// refresh() make) and hasValidBatchAfter (tells damage in the middle of the data from a torn tail).
// Segment's scan() and hasValidBatchAfter() call these; segment.ts re-exports checkBatch and the
// types.
//
// Nothing here believes a batch header before checkBatch has passed it (structure, checksum,
// commit block, base offset); a scan stops at the first batch that fails and says where and why.
// They read through the narrow ScannedLog (a segment), never the segment module itself.
import { readCommitBlock, type CommitBlock } from '../format/commit-block.js';
import { checksumRange } from '../format/checksum.js';
import {
  ATTR_COMMIT, commitBlockStart, ATTR_COMPACTED, BATCH_HEADER_BYTES, CHECKSUM_FROM, H_ATTRIBUTES, knownVersion, H_VERSION, H_BASE_OFFSET, H_BASE_TIMESTAMP, H_BATCH_BYTES, H_CHECKSUM,
  H_LAST_OFFSET_DELTA, H_MAX_TIMESTAMP, checkBatchStructure, readU32, readU64,
} from '../format/batch.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';

/** What a scan found: where the valid batches end, and why it stopped early if it did. */
export interface ScanResult {
  endPosition: number;
  nextOffset: number;
  maxTimestampMs: number;
  /** Position and reason of the first invalid batch, or undefined when the scan reached the end cleanly. */
  invalidAt?: number;
  reason?: string;
}

export interface BatchInfo {
  position: number;
  batchBytes: number;
  baseOffset: number;
  lastOffset: number;
  baseTimestampMs: number;
  maxTimestampMs: number;
  /** The consumer-group commit the batch carries (ATTR_COMMIT), if any. */
  commit?: CommitBlock;
}

/** The `.log` a scan reads (a Segment). */
export interface ScannedLog {
  /** `length` bytes at `position` into a fresh buffer (shorter at end of file). */
  readLog(position: number, length: number): Buffer;
  /** The `.log` file's size now. */
  fileSizeNow(): number;
}

/**
 * Walks the batches of the `.log` from `position`, checking each completely (structure and
 * checksum) and that its base offset is `expectedOffset` onwards. Calls `onBatch` for each valid
 * batch. Stops at the end of the file or at the first invalid batch.
 */
export function scanLog(log: ScannedLog, position: number, expectedOffset: number, maxTimestampMs: number, onBatch: ((b: BatchInfo) => void) | undefined): ScanResult {
  const fileBytes = log.fileSizeNow();
  let pos = position;
  let next = expectedOffset;
  let maxTs = maxTimestampMs;
  let buf: Buffer = Buffer.alloc(0);
  let bufPos = 0;
  while (pos < fileBytes) {
    let p = pos - bufPos;
    if (p + BATCH_HEADER_BYTES > buf.length) {
      buf = log.readLog(pos, Math.min(READ_CHUNK_BYTES, fileBytes - pos));
      bufPos = pos;
      p = 0;
    }
    let batchBytes = buf.length - p >= 4 ? readU32(buf, p + H_BATCH_BYTES) : 0;
    if (batchBytes >= BATCH_HEADER_BYTES && p + batchBytes > buf.length && pos + batchBytes <= fileBytes) {
      buf = log.readLog(pos, batchBytes);
      bufPos = pos;
      p = 0;
    }
    const reason = checkBatch(buf, p, Math.min(buf.length - p, fileBytes - pos), next);
    if (reason !== null) return { endPosition: pos, nextOffset: next, maxTimestampMs: maxTs, invalidAt: pos, reason };
    batchBytes = readU32(buf, p + H_BATCH_BYTES);
    const info: BatchInfo = {
      position: pos,
      batchBytes,
      baseOffset: readU64(buf, p + H_BASE_OFFSET),
      lastOffset: readU64(buf, p + H_BASE_OFFSET) + readU32(buf, p + H_LAST_OFFSET_DELTA),
      baseTimestampMs: readU64(buf, p + H_BASE_TIMESTAMP),
      maxTimestampMs: readU64(buf, p + H_MAX_TIMESTAMP),
    };
    if ((buf[p + H_ATTRIBUTES]! & ATTR_COMMIT) !== 0) info.commit = readCommitBlock(buf, commitBlockStart(buf, p, batchBytes, BATCH_HEADER_BYTES), p + batchBytes) as CommitBlock;
    onBatch?.(info);
    if (info.maxTimestampMs > maxTs) maxTs = info.maxTimestampMs;
    next = info.lastOffset + 1;
    pos += batchBytes;
  }
  return { endPosition: pos, nextOffset: next, maxTimestampMs: maxTs };
}

/**
 * Whether a valid batch starts anywhere after the invalid one at `position`: tells damage in
 * the middle of the data (ERR_CORRUPT) from a torn tail (cut). The damaged batch's own length
 * may be wrong, so every later position is tried (a rare path: only after an invalid batch).
 */
export function hasValidBatchAfter(log: ScannedLog, position: number): boolean {
  const fileBytes = log.fileSizeNow();
  // Read the rest of the file in windows (bounded memory); a candidate batch that runs past a
  // window is read on its own.
  for (let winPos = position + 1; winPos + BATCH_HEADER_BYTES <= fileBytes; winPos += READ_CHUNK_BYTES) {
    const win = log.readLog(winPos, Math.min(READ_CHUNK_BYTES + BATCH_HEADER_BYTES, fileBytes - winPos));
    const stop = Math.min(READ_CHUNK_BYTES, win.length - BATCH_HEADER_BYTES + 1);
    for (let p = 0; p < stop; p++) {
      if (!knownVersion(win[p + H_VERSION])) continue;
      const len = readU32(win, p + H_BATCH_BYTES);
      if (len < BATCH_HEADER_BYTES || winPos + p + len > fileBytes) continue;
      const batch = p + len <= win.length ? win.subarray(p, p + len) : log.readLog(winPos + p, len);
      if (checkBatch(batch, 0, len, -1) === null) return true;
    }
  }
  return false;
}

/**
 * Full check of one batch: structure, checksum, and (when expectedOffset >= 0) that its base offset
 * is not below the expected one. Returns null when valid, else the reason.
 */
export function checkBatch(buf: Uint8Array, p: number, available: number, expectedOffset: number): string | null {
  const structural = checkBatchStructure(buf, p, available);
  if (structural !== null) return structural;
  const batchBytes = readU32(buf, p + H_BATCH_BYTES);
  const sum = checksumRange(buf, p + CHECKSUM_FROM, p + batchBytes);
  if (sum !== readU32(buf, p + H_CHECKSUM)) return 'checksum mismatch';
  if ((buf[p + H_ATTRIBUTES]! & ATTR_COMMIT) !== 0) {
    const block = readCommitBlock(buf, commitBlockStart(buf, p, batchBytes, BATCH_HEADER_BYTES), p + batchBytes);
    if (typeof block === 'string') return block;
  }
  if (expectedOffset >= 0) {
    const base = readU64(buf, p + H_BASE_OFFSET);
    if (base < expectedOffset) return `base offset ${base} is below the expected ${expectedOffset}`;
    if (base !== expectedOffset && (buf[p + H_ATTRIBUTES]! & ATTR_COMPACTED) === 0) return `base offset ${base} leaves a gap after ${expectedOffset}`;
  }
  return null;
}
