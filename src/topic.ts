// Topic: one append-only log made of segments, and its append path.
//
// Append path: records are encoded straight into the active segment's newest chunk (a buffer
// that is never reused), into an open batch whose header is kept current record by record, so
// readers in this process see a record as soon as appendSync returns. At the end of the tick
// (process.nextTick) the batch is sealed (checksum, index entries) and the chunk's new bytes go to
// the OS in one positional write; under 'fsync' the appends of that tick then wait for one shared
// fsync (group commit). A failed write cuts the file back to its last good size and forgets the
// records of the tick: their promises reject and their offsets are given to the next appends.
// After a failed fsync the log refuses writes until it is reopened.
//
// Crash: what was handed to the OS survives a process crash; what was fsynced survives a power
// cut. A torn tail and short indexes are repaired by recovery.ts at the next open.
import { SeglogError, describe, invalidArgument, ioError } from './errors.js';
import type { AppendMeta, SubscribeOptions, Subscription, Topic, TopicStats } from './topic-api.js';
import type { Codec } from './codecs.js';
import {
  BATCH_BYTES_MAX, BATCH_HEADER_BYTES, H_BATCH_BYTES, H_CHECKSUM, H_LAST_OFFSET_DELTA, H_MAX_TIMESTAMP, H_RECORD_COUNT,
  CHECKSUM_FROM, headersBytes, startBatchHeader, varintBytes, writeHeaders, writeU32, writeU64, writeVarint, zigzag,
} from './format.js';
import { checksum } from './checksum.js';
import type { FileIO } from './io/file-io.js';
import type { MetaStore, TopicState } from './meta/meta-store.js';
import type { ResolvedLogOptions, ResolvedTopicOptions, TopicOptions } from './options.js';
import { SEGMENT_RECORDS_MAX, TAIL_CACHE_BYTES, WRITE_CHUNK_BYTES_MAX, WRITE_CHUNK_BYTES_MIN } from './limits.js';
import { Segment, writeFully, type Chunk } from './segment.js';
import type { FdPool } from './fd-pool.js';
import type { LogRecord } from './record.js';
import { Reader, type ReadOptions } from './reader.js';
import type { ReadCache } from './read-cache.js';
import { loadIndexes } from './recovery.js';

/** What a topic needs from the log that owns it. */
export interface LogContext {
  readonly io: FileIO;
  readonly meta: MetaStore;
  readonly options: ResolvedLogOptions;
  readonly readCache: ReadCache;
  /** Throws ERR_CLOSED, ERR_READ_ONLY, or the error that made the log refuse writes. */
  checkWritable(): void;
  checkOpen(): void;
  /** After a failed fsync: the log refuses writes until reopened. */
  fail(err: SeglogError): void;
  /** The failure that made the log refuse writes, if any. */
  readonly failure: SeglogError | undefined;
  /** Bounds the descriptors of segment files open for reading. */
  readonly fdPool: FdPool;
  /** 'error' event on the log (only when someone listens: an unheard 'error' would throw). */
  emitError(err: SeglogError): void;
}

interface Waiter {
  resolve: (offset: number) => void;
  reject: (err: unknown) => void;
  /** What the promise resolves with (the first offset of a batch). */
  offset: number;
  /** The last offset it covers: it is settled once everything up to here was written. */
  last: number;
}

/** Rolled segments whose fsync may run in the background at once (each holds 3 descriptors). */
const ROLL_SYNCS_MAX = 8;

/** A timestamp this far from its batch's base starts a new batch (its zigzag delta stays a safe integer). */
const TIMESTAMP_DELTA_MAX = 2 ** 51;

/** Where a multi-record append began (see TopicImpl.mark). */
interface Mark {
  seg: Segment;
  segments: number;
  position: number;
  endOffset: number;
  maxTimestampMs: number;
}

/** Recovery point: where the log was fsynced (with its index entries) and checked. */
interface RecoveryPoint {
  base: number;
  position: number;
  offset: number;
  maxTimestampMs: number;
}


export class TopicImpl<V = Buffer> implements Topic<V> {
  readonly name: string;
  readonly dir: string;
  options: ResolvedTopicOptions<V>;
  segments: Segment[];
  private _startOffset: number;
  private _endOffset: number;
  /** Running max timestamp of all records (-1: none). */
  maxTimestampMs: number;
  closed = false;
  private readonly ctx: LogContext;
  readonly reader: Reader<V>;

  // Append path state: the newest chunk of the active segment and the open batch in it.
  private chunk: Chunk | undefined = undefined;
  private chunkBytesNext = WRITE_CHUNK_BYTES_MIN;
  private batchStart = -1;
  private batchBase = 0;
  private batchBaseTs = 0;
  private batchCount = 0;
  private batchMaxTs = 0;
  private batchMaxBefore = -1;
  private tickScheduled = false;
  private tickWaiters: Waiter[] = [];
  private tickHasSync = false;
  /** End offset and max timestamp of what was handed to the OS. */
  private committedEnd: number;
  private committedMaxTs: number;
  private pendingError: SeglogError | undefined = undefined;
  private dirtyMarked = false;

