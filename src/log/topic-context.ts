// What a topic's writer is given by the log that owns it (LogContext) and by the topic's
// durability part (WriterSync), and the bookkeeping of appends in flight (Waiter, Mark). Types only.
import type { SeglogError } from '../base/errors.js';
import type { CommitBlock } from '../format/commit-block.js';
import type { ResolvedLogOptions } from '../format/options.js';
import type { FileIO } from '../io/file-io.js';
import type { SpaceReserve } from '../io/space-reserve.js';
import type { FdPool } from '../segment/fd-pool.js';
import type { ReadCache } from '../segment/read-cache.js';
import type { Segment } from '../segment/segment.js';
import type { MetaStore, TopicState } from '../store/meta-store.js';
import type { RiddenCommits } from './ridden.js';

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
  /** The emergency space reserve (space-reserve.ts); undefined when read-only. */
  readonly reserve: SpaceReserve | undefined;
  /** An append carried a commit block (exactly-once): group resets and deletions settle the log first. */
  noteRidden(): void;
  /** Once commits rode in batches: flushes every topic (their ridden commits stored) and the store. */
  settleRidden(): Promise<void>;
  /** Recovery of `source` found commit blocks past its recovery point: stores them durably (forward only). */
  /** Stores commits that rode in `source`'s batches; true when one is only pending in the store (no room on the disk). */
  reapplyCommits(source: string, commits: CommitBlock[]): boolean;
  /** Metadata a topic's first write depends on (its "not clean" marker, a new topic's options) was put but is not durable yet. */
  readonly markersUncommitted: boolean;
  /** A topic put such metadata (MetaStore.putState, putTopicOptions with `soon`). */
  markerPut(): void;
  /** Makes it durable, in one write for every topic that put some since the last commit. Throws ERR_IO. */
  commitMarkers(): void;
  /** The topic closed cleanly (closeTopic): the log stores `state` with every other topic's in one durable write at its close. */
  closedClean(topic: string, state: TopicState): void;
}

export interface Waiter {
  resolve: (offset: number) => void;
  reject: (err: unknown) => void;
  /** What the promise resolves with (the first offset of a batch). */
  offset: number;
  /** The last offset it covers: it is settled once everything up to here was written. */
  last: number;
  /**
   * Where a multi-record append began. A write failure after part of it was handed to the OS (the
   * part before a roll or a chunk switch) cuts back to here, so none of it shows up later.
   */
  mark?: Mark;
}

/** Where a multi-record append began (TopicWriter.mark, write-failure.ts). */
export interface Mark {
  seg: Segment;
  segments: number;
  position: number;
  endOffset: number;
  maxTimestampMs: number;
}

/**
 * What the writer (topic-writer.ts) needs of the topic's durability part (topic-durability.ts,
 * which implements it): the writer hands bytes to the OS, the durability part makes them durable.
 * The writer never reads the group commit's state beyond this.
 */
export interface WriterSync {
  /** The offset the last completed fsync covered (a new batch's header claims it: format v2 durableDelta). */
  readonly durableOffset: number;
  /** The stored state says "not clean" for this session (markDirty ran, or recovery wrote it). */
  readonly dirtyMarked: boolean;
  /**
   * Records "not clean" in the store at the first change of this session; it is made durable
   * (LogContext.commitMarkers) before the first byte of the session reaches the OS.
   */
  markDirty(): void;
  /** Appends written to the OS that wait for the next group commit ('fsync'). */
  syncWaiters: Waiter[];
  /** Segments written since the last fsync. */
  readonly dirtySegments: Set<Segment>;
  /** Starts the group commit (one fsync for everything written since the last one started). */
  startFsync(): void;
  /** `old` was rolled and `seg` is the new active segment: make `old` durable, then move the recovery point. */
  rolled(old: Segment, seg: Segment): void;
  /** Commits riding in this topic's batches (exactly-once, ridden.ts); made on first use. */
  ridden: RiddenCommits | undefined;
}
