// TopicDurability: group commit, rolls and recovery points of a topic (between TopicWriter and
// TopicImpl).
//
// Under 'fsync' the appends written in a tick wait for one shared fsync; the next one starts when
// the producers it resolved have appended again, so a group stays one group. A rolled segment is
// fsynced off the event loop (chained, so the recovery point never passes a segment whose fsync
// failed). A failed fsync makes the log refuse writes and, under 'fsync', cuts back everything
// past the last good fsync so that no rejected append shows up after a reopen. The recovery point
// (recorded by flush(), the periodic checkpoint and rolls) bounds the scan after a crash.
// startFsync and markDirty are public (tick-write.ts and append-ridden.ts call them), and
// writeBeforeSwitch (the exactly-once writer half in consumers/exactly-once.ts calls it).
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import { publish, type RollReason } from '../base/diagnostics.js';
import type { FileIO } from '../io/file-io.js';
import type { TopicState } from '../store/meta-store.js';
import { Segment } from '../segment/segment.js';
import { TopicWriter, ROLL_SYNCS_MAX, type RecoveryPoint } from './topic-writer.js';
import { isNoSpace } from '../io/space-reserve.js';
import { dispatchWritten } from './tick-write.js';

export abstract class TopicDurability<V = Buffer> extends TopicWriter<V> {
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
  protected async fsyncDirty(): Promise<void> {
    const segs = [...this.dirtySegments];
    this.dirtySegments.clear();
    const seg = this.active;
    const point: RecoveryPoint = { base: seg.baseOffset, position: seg.logBytes, offset: this.committedEnd, maxTimestampMs: this.committedMaxTs };
    for (const s of segs) s.pins++;
    try {
      // A segment rolled since the last fsync must be durable with its directory entry before
      // the recovery point may move into the segment that follows it.
      await Promise.all([...segs.map((s) => (s.fd >= 0 ? this.ctx.io.fsync(s.fd) : undefined)), ...this.rollSyncs]);
    } catch (err) {
      if (this.closed) throw this.closedError();
      const error = ioError('fsync', seg.logPath, err);
      this.ctx.fail(error);
      if (this.ctx.options.durability === 'fsync') this.forgetUnsynced(error);
      throw error;
    } finally {
      for (const s of segs) s.pins--;
    }
    if (this.closed) throw this.closedError();
    // Any failed fsync of this log (a rolled segment's, another topic's) means the page cache can no
    // longer be trusted: a later fsync that succeeds proves nothing (Linux reports an error once).
    const failure = this.ctx.failure;
    if (failure !== undefined) {
      if (this.ctx.options.durability === 'fsync') this.forgetUnsynced(failure);
      throw failure;
    }
    if (point.base > this.synced.base || (point.base === this.synced.base && point.position >= this.synced.position)) this.synced = point;
    this.ridden?.noteDurable(this.synced.offset);
  }

  /**
   * After a failed fsync under 'fsync' durability, every record past the last good fsync belongs to
   * an append that is about to reject: cut the file back there so none of them shows up after a
   * reopen, and hide them from readers now. (The log refuses writes from here on.)
   */
  protected forgetUnsynced(error: SeglogError): void {
    this.takebacks++;
    const synced = this.synced;
    let at = this.segments.findIndex((s) => s.baseOffset === synced.base);
    if (at < 0) at = this.segments.length - 1;
    const seg = this.segments[at]!;
    this.rollbackTo({
      seg,
      segments: at + 1,
      position: seg.baseOffset === synced.base ? synced.position : 0,
      endOffset: seg.baseOffset === synced.base ? synced.offset : seg.baseOffset,
      maxTimestampMs: synced.maxTimestampMs,
    }, error);
    this.committedEnd = Math.min(this.committedEnd, this._endOffset);
    this.committedMaxTs = Math.min(this.committedMaxTs, this.maxTimestampMs);
  }

  protected closedError(): SeglogError {
    return new SeglogError('ERR_CLOSED', `topic ${this.name} was closed or deleted before the append completed`);
  }

