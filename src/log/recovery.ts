// Recovery: turning a topic's directory back into a consistent log at open.
//
// Clean close (state.clean and the active segment has exactly the recorded size): nothing is
// scanned, and no index file is read (the active segment's too are loaded on first use). Otherwise every batch from the recovery point to the end is checked; a torn tail
// (an invalid batch with no valid batch after it) is cut, damage before the recovery point or in
// the middle of the data is ERR_CORRUPT naming the file and position, and index entries past the
// recovery point are rebuilt. Indexes of closed segments are loaded on first use, checked, and
// rebuilt from their `.log` when they cannot be trusted: indexes.ts (loadIndexes, rebuildIndexes
// and segmentEndMaxTimestamp are re-exported from here too).
//
// With the `repair` log option, what would be ERR_CORRUPT is cut instead: every segment is checked
// from its start, the topic is cut at the first damage (everything after it is dropped) and a
// `recovery` diagnostics event says what was cut.
import { SeglogError, ioError } from '../base/errors.js';
import { corruptionFound, publish, recoveryAction } from '../base/diagnostics.js';
import type { FileIO } from '../io/file-io.js';
import { INDEX_SUFFIX, LOG_SUFFIX, SEGMENT_DELETED_SUFFIX, TIME_INDEX_SUFFIX, TMP_SUFFIX, parseSegmentFileName, segmentFileName } from '../format/batch.js';
import type { TopicState } from '../store/meta-store.js';
import { OffsetIndex } from '../segment/offset-index.js';
import type { ResolvedTopicOptions } from '../format/options.js';
import { Segment } from '../segment/segment.js';
import { TimeIndex } from '../segment/time-index.js';
import type { LogContext, RecoveryPoint } from './topic-writer.js';
import type { SegmentLog } from './topic-log.js';
import { resolveInterruptedSwap } from '../segment/compaction-swap.js';
import { PendingCut, cutKeepingAside, moveAside, validBatchesFrom, type AfterDamage } from './recovery-cut.js';
import { isNoSpace } from '../io/space-reserve.js';
import path from 'node:path';
import type { CommitBlock } from '../format/commit-block.js';
import { decodeIndexes, loadIndexes, segmentEndMaxTimestamp } from './indexes.js';

export { loadIndexes, rebuildIndexes, segmentEndMaxTimestamp } from './indexes.js';

/** What recovery needs of the topic it makes (src/topic.ts). */
export interface RecoverableTopic<V> extends SegmentLog<V> {
  /** The topic's durability part (topic-durability.ts). */
  readonly durability: {
    /** The state to record with recovery point `rp`. */
    stateFor(clean: boolean, rp: RecoveryPoint): TopicState;
    /** The stored state says "not closed cleanly" already (recovery wrote it). */
    noteUncleanState(): void;
    pinRecoveryPoint(start: RecoveryPoint, last: number): void;
  };
  /** Loads the groups' positions (once the end recovery keeps is known). */
  loadGroups(): void;
  /** A cut recovery could not finish for lack of space (recovery-cut.ts): appends wait for it. */
  cutPending: PendingCut | undefined;
}

/** Makes the topic over `segments`, with offsets [startOffset, endOffset) and recovery point `rp`. */
export type MakeTopic<T> = (segments: Segment[], startOffset: number, endOffset: number, maxTimestampMs: number, rp: RecoveryPoint) => T;

/** Opens (and if needed recovers) the topic stored in `dir`, or creates it when `create` is set. */
export function openTopic<V, T extends RecoverableTopic<V>>(ctx: LogContext, name: string, dir: string, options: ResolvedTopicOptions<V>,
  state: TopicState | undefined, make: MakeTopic<T>, loadGroups = true): T {
  const topic = openOrRecover(ctx, name, dir, options, state, make);
  // Only now, with the end recovery kept (not the recovery point the scan started from): group
  // positions past it are clamped, and before any append reaches those offsets. (openLog loads
  // them once every topic is recovered: loadGroups false.)
  if (loadGroups) topic.loadGroups();
  return topic;
}

