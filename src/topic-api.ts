// The public face of a topic: the Topic interface of SPEC.md and the types it uses. TopicImpl
// (topic.ts) implements it.
import type { AppendMeta, LogRecord } from './format/record.js';
import type { ReadOptions } from './log/reader.js';
import type { AppendBatchOptions, SubscribeOptions, Subscription } from './consumers/subscription-api.js';
import type { MaintenanceOptions } from './cleaner/maintenance.js';
import type { TopicWritableOptions } from './topic-writable.js';
import type { Writable } from 'node:stream';

export type { AppendMeta } from './format/record.js';
export type { AppendBatchOptions, DeadLetterTopic, SubscribeOptions, Subscription } from './consumers/subscription-api.js';

/**
 * One append-only log, split into segments. `V` is the value type of the topic's codec.
 *
 * ```ts
 * const events = log.topic('events', { codec: 'json' });
 * const offset = await events.append({ type: 'signup' }, { key: 'ada' });
 * for (const r of events.read({ from: 0 })) console.log(r.offset, r.value);
 * ```
 */
export interface Topic<V = Buffer> {
  /** The topic's name. */
  readonly name: string;
  /** First offset still readable (raised by retention and `truncateBefore`). */
  readonly startOffset: number;
  /** The offset the next append gets. */
  readonly endOffset: number;
  /**
   * Appends one record; resolves with its offset once it is as durable as the log's `durability` says
   * (`'fsync'`: fsynced, shared by all appends of the tick). `null` is a tombstone (compacted topics).
   */
  append(value: V | null, meta?: AppendMeta): Promise<number>;
  /**
   * Appends records all or nothing; resolves with the first offset (the rest follow densely). With
   * `{ commit: sub }` the records and the subscription's group commit are one atomic step
   * (exactly-once; docs/subscriptions.md, "Exactly once").
   */
  appendBatch(records: Array<{ value: V | null } & AppendMeta>, options?: AppendBatchOptions): Promise<number>;
  /**
   * Appends one record and returns its offset at once; it is readable immediately and written at the
   * end of the tick. A failure is reported by the next append call and the log's `'error'` event.
   */
  appendSync(value: V | null, meta?: AppendMeta): number;
  /**
   * Reads records from an offset or a `Date` (default `startOffset`) up to `to` (exclusive; an
   * offset or a `Date`; default `endOffset`) as zero-copy views; with `reverse: true` from the end
   * down (the last 50: `{ reverse: true, maxRecords: 50 }`). Throws `ERR_OFFSET_OUT_OF_RANGE` for a
   * `from` below `startOffset`; yields nothing past `endOffset` or when `to <= from`.
   */
  read(options?: ReadOptions): Iterable<LogRecord<V>>;
  /** The record at `offset`, or `undefined` at or past `endOffset`. */
  get(offset: number): LogRecord<V> | undefined;
  /** First offset whose running-maximum timestamp is `>= time`, else `endOffset` (as Kafka does). */
  offsetForTime(time: Date | number): number;
  /** Compacted topics only: the newest record for `key` (`undefined` if none, or a tombstone's record). */
  latest(key: string | Uint8Array): LogRecord<V> | undefined;
  /**
   * A Node `Writable` (object mode) that appends each chunk: a value, or `{ value, key?, headers?,
   * timestamp? }`. A write's callback runs once its append resolved (the log's durability), so
   * `await pipeline(source, topic.writable())` resolves once everything is acknowledged, and at most
   * `highWaterMark` records (default 1024) wait before `write()` returns false. A refused chunk
   * fails the stream with its SeglogError. `ERR_READ_ONLY` on a read-only log.
   */
  writable(options?: TopicWritableOptions): Writable;
  /** Follows the topic from a position (or a group's committed position); see {@link Subscription}. */
  subscribe(options?: SubscribeOptions): Subscription<V>;
  /** The topic's consumer groups: each one's position (where it resumes), lag and open members, by name. */
  groups(): Array<{ group: string; position: number; lag: number; members: number }>;
  /**
   * Sets a group's committed position explicitly, backwards too (the deliberate rewind); durable
   * when it resolves. `ERR_INVALID_ARGUMENT` while the group has open members.
   */
  resetGroup(group: string, to: number | Date | 'earliest' | 'latest'): Promise<void>;
  /** Forgets a group's committed position; `ERR_INVALID_ARGUMENT` while the group has open members. */
  deleteGroup(group: string): Promise<void>;
  /** Explicit retention (Kafka `deleteRecords`): makes `offset` the first readable one, durably. */
  truncateBefore(offset: number): Promise<void>;
  /**
   * Deletes whole closed segments past `retention.maxAgeMs`/`maxBytes` now (`now` in ms since the
   * epoch, alone or as `{ now?, signal? }`). Aborted by `signal` before its removal starts: rejects
   * with `ERR_ABORTED`, nothing removed.
   */
  enforceRetention(now?: number | MaintenanceOptions): Promise<{ segmentsDeleted: number; bytesFreed: number }>;
  /**
   * Compacts everything appended before the call (compacted topics; the active segment is rolled
   * first). `now` (ms since the epoch, default Date.now(); alone or as `{ now?, signal? }`) decides
   * which tombstones have expired. Aborted by `signal` (checked after every batch): rejects with
   * `ERR_ABORTED` and the old segments stand unchanged.
   */
  compact(now?: number | MaintenanceOptions): Promise<{ recordsBefore: number; recordsAfter: number; bytesFreed: number }>;
}

/** Per-topic numbers of `log.stats()`. */
export interface TopicStats {
  /** Segment files (`.log`) of the topic. */
  segments: number;
  /** Bytes of all its `.log` files (including what is buffered for the next write). */
  bytes: number;
  startOffset: number;
  endOffset: number;
  /** `endOffset - startOffset` (compaction may have removed some of them). */
  records: number;
  /** Each consumer group's committed position and lag. */
  groups: Record<string, { position: number; lag: number }>;
  /** Base offset of the segment appends go to. */
  activeSegmentBase: number;
  /** Largest timestamp appended so far (running maximum, ms since the epoch), -1 when empty. */
  maxTimestampMs: number;
  /** The codec's name ('binary', 'string', 'json', 'msgpack'), or 'custom' for a user codec. */
  codec: string;
  cleanup: 'delete' | 'compact' | 'compact,delete';
}