  /** Starts a new segment at the current end offset. The old one is made durable with its indexes. */
  protected roll(reason: RollReason): void {
    // A roll with no append before it in this session (compact() rolls first) changes the segment
    // list: the stored state must stop claiming a clean close of the old active segment.
    if (!this.dirtyMarked) this.markDirty();
    const old = this.active;
    if (this.batchStart >= 0) this.sealBatch();
    this.writePending();
    if (this.chunk !== undefined) this.chunk.retired = true;
    this.chunk = undefined;
    old.persistIndexes();
    old.dropChunks(0);
    const seg = Segment.create(this.ctx.io, this.dir, this._endOffset);
    seg.pool = this.ctx.fdPool;
    seg.pins = 1; // the active segment's descriptor is never closed by the pool
    this.ctx.fdPool.opened(seg);
    this.segments.push(seg);
    publish('roll', { dir: path.dirname(this.dir), topic: this.name, oldBase: old.baseOffset, newBase: seg.baseOffset, reason, oldBytes: old.logBytes });
    // The old segment and its indexes are fsynced off the event loop (a blocking fsync here was
    // 10% of bench W1); the recovery point moves into the new segment once that is done. Under
    // 'fsync' the old segment stays in dirtySegments, so the tick's group commit covers it too.
    const point: RecoveryPoint = { base: seg.baseOffset, position: 0, offset: seg.baseOffset, maxTimestampMs: this.committedMaxTs };
    const io = this.ctx.io;
    if (this.rollSyncs.length >= ROLL_SYNCS_MAX) {
      // Many rolls in one synchronous burst: their async fsyncs cannot finish before it ends, and
      // each would hold three descriptors until then. Make this one durable now instead.
      try {
        old.fsyncAllSync();
        io.fsyncDir(this.dir);
      } catch (err) {
        this.ctx.fail(ioError('fsync', old.logPath, err));
      }
      old.closeIndexFiles();
      old.pins--;
      this.ctx.fdPool.trim();
      return;
    }
    // old keeps its active pin until its fsync is done; then the pool may close its descriptor.
    // Chained after the previous roll's fsync: the recovery point may only move past segments that
    // are all durable, and a failure of any of them (ctx.failure) keeps it where it is.
    const previous = this.rollSyncs.length > 0 ? this.rollSyncs[this.rollSyncs.length - 1] : undefined;
    const done = Promise.all([
      previous,
      old.fd >= 0 ? io.fsync(old.fd) : undefined,
      old.fsyncIndexes(),
      fsyncDirAsync(io, this.dir),
    ]).then(
      () => {
        // (unless a failed batch rolled the new segment back meanwhile)
        if (this.ctx.failure === undefined && point.base > this.synced.base && this.active.baseOffset >= point.base) {
          this.synced = point;
          this.ridden?.noteDurable(point.offset);
        }
      },
      (err: unknown) => {
        if (!this.closed) this.ctx.fail(ioError('fsync', old.logPath, err));
      },
    ).finally(() => {
      old.pins--;
      this.ctx.fdPool.trim();
      return old.closeIndexFilesWhenIdle();
    });
    this.rollSyncs.push(done);
    void done.then(() => { this.rollSyncs = this.rollSyncs.filter((p) => p !== done); });
  }

  /** The stored state says "not clean" (recovery just wrote it): close() records the clean state even if nothing is appended. */
  noteUncleanState(): void {
    this.dirtyMarked = true;
  }

  markDirty(): void {
    this.dirtyMarked = true;
    try {
      this.putStateSync(this.stateFor(false, this.checkpointed));
    } catch (err) {
      throw ioError('write metadata', this.name, err);
    }
  }

  /**
   * A durable state put. A disk that filled while the space reserve was in place (another program
   * filled it) makes it fail for lack of space: the reserve is given back and the put tried again.
   */
  putStateSync(state: TopicState): void {
    try {
      try {
        this.ctx.meta.putStateSync(this.name, state);
      } catch (err) {
        const reserve = this.ctx.reserve;
        if (!isNoSpace(err) || reserve === undefined || reserve.released) throw err;
        reserve.release();
        this.ctx.meta.putStateSync(this.name, state);
      }
    } catch (err) {
      // a store's own error (lmdb-js gives a plain Error with errno 28 on a full disk) is a SeglogError here
      throw ioError(`record the state of topic ${this.name} in the metadata store`, this.dir, err);
    }
  }