  // Group commit.
  private syncWaiters: Waiter[] = [];
  private dirtySegments = new Set<Segment>();
  private fsyncRunning: Promise<void> | undefined = undefined;
  /** fsyncs of rolled segments still running (awaited by syncAll). */
  private rollSyncs: Array<Promise<void>> = [];
  /** syncAll calls in flight (awaited by shutdown before descriptors are closed). */
  private syncing = new Set<Promise<void>>();
  private synced: RecoveryPoint;
  private checkpointed: RecoveryPoint;
  private readonly flushTickBound = (): void => this.flushTick();
  private readonly kickFsyncBound = (): void => {
    if (this.tickScheduled) this.flushTick(); // joins this tick's appends, and starts the fsync
    if (this.syncWaiters.length > 0 && !this.closed) this.startFsync();
  };

  constructor(ctx: LogContext, name: string, dir: string, options: ResolvedTopicOptions<V>, segments: Segment[],
    startOffset: number, endOffset: number, maxTimestampMs: number, recovered: RecoveryPoint) {
    this.ctx = ctx;
    this.name = name;
    this.dir = dir;
    this.options = options;
    this.segments = segments;
    this._startOffset = startOffset;
    this._endOffset = endOffset;
    this.maxTimestampMs = maxTimestampMs;
    this.committedEnd = endOffset;
    this.committedMaxTs = maxTimestampMs;
    this.synced = recovered;
    this.checkpointed = recovered;
    this.reader = new Reader<V>(this, ctx.readCache);
    for (const seg of segments) seg.pool = ctx.fdPool;
    if (segments.length > 0) segments[segments.length - 1]!.pins = Math.max(1, segments[segments.length - 1]!.pins);
  }

  get startOffset(): number {
    return this._startOffset;
  }

  get endOffset(): number {
    return this._endOffset;
  }

  get codec(): Codec<V> {
    return this.options.codec;
  }

  get io(): FileIO {
    return this.ctx.io;
  }

  get readOnly(): boolean {
    return this.ctx.options.readOnly;
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  checkOpen(): void {
    this.ctx.checkOpen();
    if (this.closed) throw new SeglogError('ERR_CLOSED', `topic ${this.name} is closed (deleted)`);
  }

  // ---------------------------------------------------------------- append

  appendSync(value: V | null, meta?: AppendMeta): number {
    this.checkWritable();
    const offset = this.encodeAppend(value, meta);
    this.tickHasSync = true;
    return offset;
  }

  append(value: V | null, meta?: AppendMeta): Promise<number> {
    let offset: number;
    try {
      this.checkWritable();
      offset = this.encodeAppend(value, meta);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.ctx.options.durability === 'none') return Promise.resolve(offset);
    return new Promise<number>((resolve, reject) => {
      this.tickWaiters.push({ resolve, reject, offset, last: offset });
    });
  }

  appendBatch(records: Array<{ value: V | null } & AppendMeta>): Promise<number> {
    let first: number;
    try {
      this.checkWritable();
      if (!Array.isArray(records)) throw invalidArgument('records', records, 'an array of { value, key?, headers?, timestamp? }');
      if (records.length === 0) throw invalidArgument('records', records, 'a non-empty array');
      // Encode every value first: a codec that throws half-way must leave nothing appended.
      const values: Array<Uint8Array | null> = new Array(records.length);
      for (let i = 0; i < records.length; i++) {
        const r = records[i];
        if (r === null || typeof r !== 'object') throw invalidArgument(`records[${i}]`, r, 'an object { value, key?, headers?, timestamp? }');
        const bytes = this.encodeValue(r.value);
        values[i] = bytes;
        if (r.key !== undefined || r.headers !== undefined || r.timestamp !== undefined) {
          this.checkMeta(r);
          this.checkRecordBytes(bytes, r.key, r.headers);
        } else if (bytes !== null && bytes.length + 16 > this.options.maxRecordBytes) {
          this.checkRecordBytes(bytes, undefined, undefined);
        }
      }
      first = this._endOffset;
      // One clock read per call: the records of a batch are appended at the same moment (bench W1:
      // Date.now() per record was a third of the per-record cost).
      const now = Date.now();
      if (records.length === 1) {
        this.appendEncoded(values[0]!, records[0]!.key, records[0]!.headers, records[0]!.timestamp ?? now);
      } else {
        // A batch can pass a chunk switch or a roll, which write what came before: if a later
        // step fails, cut back to where the batch began so that none of it shows up later.
        const mark = this.mark();
        try {
          for (let i = 0; i < records.length; i++) {
            const r = records[i]!;
            this.appendEncoded(values[i]!, r.key, r.headers, r.timestamp ?? now);
          }
        } catch (err) {
          this.rollbackTo(mark, err instanceof SeglogError ? err : ioError('append', this.dir, err));
          throw err;
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.ctx.options.durability === 'none') return Promise.resolve(first);
    return new Promise<number>((resolve, reject) => {
      this.tickWaiters.push({ resolve, reject, offset: first, last: this._endOffset - 1 });
    });
  }

  private checkWritable(): void {
    this.ctx.checkWritable();
    if (this.closed) throw new SeglogError('ERR_CLOSED', `topic ${this.name} is closed (deleted)`);
    if (this.pendingError !== undefined) {
      const err = this.pendingError;
      this.pendingError = undefined;
      throw err;
    }
  }

  private encodeValue(value: V | null): Uint8Array | null {
    if (value === null) return null;
    let bytes: Uint8Array;
    try {
      bytes = this.options.codec.encode(value);
    } catch (err) {
      if (err instanceof SeglogError) throw err;
      throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid value for topic ${this.name}: the codec failed on ${describe(value)} (${(err as Error)?.message ?? err})`, { value, cause: err });
    }
    if (!(bytes instanceof Uint8Array)) {
      throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid value for topic ${this.name}: the codec returned ${describe(bytes)} instead of a Uint8Array`, { value });
    }
    return bytes;
  }

  private checkMeta(meta: AppendMeta | undefined): void {
    if (meta === undefined) return;
    if (meta === null || typeof meta !== 'object') throw invalidArgument('append meta', meta, 'an object { key?, headers?, timestamp? }');
    const { key, headers, timestamp } = meta;
    if (key !== undefined && typeof key !== 'string' && !(key instanceof Uint8Array)) throw invalidArgument('key', key, 'a string or Uint8Array');
    if (headers !== undefined && (headers === null || typeof headers !== 'object' || Array.isArray(headers) || headers instanceof Uint8Array)) {
      throw invalidArgument('headers', headers, 'an object of string or Uint8Array values');
    }
    if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0)) {
      throw invalidArgument('timestamp', timestamp, 'a non-negative integer of milliseconds since the epoch');
    }
  }

