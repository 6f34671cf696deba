// Log: one directory, owned by one writer process. It holds the lock, the metadata store, the
// topics (opened and recovered at openLog), the periodic checkpoint timer, the read cache, and the
// read path (mapped or positional reads: io/mapper.ts; what may be mapped: log/seal.ts).
// close() flushes every topic and records a clean shutdown, so the next open scans nothing.
// backup() hands its topics and the entry point's wiring to backup/backup.ts. A read-only log
// opened with `follow` holds a Follower (log/follower.ts) that refreshes it by itself.
//
// Crash: the lock file stays behind (taken over by the next opener, see lock.ts); every topic is
// recovered at the next openLog (recovery.ts). Which topics the directory holds, and finishing a
// deletion, are store/topic-dirs.ts.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { SeglogError, asSeglogError, invalidArgument, ioError } from './base/errors.js';
import type { FileIO } from './io/file-io.js';
import { nodeFileIO } from './io/node-fs.js';
import { DirectoryLock } from './store/lock.js';
import { claimDirectory } from './store/marker.js';
import { DELETED_SUFFIX } from './format/batch.js';
import { finishDelete, scanTopicDirs } from './store/topic-dirs.js';
import type { MetaStore, TopicState } from './store/meta-store.js';
import { LogMarkers } from './log-markers.js';
import {
  checkTopicName, mergeStored, resolveLogOptions, resolveTopicOptions, toStored, validateTopicOptions,
  type LogOptions, type ResolvedLogOptions, type TopicOptions,
} from './format/options.js';
import { checkCodecChange } from './format/codec-change.js';
import { ReadCache } from './segment/read-cache.js';
import { FdPool } from './segment/fd-pool.js';
import { MapPool } from './segment/map-pool.js';
import { chooseReadPath, type ReadPathChoice } from './io/mapper.js';
import { sealBelow, sealRecovered } from './log/seal.js';
import { MAINTENANCE_INTERVAL_MS } from './base/limits.js';
import { openTopic } from './log/recovery.js';
import type { Follower } from './log/follower.js';
import { followLog, refreshLogTopics, reloadMeta, type RefreshedLog } from './log-refresh.js';
import { reapplyCommits } from './consumers/reapply.js';
import type { CommitBlock } from './format/commit-block.js';
import { checksumReady } from './format/checksum.js';
import { SpaceReserve, isNoSpace } from './io/space-reserve.js';
import { TopicImpl, type LogContext } from './topic.js';
import type { Topic, TopicStats } from './topic-api.js';
import { backupLog, type BackupOptions } from './backup/backup.js';

export type { Log, LogStats, LogWiring } from './log-api.js';
import type { Log, LogStats, LogWiring } from './log-api.js';

