// Segment: one `<base>.log` with its `.index` and `.timeindex` (docs/format.md). It owns the
// files' descriptors (the `.log`'s is in the log's FdPool, which may close it, the active
// segment's too, whenever no fsync runs on it; the index files' are open only from a persist to
// its fsync), the bytes of the `.log` handed to the OS (`logBytes`), the in-memory indexes
// (loaded on first use for closed segments and for the active one of a clean open, checked,
// and rebuilt from the log when they cannot be trusted), and the newest bytes of the active
// segment kept in memory (`chunks`, chunks.ts), including records appended in this tick and not yet written.
// Crash: a segment's `.log` may end in a torn batch and its index files may be short, long or
// missing; recovery (recovery.ts) cuts the log and rebuilds what lies past the recovery point.
// The index files' bytes are index-files.ts's (writeFully is re-exported here); checking and
// scanning the `.log`'s batches is batch-scan.ts (checkBatch and the scan types re-exported).
// Reads below `sealedBytes` (a prefix nothing will cut again) are views into the segment's mapping
// (map-pool.ts) through bytesFrom()/readRegion(), else fresh reads; truncateLog(), the one way a
// `.log` is cut, refuses to cut into that prefix (docs/guarantees.md, "Memory mapping").
import { SeglogError, ioError } from '../base/errors.js';
import type { FileIO } from '../io/file-io.js';
import { corruptionFound } from '../base/diagnostics.js';
import { BATCH_HEADER_BYTES, H_BASE_TIMESTAMP, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, readU64, segmentFileName } from '../format/batch.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import type { Region } from './read-cache.js';
import type { RecordTable } from './record-table.js';
import type { FdPool } from './fd-pool.js';
import type { MappedSegment } from './map-pool.js';
import { hasValidBatchAfter, scanLog, type BatchInfo, type ScanResult } from './batch-scan.js';
import { closeIndexFiles, closeIndexFilesWhenIdle, createIndexFiles, fsyncIndexFiles, fsyncIndexFilesSync, persistIndexFiles, readIndexFiles, writeFully } from './index-files.js';
import { chunkAt, dropChunks, type Chunk } from './chunks.js';
import path from 'node:path';

export { takeSpareBuffer, type Chunk } from './chunks.js';
export { checkBatch, type BatchInfo, type ScanResult } from './batch-scan.js';
export { writeFully } from './index-files.js';
/** Only the checksum (the batch came from our own write path, its structure was checked then). */
export { checksumMatches } from '../format/checksum.js';

