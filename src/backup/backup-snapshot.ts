// The snapshot of an online backup: in one synchronous step (no await, so no append, roll,
// retention or compaction runs in between) it fixes, per topic, which segment files the copy holds
// and where it ends, and reads the metadata the copy needs (options, groups, cleaner state).
//
// Copy point: on a writable log the durable point (`synced`: everything before it was fsynced;
// log.backup() flushes first), on a read-only log the end the follower sees. Segments before the
// copy point's segment are taken whole; that segment is taken up to the copy point; later ones
// are left out. The recovery point given to the copy is the source's recorded one (commits riding
// in batches after it are re-applied when the copy is recovered: backup.ts).
//
// Holding the files: with hard links (same file system) every file is linked into the staging
// directory inside the snapshot step — a closed `.log` under its final name (closed segments are
// never written again: retention unlinks them, a compaction swap renames them aside, a failed
// write only ever cuts bytes past the durable point), every index file and the copy point's `.log`
// under a `.pin` name, copied to its final name later (index files are rewritten in place when
// they are rebuilt, so the copy must not share them). Retention and compaction may then remove
// the source's files at once. Without hard links (EXDEV, a FileIO without `link`) the segments of
// a writable log are pinned instead (`pins`, which retention and compaction respect) until the
// copy is done, and files are copied by path; on a read-only log nothing can hold off the writer
// process, and a file it removes meanwhile fails the backup (ERR_IO, try again).
//
// Crash: the snapshot only creates files in the staging directory; the source is never written.
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import type { FileIO } from '../io/file-io.js';
import type { Segment } from '../segment/segment.js';
import type { CleanerState, MetaStore, StoredTopicOptions, TopicState } from '../store/meta-store.js';
import type { RecoveryPoint } from '../log/topic-log.js';

/** What a backup reads of one topic (src/topic.ts implements it). */
export interface BackupTopic {
  readonly name: string;
  readonly dir: string;
  /** Oldest first; the last one is the active segment. */
  readonly segments: readonly Segment[];
  readonly startOffset: number;
  readonly endOffset: number;
  readonly maxTimestampMs: number;
  /** The topic's durability part (log/topic-durability.ts). */
  readonly durability: {
    /** Writable log: everything before it is fsynced. */
    readonly synced: RecoveryPoint;
    /** Writable log: the recovery point recorded in the metadata store. */
    readonly checkpointed: RecoveryPoint;
  };
}

/** What a backup reads of the log (src/log.ts hands it over). */
export interface BackupSource {
  readonly dir: string;
  readonly io: FileIO;
  readonly readOnly: boolean;
  readonly meta: MetaStore;
  openTopics(): BackupTopic[];
}

/** One file of the copy. */
export interface PlannedFile {
  /** Where its bytes are read from: the source file (copy mode) or a `.pin` link in the staging directory. */
  from: string;
  /** Its final path in the staging directory. */
  to: string;
  /** Bytes to copy: the whole file, or the copy point of the last segment's `.log`. */
  bytes: number;
  /** Already in place as a hard link (a closed `.log`): nothing to copy. */
  linked: boolean;
}

export interface TopicSnapshot {
  name: string;
  files: PlannedFile[];
  /** The state the copy is recovered from (not clean: backup.ts recovers and closes it). */
  state: TopicState;
  options: StoredTopicOptions | undefined;
  groups: Map<string, number>;
  groupsDone: Map<string, number[]>;
  groupsInFlight: Map<string, number[]>;
  cleaner: CleanerState | undefined;
}

export interface Snapshot {
  topics: TopicSnapshot[];
  /** Hard links were used (the `linked` files share their inode with the source). */
  links: boolean;
  /** Unpins what copy mode pinned (idempotent). */
  release(): void;
}

/** The writer replaced or removed a file between the follower's listing and the link: refresh and take the snapshot again. */
export class SnapshotMoved extends SeglogError {}

const PIN_SUFFIX = '.pin';

/** Whether hard links from `sourceDir` into `stagingDir` work (same file system, a FileIO with `link`). */
export function linksWork(io: FileIO, sourceDir: string, stagingDir: string): boolean {
  if (io.link === undefined) return false;
  const probe = path.join(stagingDir, '~backup-link-probe');
  // the probe links the source's marker file, which every log directory has once opened for writing
  const target = ['~seglog.dir', '~seglog.lock'].map((n) => path.join(sourceDir, n)).find((f) => io.stat(f) !== undefined);
  if (target === undefined) return false;
  try {
    io.link(target, probe);
  } catch {
    return false; // EXDEV, EPERM (no links on this file system), ENOTSUP: copy instead
  }
  try { io.unlink(probe); } catch { /* removed with the staging directory */ }
  return true;
}