  private encodeAppend(value: V | null, meta: AppendMeta | undefined): number {
    const bytes = this.encodeValue(value);
    this.checkMeta(meta);
    return meta === undefined ? this.appendEncoded(bytes, undefined, undefined, Date.now()) : this.appendEncoded(bytes, meta.key, meta.headers, meta.timestamp ?? Date.now());
  }

  /** Throws what appendEncoded would throw for this record (bad headers, too large), appending nothing. */
  private checkRecordBytes(value: Uint8Array | null, key: string | Uint8Array | undefined, headers: Record<string, string | Uint8Array> | undefined): void {
    const keyLen = key === undefined ? -1 : typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.length;
    const valueLen = value === null ? -1 : value.length;
    const hBytes = headers === undefined ? 1 : headersBytes(headers);
    const body = 2 + varintBytes(keyLen + 1) + Math.max(0, keyLen) + varintBytes(valueLen + 1) + Math.max(0, valueLen) + hBytes;
    const bytes = varintBytes(body) + body;
    if (bytes > this.options.maxRecordBytes) {
      throw new SeglogError('ERR_RECORD_TOO_LARGE', `record of ${bytes} bytes is larger than maxRecordBytes (${this.options.maxRecordBytes}) of topic ${this.name}`, { value: bytes });
    }
  }

  /** Appends one record whose value is already encoded and whose meta was checked. */
  private appendEncoded(value: Uint8Array | null, keyIn: string | Uint8Array | undefined,
    headers: Record<string, string | Uint8Array> | undefined, timestamp: number): number {
    // Hot path (bench W1/W2): single-byte varints are the rule and are handled inline.
    const key = typeof keyIn === 'string' ? Buffer.from(keyIn, 'utf8') : keyIn;
    const keyLen = key === undefined ? -1 : key.length;
    const valueLen = value === null ? -1 : value.length;
    const hBytes = headers === undefined ? 1 : headersBytes(headers);
    const fixedBytes = (keyLen < 127 ? 1 + (keyLen > 0 ? keyLen : 0) : varintBytes(keyLen + 1) + keyLen)
      + (valueLen < 127 ? 1 + (valueLen > 0 ? valueLen : 0) : varintBytes(valueLen + 1) + valueLen) + hBytes;
    // Size in a fresh batch (deltas 0): the size the limit is checked against.
    const freshBody = 2 + fixedBytes;
    const freshBytes = (freshBody < 128 ? 1 : varintBytes(freshBody)) + freshBody;
    const options = this.options;
    if (freshBytes > options.maxRecordBytes) {
      throw new SeglogError('ERR_RECORD_TOO_LARGE', `record of ${freshBytes} bytes is larger than maxRecordBytes (${options.maxRecordBytes}) of topic ${this.name}`, { value: freshBytes });
    }
    if (!this.dirtyMarked) this.markDirty();
    const offset = this._endOffset;
    let seg = this.active;
    let chunk = this.chunk;
    // Roll before the record if the segment is full, too old, or out of relative offsets. A new
    // batch header is counted even when the record could join the open batch: the batch may be
    // sealed for size right below, and the segment must not pass segmentBytes either way.
    const segEnd = chunk !== undefined && !chunk.retired ? chunk.filePos + chunk.len : seg.endPosition();
    if (options.segmentMs !== Infinity && seg.firstTimestampMs < 0 && seg.logBytes > 0) seg.firstTimestampMs = seg.readFirstTimestamp();
    if (segEnd > 0 && (segEnd + BATCH_HEADER_BYTES + freshBytes > options.segmentBytes
      || (options.segmentMs !== Infinity && seg.firstTimestampMs >= 0 && timestamp - seg.firstTimestampMs > options.segmentMs)
      || offset - seg.baseOffset >= SEGMENT_RECORDS_MAX)) {
      this.roll();
      seg = this.active;
      chunk = this.chunk;
    }
    let body = freshBody;
    let recordBytes = freshBytes;
    if (this.batchStart >= 0 && Math.abs(timestamp - this.batchBaseTs) > TIMESTAMP_DELTA_MAX) this.sealBatch();
    if (this.batchStart >= 0) {
      const od = offset - this.batchBase;
      const tz = zigzag(timestamp - this.batchBaseTs);
      body = (od < 128 ? 1 : varintBytes(od)) + (tz < 128 ? 1 : varintBytes(tz)) + fixedBytes;
      recordBytes = (body < 128 ? 1 : varintBytes(body)) + body;
      if (chunk!.len - this.batchStart + recordBytes > BATCH_BYTES_MAX || chunk!.buf.length - chunk!.len < recordBytes) {
        this.sealBatch();
        body = freshBody;
        recordBytes = freshBytes;
      }
    }
    if (this.batchStart < 0) {
      if (chunk === undefined || chunk.retired || chunk.buf.length - chunk.len < BATCH_HEADER_BYTES + recordBytes) {
        chunk = this.newChunk(BATCH_HEADER_BYTES + recordBytes);
      }
      this.openBatch(chunk, offset, timestamp);
    }
    const buf = chunk!.buf;
    let p = chunk!.len;
    if (body < 128) buf[p++] = body; else p = writeVarint(buf, p, body);
    const od = offset - this.batchBase;
    if (od < 128) buf[p++] = od; else p = writeVarint(buf, p, od);
    const tz = zigzag(timestamp - this.batchBaseTs);
    if (tz < 128) buf[p++] = tz; else p = writeVarint(buf, p, tz);
    if (keyLen < 127) buf[p++] = keyLen + 1; else p = writeVarint(buf, p, keyLen + 1);
    if (keyLen > 0) { buf.set(key!, p); p += keyLen; }
    if (valueLen < 127) buf[p++] = valueLen + 1; else p = writeVarint(buf, p, valueLen + 1);
    if (valueLen > 0) { buf.set(value!, p); p += valueLen; }
    if (headers === undefined) buf[p++] = 0; else p = writeHeaders(buf, p, headers);
    chunk!.len = p;
    // The open batch's header is brought up to date only when a reader looks (publishOpenBatch)
    // or at seal: four header writes per record were measurable in bench W1.
    this.batchCount++;
    if (timestamp > this.batchMaxTs) this.batchMaxTs = timestamp;
    if (timestamp > this.maxTimestampMs) this.maxTimestampMs = timestamp;
    if (seg.firstTimestampMs < 0) seg.firstTimestampMs = timestamp;
    this._endOffset = offset + 1;
    if (!this.tickScheduled) {
      this.tickScheduled = true;
      process.nextTick(this.flushTickBound);
    }
    return offset;
  }

