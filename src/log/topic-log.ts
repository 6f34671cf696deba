// What the layers above the writer need of one topic's log, as narrow interfaces: the read path,
// recovery, refresh, the cleaner and the consumers take these, never the topic facade (src/topic.ts
// implements them all). Types only. docs/architecture.md shows who uses which.
import type { Codec } from '../format/codecs.js';
import type { ResolvedTopicOptions } from '../format/options.js';
import type { FileIO } from '../io/file-io.js';
import type { Segment } from '../segment/segment.js';
import type { MetaStore } from '../store/meta-store.js';

/** A point in the log: data before it is durable (the recovery point) or handed to the OS. */
export interface RecoveryPoint {
  /** Base offset of the segment it is in. */
  base: number;
  /** Byte position in that segment's `.log`. */
  position: number;
  /** The offset there (the next record's). */
  offset: number;
  /** Largest timestamp before it. */
  maxTimestampMs: number;
}

/** What the writer tells the key index of a compacted topic (cleaner/key-index.ts). */
export interface KeySink {
  /** A record with `key` was appended at `offset`. */
  note(key: Uint8Array, offset: number): void;
  /** Offsets from `end` on were taken back (a failed write). */
  forgetFrom(end: number): void;
  /** Everything below `upTo` is written: the index may store it. */
  persist(upTo: number): void;
}

/** A topic's segment list and offsets: what a read cursor walks (reader.ts). */
export interface SegmentLog<V = unknown> {
  readonly name: string;
  readonly dir: string;
  readonly io: FileIO;
  readonly options: ResolvedTopicOptions<V>;
  readonly codec: Codec<V>;
  /** Oldest first; the last one is `active`. */
  readonly segments: Segment[];
  readonly active: Segment;
  readonly readOnly: boolean;
  readonly closed: boolean;
  readonly startOffset: number;
  readonly endOffset: number;
  /** Index in `segments` of the segment holding `offset`. */
  segmentIndexFor(offset: number): number;
  /** `seg`, its indexes loaded (or rebuilt) first. */
  indexesOf(seg: Segment): Segment;
  /** Makes the records of the open batch readable (seals it). */
  publishOpenBatch(): void;
  /** Throws ERR_CLOSED once the topic (or its log) is closed. */
  checkOpen(): void;
  /** Records a batch of `seg` in its indexes (the topic's indexing rule). */
  indexBatch(seg: Segment, baseOffset: number, position: number, maxTimestampBefore: number): void;
}

/** A segment log whose list of segments can be changed (refresh, retention, compaction). */
export interface MutableSegmentLog<V = unknown> extends SegmentLog<V> {
  readonly meta: MetaStore;
  maxTimestampMs: number;
  /** Replaces `count` segments from index `from` by `replacement`; returns the ones taken out (detached). */
  spliceSegments(from: number, count: number, replacement: Segment[]): Segment[];
}