/** Takes the snapshot (synchronously: see the file header). Topic folders are created in `stagingDir`. */
export function takeSnapshot(source: BackupSource, stagingDir: string, links: boolean): Snapshot {
  const pinned: Segment[] = [];
  const release = (): void => {
    for (const s of pinned.splice(0)) s.pins = Math.max(0, s.pins - 1);
  };
  const topics: TopicSnapshot[] = [];
  try {
    for (const topic of source.openTopics()) topics.push(snapshotTopic(source, topic, stagingDir, links, pinned));
  } catch (err) {
    release();
    throw err;
  }
  return { topics, links, release };
}

function snapshotTopic(source: BackupSource, topic: BackupTopic, stagingDir: string, links: boolean, pinned: Segment[]): TopicSnapshot {
  const io = source.io;
  const segs = topic.segments.slice();
  const active = segs[segs.length - 1]!;
  const end: RecoveryPoint = source.readOnly
    ? { base: active.baseOffset, position: active.logBytes, offset: topic.endOffset, maxTimestampMs: topic.maxTimestampMs }
    : topic.durability.synced;
  const last = segs.findIndex((s) => s.baseOffset === end.base);
  if (last < 0) throw new Error(`backup: topic ${topic.name} has no segment at its durable point ${end.base}`);
  const taken = segs.slice(0, last + 1);
  const toDir = path.join(stagingDir, topic.name);
  try { io.mkdir(toDir); } catch (err) { throw ioError('mkdir', toDir, err); }
  const files: PlannedFile[] = [];
  for (const [i, seg] of taken.entries()) {
    const closed = i < last;
    for (const from of [seg.logPath, seg.indexPath, seg.timeIndexPath]) {
      const to = path.join(toDir, path.basename(from));
      const isLog = from === seg.logPath;
      const st = io.stat(from);
      if (st === undefined) {
        if (!isLog) continue; // an index file a crash or a full disk left out: the copy rebuilds it
        throw moved(source, from, 'was removed');
      }
      const bytes = isLog ? (closed ? st.size : end.position) : st.size;
      if (!links) {
        files.push({ from, to, bytes, linked: false });
        continue;
      }
      const linked = isLog && closed;
      const at = linked ? to : to + PIN_SUFFIX;
      try {
        io.link!(from, at);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw moved(source, from, 'was removed');
        throw ioError('link', at, err);
      }
      if (isLog && source.readOnly && seg.ino !== undefined && io.stat(at)?.ino !== seg.ino) throw moved(source, from, 'was replaced (compaction)');
      files.push({ from: at, to, bytes, linked });
    }
    if (!links && !source.readOnly) {
      seg.pins++;
      pinned.push(seg);
    }
  }
  const first = taken[0]!;
  const stored = source.readOnly ? source.meta.getState(topic.name) : undefined;
  const recorded: RecoveryPoint = source.readOnly
    ? (stored === undefined ? start(first) : { base: stored.recoveryBase, position: stored.recoveryPosition, offset: stored.recoveryOffset, maxTimestampMs: stored.recoveryMaxTimestampMs })
    : topic.durability.checkpointed;
  // The recovery point must lie in the copy: else the copy is checked from its first segment.
  const inCopy = taken.some((s) => s.baseOffset === recorded.base) && (recorded.base < end.base || recorded.position <= end.position);
  const rp = inCopy ? recorded : start(first);
  const state: TopicState = {
    clean: false,
    segmentBase: end.base, logBytes: end.position, endOffset: end.offset, maxTimestampMs: end.maxTimestampMs,
    startOffset: Math.max(topic.startOffset, first.baseOffset),
    recoveryBase: rp.base, recoveryPosition: rp.position, recoveryOffset: rp.offset, recoveryMaxTimestampMs: rp.maxTimestampMs,
  };
  const cleaner = source.meta.getCleanerState(topic.name);
  return {
    name: topic.name,
    files,
    state,
    options: source.meta.getTopicOptions(topic.name),
    groups: source.meta.getGroups(topic.name),
    groupsDone: source.meta.getGroupsDone(topic.name),
    groupsInFlight: source.meta.getGroupsInFlight(topic.name),
    cleaner: cleaner === undefined ? undefined : {
      cleanedUpTo: Math.min(cleaner.cleanedUpTo, end.offset),
      passes: cleaner.passes.map(([e, t]) => [Math.min(e, end.offset), t] as [number, number]),
    },
  };
}

function start(seg: Segment): RecoveryPoint {
  return { base: seg.baseOffset, position: 0, offset: seg.baseOffset, maxTimestampMs: -1 };
}

function moved(source: BackupSource, file: string, what: string): SeglogError {
  if (source.readOnly) return new SnapshotMoved('ERR_IO', `segment file ${file} ${what} by the writer while the backup listed it`, { file });
  return new SeglogError('ERR_IO', `segment file ${file} ${what} while the backup listed it`, { file });
}