export class Segment implements MappedSegment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Bytes of the `.log` handed to the OS (the file's size, once a failed write is cut back). */
  logBytes: number;
  fd = -1;
  indexFd = -1;
  timeIndexFd = -1;
  chunks: Chunk[] = [];
  /** File position from which the bytes are in `chunks` (== logBytes when none are). */
  memFrom: number;
  /** Timestamp of the first record, for segmentMs (-1: not known yet). */
  firstTimestampMs = -1;
  /** Largest timestamp of the records in this segment and all before it (-1: not known yet). */
  endMaxTimestampMs = -1;
  /** Bound on open descriptors shared by the log's segments (undefined in tools and tests). */
  pool: FdPool | undefined = undefined;
  /** While > 0 retention, compaction and backups leave the segment alone (active, fsync in flight, copy). */
  pins = 0;
  /** fsyncs running on the `.log` descriptor: while > 0 the pool must not close it. */
  syncing = 0;
  /** The `.log` was written or cut since its last fsync (fsyncLog reopens it only then). */
  logUnsynced = false;
  /** Set when the topic is closed or deleted: the files must not be opened again. */
  private released = false;
  /** Iterators (Cursor) positioned in this segment: a removed segment keeps its descriptor for them. */
  readers = 0;
  /**
   * The segment left its topic (retention or a compaction swap). Its paths may now name another
   * segment's files or nothing: the `.log` is never reopened by path, and the descriptor that
   * iterators still read through is closed when the last of them leaves (see detach).
   */
  removed = false;
  /**
   * In a read-only log: the files are opened for reading only, and `ino` is the identity of the
   * `.log` file the segment was listed with. A writer's compaction replaces segment files by
   * rename, so a descriptor opened later by path must still be that file (see sameFile).
   */
  readOnly = false;
  ino: number | undefined = undefined;
  /** get() regions of this segment by offset-index entry (owned by ReadCache). */
  regions: Array<Region | undefined> = [];
  /** Bytes of the `.log` nothing will cut again, which may be mapped (log/seal.ts; only grows: seal()). */
  sealedBytes = 0;
  /** The mapping of the sealed prefix while the log's MapPool holds one; its state there (map-pool.ts). */
  mapping: Buffer | undefined = undefined;
  /** Records verified in `mapping`, by relative offset (record-table.ts; get()'s fast path). Only while `mapping` is set. */
  mapTable: RecordTable | undefined = undefined;
  mapRefused = false;
  mapAdvised = false;
  /** Bytes of index data in the files that no longer match memory (rewrite instead of append). */
  indexDirty = false;
  indexUnsynced = false;
  indexIo: Promise<void> = Promise.resolve();
  private offsetIndex: OffsetIndex | undefined;
  private timeIdx: TimeIndex | undefined;
  /** Loads the indexes when they are first needed (deferIndexes: the active segment of a topic closed cleanly). */
  private indexLoader: (() => void) | undefined = undefined;

  constructor(readonly io: FileIO, readonly dir: string, baseOffset: number, logBytes: number) {
    this.baseOffset = baseOffset;
    const stem = path.join(dir, segmentFileName(baseOffset, '')); // (one join, not three: 10,000 topics open)
    this.logPath = stem + LOG_SUFFIX;
    this.indexPath = stem + INDEX_SUFFIX;
    this.timeIndexPath = stem + TIME_INDEX_SUFFIX;
    this.logBytes = logBytes;
    this.memFrom = logBytes;
  }

  /** Creates the three files of a new, empty segment. */
  static create(io: FileIO, dir: string, baseOffset: number): Segment {
    const seg = new Segment(io, dir, baseOffset, 0);
    try {
      seg.fd = io.open(seg.logPath, 'wx+');
      createIndexFiles(io, seg.indexPath, seg.timeIndexPath); // (their entries stay in memory until a persist)
    } catch (err) {
      seg.closeFiles();
      throw ioError('create segment', seg.logPath, err);
    }
    seg.offsetIndex = new OffsetIndex();
    seg.timeIdx = new TimeIndex();
    return seg;
  }

  /** The descriptor of the `.log`, opened on first use. */
  logFd(): number {
    if (this.fd < 0) {
      if (this.removed) throw new SeglogError('ERR_OFFSET_OUT_OF_RANGE', `segment ${this.logPath} was removed by retention or compaction`, { file: this.logPath });
      if (this.released) throw new SeglogError('ERR_CLOSED', `segment ${this.logPath} belongs to a closed or deleted topic`, { file: this.logPath });
      try {
        this.fd = this.io.open(this.logPath, this.readOnly ? 'r' : 'r+');
      } catch (err) {
        if (this.readOnly && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new SeglogError('ERR_OFFSET_OUT_OF_RANGE', `segment ${this.logPath} was removed by the writer (retention or compaction) after this read-only log listed it; log.refresh() picks up the change`, { file: this.logPath });
        }
        throw ioError('open', this.logPath, err);
      }
      if (!this.sameFile()) {
        this.closeLogFd();
        throw new SeglogError('ERR_OFFSET_OUT_OF_RANGE', `segment ${this.logPath} was replaced by the writer (compaction) after this read-only log listed it; log.refresh() picks up the new segments`, { file: this.logPath });
      }
      this.pool?.opened(this);
    } else {
      this.pool?.touch(this);
    }
    return this.fd;
  }

  /** Whether the open `.log` descriptor is the file this read-only segment was listed with. */
  private sameFile(): boolean {
    if (this.ino === undefined || this.io.fileIno === undefined) return true;
    try {
      return this.io.fileIno(this.fd) === this.ino;
    } catch {
      return false;
    }
  }

  /** Closes the `.log` descriptor (the pool's choice); the next read reopens it. */
  closeLogFd(): void {
    if (this.fd >= 0) { try { this.io.close(this.fd); } catch { /* already gone */ } this.fd = -1; }
  }
  /**
   * The segment leaves its topic (retention, compaction): its files are about to be unlinked or
   * replaced. Iterators still reading it keep an open descriptor (POSIX keeps an unlinked file's
   * data for open descriptors; views already handed out are copies in fresh buffers anyway); it
   * is closed when the last of them leaves, or when the topic is closed.
   */
  detach(): void {
    this.closeIndexFiles();
    this.pool?.maps?.forget(this); // views already handed out keep the mapping (and the inode)
    if (this.readers > 0 && this.fd < 0 && !this.released) {
      try { this.fd = this.io.open(this.logPath, 'r'); } catch { /* the reader reports ERR_OFFSET_OUT_OF_RANGE */ }
      // A file replaced since the listing is not this segment's: the reader reports ERR_OFFSET_OUT_OF_RANGE.
      if (this.fd >= 0 && !this.sameFile()) this.closeLogFd();
    }
    this.pool?.closed(this);
    this.pool = undefined;
    this.removed = true;
    this.regions = [];
    this.mapTable = undefined;
    if (this.readers === 0) this.closeLogFd();
  }

  enter(): void { this.readers++; } // an iterator enters this segment

  /** An iterator leaves this segment (a removed segment closes its descriptor after the last one). */
  leave(): void {
    this.readers--;
    if (this.removed && this.readers <= 0) this.closeLogFd();
  }

  /** Closes everything for good (topic closed or deleted). */
  release(): void {
    this.released = true;
    this.closeFiles();
  }

  /** The timestamp of the segment's first record (its first batch's base timestamp), -1 if empty. */
  readFirstTimestamp(): number {
    if (this.logBytes < BATCH_HEADER_BYTES) return -1;
    return readU64(this.readLog(0, BATCH_HEADER_BYTES), H_BASE_TIMESTAMP);
  }

  /** Bytes readable in this segment: what the OS has plus what is buffered in memory. */
  endPosition(): number {
    const n = this.chunks.length;
    return n === 0 ? this.logBytes : this.chunks[n - 1]!.filePos + this.chunks[n - 1]!.len;
  }

  hasIndexes(): boolean { return this.offsetIndex !== undefined && this.timeIdx !== undefined; }

  /** Leaves the indexes on disk until first needed (the active segment of a topic closed cleanly): `load` runs at ensureIndexes() (the segment's first write: newChunk) unless a reader's loadIndexes came first. */
  deferIndexes(load: () => void): void { if (!this.hasIndexes()) this.indexLoader = load; }
  /** Runs the deferred load, if any (its errors are the caller's: nothing was changed yet). */
  ensureIndexes(): void { if (this.indexLoader !== undefined && !this.hasIndexes()) this.indexLoader(); }

  /** The offset index, or undefined when it is not loaded yet (see Topic.indexOf). */
  get index(): OffsetIndex | undefined { return this.offsetIndex; }
  get timeIndex(): TimeIndex | undefined { return this.timeIdx; }

  setIndexes(index: OffsetIndex, timeIndex: TimeIndex, rewrite: boolean): void {
    this.regions = []; // cached get() regions are keyed by index entry
    this.mapTable = undefined; // (filled through the old index's entries)
    this.indexLoader = undefined;
    this.offsetIndex = index;
    this.timeIdx = timeIndex;
    if (rewrite) {
      index.persistedCount = 0;
      timeIndex.persistedCount = 0;
      this.indexDirty = true;
    }
  }

  /** Reads both index files as they are on disk; undefined for a file that is missing. */
  readIndexFiles(): { index: Uint8Array | undefined; timeIndex: Uint8Array | undefined } {
    return readIndexFiles(this.io, this.indexPath, this.timeIndexPath);
  }

  /** Writes `buf` at `position` of the `.log` (the tick's write; the next fsyncLog covers it). */
  writeLog(buf: Uint8Array, position: number): void { this.logUnsynced = true; writeFully(this.io, this.logFd(), buf, position); }

  /**
   * Reads `length` bytes at `position` of the `.log` into a fresh buffer (shorter at end of file),
   * or into `into` (a never-reused slab) when given.
   */
  readLog(position: number, length: number, into?: Buffer): Buffer {
    const fd = this.logFd();
    const buf = into ?? Buffer.allocUnsafe(length);
    let got = 0;
    try {
      while (got < length) {
        const n = this.io.read(fd, buf, got, length - got, position + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      throw ioError('read', this.logPath, err);
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  /** The chunk holding file position `position` (which must be >= memFrom): chunks.ts. */
  chunkAt(position: number): Chunk | undefined { return chunkAt(this.chunks, position); }
  /** Forgets the in-memory copy of written bytes (all of them, or the oldest until under budget): chunks.ts. */
  dropChunks(keepBytes: number): void { dropChunks(this, keepBytes); }

  /**
   * Appends index entries not yet in the files (or rewrites the files after a rebuild); false on a
   * full disk (see persistIndexFiles).
   */
  persistIndexes(): boolean {
    if (!this.hasIndexes()) return true; // never loaded (deferred, or a closed segment): the files are as they were
    return persistIndexFiles(this);
  }

  /** fsyncs the `.log` (reopened if closed) and the index files written since their last fsync. */
  fsyncAllSync(): void {
    try {
      if (this.fd >= 0 || !(this.removed || this.released)) this.io.fsyncSync(this.logFd());
      fsyncIndexFilesSync(this);
    } catch (err) {
      throw ioError('fsync', this.logPath, err);
    }
  }

  /**
   * fsyncs the `.log` off the event loop, within the pool's bound on fsyncs in flight: reopened if
   * the pool closed it (fsync covers what any descriptor wrote), and kept open until the call ends.
   */
  fsyncLog(): Promise<void> {
    const sync = async (): Promise<void> => {
      if (this.fd < 0 && (this.removed || this.released || !this.logUnsynced)) return; // nothing to make durable through it
      this.syncing++;
      this.logUnsynced = false; // (what is written from here on waits for the next fsync)
      try { await this.io.fsync(this.logFd()); } catch (err) { this.logUnsynced = true; throw err; } finally { this.syncing--; if (this.syncing === 0) this.pool?.trim(); }
    };
    return this.pool === undefined ? sync() : this.pool.syncs.run(sync);
  }

  /** fsyncs the index files written since their last fsync, then closes them (index-files.ts). */
  fsyncIndexes(): Promise<void> { return fsyncIndexFiles(this); }
  /** Closes the index files once every fsync asked for before has finished. */
  closeIndexFilesWhenIdle(): Promise<void> { return closeIndexFilesWhenIdle(this); }
  /** Closes the index files' descriptors now (the next persist or fsync reopens them). */
  closeIndexFiles(): void { closeIndexFiles(this); }

  closeFiles(): void {
    this.closeIndexFiles();
    this.closeLogFd();
    this.pool?.maps?.forget(this);
    this.pool?.closed(this);
  }

  /** At least `length` bytes from `position` (fewer at end of file): a view of all mapped from there, or a fresh read. */
  bytesFrom(position: number, length: number): Buffer {
    const m = this.mapped(position + length);
    return m !== undefined ? m.subarray(position) : this.readLog(position, length);
  }

  /** Bytes [position, position + length) of the `.log`: a view into the mapping, or read into a buffer `slabs` gives. */
  readRegion(position: number, length: number, slabs: { allocate(length: number): Buffer }): Buffer {
    const m = this.mapped(position + length);
    return m !== undefined ? m.subarray(position, position + length) : this.readLog(position, length, slabs.allocate(length));
  }

  /** The mapping (made now if need be, and counted as a read), when reads up to `end` may come from it. */
  mapped(end: number): Buffer | undefined {
    if (end > this.sealedBytes) return undefined;
    const maps = this.pool?.maps;
    if (maps === undefined) return undefined;
    const m = this.mapping ?? (this.mapRefused ? undefined : maps.map(this));
    if (m !== undefined) maps.touch(this);
    return m;
  }

  /** An iterator walked through this segment to its end: with no other in it, its mapped pages may leave RSS. */
  scanned(): void { if (this.mapping !== undefined && this.readers <= 1) this.pool?.maps?.scanned(this); }

  /** Nothing will cut the first `bytes` of the `.log` again (a larger prefix drops the mapping of the smaller one). */
  seal(bytes: number): void {
    if (bytes > this.sealedBytes && this.mapping !== undefined) this.pool?.maps?.forget(this); // (its views keep it)
    if (bytes > this.sealedBytes) this.sealedBytes = bytes;
  }

  /**
   * Cuts the `.log` (recovery's torn tail, a failed write's rollback). Never into the sealed prefix:
   * it may be mapped, here or in a read-only process, and a mapping cut short is SIGBUS.
   */
  truncateLog(length: number): void {
    if (length < this.sealedBytes) throw new Error(`seglog internal error: cutting ${this.logPath} to ${length} bytes, below its sealed ${this.sealedBytes} (it may be mapped)`);
    this.logUnsynced = true;
    this.io.truncate(this.logFd(), length);
  }

  /** Removes the segment's files (retention, a cut after a crash, deleteTopic). */
  deleteFiles(): void {
    this.closeFiles();
    for (const f of [this.logPath, this.indexPath, this.timeIndexPath]) {
      try { this.io.unlink(f); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('unlink', f, err); }
    }
  }

  /** Walks and checks the batches of the `.log` from `position` (see scanLog). */
  scan(position: number, expectedOffset: number, maxTimestampMs: number, onBatch: ((b: BatchInfo) => void) | undefined): ScanResult {
    return scanLog(this, position, expectedOffset, maxTimestampMs, onBatch);
  }

  /** Whether a valid batch starts anywhere after the invalid one at `position` (a torn tail or damage). */
  hasValidBatchAfter(position: number): boolean {
    return hasValidBatchAfter(this, position);
  }

  fileSizeNow(): number {
    try {
      return this.io.fileSize(this.logFd());
    } catch (err) {
      throw ioError('stat', this.logPath, err);
    }
  }

  corrupt(position: number, reason: string): SeglogError {
    return corruptionFound(new SeglogError('ERR_CORRUPT', `corrupt batch in ${this.logPath} at position ${position}: ${reason}`, { file: this.logPath, position }), this.dir);
  }
}