function openOrRecover<V, T extends RecoverableTopic<V>>(ctx: LogContext, name: string, dir: string, options: ResolvedTopicOptions<V>,
  state: TopicState | undefined, make: MakeTopic<T>): T {
  const io = ctx.io;
  const readOnly = ctx.options.readOnly;
  let names: string[] | undefined; // (one readdir per topic at open, no stat: bench/topics.js)
  try { names = io.readdir(dir); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('readdir', dir, err); }
  if (names === undefined) {
    if (readOnly) throw new SeglogError('ERR_READ_ONLY', `topic ${name} does not exist and the log is read-only`, { value: name });
    try {
      io.mkdir(dir);
      io.fsyncDir(path.dirname(dir)); // the new topic folder survives a power cut
    } catch (err) {
      throw ioError('mkdir', dir, err);
    }
    names = [];
  }
  if (!readOnly) names = resolveInterruptedSwap(io, dir, names); // a compaction a crash interrupted
  const bases: number[] = [];
  const indexFiles: string[] = [];
  for (const f of names) {
    const base = parseSegmentFileName(f, LOG_SUFFIX);
    if (base >= 0) bases.push(base);
    else if ((f.endsWith(TMP_SUFFIX) || f.endsWith(SEGMENT_DELETED_SUFFIX)) && !readOnly) {
      safeUnlink(io, path.join(dir, f));
      recoveryAction(dir, 'remove-temp-file', 'a file left by an interrupted write, retention or compaction', { file: path.join(dir, f) });
    }
    else if (parseSegmentFileName(f, INDEX_SUFFIX) >= 0 || parseSegmentFileName(f, TIME_INDEX_SUFFIX) >= 0) indexFiles.push(f);
  }
  bases.sort((a, b) => a - b);
  if (!readOnly) {
    // Index files without their .log: left by an interrupted roll or deletion.
    const known = new Set(bases);
    for (const f of indexFiles) {
      const b = Math.max(parseSegmentFileName(f, INDEX_SUFFIX), parseSegmentFileName(f, TIME_INDEX_SUFFIX));
      if (!known.has(b)) {
        safeUnlink(io, path.join(dir, f));
        recoveryAction(dir, 'remove-orphan-index', 'an index file without its .log (interrupted roll or deletion)', { file: path.join(dir, f) });
      }
    }
  }

  if (bases.length === 0) {
    if (state !== undefined && state.endOffset > state.startOffset && ctx.options.repair) {
      publish('recovery', { dir: path.dirname(dir), topic: name, action: 'repair', file: dir, position: 0, reason: `no segment files left; offsets ${state.startOffset} to ${state.endOffset - 1} are gone, the topic restarts empty at ${state.endOffset}` });
    } else if (state !== undefined && state.endOffset > state.startOffset) {
      throw corruptionFound(new SeglogError('ERR_CORRUPT', `topic ${name} has no segment files in ${dir} but held offsets ${state.startOffset} to ${state.endOffset}`, { file: dir }), dir);
    }
    if (readOnly) {
      const seg = new Segment(io, dir, state?.endOffset ?? 0, 0);
      seg.readOnly = true;
      seg.setIndexes(new OffsetIndex(), new TimeIndex(), false);
      return make([seg], seg.baseOffset, seg.baseOffset, -1, { base: seg.baseOffset, position: 0, offset: seg.baseOffset, maxTimestampMs: -1 });
    }
    const base = state?.endOffset ?? 0;
    const seg = Segment.create(io, dir, base);
    try { io.fsyncDir(dir); } catch (err) { throw ioError('fsync directory', dir, err); }
    return make([seg], base, base, state?.maxTimestampMs ?? -1, { base, position: 0, offset: base, maxTimestampMs: state?.maxTimestampMs ?? -1 });
  }

  const segments = bases.map((b) => listedSegment(io, dir, b, readOnly));
  const active = segments[segments.length - 1]!;
  const startOffset = Math.max(state?.startOffset ?? 0, segments[0]!.baseOffset);

  if (state !== undefined && state.clean && state.segmentBase === active.baseOffset && state.logBytes === active.logBytes && !ctx.options.repair) {
    const topic = make(segments, startOffset, state.endOffset, state.maxTimestampMs,
      { base: active.baseOffset, position: active.logBytes, offset: state.endOffset, maxTimestampMs: state.maxTimestampMs });
    // Its indexes are read on first use, as closed segments' are (the first read, or the first
    // write of the session: Segment.deferIndexes), so opening many topics reads no index file.
    active.deferIndexes(() => loadIndexes(topic, active));
    return topic;
  }
  const why = state === undefined ? 'no recorded state for the topic (new metadata, or metadata lost)'
    : !state.clean ? 'the log was not closed cleanly (crash, kill, or another process still writing)'
      : 'the active segment differs from the size recorded at the clean close';
  return recoverTopic(ctx, name, dir, options, segments, startOffset, state, why, make);
}