  stateFor(clean: boolean, rp: RecoveryPoint): TopicState {
    const seg = this.active;
    return {
      clean,
      segmentBase: seg.baseOffset,
      logBytes: seg.logBytes,
      endOffset: this.committedEnd,
      maxTimestampMs: this.committedMaxTs,
      startOffset: this._startOffset,
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
    if (this.closed || this.ctx.options.readOnly) return;
    const seg = this.active;
    if (!this.tickScheduled && seg.endPosition() === this.checkpointed.position && seg.baseOffset === this.checkpointed.base) return;
    await this.flush();
  }

  /** Records the synced point as the recovery point (cheap, not durable by itself: see MetaStore.putState). */
  protected recordRecoveryPoint(): void {
    if (this.closed) return;
    const rp = this.ridden === undefined ? this.synced : this.ridden.cap(this.synced);
    if (rp.base === this.checkpointed.base && rp.position === this.checkpointed.position) return;
    this.checkpointed = rp;
    if (this.dirtyMarked) this.ctx.meta.putState(this.name, this.stateFor(false, rp));
  }

  /** fsyncs all written data and index entries (flush(), checkpoints, close). */
  syncAll(): Promise<void> {
    const run = this.syncAllNow();
    this.syncing.add(run);
    const forget = (): void => { this.syncing.delete(run); };
    run.then(forget, forget);
    return run;
  }

  protected async syncAllNow(): Promise<void> {
    while (this.fsyncRunning !== undefined) await this.fsyncRunning.catch(() => undefined);
    if (this.closed) return;
    if (this.rollSyncs.length > 0) await Promise.all(this.rollSyncs.map((p) => p.catch(() => undefined)));
    const seg = this.active;
    seg.persistIndexes();
    this.dirtySegments.add(seg);
    await this.fsyncDirty();
    if (this.closed) return;
    try {
      await seg.fsyncIndexes();
    } catch (err) {
      const error = ioError('fsync', seg.indexPath, err);
      if (!this.closed) this.ctx.fail(error);
      throw error;
    }
  }

  /**
   * Makes every record below `end` durable: hands what is pending to the OS, then fsyncs
   * (compaction, before it drops records that newer ones supersede). Throws what the write or
   * fsync throws; unlike flush() it leaves a pending appendSync failure to the next append call.
   */
  async makeDurable(end: number): Promise<void> {
    if (this.closed || this.durableOffset >= end) return;
    if (this.committedEnd < end) {
      if (this.batchStart >= 0) this.sealBatch();
      this.writePending();
    }
    await this.syncAll();
  }

  /**
   * Writes the records that wait for a failed write (writeFailed kept them: their offsets were
   * handed out). Called by the next append call, flush() and so the log's timer; throws the
   * failure, and keeps them, while it lasts.
   */
  protected retryWrite(): void {
    if (this.batchStart >= 0) this.sealBatch();
    this.writePending();
    this.writeBlocked = undefined;
    dispatchWritten(this, true); // subscriptions and the group commit, as at the end of a tick
  }

  /**
   * Before an append of the other kind (a promise, or an offset handed out at once): hands what is
   * pending to the OS, so that a failed write never finds both kinds waiting (writeFailed).
   */
  writeBeforeSwitch(): void {
    if (this.batchStart >= 0) this.sealBatch();
    this.writePending();
  }

  /** Makes everything appended so far durable (log.flush()). */
  async flush(): Promise<void> {
    if (this.closed || this.ctx.options.readOnly) return;
    if (this.tickScheduled) this.flushTick();
    if (this.writeBlocked !== undefined) this.retryWrite();
    // A write that failed (this tick's, or an earlier one that no append call has reported yet)
    // lost records appended before this flush: it cannot promise they are durable.
    if (this.pendingError !== undefined) {
      const err = this.pendingError;
      this.pendingError = undefined;
      throw err;
    }
    this.writePending();
    await this.syncAll();
    if (this.closed) return; // deleted meanwhile: no state may be written for it any more
    // commits riding in batches that are durable now go to the store, durably, before a recovery
    // point may pass those batches (ridden.ts)
    if (this.ridden?.handDurable(this.synced.offset) === true) await this.ctx.meta.flush();
    if (this.closed) return;
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