  /** Where the log stands before a multi-record append (the open batch is sealed first). */
  private mark(): Mark {
    if (this.batchStart >= 0) this.sealBatch();
    const seg = this.active;
    return {
      seg,
      segments: this.segments.length,
      position: seg.endPosition(),
      endOffset: this._endOffset,
      maxTimestampMs: this.maxTimestampMs,
    };
  }

  /**
   * Undoes everything appended since `mark`: segments rolled since are deleted, the file is cut
   * back if part of it was written, and memory forgets the rest. Appends from before the mark that
   * still wait to be written stay pending.
   */
  private rollbackTo(mark: Mark, error: SeglogError): void {
    const io = this.ctx.io;
    while (this.segments.length > mark.segments) {
      const s = this.segments.pop()!;
      this.dirtySegments.delete(s);
      try { s.deleteFiles(); } catch (err) { this.ctx.fail(ioError('delete a rolled-back segment', s.logPath, err)); }
    }
    const seg = mark.seg;
    if (seg.logBytes > mark.position) {
      try {
        io.truncate(seg.logFd(), mark.position);
      } catch (err) {
        this.ctx.fail(ioError('truncate after a failed append', seg.logPath, err));
      }
      seg.logBytes = mark.position;
      this.committedEnd = mark.endOffset;
      this.committedMaxTs = mark.maxTimestampMs;
    }
    while (seg.chunks.length > 0 && seg.chunks[seg.chunks.length - 1]!.filePos >= mark.position && seg.chunks.length > 1) seg.chunks.pop();
    const chunk = seg.chunks.length > 0 ? seg.chunks[seg.chunks.length - 1]! : undefined;
    if (chunk !== undefined) {
      chunk.len = Math.min(chunk.len, Math.max(0, mark.position - chunk.filePos));
      chunk.written = Math.min(chunk.written, chunk.len);
      chunk.retired = true;
    }
    this.chunk = chunk;
    this.batchStart = -1;
    this._endOffset = Math.min(this._endOffset, mark.endOffset);
    this.maxTimestampMs = Math.min(this.maxTimestampMs, mark.maxTimestampMs);
    this.committedEnd = Math.min(this.committedEnd, this._endOffset);
    // Appends whose records were just forgotten settle now, with the error that forgot them.
    const end = this._endOffset;
    const keepTick = this.tickWaiters.filter((w) => w.last < end);
    const keepSync = this.syncWaiters.filter((w) => w.last < end);
    for (const w of this.tickWaiters) if (w.last >= end) w.reject(error);
    for (const w of this.syncWaiters) if (w.last >= end) w.reject(error);
    this.tickWaiters = keepTick;
    this.syncWaiters = keepSync;
    seg.pins = Math.max(seg.pins, 1); // it is the active segment again
    seg.index!.truncateToPosition(mark.position);
    seg.timeIndex!.truncateToRelativeOffset(mark.endOffset - seg.baseOffset);
  }

