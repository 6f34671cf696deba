// TopicDurability: group commit, the durable side of rolls, and recovery points of a topic: one
// of the parts the topic facade (src/topic.ts) is composed of. It holds the topic's writer
// (topic-writer.ts) and is the writer's WriterSync (topic-context.ts); it owns the fsync state (the
// appends waiting for one, the dirty segments, the fsyncs in flight), the synced and recorded
// recovery points, the "not clean" mark of the session, and the commits riding in batches. Under 'fsync' the appends written in a tick wait for one shared fsync; the next one starts when
// the producers it resolved have appended again, so a group stays one group. A rolled segment is
// fsynced off the event loop (chained, so the recovery point never passes a segment whose fsync
// failed). A failed fsync makes the log refuse writes and, under 'fsync', cuts back everything
// past the last good fsync so that no rejected append shows up after a reopen. The recovery point
// (recorded by flush(), the periodic checkpoint and rolls) bounds the scan after a crash.
//
// Crash: the recovery point in the store is never past data that is durable with its index
// entries, nor past a batch whose riding commit the store has not got (ridden.ts).
import { SeglogError, ioError } from '../base/errors.js';
import type { FileIO } from '../io/file-io.js';
import type { TopicState } from '../store/meta-store.js';
import type { Segment } from '../segment/segment.js';
import type { TopicWriter } from './topic-writer.js';
import type { Waiter, WriterSync } from './topic-context.js';
import type { RecoveryPoint } from './topic-log.js';
import { RiddenCommits } from './ridden.js';
import { sealDurable } from './seal.js';
import { isNoSpace } from '../io/space-reserve.js';

/** Rolled segments whose fsync may run in the background at once (each holds 3 descriptors). */
export const ROLL_SYNCS_MAX = 8;

export class TopicDurability implements WriterSync {
  readonly writer: TopicWriter<any>;
  /** Appends written to the OS that wait for the next group commit ('fsync'). */
  syncWaiters: Waiter[] = [];
  /** Segments written since the last fsync. */
  readonly dirtySegments = new Set<Segment>();
  /** Commits riding in the topic's batches (exactly-once, ridden.ts); made on first use. */
  ridden: RiddenCommits | undefined = undefined;
  /** The stored state says "not clean" for this session. */
  dirtyMarked = false;
  /** A raised start offset that a full disk kept from being recorded (segment-splice.ts). */
  startOffsetPending = false;
  private fsyncRunning: Promise<void> | undefined = undefined;
  /** fsyncs of rolled segments still running (awaited by syncAll). */
  private rollSyncs: Array<Promise<void>> = [];
  /** syncAll calls in flight (awaited by shutdown before descriptors are closed). */
  private readonly syncing = new Set<Promise<void>>();
  /** Where the last completed fsync left the log (a backup copies up to it). */
  synced: RecoveryPoint;
  /** The recovery point last recorded in the store. */
  checkpointed: RecoveryPoint;
  private readonly kickFsyncBound = (): void => {
    this.writer.endTickNow(); // joins this tick's appends, and starts the fsync
    if (this.syncWaiters.length > 0 && !this.writer.closed) this.startFsync();
  };

  constructor(writer: TopicWriter<any>, recovered: RecoveryPoint) {
    this.writer = writer;
    this.synced = recovered;
    this.checkpointed = recovered;
  }

  /** The offset the last completed fsync covered. */
  get durableOffset(): number {
    return this.synced.offset;
  }

  /**
   * The segment compaction may not reach (data before the recovery point is durable: compaction
   * drops a record only for a newer durable one): the synced point's, or that of an older batch whose
   * riding commit is not stored yet (recovery re-applies it from the bytes compaction would drop,
   * and the recovery point stays at that batch: ridden.ts).
   */
  get durableBase(): number {
    const first = this.ridden?.entries[0];
    return first !== undefined && first.start.base < this.synced.base ? first.start.base : this.synced.base;
  }

  /** Whether commits ride in batches the store has not got yet. */
  hasRiddenCommits(): boolean {
    return this.ridden !== undefined && this.ridden.entries.length > 0;
  }

  /** The fsyncs still running (shutdown waits for them before descriptors are closed). */
  fsyncsInFlight(): Array<Promise<unknown>> {
    const inFlight: Array<Promise<unknown>> = [...this.rollSyncs, ...this.syncing];
    if (this.fsyncRunning !== undefined) inFlight.push(this.fsyncRunning);
    return inFlight;
  }

  /** The fsyncs of rolled segments still running (their segments stay pinned until they end). */
  rollFsyncs(): Array<Promise<unknown>> {
    return this.rollSyncs;
  }

