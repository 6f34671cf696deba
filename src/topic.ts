// TopicImpl: one topic as the application sees it (the Topic interface of SPEC.md). A facade
// composed of parts that each own their state and invariants: the writer (log/topic-writer.ts:
// segment list, offsets, the append path), the durability part (log/topic-durability.ts: group
// commit, recovery points, riding commits), the reader (log/reader.ts: get, read) and the
// maintenance (cleaner/maintenance.ts: retention, compaction). The facade checks arguments,
// encodes values with the codec, and hands each call to the part that owns it; the accessors below
// are views of the parts' state for the narrow interfaces the layers below take (log/topic-log.ts
// and the others named in docs/architecture.md), never a second copy. Parts off the hot path are
// functions that take the topic: close/release/shutdown (topic-lifecycle.ts), stats
// (topic-stats.ts), refresh (log/refresh.ts), the segment list (log/segment-splice.ts), latest()
// and the key index (cleaner/key-lookup.ts), the exactly-once append (consumers/exactly-once.ts).
//
// Crash: nothing here is on disk; see topic-writer.ts and topic-durability.ts.
import { SeglogError } from './base/errors.js';
import type { AppendMeta, SubscribeOptions, Subscription, Topic, TopicStats } from './topic-api.js';
import type { Codec } from './format/codecs.js';
import { checkMeta, encodeRecords, encodeValue } from './format/append-input.js';
import type { FileIO } from './io/file-io.js';
import type { ResolvedTopicOptions, TopicOptions } from './format/options.js';
import { Segment } from './segment/segment.js';
import type { LogRecord } from './format/record.js';
import { Reader, type ReadOptions } from './log/reader.js';
import { loadIndexes } from './log/indexes.js';
import type { KeyIndex } from './cleaner/key-index.js';
import { latest, setupKeyIndex } from './cleaner/key-lookup.js';
import { TopicDurability } from './log/topic-durability.js';
import { TopicWriter } from './log/topic-writer.js';
import { appendSpans } from './log/append-spans.js';
import { appendRecords } from './log/append-records.js';
import type { RecordSpans } from './format/record-spans.js';
import { refreshTopic } from './log/refresh.js';
import { raiseStartOffset, recordPendingStartOffset, spliceSegments } from './log/segment-splice.js';
import { ConsumerGroups } from './consumers/consumer-groups.js';
import { SubscriptionImpl } from './consumers/subscription.js';
import { deleteGroup, listGroups, resetGroup, type GroupInfo } from './consumers/group-admin.js';
import type { CompactionResult } from './cleaner/compaction.js';
import { Maintenance, type MaintenanceOptions } from './cleaner/maintenance.js';
import type { MetaStore } from './store/meta-store.js';
import type { RetentionResult } from './cleaner/retention.js';
import type { LogContext } from './log/topic-context.js';
import type { RecoveryPoint } from './log/topic-log.js';
import type { Tail } from './log/tail.js';
import type { PendingCut } from './log/recovery-cut.js';
import { closeTopic, releaseTopic, shutdownTopic } from './topic-lifecycle.js';
import { topicStats } from './topic-stats.js';
import { topicWritable, type TopicWritableOptions } from './topic-writable.js';
import type { Writable } from 'node:stream';
import { settledNone } from './log/turns.js';
import { appendCommitting, type AppendBatchOptions } from './consumers/exactly-once.js';

export type { LogContext } from './log/topic-context.js';

export class TopicImpl<V = Buffer> implements Topic<V> {
  readonly name: string;
  readonly dir: string;
  readonly ctx: LogContext;
  /** The append path: segment list, offsets, chunks, the end-of-tick write. */
  readonly writer: TopicWriter<V>;
  /** Group commit, recovery points, commits riding in batches. */
  readonly durability: TopicDurability;
  readonly reader: Reader<V>;
  /** Retention and compaction of this topic, one step at a time (cleaner/maintenance.ts). */
  readonly maintenance: Maintenance;
  /** Committed positions of the topic's consumer groups (loaded on first use). */
  groupsLoaded: ConsumerGroups | undefined = undefined;
  private readonly groupsBound = (): ConsumerGroups => this.groupStates;
  /** Segments removed while iterators were still in them (their descriptors close when they leave). */
  readonly retiredSegments = new Set<Segment>();
  /** The key index of a compacted topic (the writer feeds it as its KeySink). */
  private keys: KeyIndex | undefined = undefined;
  /** Bytes recovery cut but found no room to keep (log/recovery-cut.ts): kept before anything is appended. */
  cutPending: PendingCut | undefined = undefined;