  private openBatch(chunk: Chunk, offset: number, timestamp: number): void {
    this.batchStart = chunk.len;
    startBatchHeader(chunk.buf, chunk.len, offset, timestamp);
    chunk.len += BATCH_HEADER_BYTES;
    this.batchBase = offset;
    this.batchBaseTs = timestamp;
    this.batchCount = 0;
    this.batchMaxTs = timestamp;
    this.batchMaxBefore = this.maxTimestampMs;
  }

  /**
   * Writes the open batch's header fields as they stand, so that readers in this process can walk
   * it like a sealed batch (read-your-writes). Called by readers before they look at memory.
   */
  publishOpenBatch(): void {
    const s = this.batchStart;
    if (s < 0) return;
    const buf = this.chunk!.buf;
    writeU32(buf, s + H_BATCH_BYTES, this.chunk!.len - s);
    writeU32(buf, s + H_RECORD_COUNT, this.batchCount);
    writeU32(buf, s + H_LAST_OFFSET_DELTA, this._endOffset - 1 - this.batchBase);
    writeU64(buf, s + H_MAX_TIMESTAMP, this.batchMaxTs);
  }

  /** Closes the open batch: checksum, and index entries if it starts an index interval. */
  private sealBatch(): void {
    this.publishOpenBatch();
    const chunk = this.chunk!;
    const s = this.batchStart;
    writeU32(chunk.buf, s + H_CHECKSUM, checksum(chunk.buf.subarray(s + CHECKSUM_FROM, chunk.len)));
    this.indexBatch(this.active, this.batchBase, chunk.filePos + s, this.batchMaxBefore);
    this.batchStart = -1;
  }

  /** Adds index entries for a batch per the rule of docs/format.md (shared with recovery). */
  indexBatch(seg: Segment, baseOffset: number, position: number, maxTimestampBefore: number): void {
    const index = seg.index!;
    if (index.count !== 0 && position - index.lastPosition() < this.options.indexIntervalBytes) return;
    const rel = baseOffset - seg.baseOffset;
    index.append(rel, position);
    const timeIndex = seg.timeIndex!;
    if (timeIndex.count === 0) timeIndex.append(Math.max(0, maxTimestampBefore), rel);
    else if (maxTimestampBefore > timeIndex.lastTimestamp()) timeIndex.append(maxTimestampBefore, rel);
  }

  private newChunk(minBytes: number): Chunk {
    const seg = this.active;
    if (this.chunk !== undefined) {
      if (this.batchStart >= 0) this.sealBatch();
      this.writePending(); // a chunk retired by a rolled-back batch may still hold earlier appends
      this.chunk.retired = true;
    }
    const size = Math.max(minBytes, this.chunkBytesNext);
    if (this.chunkBytesNext < WRITE_CHUNK_BYTES_MAX) this.chunkBytesNext *= 2;
    const chunk: Chunk = { buf: Buffer.allocUnsafe(size), filePos: seg.endPosition(), len: 0, written: 0, retired: false };
    if (seg.chunks.length === 0) seg.memFrom = chunk.filePos;
    seg.chunks.push(chunk);
    seg.dropChunks(TAIL_CACHE_BYTES);
    this.chunk = chunk;
    return chunk;
  }

  /** Hands the sealed bytes of the newest chunk to the OS. Throws (after rolling back) on failure. */
  private writePending(): void {
    const chunk = this.chunk;
    if (chunk === undefined) return;
    const to = this.batchStart >= 0 ? this.batchStart : chunk.len;
    const from = chunk.written;
    if (to <= from) return;
    const seg = this.active;
    try {
      writeFully(this.ctx.io, seg.logFd(), chunk.buf.subarray(from, to), chunk.filePos + from);
    } catch (err) {
      throw this.writeFailed(seg, ioError('write', seg.logPath, err));
    }
    chunk.written = to;
    seg.logBytes = chunk.filePos + to;
    this.committedEnd = this.batchStart >= 0 ? this.batchBase : this._endOffset;
    this.committedMaxTs = this.batchStart >= 0 ? this.batchMaxBefore : this.maxTimestampMs;
    this.dirtySegments.add(seg);
    if (this.tickWaiters.length > 0 && this.ctx.options.durability !== 'none') this.dispatchWritten(false);
  }

  /**
   * A write failed: cut the file back to its last good size and forget every record that was not
   * handed to the OS. The records' promises reject; appendSync callers hear of it on their next
   * append call and through the log's 'error' event.
   */
  private writeFailed(seg: Segment, error: SeglogError): SeglogError {
    try {
      this.ctx.io.truncate(seg.logFd(), seg.logBytes);
    } catch (err) {
      this.ctx.fail(ioError('truncate after a failed write', seg.logPath, err));
    }
    const chunk = this.chunk!;
    chunk.len = chunk.written;
    chunk.retired = true;
    this.batchStart = -1;
    this._endOffset = this.committedEnd;
    this.maxTimestampMs = this.committedMaxTs;
    seg.index!.truncateToPosition(seg.logBytes);
    seg.timeIndex!.truncateToRelativeOffset(this.committedEnd - seg.baseOffset);
    const waiters = this.tickWaiters;
    this.tickWaiters = [];
    for (const w of waiters) w.reject(error);
    // Records that no promise reports (appendSync, or any append under 'none') were lost: the
    // next append call reports it.
    if (this.tickHasSync || this.ctx.options.durability === 'none') this.pendingError = error;
    this.tickHasSync = false;
    this.ctx.emitError(error);
    return error;
  }

