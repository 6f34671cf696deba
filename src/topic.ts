// TopicImpl: one topic as the application sees it (the Topic interface of SPEC.md): argument
// checks and codecs in front of the append path (TopicWriter, topic-writer.ts), group commit and
// recovery points (TopicDurability, topic-durability.ts), the read path (Reader, reader.ts), and the
// topic's lifecycle (close, delete).
//
// Crash: nothing here is on disk; see topic-writer.ts and topic-durability.ts.
import { SeglogError, describe, invalidArgument, ioError } from './errors.js';
import type { AppendMeta, SubscribeOptions, Subscription, Topic, TopicStats } from './topic-api.js';
import type { Codec } from './codecs.js';
import { freshRecordBytes, headersBytes, recordFieldsBytes } from './format.js';
import type { FileIO } from './io/file-io.js';
import type { ResolvedTopicOptions, TopicOptions } from './options.js';
import { Segment } from './segment.js';
import type { LogRecord } from './record.js';
import { Reader, type ReadOptions } from './reader.js';
import { loadIndexes } from './recovery.js';
import { TopicDurability } from './topic-durability.js';
import type { LogContext, Mark, RecoveryPoint } from './topic-writer.js';


export type { LogContext } from './topic-writer.js';

export class TopicImpl<V = Buffer> extends TopicDurability<V> implements Topic<V> {
  readonly reader: Reader<V>;

  constructor(ctx: LogContext, name: string, dir: string, options: ResolvedTopicOptions<V>, segments: Segment[],
    startOffset: number, endOffset: number, maxTimestampMs: number, recovered: RecoveryPoint) {
    super(ctx, name, dir, options, segments, startOffset, endOffset, maxTimestampMs, recovered);
    this.reader = new Reader<V>(this, ctx.readCache);
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
    let mark: Mark | undefined;
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
        mark = this.mark();
        try {
          for (let i = 0; i < records.length; i++) {
            const r = records[i]!;
            this.appendEncoded(values[i]!, r.key, r.headers, r.timestamp ?? now);
          }
        } catch (err) {
          this.rollbackTo(mark!, err instanceof SeglogError ? err : ioError('append', this.dir, err));
          throw err;
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.ctx.options.durability === 'none') return Promise.resolve(first);
    return new Promise<number>((resolve, reject) => {
      this.tickWaiters.push({ resolve, reject, offset: first, last: this._endOffset - 1, mark });
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
    const bytes = freshRecordBytes(recordFieldsBytes(keyLen, valueLen, hBytes));
    if (bytes > this.options.maxRecordBytes) throw this.recordTooLarge(bytes);
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

function notYet(what: string): SeglogError {
  return new SeglogError('ERR_NOT_SUPPORTED', `${what} is not implemented in this version of seglog yet`);
}

export type { TopicOptions };
