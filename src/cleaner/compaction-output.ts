// The output of a compaction pass (compaction.ts): the surviving records, re-batched into new
// segment files written as `<segment file>.cleaned` (`.log`, `.index`, `.timeindex`), each of up
// to segmentBytes and SEGMENT_RECORDS_MAX records. Offsets never change; every batch written
// carries ATTR_COMPACTED and is indexed by the topic's rule. Nothing here is visible to readers:
// finish() fsyncs every file, then the swap (compaction-swap.ts) makes them the topic's segments;
// discard() removes every file written (a failed or abandoned pass).
import { ioError } from '../base/errors.js';
import {
  ATTR_COMPACTED, BATCH_BYTES_MAX, BATCH_HEADER_BYTES, CHECKSUM_FROM, CLEANED_SUFFIX, H_ATTRIBUTES, H_BATCH_BYTES,
  H_CHECKSUM, H_LAST_OFFSET_DELTA, H_MAX_TIMESTAMP, H_RECORD_COUNT, startBatchHeader, varintBytes, writeU32, writeU64,
  writeVarint, zigzag,
} from '../format/batch.js';
import { checksumRange } from '../format/checksum.js';
import { Segment, writeFully } from '../segment/segment.js';
import { OffsetIndex } from '../segment/offset-index.js';
import { TimeIndex } from '../segment/time-index.js';
import { SEGMENT_RECORDS_MAX, WRITE_CHUNK_BYTES_MAX } from '../base/limits.js';
import { TIMESTAMP_DELTA_MAX } from '../log/topic-writer.js';
import type { SegmentLog } from '../log/topic-log.js';

/** What the writer needs of the topic being compacted: its files, segment size and indexing rule. */
export type CleanedOutputLog = Pick<SegmentLog<any>, 'io' | 'dir' | 'options' | 'indexBatch'>;

/**
 * Writes the surviving records into new segment files (`<segment file>.cleaned`), re-batched: a
 * batch's base is its first record's offset and timestamp, the records' deltas are re-encoded
 * and their key, value and headers copied as they are.
 */
export class CleanedWriter {
  readonly outputs: Segment[] = [];
  private seg: Segment | undefined = undefined;
  private fd = -1;
  private buf = Buffer.allocUnsafe(WRITE_CHUNK_BYTES_MAX);
  private len = 0;
  /** File position of buf[0]. */
  private filePos = 0;
  private batchStart = -1;
  private batchBase = 0;
  private batchBaseTs = 0;
  private batchCount = 0;
  private batchLast = 0;
  private batchMaxTs = 0;
  /** Running max timestamp of everything written so far (-1: nothing yet). */
  private runningMax = -1;
  private readonly created: string[] = [];
  /** Descriptors of finished files, fsynced (and closed) together by finish(). */
  private unsynced: Array<[number, string]> = [];

  constructor(private readonly topic: CleanedOutputLog, private readonly firstBase: number) {}