  /** End of tick: seal the open batch, hand it to the OS, settle or queue the tick's appends. */
  private flushTick(): void {
    this.tickScheduled = false;
    if (this.closed) return;
    try {
      if (this.batchStart >= 0) this.sealBatch();
      if (this.ctx.options.durability !== 'none') this.writePending();
    } catch {
      // writeFailed has rejected the appends that were not written; those written earlier in the
      // tick still wait for their fsync.
      if (this.syncWaiters.length > 0 && this.ctx.options.durability === 'fsync') this.startFsync();
      return;
    }
    this.tickHasSync = false;
    this.dispatchWritten(true);
  }

  /**
   * Moves the appends whose records were all handed to the OS out of the tick: resolved now
   * ('os'), or queued for the next group commit ('fsync'). Called after every successful write, so
   * that a later failure in the same tick only rejects appends that really were not written.
   */
  private dispatchWritten(endOfTick: boolean): void {
    const waiters = this.tickWaiters;
    let n = 0;
    while (n < waiters.length && waiters[n]!.last < this.committedEnd) n++;
    if (n > 0) {
      const done = n === waiters.length ? waiters : waiters.slice(0, n);
      this.tickWaiters = n === waiters.length ? [] : waiters.slice(n);
      if (this.ctx.options.durability === 'fsync') {
        for (const w of done) this.syncWaiters.push(w);
      } else {
        for (const w of done) w.resolve(w.offset);
      }
    }
    // The group commit starts at the end of the tick only: starting it at a write in the middle of
    // a tick (a chunk switch) splits the producers into two groups that then alternate, halving
    // the appends per fsync (bench W-durable: 32 instead of 64).
    if (endOfTick && this.syncWaiters.length > 0) this.startFsync();
  }

  /** Group commit: one fsync for everything written since the last one started. */
  private startFsync(): void {
    if (this.fsyncRunning !== undefined) return;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    this.fsyncRunning = this.fsyncDirty().then(
      () => {
        this.fsyncRunning = undefined;
        for (const w of waiters) w.resolve(w.offset);
        // Appends that were written during that fsync wait for the next one. Start it after the
        // appends of the producers just resolved have joined (they append in the microtasks that
        // run before this tick ends), so the group stays one group.
        if (this.syncWaiters.length > 0) process.nextTick(this.kickFsyncBound);
      },
      (err: SeglogError) => {
        this.fsyncRunning = undefined;
        for (const w of waiters) w.reject(err);
        const rest = this.syncWaiters;
        this.syncWaiters = [];
        for (const w of rest) w.reject(err);
      },
    );
  }

  /** fsyncs every segment written since the last fsync; advances the synced recovery point. */
  private async fsyncDirty(): Promise<void> {
    const segs = [...this.dirtySegments];
    this.dirtySegments.clear();
    const seg = this.active;
    const point: RecoveryPoint = { base: seg.baseOffset, position: seg.logBytes, offset: this.committedEnd, maxTimestampMs: this.committedMaxTs };
    for (const s of segs) s.pins++;
    try {
      // A segment rolled since the last fsync must be durable with its directory entry before
      // the recovery point may move into the segment that follows it.
      await Promise.all([...segs.map((s) => (s.fd >= 0 ? this.ctx.io.fsync(s.fd) : undefined)), ...this.rollSyncs]);
    } catch (err) {
      if (this.closed) throw this.closedError();
      const error = ioError('fsync', seg.logPath, err);
      this.ctx.fail(error);
      if (this.ctx.options.durability === 'fsync') this.forgetUnsynced(error);
      throw error;
    } finally {
      for (const s of segs) s.pins--;
    }
    if (this.closed) throw this.closedError();
    // Any failed fsync of this log (a rolled segment's, another topic's) means the page cache can no
    // longer be trusted: a later fsync that succeeds proves nothing (Linux reports an error once).
    const failure = this.ctx.failure;
    if (failure !== undefined) {
      if (this.ctx.options.durability === 'fsync') this.forgetUnsynced(failure);
      throw failure;
    }
    if (point.base > this.synced.base || (point.base === this.synced.base && point.position >= this.synced.position)) this.synced = point;
  }

  /**
   * After a failed fsync under 'fsync' durability, every record past the last good fsync belongs to
   * an append that is about to reject: cut the file back there so none of them shows up after a
   * reopen, and hide them from readers now. (The log refuses writes from here on.)
   */
  private forgetUnsynced(error: SeglogError): void {
    const synced = this.synced;
    let at = this.segments.findIndex((s) => s.baseOffset === synced.base);
    if (at < 0) at = this.segments.length - 1;
    const seg = this.segments[at]!;
    this.rollbackTo({
      seg,
      segments: at + 1,
      position: seg.baseOffset === synced.base ? synced.position : 0,
      endOffset: seg.baseOffset === synced.base ? synced.offset : seg.baseOffset,
      maxTimestampMs: synced.maxTimestampMs,
    }, error);
    this.committedEnd = Math.min(this.committedEnd, this._endOffset);
    this.committedMaxTs = Math.min(this.committedMaxTs, this.maxTimestampMs);
  }