  constructor(ctx: LogContext, name: string, dir: string, options: ResolvedTopicOptions<V>, segments: Segment[],
    startOffset: number, endOffset: number, maxTimestampMs: number, recovered: RecoveryPoint) {
    this.ctx = ctx;
    this.name = name;
    this.dir = dir;
    this.writer = new TopicWriter<V>(ctx, name, dir, options, segments, startOffset, endOffset, maxTimestampMs);
    this.durability = new TopicDurability(this.writer, recovered);
    this.maintenance = new Maintenance(this);
    // a segment rolled: retention (and compaction) may have work now
    this.writer.attach(this.durability, () => this.maintenance.schedule());
    this.reader = new Reader<V>(this, ctx.readCache);
  }

  /**
   * Called by recovery once the topic's end is the one it kept (not in the constructor: a
   * recovering topic is made at its recovery point first). A writable log's groups are loaded with
   * that end: positions past it were committed for records a crash or a failed fsync took back,
   * whose offsets go to new records (consumer-groups.ts). Read-only logs load them when asked (the
   * writer may be further on).
   */
  loadGroups(): void {
    if (!this.ctx.options.readOnly && this.groupsLoaded === undefined) this.groupsLoaded = new ConsumerGroups(this.ctx.meta, this.name, this.endOffset);
  }

  // ------------------------------------------------ views of the parts' state (narrow interfaces)

  get options(): ResolvedTopicOptions<V> { return this.writer.options; }
  get segments(): Segment[] { return this.writer.segments; }
  get active(): Segment { return this.writer.active; }
  get startOffset(): number { return this.writer._startOffset; }
  get endOffset(): number { return this.writer._endOffset; }
  get maxTimestampMs(): number { return this.writer.maxTimestampMs; }
  set maxTimestampMs(ms: number) { this.writer.maxTimestampMs = ms; }
  /** End offset of what was handed to the OS: what subscriptions may deliver. */
  get writtenEnd(): number { return this.writer.committedEnd; }
  get closed(): boolean { return this.writer.closed; }
  set closed(closed: boolean) { this.writer.closed = closed; }
  get readOnly(): boolean { return this.ctx.options.readOnly; }
  get tail(): Tail { return this.writer.tail; }
  get keyIndex(): KeyIndex | undefined { return this.keys; }
  set keyIndex(ki: KeyIndex | undefined) { this.keys = ki; this.writer.keyIndex = ki; }

  /** Makes the records of the open batch readable (the reader calls it before it looks at memory). */
  publishOpenBatch(): void { this.writer.publishOpenBatch(); }
  indexBatch(seg: Segment, baseOffset: number, position: number, maxTimestampBefore: number): void {
    this.writer.indexBatch(seg, baseOffset, position, maxTimestampBefore);
  }
  /** A subscription waits for records not handed to the OS yet (under 'none'): write them this tick. */
  writeSoon(): void { this.writer.writeSoon(); }

  get groupStates(): ConsumerGroups {
    return this.groupsLoaded ??= new ConsumerGroups(this.ctx.meta, this.name);
  }

  /** The topic's consumer groups (group-admin.ts). */
  groups(): GroupInfo[] {
    return listGroups(this);
  }

  resetGroup(group: string, to: number | Date | 'earliest' | 'latest'): Promise<void> {
    return resetGroup(this, group, to);
  }

  deleteGroup(group: string): Promise<void> {
    return deleteGroup(this, group);
  }

  get codec(): Codec<V> { return this.options.codec; }
  get io(): FileIO { return this.ctx.io; }
  get meta(): MetaStore { return this.ctx.meta; }
  get failed(): boolean { return this.ctx.failure !== undefined; }

