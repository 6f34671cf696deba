// The public face of a topic: the Topic interface of SPEC.md and the types it uses. TopicImpl
// (topic.ts) implements it.
import type { LogRecord } from './record.js';
import type { ReadOptions } from './reader.js';

export interface AppendMeta {
  key?: string | Uint8Array;
  headers?: Record<string, string | Uint8Array>;
  timestamp?: number;
}

export interface SubscribeOptions {
  from?: number | Date | 'earliest' | 'latest';
  group?: string;
  autoCommit?: boolean;
  signal?: AbortSignal;
  /** Bound on the records one batches() step hands out (default 1024); nothing else is read ahead. */
  maxBuffered?: number;
  /**
   * Called when the subscription's position was removed by retention (or was below startOffset
   * at subscribe): it continues at `to` (the topic's startOffset); offsets `from` to `to - 1` are gone.
   */
  onGap?: (gap: { from: number; to: number }) => void;
}

export interface Subscription<V> extends AsyncIterable<LogRecord<V>> {
  readonly position: number;
  readonly lag: number;
  commit(offset?: number): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** The subscription is its own async iterator: the next record (waits at the tail). */
  next(): Promise<IteratorResult<LogRecord<V>>>;
  /** What `break` in for await calls: close(). */
  return(): Promise<IteratorResult<LogRecord<V>>>;
  /** Arrays of the records readable now (1 to maxBuffered per step), for throughput. */
  batches(): AsyncIterableIterator<LogRecord<V>[]>;
}

export interface Topic<V = Buffer> {
  readonly name: string;
  readonly startOffset: number;
  readonly endOffset: number;
  append(value: V | null, meta?: AppendMeta): Promise<number>;
  appendBatch(records: Array<{ value: V | null } & AppendMeta>): Promise<number>;
  appendSync(value: V | null, meta?: AppendMeta): number;
  read(options?: ReadOptions): Iterable<LogRecord<V>>;
  get(offset: number): LogRecord<V> | undefined;
  offsetForTime(time: Date | number): number;
  latest(key: string | Uint8Array): LogRecord<V> | undefined;
  subscribe(options?: SubscribeOptions): Subscription<V>;
  truncateBefore(offset: number): Promise<void>;
  enforceRetention(now?: number): Promise<{ segmentsDeleted: number; bytesFreed: number }>;
  /**
   * Compacts everything appended before the call (compacted topics; the active segment is rolled
   * first). `now` (ms since the epoch, default Date.now()) decides which tombstones have expired.
   */
  compact(now?: number): Promise<{ recordsBefore: number; recordsAfter: number; bytesFreed: number }>;
}

export interface TopicStats {
  segments: number;
  bytes: number;
  startOffset: number;
  endOffset: number;
  records: number;
  groups: Record<string, { position: number; lag: number }>;
}