  private closedError(): SeglogError {
    return new SeglogError('ERR_CLOSED', `topic ${this.name} was closed or deleted before the append completed`);
  }

  /** Starts a new segment at the current end offset. The old one is made durable with its indexes. */
  private roll(): void {
    const old = this.active;
    if (this.batchStart >= 0) this.sealBatch();
    this.writePending();
    if (this.chunk !== undefined) this.chunk.retired = true;
    this.chunk = undefined;
    old.persistIndexes();
    old.dropChunks(0);
    const seg = Segment.create(this.ctx.io, this.dir, this._endOffset);
    seg.pool = this.ctx.fdPool;
    seg.pins = 1; // the active segment's descriptor is never closed by the pool
    this.ctx.fdPool.opened(seg);
    this.segments.push(seg);
    // The old segment and its indexes are fsynced off the event loop (a blocking fsync here was
    // 10% of bench W1); the recovery point moves into the new segment once that is done. Under
    // 'fsync' the old segment stays in dirtySegments, so the tick's group commit covers it too.
    const point: RecoveryPoint = { base: seg.baseOffset, position: 0, offset: seg.baseOffset, maxTimestampMs: this.committedMaxTs };
    const io = this.ctx.io;
    if (this.rollSyncs.length >= ROLL_SYNCS_MAX) {
      // Many rolls in one synchronous burst: their async fsyncs cannot finish before it ends, and
      // each would hold three descriptors until then. Make this one durable now instead.
      try {
        old.fsyncAllSync();
        io.fsyncDir(this.dir);
      } catch (err) {
        this.ctx.fail(ioError('fsync', old.logPath, err));
      }
      old.closeIndexFiles();
      old.pins--;
      this.ctx.fdPool.trim();
      return;
    }
    // old keeps its active pin until its fsync is done; then the pool may close its descriptor.
    // Chained after the previous roll's fsync: the recovery point may only move past segments that
    // are all durable, and a failure of any of them (ctx.failure) keeps it where it is.
    const previous = this.rollSyncs.length > 0 ? this.rollSyncs[this.rollSyncs.length - 1] : undefined;
    const done = Promise.all([
      previous,
      old.fd >= 0 ? io.fsync(old.fd) : undefined,
      old.fsyncIndexes(),
      fsyncDirAsync(io, this.dir),
    ]).then(
      () => {
        // (unless a failed batch rolled the new segment back meanwhile)
        if (this.ctx.failure === undefined && point.base > this.synced.base && this.active.baseOffset >= point.base) this.synced = point;
      },
      (err: unknown) => {
        if (!this.closed) this.ctx.fail(ioError('fsync', old.logPath, err));
      },
    ).finally(() => {
      old.pins--;
      this.ctx.fdPool.trim();
      return old.closeIndexFilesWhenIdle();
    });
    this.rollSyncs.push(done);
    void done.then(() => { this.rollSyncs = this.rollSyncs.filter((p) => p !== done); });
  }

  private markDirty(): void {
    this.dirtyMarked = true;
    try {
      this.ctx.meta.putStateSync(this.name, this.stateFor(false, this.checkpointed));
    } catch (err) {
      throw ioError('write metadata', this.name, err);
    }
  }

  stateFor(clean: boolean, rp: RecoveryPoint): TopicState {
    const seg = this.active;
    return {
      clean,
      segmentBase: seg.baseOffset,
      logBytes: seg.logBytes,
      endOffset: this.committedEnd,
      maxTimestampMs: this.committedMaxTs,
      startOffset: this._startOffset,
      recoveryBase: rp.base,
      recoveryPosition: rp.position,
      recoveryOffset: rp.offset,
      recoveryMaxTimestampMs: rp.maxTimestampMs,
    };
  }

  /**
   * Periodic checkpoint (the log's timer): hand buffered records to the OS, fsync them with the
   * index entries, and record the new recovery point. Nothing to do when nothing was appended.
   */
  async checkpoint(): Promise<void> {
    if (this.closed || this.ctx.options.readOnly) return;
    const seg = this.active;
    if (!this.tickScheduled && seg.endPosition() === this.checkpointed.position && seg.baseOffset === this.checkpointed.base) return;
    await this.flush();
  }

  /** Records the synced point as the recovery point (cheap, not durable by itself: see MetaStore.putState). */
  private recordRecoveryPoint(): void {
    if (this.closed) return;
    const rp = this.synced;
    if (rp.base === this.checkpointed.base && rp.position === this.checkpointed.position) return;
    this.checkpointed = rp;
    if (this.dirtyMarked) this.ctx.meta.putState(this.name, this.stateFor(false, rp));
  }

  /** fsyncs all written data and index entries (flush(), checkpoints, close). */
  syncAll(): Promise<void> {
    const run = this.syncAllNow();
    this.syncing.add(run);
    const forget = (): void => { this.syncing.delete(run); };
    run.then(forget, forget);
    return run;
  }

  private async syncAllNow(): Promise<void> {
    while (this.fsyncRunning !== undefined) await this.fsyncRunning.catch(() => undefined);
    if (this.closed) return;
    if (this.rollSyncs.length > 0) await Promise.all(this.rollSyncs.map((p) => p.catch(() => undefined)));
    const seg = this.active;
    seg.persistIndexes();
    this.dirtySegments.add(seg);
    await this.fsyncDirty();
    if (this.closed) return;
    try {
      await seg.fsyncIndexes();
    } catch (err) {
      const error = ioError('fsync', seg.indexPath, err);
      if (!this.closed) this.ctx.fail(error);
      throw error;
    }
  }