  add(src: Buffer, restStart: number, recEnd: number, offset: number, timestamp: number): void {
    const restLen = recEnd - restStart;
    const freshBody = 2 + restLen;
    const freshBytes = varintBytes(freshBody) + freshBody;
    if (this.seg === undefined) this.startSegment(this.outputs.length === 0 ? this.firstBase : offset);
    let seg = this.seg!;
    const segBytes = this.filePos + this.len;
    if (segBytes > 0 && (segBytes + BATCH_HEADER_BYTES + freshBytes > this.topic.options.segmentBytes || offset - seg.baseOffset >= SEGMENT_RECORDS_MAX)) {
      this.finishSegment();
      this.startSegment(offset);
      seg = this.seg!;
    }
    let body = freshBody;
    let recordBytes = freshBytes;
    if (this.batchStart >= 0) {
      if (Math.abs(timestamp - this.batchBaseTs) > TIMESTAMP_DELTA_MAX) {
        this.sealBatch();
      } else {
        body = varintBytes(offset - this.batchBase) + varintBytes(zigzag(timestamp - this.batchBaseTs)) + restLen;
        recordBytes = varintBytes(body) + body;
        if (this.len - this.batchStart + recordBytes > BATCH_BYTES_MAX || this.len + recordBytes > this.buf.length) {
          this.sealBatch();
          body = freshBody;
          recordBytes = freshBytes;
        }
      }
    }
    if (this.batchStart < 0) {
      if (this.len + BATCH_HEADER_BYTES + recordBytes > this.buf.length) {
        this.writeOut();
        if (BATCH_HEADER_BYTES + recordBytes > this.buf.length) this.buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + recordBytes);
      }
      this.batchStart = this.len;
      startBatchHeader(this.buf, this.len, offset, timestamp);
      this.len += BATCH_HEADER_BYTES;
      this.batchBase = offset;
      this.batchBaseTs = timestamp;
      this.batchCount = 0;
      this.batchMaxTs = timestamp;
    }
    const buf = this.buf;
    let p = writeVarint(buf, this.len, body);
    p = writeVarint(buf, p, offset - this.batchBase);
    p = writeVarint(buf, p, zigzag(timestamp - this.batchBaseTs));
    src.copy(buf, p, restStart, recEnd);
    this.len = p + restLen;
    this.batchCount++;
    this.batchLast = offset;
    if (timestamp > this.batchMaxTs) this.batchMaxTs = timestamp;
  }

  private startSegment(base: number): void {
    const seg = new Segment(this.topic.io, this.topic.dir, base, 0);
    seg.setIndexes(new OffsetIndex(), new TimeIndex(), false);
    const file = seg.logPath + CLEANED_SUFFIX;
    this.created.push(file, seg.indexPath + CLEANED_SUFFIX, seg.timeIndexPath + CLEANED_SUFFIX);
    try {
      this.fd = this.topic.io.open(file, 'w+');
    } catch (err) {
      throw ioError('create', file, err);
    }
    this.seg = seg;
    this.filePos = 0;
    this.len = 0;
    this.batchStart = -1;
  }

  private sealBatch(): void {
    const s = this.batchStart;
    if (s < 0) return;
    const buf = this.buf;
    writeU32(buf, s + H_BATCH_BYTES, this.len - s);
    buf[s + H_ATTRIBUTES] = ATTR_COMPACTED;
    writeU32(buf, s + H_RECORD_COUNT, this.batchCount);
    writeU32(buf, s + H_LAST_OFFSET_DELTA, this.batchLast - this.batchBase);
    writeU64(buf, s + H_MAX_TIMESTAMP, this.batchMaxTs);
    writeU32(buf, s + H_CHECKSUM, checksumRange(buf, s + CHECKSUM_FROM, this.len));
    this.topic.indexBatch(this.seg!, this.batchBase, this.filePos + s, this.runningMax);
    if (this.batchMaxTs > this.runningMax) this.runningMax = this.batchMaxTs;
    this.batchStart = -1;
  }

  /** Writes the sealed bytes of the buffer to the current `.log.cleaned`. */
  private writeOut(): void {
    const to = this.batchStart >= 0 ? this.batchStart : this.len;
    if (to === 0) return;
    try {
      writeFully(this.topic.io, this.fd, this.buf.subarray(0, to), this.filePos);
    } catch (err) {
      throw ioError('write', this.seg!.logPath + CLEANED_SUFFIX, err);
    }
    this.buf.copy(this.buf, 0, to, this.len);
    this.filePos += to;
    this.len -= to;
    if (this.batchStart >= 0) this.batchStart -= to;
    if (this.buf.length > WRITE_CHUNK_BYTES_MAX && this.len === 0) this.buf = Buffer.allocUnsafe(WRITE_CHUNK_BYTES_MAX);
  }

  /** Seals, writes and fsyncs the current segment with its index files. */
  private finishSegment(): void {
    const seg = this.seg!;
    this.sealBatch();
    this.writeOut();
    const io = this.topic.io;
    const index = seg.index!;
    const timeIndex = seg.timeIndex!;
    for (const [file, bytes] of [[seg.indexPath, index.encode(0)], [seg.timeIndexPath, timeIndex.encode(0)]] as const) {
      const path = file + CLEANED_SUFFIX;
      let fd = -1;
      try {
        fd = io.open(path, 'w+');
        writeFully(io, fd, bytes, 0);
      } catch (err) {
        if (fd >= 0) io.close(fd);
        throw ioError('write', path, err);
      }
      this.unsynced.push([fd, path]);
    }
    this.unsynced.push([this.fd, seg.logPath + CLEANED_SUFFIX]);
    this.fd = -1;
    index.persistedCount = index.count;
    timeIndex.persistedCount = timeIndex.count;
    seg.logBytes = this.filePos;
    seg.memFrom = this.filePos;
    seg.endMaxTimestampMs = this.runningMax;
    this.outputs.push(seg);
    this.seg = undefined;
  }

  /**
   * Finishes the last segment (nothing survived: one empty segment keeps the range's first base),
   * then fsyncs every file written, off the event loop.
   */
  async finish(): Promise<void> {
    if (this.seg === undefined && this.outputs.length === 0) this.startSegment(this.firstBase);
    if (this.seg !== undefined) this.finishSegment();
    const io = this.topic.io;
    const files = this.unsynced;
    this.unsynced = [];
    try {
      await Promise.all(files.map(async ([fd, path]) => {
        try { await io.fsync(fd); } catch (err) { throw ioError('fsync', path, err); }
      }));
    } finally {
      for (const [fd] of files) { try { io.close(fd); } catch { /* already gone */ } }
    }
  }

  /** Removes every `.cleaned` file written (a failed or abandoned pass). */
  discard(): void {
    const io = this.topic.io;
    if (this.fd >= 0) { try { io.close(this.fd); } catch { /* already gone */ } this.fd = -1; }
    for (const [fd] of this.unsynced) { try { io.close(fd); } catch { /* already gone */ } }
    this.unsynced = [];
    for (const f of this.created) {
      try { io.unlink(f); } catch { /* never created, or renamed by the swap */ }
    }
  }
}