  /** Group commit: one fsync for everything written since the last one started. */
  startFsync(): void {
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
    const seg = this.writer.active;
    const point: RecoveryPoint = { base: seg.baseOffset, position: seg.logBytes, offset: this.writer.committedEnd, maxTimestampMs: this.writer.committedMaxTs };
    for (const s of segs) s.pins++;
    try {
      // A segment rolled since the last fsync must be durable with its directory entry before
      // the recovery point may move into the segment that follows it.
      // (fsyncLog reopens a `.log` whose descriptor the pool closed since the write)
      await Promise.all([...segs.map((s) => s.fsyncLog()), ...this.rollSyncs]);
    } catch (err) {
      if (this.writer.closed) throw this.closedError();
      const error = ioError('fsync', seg.logPath, err);
      this.writer.ctx.fail(error);
      if (this.writer.ctx.options.durability === 'fsync') this.forgetUnsynced(error);
      throw error;
    } finally {
      for (const s of segs) s.pins--;
    }
    if (this.writer.closed) throw this.closedError();
    // Any failed fsync of this log (a rolled segment's, another topic's) means the page cache can no
    // longer be trusted: a later fsync that succeeds proves nothing (Linux reports an error once).
    const failure = this.writer.ctx.failure;
    if (failure !== undefined) {
      if (this.writer.ctx.options.durability === 'fsync') this.forgetUnsynced(failure);
      throw failure;
    }
    if (point.base > this.synced.base || (point.base === this.synced.base && point.position >= this.synced.position)) this.synced = point;
    this.sealDurable();
    this.ridden?.noteDurable(this.synced.offset);
  }

  /**
   * After a failed fsync under 'fsync' durability, every record past the last good fsync belongs to
   * an append that is about to reject: cut the file back there so none of them shows up after a
   * reopen, and hide them from readers now. (The log refuses writes from here on.)
   */
  private forgetUnsynced(error: SeglogError): void {
    const synced = this.synced;
    const segments = this.writer.segments;
    let at = segments.findIndex((s) => s.baseOffset === synced.base);
    if (at < 0) at = segments.length - 1;
    const seg = segments[at]!;
    this.writer.takeBackTo({
      seg,
      segments: at + 1,
      position: seg.baseOffset === synced.base ? synced.position : 0,
      endOffset: seg.baseOffset === synced.base ? synced.offset : seg.baseOffset,
      maxTimestampMs: synced.maxTimestampMs,
    }, error);
  }

  private closedError(): SeglogError {
    return new SeglogError('ERR_CLOSED', `topic ${this.writer.name} was closed or deleted before the append completed`);
  }

  /**
   * The writer rolled `old` (roll.ts) and `seg` is the new active segment: `old` and its indexes are
   * made durable, then the recovery point may move into `seg`.
   */
  rolled(old: Segment, seg: Segment): void {
    // The old segment and its indexes are fsynced off the event loop (a blocking fsync here was
    // 10% of bench W1); the recovery point moves into the new segment once that is done. Under
    // 'fsync' the old segment stays in dirtySegments, so the tick's group commit covers it too.
    const point: RecoveryPoint = { base: seg.baseOffset, position: 0, offset: seg.baseOffset, maxTimestampMs: this.writer.committedMaxTs };
    const io = this.writer.ctx.io;
    if (this.rollSyncs.length >= ROLL_SYNCS_MAX) {
      // Many rolls in one synchronous burst: their async fsyncs cannot finish before it ends, and
      // each would hold three descriptors until then. Make this one durable now instead.
      try {
        old.fsyncAllSync();
        io.fsyncDir(this.writer.dir);
      } catch (err) {
        this.writer.ctx.fail(ioError('fsync', old.logPath, err));
      }
      old.closeIndexFiles();
      old.pins--;
      this.writer.ctx.fdPool.trim();
      return;
    }
    // old keeps its active pin until its fsync is done (retention and compaction leave it alone);
    // the pool may close its descriptor whenever no fsync runs on it (fsyncLog reopens it).
    // Chained after the previous roll's fsync: the recovery point may only move past segments that
    // are all durable, and a failure of any of them (ctx.failure) keeps it where it is.
    const previous = this.rollSyncs.length > 0 ? this.rollSyncs[this.rollSyncs.length - 1] : undefined;
    const done = Promise.all([
      previous,
      old.fsyncLog(),
      old.fsyncIndexes(),
      this.writer.ctx.fdPool.syncs.run(() => fsyncDirAsync(io, this.writer.dir)),
    ]).then(
      () => {
        // (unless a failed batch rolled the new segment back meanwhile)
        if (this.writer.ctx.failure === undefined && point.base > this.synced.base && this.writer.active.baseOffset >= point.base) {
          this.synced = point;
          this.sealDurable();
          this.ridden?.noteDurable(point.offset);
        }
      },
      (err: unknown) => {
        if (!this.writer.closed) this.writer.ctx.fail(ioError('fsync', old.logPath, err));
      },
    ).finally(() => {
      old.pins--;
      this.writer.ctx.fdPool.trim();
      return old.closeIndexFilesWhenIdle();
    });
    this.rollSyncs.push(done);
    void done.then(() => { this.rollSyncs = this.rollSyncs.filter((p) => p !== done); });
  }

  /** Closed segments the synced recovery point has passed may be mapped from now on (seal.ts); `all` after a compaction's splice. */
  sealDurable(all = false): void {
    sealDurable(this.writer.segments, this.synced.base, this.writer.tickWaiters, all);
  }

