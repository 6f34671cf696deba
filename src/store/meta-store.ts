// The metadata seam: what seglog keeps besides segment files. The default entry point stores it
// in LMDB (lmdb-store.ts); the native-free entry point in plain files. Both hold the same logical
// content, described in docs/format.md ("Metadata").
import type { StoredTopicOptions } from '../format/options.js';
export type { StoredTopicOptions } from '../format/options.js';
import type { FileIO } from '../io/file-io.js';
import type { SpaceRoom } from '../io/space-reserve.js';

/** Where a topic's log stood, for a fast reopen (clean) or a bounded recovery scan (not clean). */
export interface TopicState {
  /** Written true by a clean close, false by openLog before the first write. */
  clean: boolean;
  /** Base offset and exact `.log` size of the active segment at a clean close. */
  segmentBase: number;
  logBytes: number;
  endOffset: number;
  /** Largest timestamp of all records (running max), -1 when there are none. */
  maxTimestampMs: number;
  /** First offset still readable (raised by truncateBefore and retention). */
  startOffset: number;
  /** The recovery point: data before it was fsynced and checked, and its index entries too. */
  recoveryBase: number;
  recoveryPosition: number;
  recoveryOffset: number;
  recoveryMaxTimestampMs: number;
}

/** Compaction's bookkeeping for one topic (docs/format.md, "Cleaner state"). */
export interface CleanerState {
  /** Offsets below this were covered by a compaction pass (the dirty part starts here). */
  cleanedUpTo: number;
  /**
   * [end offset, time in ms] of each compaction pass, oldest first: a tombstone at offset o was
   * first seen by the first pass whose end is above o (expired passes are merged into one).
   */
  passes: Array<[number, number]>;
}

export interface MetaStore {
  readonly kind: 'lmdb' | 'files';
  /** Set when a repair found the store's file damaged, moved it aside and started an empty one. */
  readonly rebuilt?: { file: string; movedTo: string };
  /** Reads every value once (optional): throws ERR_CORRUPT for one that does not decode, so a repair can rebuild the store first. */
  probe?(): void;
  listTopics(): string[];
  getTopicOptions(topic: string): StoredTopicOptions | undefined;
  /**
   * Durable when it returns; with `soon` (a topic being created: it has no data yet), durable at
   * the next commitStates(), flush() or close() instead, so that the topics created in one tick
   * share one durable write (the log commits before the topic's first byte reaches the OS).
   */
  putTopicOptions(topic: string, options: StoredTopicOptions, soon?: boolean): void;
  getState(topic: string): TopicState | undefined;
  /** Durable when it returns (used for the clean/dirty marker). */
  putStateSync(topic: string, state: TopicState): void;
  /** Cheap, not necessarily durable yet (recovery checkpoints: losing one only lengthens a scan). */
  putState(topic: string, state: TopicState): void;
  /**
   * Makes every putState and `soon` putTopicOptions so far durable now, in one write (nothing
   * when none is pending): the "not clean" markers of the topics first written in a tick, before
   * their bytes reach the OS (log.ts, commitMarkers).
   */
  commitStates(): void;
  /** Committed positions of the topic's consumer groups: group -> the next offset it reads. */
  getGroups(topic: string): Map<string, number>;
  /**
   * Records a group's committed position. Cheap: the puts of one tick are coalesced into one
   * write at its end; durable once flush() resolves. Callers never move a position backwards.
   */
  putGroup(topic: string, group: string, offset: number): void;
  /** A group's position and its finished-out-of-order ranges together, durable when it returns (recovery re-applying a batch's commit block). */
  putGroupSync(topic: string, group: string, offset: number, done: number[]): void;
  /**
   * Forgets a group's committed position (topic.deleteGroup); ordered after the puts made before
   * it; durable once flush() resolves.
   */
  deleteGroup(topic: string, group: string): void;
  /**
   * Ranges a group finished out of order above its position (flat [from, to, from, to, ...]), by
   * group: what members sharing the group finished past the first unfinished record.
   */
  getGroupsDone(topic: string): Map<string, number[]>;
  /** Replaces a group's finished-out-of-order ranges ([] removes them); coalesced and made durable like putGroup. */
  putGroupDone(topic: string, group: string, ranges: number[]): void;
  /**
   * Offsets each group handed out to its members and did not see finished, above its position, with
   * how many times each was handed out (flat [from, to, deliveries, ...] triples, ascending), by
   * group: after a restart each counts one failed delivery more (docs/format.md).
   */
  getGroupsInFlight(topic: string): Map<string, number[]>;
  /** Replaces a group's handed-out offsets ([] removes them); coalesced and made durable like putGroup. */
  putGroupInFlight(topic: string, group: string, triples: number[]): void;
  /** Removes the topic's options, state and group positions (durable when it returns). */
  deleteTopic(topic: string): void;

  // The key index of compacted topics: key (its bytes as a latin1 string) -> newest offset.
  getKeyOffset(topic: string, key: string): number | undefined;
  /**
   * Sets key -> offset for each pair (offset -1 removes the key) and, when indexedUpTo >= 0,
   * records that every record below indexedUpTo is indexed. Not durable by itself: the puts of a
   * tick go to the store in one write (a key index behind the log is caught up at open).
   */
  putKeyOffsets(topic: string, keys: string[], offsets: number[], indexedUpTo: number): void;
  /** Offset below which every record is in the key index; -1 when the topic has none. */
  getKeyIndexEnd(topic: string): number;
  /**
   * Read-only stores that hold the key index in memory (the native-free key file): takes what the
   * writer changed since it was loaded. Absent where every lookup reads the writer's file (LMDB).
   */
  reloadKeyIndex?(topic: string): void;
  /**
   * Read-only stores that hold the metadata in memory (native-free: `~meta.json`, `~groups.log`):
   * takes what the writer changed since it was read (log.refresh and the follower, before the
   * topics). A damaged or half-written file leaves what was read last in force until a later call
   * reads a good one. Absent where every read is of the writer's store (LMDB).
   */
  reload?(): void;
  /** Drops the topic's key index (before a rebuild). Durable when it returns. */
  clearKeyIndex(topic: string): void;
  getCleanerState(topic: string): CleanerState | undefined;
  /** Durable when it returns. */
  putCleanerState(topic: string, state: CleanerState): void;

  /** Resolves when everything put so far (states, group positions, key index) is durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** How a store is opened: with `repair`, a damaged metadata file is moved aside and an empty store started. */
export interface MetaOpenOptions {
  repair?: boolean;
  /** The file layer for the checks before the store opens (default node:fs). */
  io?: FileIO;
  /** With repair: move the store's file aside and start empty even if it looked sound (its values did not decode). */
  rebuild?: boolean;
  /** A writable log's space reserve: the LMDB store checks the disk's room before each write transaction (lmdb-room.ts). */
  space?: SpaceRoom;
}

export type MetaStoreFactory = (dir: string, readOnly: boolean, options?: MetaOpenOptions) => MetaStore;