  /** Makes everything appended so far durable (log.flush()). */
  async flush(): Promise<void> {
    if (this.closed || this.ctx.options.readOnly) return;
    if (this.tickScheduled) this.flushTick();
    this.writePending();
    await this.syncAll();
    if (this.closed) return; // deleted meanwhile: no state may be written for it any more
    this.recordRecoveryPoint();
  }

  /** Clean close: everything durable, then the clean marker with the exact size of the active segment. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.ctx.options.readOnly) {
      try {
        await this.flush();
        if (this.dirtyMarked) {
          const end: RecoveryPoint = { base: this.active.baseOffset, position: this.active.logBytes, offset: this._endOffset, maxTimestampMs: this.maxTimestampMs };
          this.ctx.meta.putStateSync(this.name, this.stateFor(true, end));
        }
      } finally {
        this.release(new SeglogError('ERR_CLOSED', `topic ${this.name} was closed before the append completed`));
      }
    } else {
      this.release(new SeglogError('ERR_CLOSED', `topic ${this.name} is closed`));
    }
  }

  /** Drops every resource; pending appends reject with `err`. */
  release(err: SeglogError): void {
    this.closed = true;
    for (const w of this.tickWaiters) w.reject(err);
    for (const w of this.syncWaiters) w.reject(err);
    this.tickWaiters = [];
    this.syncWaiters = [];
    for (const seg of this.segments) seg.release();
    this.ctx.readCache.forgetTopic(this);
  }

  /**
   * Stops the topic (deleteTopic, close after a failure): pending appends reject with `err` at once,
   * and descriptors are closed only after the fsyncs still running on them have finished.
   */
  async shutdown(err: SeglogError): Promise<void> {
    this.closed = true;
    for (const w of this.tickWaiters) w.reject(err);
    this.tickWaiters = [];
    const inFlight: Array<Promise<unknown>> = [...this.rollSyncs, ...this.syncing];
    if (this.fsyncRunning !== undefined) inFlight.push(this.fsyncRunning);
    await Promise.allSettled(inFlight);
    this.release(err);
  }

  /** Applies options given to a later log.topic(name, options) call. */
  reconfigure(options: ResolvedTopicOptions<V>): void {
    this.options = options;
  }

  /** Loads (or rebuilds) the indexes of a closed segment on first use. */
  indexesOf(seg: Segment): Segment {
    if (!seg.hasIndexes()) loadIndexes(this, seg);
    return seg;
  }

  // ---------------------------------------------------------------- reads

  read(options?: ReadOptions): Iterable<LogRecord<V>> {
    this.checkOpen();
    return this.reader.read(options);
  }

  get(offset: number): LogRecord<V> | undefined {
    this.checkOpen();
    return this.reader.get(offset);
  }

  offsetForTime(time: Date | number): number {
    this.checkOpen();
    return this.reader.offsetForTime(time);
  }

  /** Index of the segment holding `offset` (the last one whose base is <= offset). */
  segmentIndexFor(offset: number): number {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (segs[mid]!.baseOffset <= offset) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  stats(): TopicStats {
    let bytes = 0;
    for (const s of this.segments) bytes += s.endPosition();
    return {
      segments: this.segments.length,
      bytes,
      startOffset: this._startOffset,
      endOffset: this._endOffset,
      records: this._endOffset - this._startOffset,
      groups: {},
    };
  }

  // ------------------------------------------- later issues: retention, compaction, subscriptions

  latest(key: string | Uint8Array): LogRecord<V> | undefined {
    this.checkOpen();
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) throw invalidArgument('key', key, 'a string or Uint8Array');
    if (this.options.cleanup === 'delete') {
      throw new SeglogError('ERR_INVALID_ARGUMENT', `latest() needs a compacted topic: ${this.name} has cleanup '${this.options.cleanup}'`, { value: this.name });
    }
    throw notYet('latest() (the key index of compacted topics)');
  }

  subscribe(_options?: SubscribeOptions): Subscription<V> {
    this.checkOpen();
    throw notYet('subscribe()');
  }

  async truncateBefore(_offset: number): Promise<void> {
    this.checkOpen();
    throw notYet('truncateBefore()');
  }

  async enforceRetention(_now?: number): Promise<{ segmentsDeleted: number; bytesFreed: number }> {
    this.checkOpen();
    throw notYet('enforceRetention()');
  }

  async compact(): Promise<{ recordsBefore: number; recordsAfter: number; bytesFreed: number }> {
    this.checkOpen();
    throw notYet('compact()');
  }
}

/** fsync of a directory on the thread pool (makes a file creation durable). */
async function fsyncDirAsync(io: FileIO, dir: string): Promise<void> {
  let fd: number;
  try {
    fd = io.open(dir, 'r');
  } catch {
    return; // platforms that cannot open a directory (Windows): the creation is durable there
  }
  try {
    await io.fsync(fd);
  } finally {
    io.close(fd);
  }
}

function notYet(what: string): SeglogError {
  return new SeglogError('ERR_NOT_SUPPORTED', `${what} is not implemented in this version of seglog yet`);
}

export type { TopicOptions };