  checkOpen(): void {
    this.ctx.checkOpen();
    if (this.closed) throw new SeglogError('ERR_CLOSED', `topic ${this.name} is closed (deleted)`);
  }

  // ---------------------------------------------------------------- append

  appendSync(value: V | null, meta?: AppendMeta): number {
    this.checkAppendable();
    const w = this.writer;
    if (w.tickWaiters.length > 0) w.writeBeforeSwitch(); // (see writeFailed)
    const offset = this.encodeAppend(value, meta);
    w.keptEnd = offset + 1;
    return offset;
  }

  append(value: V | null, meta?: AppendMeta): Promise<number> {
    try {
      return this.appendOrThrow(value, meta);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** append() that throws a refusal (bad value, closed, failed) instead of rejecting (topic-writable.ts). */
  appendOrThrow(value: V | null, meta?: AppendMeta): Promise<number> {
    const w = this.writer;
    this.checkAppendable();
    if (w.keptEnd > w.committedEnd && this.ctx.options.durability !== 'none') w.writeBeforeSwitch();
    const offset = this.encodeAppend(value, meta);
    if (this.ctx.options.durability === 'none') return settledNone(offset);
    return new Promise<number>((resolve, reject) => {
      w.tickWaiters.push({ resolve, reject, offset, last: offset });
    });
  }

  appendBatch(records: Array<{ value: V | null } & AppendMeta>, options?: AppendBatchOptions): Promise<number> {
    if (options !== undefined) return appendCommitting(this, records, options);
    return this.appendRecords(records, this.options.codec);
  }

  /**
   * appendBatch of records given as byte ranges, the codec not applied (the Kafka server: a
   * producer's bytes as sent, with no record object or view per record; log/append-spans.ts).
   */
  appendSpans(spans: RecordSpans): Promise<number> {
    try { this.checkAppendable(); } catch (err) { return Promise.reject(err); }
    return appendSpans(this.writer, spans, this.ctx.options.durability === 'none');
  }

  private appendRecords<W>(records: Array<{ value: W | null } & AppendMeta>, codec: Codec<W>): Promise<number> {
    try { this.checkAppendable(); } catch (err) { return Promise.reject(err); }
    return appendRecords(this.writer, records, codec, this.ctx.options.durability === 'none');
  }

  settleRidden(): Promise<void> { return this.ctx.settleRidden(); }

  /** Whether `other` is a topic of the same log. */
  sameLog(other: unknown): boolean {
    return other instanceof TopicImpl && other.ctx === this.ctx;
  }

  /** Encodes and checks every record first: a codec that throws half-way must leave nothing appended. */
  encodeRecords(records: Array<{ value: V | null } & AppendMeta>): Array<Uint8Array | null> {
    return encodeRecords(this.options.codec, this.name, this.options.maxRecordBytes, records);
  }

  checkWritable(): void {
    this.ctx.checkWritable();
    if (this.closed) throw new SeglogError('ERR_CLOSED', `topic ${this.name} is closed (deleted)`);
    this.writer.throwPendingError();
  }

  /** checkWritable, and while the disk is full (the space reserve is out) ERR_NO_SPACE: maintenance is not refused. */
  checkAppendable(): void {
    this.checkWritable();
    if (this.writer.writeBlocked !== undefined) this.writer.retryWrite(); // records whose offsets were handed out come first
    if (this.cutPending !== undefined) this.keepCutBytes();
    const reserve = this.ctx.reserve;
    if (reserve !== undefined && reserve.released) reserve.checkSpace();
  }

  /** Finishes a cut recovery could not (ERR_NO_SPACE while the disk has no room for its bytes). */
  keepCutBytes(): void { this.cutPending?.finish(); this.cutPending = undefined; }

  private encodeAppend(value: V | null, meta: AppendMeta | undefined): number {
    const bytes = encodeValue(this.options.codec, this.name, value);
    checkMeta(meta);
    return meta === undefined ? this.writer.appendEncoded(bytes, undefined, undefined, Date.now()) : this.writer.appendEncoded(bytes, meta.key, meta.headers, meta.timestamp ?? Date.now());
  }

  // ---------------------------------------------------------------- durability (log/topic-durability.ts)

  /** Makes everything appended so far durable (log.flush()). */
  flush(): Promise<void> {
    return this.durability.flush();
  }

  /** Clean close: everything durable, then the clean marker (topic-lifecycle.ts). */
  close(): Promise<void> {
    return closeTopic(this);
  }

  /** Drops every resource; pending appends reject with `err`. */
  release(err: SeglogError): void {
    releaseTopic(this, err);
  }

  /** Stops the topic (deleteTopic, close after a failure): pending appends reject with `err` at once. */
  shutdown(err: SeglogError): Promise<void> {
    return shutdownTopic(this, err);
  }

  // ---------------------------------------------------------------- maintenance (cleaner/maintenance.ts)

  trackBackground(work: Promise<void>): void { this.maintenance.trackBackground(work); }
  autoMaintain(now: number): void { this.maintenance.auto(now); }

  /** Raises the start offset and makes it durable before returning (log/segment-splice.ts). */
  raiseStartOffset(offset: number): void {
    raiseStartOffset(this, offset);
  }

  recordPendingStartOffset(): void {
    recordPendingStartOffset(this);
  }

  /** Replaces `count` segments from index `from` by `replacement`; returns the old ones, detached (log/segment-splice.ts). */
  spliceSegments(from: number, count: number, replacement: Segment[]): Segment[] {
    return spliceSegments(this, from, count, replacement);
  }

  /** Applies options given to a later log.topic(name, options) call. */
  reconfigure(options: ResolvedTopicOptions<V>): void {
    this.writer.options = options;
    this.setupKeyIndex();
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

  /** Read-only topics: picks up what the writer process appended since the open (log/refresh.ts). */
  refresh(): number {
    // The key index of a compacted topic follows too: its store before the segments (so it
    // never runs ahead of them), the records its store has not indexed after (cleaner/key-index.ts).
    this.keys?.beforeRefresh();
    const added = refreshTopic(this);
    this.keys?.afterRefresh(this);
    // the groups' positions too: the writer's commits, resets and deletions (consumer-groups.ts)
    if (this.readOnly) this.groupsLoaded?.reloadIdle();
    return added;
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
    return topicStats(this);
  }

  // ---------------------------------------------------------------- keys, subscriptions, maintenance

  latest(key: string | Uint8Array): LogRecord<V> | undefined {
    return latest(this, key);
  }

  /** Creates (and catches up) the key index when the topic is compacted; drops it otherwise. */
  setupKeyIndex(): void {
    setupKeyIndex(this);
  }

  writable(options?: TopicWritableOptions): Writable {
    return topicWritable(this, options);
  }

  subscribe(options?: SubscribeOptions): Subscription<V> {
    this.checkOpen();
    return new SubscriptionImpl<V>(this, options, this.groupsBound);
  }

  truncateBefore(offset: number): Promise<void> {
    return this.maintenance.truncateBefore(offset);
  }

  enforceRetention(options?: number | MaintenanceOptions): Promise<RetentionResult> {
    return this.maintenance.enforceRetention(options);
  }

  compact(options?: number | MaintenanceOptions): Promise<CompactionResult> {
    return this.maintenance.compact(options);
  }

  /** Between compaction slices: stop when the topic is closing or its segments changed under the pass. */
  checkStillCompacting(group: Segment[]): void {
    if (this.closed || this.maintenance.stopping) throw new SeglogError('ERR_CLOSED', `topic ${this.name} was closed during compaction`);
    for (let i = 0; i < group.length; i++) {
      if (this.segments[i] !== group[i]) throw new SeglogError('ERR_IO', `the segments of topic ${this.name} changed during compaction`);
    }
  }

  reportError(err: SeglogError): void {
    this.ctx.emitError(err);
  }

  /** After a swap that could not finish: the log refuses writes until it is reopened (open finishes the swap). */
  failLog(err: SeglogError): void {
    this.ctx.fail(err);
  }
}

export type { TopicOptions };