class LogImpl extends EventEmitter implements Log, LogContext, RefreshedLog {
  readonly dir: string;
  readonly io: FileIO;
  readonly meta: MetaStore;
  readonly options: ResolvedLogOptions;
  readonly readCache: ReadCache;
  readonly fdPool: FdPool;
  private readonly readPath: ReadPathChoice;
  private readonly lock: DirectoryLock | undefined;
  readonly open = new Map<string, TopicImpl<any>>();
  /** Read-only: the stored options of each open topic as last put in force (reloadMeta). */
  private readonly optionsSeen = new Map<string, string>();
  private closed = false;
  /** Some append carried a commit block (exactly-once): group resets and deletions settle the log first. */
  private riddenUsed = false;
  /** recoverAll is opening the topics: groups are loaded once all are recovered (ridden commits re-applied). */
  private recovering = false;
  private closing: Promise<void> | undefined = undefined;
  private failed: SeglogError | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** Automatic retention and compaction checks (unref'd; cleared by close). */
  private maintenanceTimer: NodeJS.Timeout | undefined = undefined;
  private checkpointRunning = false;
  private readonly backups = new Set<Promise<void>>(); // running (close waits for them)
  private follower: Follower | undefined = undefined; // `follow`: refreshes the log by itself (log-refresh.ts)
  /** The emergency space reserve of a writable log (space-reserve.ts). */
  reserve: SpaceReserve | undefined = undefined;
  /** Per-tick and close-time metadata markers (log-markers.ts). */
  private readonly markers: LogMarkers;

  constructor(dir: string, io: FileIO, meta: MetaStore, options: ResolvedLogOptions, lock: DirectoryLock | undefined, private readonly wiring: LogWiring, readPath: ReadPathChoice) {
    super();
    this.readPath = readPath;
    this.fdPool = new FdPool(undefined, readPath.mapper === undefined ? undefined : new MapPool(readPath.mapper));
    this.dir = dir;
    this.io = io;
    this.meta = meta;
    this.options = options;
    this.lock = lock;
    this.readCache = new ReadCache(options.readCacheBytes);
    this.markers = new LogMarkers(meta, dir, () => this.reserve);
  }

  /** Opens (recovering if needed) every topic the directory holds. */
  recoverAll(): void {
    // Finishes the deletions a crash interrupted (store/topic-dirs.ts).
    const { names, listed } = scanTopicDirs(this.io, this.dir, this.meta, this.options.readOnly);
    // Groups are loaded once every topic is recovered: recovering one topic may re-apply commits
    // that rode in its batches to another topic's groups (ridden.ts).
    this.recovering = true;
    try {
      for (const name of [...names].sort()) {
        if (!listed.has(name) && this.meta.getState(name) === undefined) continue;
        this.openTopicNamed(name, {});
      }
    } finally {
      this.recovering = false;
    }
    for (const t of this.open.values()) t.loadGroups();
    if (!this.options.readOnly) {
      this.timer = setInterval(() => void this.checkpointAll(), this.options.fsyncIntervalMs);
      this.timer.unref();
      this.maintenanceTimer = setInterval(() => {
        const now = Date.now();
        for (const t of this.open.values()) t.autoMaintain(now);
      }, MAINTENANCE_INTERVAL_MS);
      this.maintenanceTimer.unref();
    }
    if (this.options.follow) this.follower = followLog(this, this.options.followPollMs);
  }

  noteRidden(): void {
    this.riddenUsed = true;
  }

  async settleRidden(): Promise<void> {
    if (this.riddenUsed) await this.flush();
  }

  reapplyCommits(source: string, commits: CommitBlock[]): boolean {
    return reapplyCommits(this.meta, this.dir, source, commits, () => this.reserve?.giveBack() === true);
  }

  get markersUncommitted(): boolean { return this.markers.uncommitted; }
  markerPut(): void { this.markers.uncommitted = true; }
  closedClean(topic: string, state: TopicState): void { this.markers.closedClean(topic, state); }
  commitMarkers(): void { this.markers.commit(); }

  checkOpen(): void {
    if (this.closed) throw new SeglogError('ERR_CLOSED', `the log at ${this.dir} is closed`);
  }

  checkWritable(): void {
    this.checkOpen();
    if (this.closing !== undefined) throw new SeglogError('ERR_CLOSED', `the log at ${this.dir} is closing`);
    if (this.options.readOnly) throw new SeglogError('ERR_READ_ONLY', `the log at ${this.dir} was opened read-only`);
    if (this.failed !== undefined) {
      throw new SeglogError('ERR_IO', `the log at ${this.dir} refuses writes after a failed fsync (reopen it): ${this.failed.message}`, { cause: this.failed });
    }
  }

  get failure(): SeglogError | undefined {
    return this.failed;
  }

  fail(err: SeglogError): void {
    if (this.failed === undefined) this.failed = err;
    this.emitError(err);
  }

  emitError(err: SeglogError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** Read-only: the store's changes since, and the options the writer stored since (log-refresh.ts). */
  reloadMeta(): void {
    if (this.options.readOnly) reloadMeta(this.meta, this.open, this.optionsSeen, this.options.defaults);
  }

  openTopicNamed<V>(name: string, given: TopicOptions<V>): TopicImpl<V> {
    const stored = this.meta.getTopicOptions(name);
    const resolved = resolveTopicOptions<V>(given, stored, this.options.defaults);
    const dir = path.join(this.dir, name);
    const state = this.meta.getState(name);
    const topic = openTopic<V, TopicImpl<V>>(this, name, dir, resolved, state,
      (segments, startOffset, endOffset, maxTs, rp) => new TopicImpl<V>(this, name, dir, resolved, segments, startOffset, endOffset, maxTs, rp), !this.recovering);
    // What nothing will cut may be mapped (log/seal.ts).
    if (this.options.readOnly) sealBelow(topic.segments, state);
    else sealRecovered(topic.segments);
    topic.setupKeyIndex();
    if (!this.options.readOnly && (stored === undefined || Object.keys(toStored(given)).length > 0)) {
      // Log-level defaults are not copied into a topic's options (a later change of the defaults
      // reaches it), except the codec a new topic is created with: it says how its data is encoded
      // (stored always, 'binary' too, so that no later default retypes the records; codec-change.ts).
      const created = stored === undefined && given.codec === undefined ? toStored({ codec: this.options.defaults.codec ?? 'binary' }) : {};
      // A topic the store has no options for: durable with the other topics created in this tick,
      // before its first byte reaches the OS (commitMarkers), not one write each.
      this.storeOptions(name, { ...created, ...mergeStored(stored, given) }, stored === undefined);
    }
    if (this.options.readOnly) this.optionsSeen.set(name, JSON.stringify(stored ?? null));
    this.open.set(name, topic);
    return topic;
  }

  private storeOptions(name: string, options: object, soon = false): void {
    try {
      this.meta.putTopicOptions(name, options, soon);
      if (soon) this.markerPut();
    } catch (err) {
      throw ioError('write metadata', name, err);
    }
  }

  topic<V = Buffer>(name: string, options?: TopicOptions<V>): Topic<V> {
    this.checkOpen();
    checkTopicName(name);
    validateTopicOptions(options);
    const given = options ?? {};
    const existing = this.open.get(name) as TopicImpl<V> | undefined;
    if (existing !== undefined) {
      // a codec other than the one in force is refused unless changeCodec says so (before anything changes)
      checkCodecChange(name, existing.options, given);
      if (options !== undefined && Object.keys(options).length > 0) {
        const stored = this.meta.getTopicOptions(name);
        // options left out keep what is in force: a user codec given earlier in this process too (it is not stored)
        const keepCodec = given.codec === undefined && existing.options.codecName === undefined && !existing.options.customCodecMissing;
        existing.reconfigure(resolveTopicOptions<V>(keepCodec ? { ...given, codec: existing.options.codec } : given, stored, this.options.defaults));
        if (!this.options.readOnly && Object.keys(toStored(given)).length > 0) this.storeOptions(name, mergeStored(stored, given));
      }
      return existing;
    }
    if (this.options.readOnly) {
      throw new SeglogError('ERR_READ_ONLY', `topic ${name} does not exist and the log at ${this.dir} is read-only`, { value: name });
    }
    return this.openTopicNamed<V>(name, given);
  }

  topics(): string[] {
    this.checkOpen();
    return [...this.open.keys()].sort();
  }

  async deleteTopic(name: string): Promise<void> {
    this.checkWritable();
    checkTopicName(name);
    if (this.open.get(name) === undefined) return;
    // commits riding in batches are stored first: none can be re-applied across the deletion (to a
    // topic made again under this name, or from batches that go with this topic)
    await this.settleRidden();
    const topic = this.open.get(name);
    if (topic === undefined) return;
    this.open.delete(name);
    await topic.shutdown(new SeglogError('ERR_CLOSED', `topic ${name} was deleted`));
    // Rename first (atomic): a crash from here on finishes the deletion at the next open instead of
    // leaving a topic with metadata and no files, or files and no metadata.
    const doomed = topic.dir + DELETED_SUFFIX;
    try {
      this.io.removeDir(doomed);
      this.io.rename(topic.dir, doomed);
      this.io.fsyncDir(this.dir);
    } catch (err) {
      throw ioError('delete topic', topic.dir, err);
    }
    finishDelete(this.io, this.meta, name, doomed);
  }

  async flush(): Promise<void> {
    this.checkOpen();
    if (this.options.readOnly) return;
    await Promise.all([...this.open.values()].map((t) => t.flush()));
    await this.meta.flush();
  }

  private async checkpointAll(): Promise<void> {
    if (this.closed || this.checkpointRunning || this.failed !== undefined) return;
    this.checkpointRunning = true;
    try {
      for (const t of this.open.values()) await t.durability.checkpoint();
    } catch (err) {
      if (err instanceof SeglogError) this.emitError(err);
    } finally {
      this.checkpointRunning = false;
    }
  }

  stats(): LogStats {
    this.checkOpen();
    const topics: Record<string, TopicStats> = {};
    for (const [name, t] of [...this.open.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) topics[name] = t.stats();
    const mapped = this.fdPool.maps?.stats() ?? { segments: 0, reads: 0, failures: 0, live: 0 };
    return { dir: this.dir, durability: this.options.durability, readOnly: this.options.readOnly, io: this.readPath.io, ioReason: this.readPath.reason, mapped, topics };
  }

  refresh(): number {
    this.checkOpen();
    return this.options.readOnly ? refreshLogTopics(this, undefined) : 0;
  }

  async backup(destDir: string, options?: BackupOptions): Promise<void> {
    this.checkOpen();
    if (this.closing !== undefined) throw new SeglogError('ERR_CLOSED', `the log at ${this.dir} is closing`);
    const source = { dir: this.dir, io: this.io, readOnly: this.options.readOnly, meta: this.meta, openTopics: () => [...this.open.values()] };
    const run = backupLog(source, {
      flush: () => this.flush(), refresh: () => void this.refresh(), openMeta: async (d) => this.wiring.meta(d, false),
      recoverAndClose: async (d, io) => (await openLogWith({ ...this.wiring, io }, d)).close(),
    }, destDir, options);
    this.backups.add(run);
    try { await run; } finally { this.backups.delete(run); }
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      try { this.writeKept(); } catch (err) { return Promise.reject(err); }
      this.closing = this.doClose();
    }
    return this.closing;
  }

  /**
   * Records whose offsets appendSync returned and that a failed write kept in memory
   * (log/write-failure.ts) are written before anything closes: while they cannot be, close()
   * rejects with the write's error and closes nothing (the log stays open; the next close(),
   * append, flush() or the timer tries again), so their offsets never go to other records.
   */
  private writeKept(): void {
    if (this.failed !== undefined) return; // (a failed fsync cut them already)
    this.reserve?.releaseIfFull();
    for (const t of this.open.values()) if (t.writer.writeBlocked !== undefined) t.writer.retryWrite();
  }

  private async doClose(): Promise<void> {
    this.follower?.close();
    await Promise.allSettled([...this.backups]); // their snapshots hold segments of the open topics
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.maintenanceTimer !== undefined) clearInterval(this.maintenanceTimer);
    this.reserve?.releaseIfFull(); // a full disk: the clean close's metadata and indexes need room
    let firstError: unknown;
    // commits riding in one topic's batches go to another topic's groups: all of them are stored
    // before any topic closes (a closed topic's groups take no more positions)
    if (this.failed === undefined) {
      try { await this.settleRidden(); } catch (err) { firstError = err; }
    }
    for (const t of this.open.values()) {
      try {
        if (this.failed !== undefined) await t.shutdown(new SeglogError('ERR_CLOSED', `topic ${t.name} closed after a failure`));
        else await t.close();
      } catch (err) {
        firstError ??= err;
      }
    }
    this.closed = true;
    this.open.clear();
    try {
      // the topics' clean markers: one durable write for all, after every topic's data and indexes
      if (!this.options.readOnly) this.markers.writeClean();
    } catch (err) {
      firstError ??= err;
    }
    try {
      await this.meta.close();
    } catch (err) {
      firstError ??= err;
    }
    this.lock?.release();
    if (firstError !== undefined) throw firstError;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Opens (creating if needed) the log in `dir`, recovering every topic after a crash. */
export async function openLogWith(wiring: LogWiring, dir: string, options?: LogOptions): Promise<Log> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('directory', dir, 'a non-empty path');
  const resolved = resolveLogOptions(options);
  const io = wiring.io ?? nodeFileIO;
  const absolute = path.resolve(dir);
  await checksumReady(); // the wasm hasher (format/checksum.ts); the JS one serves until then
  let lock: DirectoryLock | undefined;
  let reserve: SpaceReserve | undefined;
  try {
    // Creates the directory (with its marker), or checks that it is the library's before writing there.
    claimDirectory(io, absolute, resolved.readOnly);
    if (!resolved.readOnly) {
      reserve = new SpaceReserve(io, absolute);
      try {
        lock = DirectoryLock.acquire(absolute);
      } catch (err) {
        if (!isNoSpace(err)) throw err;
        reserve.release(); // even the lock's symlink form needed a block (a long target on ext4)
        lock = DirectoryLock.acquire(absolute);
      }
    }
  } catch (err) {
    throw asSeglogError(err, 'open', absolute);
  }
  let meta: MetaStore | undefined;
  try {
    reserve?.open(); // before anything else is written: a full disk gets the reserve's space back
    meta = await wiring.meta(absolute, resolved.readOnly, { repair: resolved.repair, io, space: reserve });
    const log = new LogImpl(absolute, io, meta, resolved, lock, wiring, chooseReadPath(resolved.mmap, wiring.mapper));
    log.reserve = reserve;
    log.recoverAll();
    return log;
  } catch (err) {
    try { await meta?.close(); } catch { /* the first error matters */ }
    lock?.release();
    throw asSeglogError(err, 'open', absolute);
  }
}