  /**
   * Recovery could not store commits that rode in batches from `start` to offset `last` (a full
   * disk; they wait in the store): no recovery point past `start` is recorded until they are stored.
   */
  pinRecoveryPoint(start: RecoveryPoint, last: number): void {
    (this.ridden ??= new RiddenCommits()).pinAtOpen(start, last);
    this.checkpointed = start;
  }

  /** The stored state says "not clean" (recovery just wrote it): close() records the clean state even if nothing is appended. */
  noteUncleanState(): void {
    this.dirtyMarked = true;
  }

  markDirty(): void {
    this.dirtyMarked = true;
    // Durable with the other topics' markers of this tick, before the first write (commitMarkers):
    // one write for thousands of topics instead of one each (bench/topics.js).
    this.writer.ctx.meta.putState(this.writer.name, this.stateFor(false, this.checkpointed));
    this.writer.ctx.markerPut();
  }

  /**
   * A durable state put. A disk that filled while the space reserve was in place (another program
   * filled it) makes it fail for lack of space: the reserve is given back and the put tried again.
   */
  putStateSync(state: TopicState): void {
    try {
      try {
        this.writer.ctx.meta.putStateSync(this.writer.name, state);
      } catch (err) {
        const reserve = this.writer.ctx.reserve;
        if (!isNoSpace(err) || reserve === undefined || reserve.released) throw err;
        reserve.release();
        this.writer.ctx.meta.putStateSync(this.writer.name, state);
      }
    } catch (err) {
      // a store's own error (lmdb-js gives a plain Error with errno 28 on a full disk) is a SeglogError here
      throw ioError(`record the state of topic ${this.writer.name} in the metadata store`, this.writer.dir, err);
    }
  }

  stateFor(clean: boolean, rp: RecoveryPoint): TopicState {
    const seg = this.writer.active;
    return {
      clean,
      segmentBase: seg.baseOffset,
      logBytes: seg.logBytes,
      endOffset: this.writer.committedEnd,
      maxTimestampMs: this.writer.committedMaxTs,
      startOffset: this.writer._startOffset,
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
    if (this.writer.closed || this.writer.ctx.options.readOnly) return;
    const seg = this.writer.active;
    if (!this.writer.tickScheduled && seg.endPosition() === this.checkpointed.position && seg.baseOffset === this.checkpointed.base) return;
    await this.flush();
  }

  /** Records the synced point as the recovery point (cheap, not durable by itself: see MetaStore.putState). */
  private recordRecoveryPoint(): void {
    if (this.writer.closed) return;
    const rp = this.ridden === undefined ? this.synced : this.ridden.cap(this.synced);
    if (rp.base === this.checkpointed.base && rp.position === this.checkpointed.position) return;
    this.checkpointed = rp;
    if (this.dirtyMarked) this.writer.ctx.meta.putState(this.writer.name, this.stateFor(false, rp));
  }

  /**
   * Records the synced point as the recovery point and makes the store durable now: a compaction
   * swap is about to remove segments below it, and a stored recovery point that names a removed
   * segment makes open refuse the topic (recovery.ts). Throws ERR_IO.
   */
  recordRecoveryPointNow(): void {
    this.recordRecoveryPoint();
    this.writer.ctx.commitMarkers();
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
    if (this.writer.closed) return;
    if (this.rollSyncs.length > 0) await Promise.all(this.rollSyncs.map((p) => p.catch(() => undefined)));
    const seg = this.writer.active;
    seg.persistIndexes();
    this.dirtySegments.add(seg);
    await this.fsyncDirty();
    if (this.writer.closed) return;
    try {
      await seg.fsyncIndexes();
    } catch (err) {
      const error = ioError('fsync', seg.indexPath, err);
      if (!this.writer.closed) this.writer.ctx.fail(error);
      throw error;
    }
  }

  /**
   * Makes every record below `end` durable: hands what is pending to the OS, then fsyncs
   * (compaction, before it drops records that newer ones supersede). Throws what the write or
   * fsync throws; unlike flush() it leaves a pending appendSync failure to the next append call.
   */
  async makeDurable(end: number): Promise<void> {
    if (this.writer.closed || this.durableOffset >= end) return;
    if (this.writer.committedEnd < end) this.writer.writeBeforeSwitch(); // (seals and writes what is pending)
    await this.syncAll();
  }

  /** Makes everything appended so far durable (log.flush()). */
  async flush(): Promise<void> {
    if (this.writer.closed || this.writer.ctx.options.readOnly) return;
    // A write that failed (this tick's, or an earlier one that no append call has reported yet)
    // lost records appended before this flush: it cannot promise they are durable (writeAll throws).
    this.writer.writeAll();
    await this.syncAll();
    if (this.writer.closed) return; // deleted meanwhile: no state may be written for it any more
    // commits riding in batches that are durable now go to the store, durably, before a recovery
    // point may pass those batches (ridden.ts)
    const handed = this.ridden?.handDurable(this.synced.offset) ?? [];
    if (handed.length > 0) {
      try {
        await this.writer.ctx.meta.flush();
      } catch (err) {
        this.ridden!.restore(handed); // (not stored: the recovery point may not pass them yet)
        throw err;
      }
    }
    if (this.writer.closed) return;
    this.recordRecoveryPoint();
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