function recoverTopic<V, T extends RecoverableTopic<V>>(ctx: LogContext, name: string, dir: string, options: ResolvedTopicOptions<V>, segments: Segment[],
  startOffset: number, state: TopicState | undefined, why: string, make: MakeTopic<T>): T {
  const io = ctx.io;
  const readOnly = ctx.options.readOnly;
  const repair = ctx.options.repair;
  // Where to start checking: the recorded recovery point, if its segment is still there (a repair
  // checks everything).
  let ri = 0;
  let rpPosition = 0;
  let rpOffset = segments[0]!.baseOffset;
  let rpMaxTs = -1;
  if (state !== undefined && state.recoveryBase >= segments[0]!.baseOffset && !repair) {
    ri = segments.findIndex((s) => s.baseOffset === state.recoveryBase);
    if (ri < 0) {
      throw corruptionFound(new SeglogError('ERR_CORRUPT', `segment ${state.recoveryBase} of topic ${name} is missing from ${dir} (it holds the recovery point)`, { file: dir, value: state.recoveryBase }), dir);
    }
    rpPosition = state.recoveryPosition;
    rpOffset = state.recoveryOffset;
    rpMaxTs = state.recoveryMaxTimestampMs;
  }
  // A placeholder topic so that index rebuilding can use the topic's indexing rule.
  const topic = make(segments, startOffset, rpOffset, rpMaxTs,
    { base: segments[ri]!.baseOffset, position: rpPosition, offset: rpOffset, maxTimestampMs: rpMaxTs });
  // Restart from the last offset-index point at or before the recovery point (and inside the file):
  // that also repairs an index that lost entries before the recovery point.
  const rseg = segments[ri]!;
  const flushedUpTo = rpPosition <= rseg.logBytes ? rpPosition : 0;
  const limit = Math.min(rpPosition, rseg.logBytes);
  const decoded = limit > 0 ? decodeIndexes(topic, rseg) : undefined;
  if (decoded === undefined || decoded.index.count === 0 || decoded.index.positionAt(0) > limit) {
    rseg.setIndexes(new OffsetIndex(), new TimeIndex(), true);
    rpPosition = 0;
    rpOffset = rseg.baseOffset;
    rpMaxTs = ri > 0 ? segmentEndMaxTimestamp(topic, segments[ri - 1]!) : -1;
  } else {
    const { index, timeIndex } = decoded;
    let e = index.count - 1;
    while (e > 0 && index.positionAt(e) > limit) e--;
    const rel = index.relativeOffsetAt(e);
    let k = timeIndex.count - 1;
    while (k > 0 && timeIndex.relativeOffsetAt(k) > rel) k--;
    rpPosition = index.positionAt(e);
    rpOffset = rseg.baseOffset + rel;
    rpMaxTs = e === 0 && ri === 0 ? -1 : e === 0 ? segmentEndMaxTimestamp(topic, segments[ri - 1]!) : timeIndex.timestampAt(k);
    index.truncateToPosition(rpPosition);
    timeIndex.truncateToRelativeOffset(rel);
    rseg.setIndexes(index, timeIndex, true);
  }
  let next = rpOffset;
  let maxTs = rpMaxTs;
  const scanFrom = rpPosition;
  const scanOffset = rpOffset;
  const scanMaxTs = rpMaxTs;
  const memo = readOnly ? ' (in memory only: read-only open)' : '';
  let cutAt = -1; // index of the segment that was cut
  let pending: PendingCut | undefined; // a cut whose bytes found no room (recovery-cut.ts)
  // Commits riding in the batches scanned past the recorded recovery point (ridden.ts): those
  // before it were stored before it was recorded, and re-applying them could undo a resetGroup or
  // deleteGroup made since (the scan restarts at an index point before the recovery point). A
  // repair trusts the recorded point for this too; without a recorded state all are re-applied.
  const ridden: CommitBlock[] = [];
  const riddenBase = state !== undefined && segments.some((s) => s.baseOffset === state.recoveryBase) ? state.recoveryBase : -1;
  const riddenPosition = riddenBase >= 0 ? state!.recoveryPosition : 0;
  for (let si = ri; si < segments.length; si++) {
    const seg = segments[si]!;
    if (si > ri) {
      seg.setIndexes(new OffsetIndex(), new TimeIndex(), true);
      if (seg.baseOffset > next && seg.logBytes > 0 && options.cleanup !== 'delete') {
        next = seg.baseOffset; // offsets compacted away before this segment
      } else if (seg.baseOffset !== next && seg.logBytes > 0) {
        const reason = `segment ${seg.logPath} starts at offset ${seg.baseOffset} but the previous one ends at ${next}`;
        if (repair) {
          reportRepair(dir, name, seg.logPath, 0, segments.slice(si).reduce((n, s) => n + s.logBytes, 0), reason);
        } else {
          // The previous segment's unsynced end was lost (a power cut) while this one was kept?
          // Only if no batch from here on proves offset `next` was fsynced (recovery-cut.ts).
          const after: AfterDamage = { validBatches: 0, claimedDurable: -1 };
          for (const s of segments.slice(si)) if (s.logBytes > 0) validBatchesFrom(s, 0, after);
          if (after.claimedDurable > next) throw corruptionFound(new SeglogError('ERR_CORRUPT', `${reason}; a later batch shows offsets up to ${after.claimedDurable - 1} had been fsynced`, { file: seg.logPath, position: 0 }), dir);
          const prev = segments[si - 1]!;
          if (readOnly) publish('recovery', { dir: path.dirname(dir), topic: name, action: 'cut', file: seg.logPath, position: 0, bytes: 0, reason: `${reason}: never fsynced, cut there${memo}` });
          else moveAside(io, dir, name, prev, prev.logBytes, segments.slice(si), reason);
        }
        cutAt = si - 1;
        break;
      }
    }
    let running = maxTs;
    const result = seg.scan(si === ri ? rpPosition : 0, next, maxTs, (b) => {
      if (b.commit !== undefined && (seg.baseOffset > riddenBase || b.position >= riddenPosition)) ridden.push(b.commit);
      topic.indexBatch(seg, b.baseOffset, b.position, running);
      if (b.maxTimestampMs > running) running = b.maxTimestampMs;
    });
    next = result.nextOffset;
    maxTs = result.maxTimestampMs;
    if (result.invalidAt === undefined && result.endPosition !== seg.logBytes) {
      // Only a read-only open next to a live writer: the file grew after it was listed.
      seg.logBytes = result.endPosition;
      seg.memFrom = result.endPosition;
    }
    if (result.invalidAt !== undefined) {
      const at = result.invalidAt;
      const flushed = si === ri && at < flushedUpTo;
      const laterBytes = segments.slice(si + 1).reduce((n, s) => n + s.logBytes, 0);
      const reason = result.reason ?? 'invalid batch';
      if (repair) {
        if (seg.hasValidBatchAfter(at)) {
          reportRepair(dir, name, seg.logPath, at, seg.fileSizeNow() - at + laterBytes, `corrupt batch: ${reason}`);
        } else if (laterBytes === 0) {
          recoveryAction(dir, 'truncate', `torn tail: ${reason} with no valid batch after it${memo}`, { file: seg.logPath, position: at, bytes: seg.logBytes - at });
        }
      } else if (flushed) {
        throw seg.corrupt(at, reason); // before the recorded recovery point: fsynced data
      } else {
        // Past the recovery point. Valid batches after the damage (here or in later segments) tell
        // whether a completed fsync covered it (recovery-cut.ts); if none says so, nothing from
        // here on was acknowledged under 'fsync' or flushed: cut, keeping the bytes aside.
        const after = validBatchesFrom(seg, at + 1, { validBatches: 0, claimedDurable: -1 });
        for (const s of segments.slice(si + 1)) if (s.logBytes > 0) validBatchesFrom(s, 0, after);
        if (after.claimedDurable > next) throw seg.corrupt(at, `${reason} (a later batch shows offsets up to ${after.claimedDurable - 1} had been fsynced)`);
        if (after.validBatches === 0 && laterBytes === 0) {
          recoveryAction(dir, 'truncate', `torn tail: ${reason} with no valid batch after it${memo}`, { file: seg.logPath, position: at, bytes: seg.logBytes - at });
        } else if (readOnly) {
          publish('recovery', { dir: path.dirname(dir), topic: name, action: 'cut', file: seg.logPath, position: at, bytes: seg.fileSizeNow() - at + laterBytes,
            reason: `invalid batch (${reason}) past the durable end with data after it: cut there${memo}` });
        } else {
          pending = cutKeepingAside(io, ctx.reserve, dir, name, seg, at, segments.slice(si + 1), `invalid batch (${reason}) past the durable end, with ${after.validBatches} valid batch(es) after it`);
        }
      }
      if (!readOnly && pending === undefined) {
        try {
          seg.truncateLog(at); // (recovery runs before anything is sealed or mapped)
        } catch (err) {
          throw ioError('truncate a torn tail', seg.logPath, err);
        }
      }
      seg.logBytes = at;
      seg.memFrom = at;
      cutAt = si;
      break;
    }
  }
  // Segments after a cut (or empty ones left by an interrupted roll past the end) go.
  if (cutAt >= 0) {
    for (const seg of segments.splice(cutAt + 1)) {
      if (!readOnly) seg.deleteFiles(); else seg.closeFiles();
      recoveryAction(dir, 'delete-segment', `it follows the point where the log was cut${memo}`, { file: seg.logPath, bytes: seg.logBytes });
    }
  }
  while (segments.length > 1 && segments[segments.length - 1]!.logBytes === 0 && segments[segments.length - 1]!.baseOffset !== next) {
    const seg = segments.pop()!;
    if (!readOnly) seg.deleteFiles(); else seg.closeFiles();
    recoveryAction(dir, 'delete-segment', `an empty segment past the end of the log (interrupted roll)${memo}`, { file: seg.logPath, bytes: 0 });
  }
  const active = segments[segments.length - 1]!;
  if (active.logBytes === 0 && active.baseOffset !== next) {
    throw corruptionFound(new SeglogError('ERR_CORRUPT', `empty segment ${active.logPath} does not start at the end offset ${next}`, { file: active.logPath, position: 0 }), dir);
  }
  const end = { base: active.baseOffset, position: active.logBytes, offset: next, maxTimestampMs: maxTs };
  let scanned = 0;
  for (let si = ri; si < segments.length; si++) scanned += segments[si]!.logBytes - (si === ri ? scanFrom : 0);
  recoveryAction(dir, 'scan', why, { file: segments[ri]!.logPath, position: scanFrom, bytes: Math.max(0, scanned) });
  const recovered = make(segments, Math.min(startOffset, next), next, maxTs, end);
  if (!readOnly) {
    // Make the recovered state durable and record it, so the next open does not scan again.
    for (let si = ri; si < segments.length; si++) {
      const seg = segments[si]!;
      seg.persistIndexes();
      seg.fsyncAllSync();
      seg.closeIndexFiles(); // (the active segment's reopen at its next persist)
    }
    // Commits that rode in batches kept here, before the recovery point passes them (a batch cut
    // above took its commit with it: both or neither).
    const riddenPending = ridden.length > 0 && ctx.reapplyCommits(name, ridden.filter((c) => c !== undefined));
    recovered.cutPending = pending;
    if (riddenPending) {
      // No room to store them (a full disk): they wait in the store, and the recovery point stays
      // where this scan began until they are stored (the state stored before stays as it is).
      recovered.durability.pinRecoveryPoint({ base: segments[ri]!.baseOffset, position: scanFrom, offset: scanOffset, maxTimestampMs: scanMaxTs }, next - 1);
    } else try {
      ctx.meta.putStateSync(name, recovered.durability.stateFor(false, end));
      recovered.durability.noteUncleanState();
    } catch (err) {
      // A full disk must not lock the log out: the state stored before stays (an older recovery
      // point: the next open scans more), and the first append records "not clean" itself.
      if (!isNoSpace(err)) throw ioError('write metadata', name, err);
    }
  }
  return recovered;
}

/** Publishes what a repair cut: `bytes` of `.log` data from `file` at `position` on. */
function reportRepair(topicDir: string, topic: string, file: string, position: number, bytes: number, reason: string): void {
  publish('recovery', { dir: path.dirname(topicDir), topic, action: 'repair', file, position, bytes, reason: `${reason}; cut there, dropping ${bytes} bytes of data from there on` });
}

/** A segment found in the topic's folder, as big as its `.log` file (in a read-only log: that file's identity noted). */
export function listedSegment(io: FileIO, dir: string, base: number, readOnly: boolean): Segment {
  const seg = new Segment(io, dir, base, 0);
  const st = io.stat(seg.logPath);
  seg.logBytes = seg.memFrom = st === undefined ? 0 : st.size;
  if (readOnly) {
    seg.readOnly = true;
    seg.ino = st?.ino;
  }
  return seg;
}

function safeUnlink(io: FileIO, file: string): void {
  try { io.unlink(file); } catch { /* already gone */ }
}
