// log.backup(destDir, { signal?, onProgress? }): an online, consistent copy of a log directory.
//
// Steps: (1) check the destination (a new path, or an empty directory; never inside the source,
// nor the source inside it); (2) a writable log is flushed, a read-only one refreshed; (3) the
// snapshot (backup-snapshot.ts) is taken into a staging directory beside the destination,
// `<dest>.backup-partial-<pid>-<n>`, created with its marker; (4) the files are copied
// (backup-copy.ts); (5) the metadata is written there through the entry point's own store
// (options, group positions and their finished ranges, cleaner state, and a not-clean state with
// the source's recovery point); (6) the staging directory is opened as a log and closed, by the
// library itself: recovery checks what lies past the recovery point and re-applies commits riding
// in those batches (exactly once, as after a crash at the snapshot), group positions past the copy
// point are clamped, a compacted topic's key index is rebuilt, and the close records a clean state;
// (7) the staging directory is renamed to the destination and the parent directory fsynced.
//
// Invariants: the source directory is never written (its files are only read or hard-linked, and
// the open in step 6 goes through a FileIO that refuses to write or truncate a file shared with
// the source); the destination appears only whole (one rename); any failure or abort removes the
// staging directory and leaves the destination as it was.
// Crash: a process killed mid-backup leaves the staging directory (its name says what it is; safe to
// delete) and no destination; the source is untouched.
import path from 'node:path';
import { checkSignal, throwIfAborted } from '../base/abort.js';
import { SeglogError, asSeglogError, describe, invalidArgument, ioError } from '../base/errors.js';
import type { FileIO } from '../io/file-io.js';
import type { MetaStore } from '../store/meta-store.js';
import { claimDirectory } from '../store/marker.js';
import { COPY_CHUNK_BYTES, backupWhat, copyPlanned, type BackupProgress, type CopyRun } from './backup-copy.js';
import { SnapshotMoved, linksWork, takeSnapshot, type BackupSource, type Snapshot, type TopicSnapshot } from './backup-snapshot.js';

export type { BackupProgress } from './backup-copy.js';
export type { BackupSource, BackupTopic } from './backup-snapshot.js';

/** Options of `log.backup()`. */
export interface BackupOptions {
  /** Aborts the backup: it rejects with `ERR_ABORTED` and removes what it wrote. */
  signal?: AbortSignal;
  /** Called as the copy advances (after every file and every MiB copied). A throw fails the backup. */
  onProgress?: (progress: BackupProgress) => void;
}

/** What the log hands the backup besides its files: the entry point's wiring. */
export interface BackupHost {
  /** Makes everything appended so far durable (writable log). */
  flush(): Promise<void>;
  /** Picks up what the writer appended (read-only log). */
  refresh(): void;
  /** Opens the entry point's metadata store on a new directory. */
  openMeta(dir: string): Promise<MetaStore>;
  /** Opens `dir` as a writable log through `io` and closes it (recovery, then a clean close). */
  recoverAndClose(dir: string, io: FileIO): Promise<void>;
}

const OPTION_KEYS = new Set(['signal', 'onProgress']);
/** A read-only log whose writer keeps replacing files: snapshots tried before giving up. */
const SNAPSHOT_TRIES_MAX = 5;

function checkOptions(options: unknown): BackupOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidArgument('backup options', options, 'an object');
  for (const k of Object.keys(options)) if (!OPTION_KEYS.has(k)) throw invalidArgument(`backup option ${JSON.stringify(k)}`, (options as Record<string, unknown>)[k], `one of ${[...OPTION_KEYS].join(', ')}`);
  const o = options as BackupOptions;
  checkSignal(o.signal, 'backup option signal');
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw invalidArgument('backup option onProgress', o.onProgress, 'a function');
  return o;
}

function checkDestination(io: FileIO, sourceDir: string, destIn: unknown): string {
  if (typeof destIn !== 'string' || destIn.length === 0) throw invalidArgument('backup destination', destIn, 'a non-empty path');
  const dest = path.resolve(destIn);
  const inside = (a: string, b: string): boolean => a === b || a.startsWith(b + path.sep);
  if (inside(dest, sourceDir) || inside(sourceDir, dest)) {
    throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid backup destination ${describe(dest)}: it ${dest === sourceDir ? 'is' : inside(dest, sourceDir) ? 'lies inside' : 'holds'} the log directory ${sourceDir} (a backup never writes into its source)`, { value: destIn, file: dest });
  }
  let st;
  try { st = io.stat(dest); } catch (err) { throw ioError('stat', dest, err); }
  if (st !== undefined) {
    if (!st.isDirectory) throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid backup destination ${describe(dest)}: a file exists there (give a new path or an empty directory)`, { value: destIn, file: dest });
    let entries: string[];
    try { entries = io.readdir(dest); } catch (err) { throw ioError('readdir', dest, err); }
    if (entries.length > 0) throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid backup destination ${describe(dest)}: the directory is not empty (${entries.length} entries; give a new path or an empty directory)`, { value: destIn, file: dest });
  }
  return dest;
}

/** Makes the staging directory beside `dest` (a fresh name), with the library's marker. */
function makeStaging(io: FileIO, dest: string): string {
  const parent = path.dirname(dest);
  try { io.mkdir(parent); } catch (err) { throw ioError('mkdir', parent, err); }
  for (let n = 0; ; n++) {
    const staging = `${dest}.backup-partial-${process.pid}-${n}`;
    if (io.stat(staging) !== undefined) continue;
    claimDirectory(io, staging, false);
    return staging;
  }
}

/** Runs a backup of `source` into `destIn` (see the file header). */
export async function backupLog(source: BackupSource, host: BackupHost, destIn: unknown, optionsIn: unknown): Promise<void> {
  const options = checkOptions(optionsIn);
  const io = source.io;
  const dest = checkDestination(io, source.dir, destIn);
  const signal = options.signal;
  checkAborted(signal, dest);
  if (source.readOnly) host.refresh();
  else await host.flush();
  checkAborted(signal, dest);
  let staging: string | undefined;
  let snapshot: Snapshot | undefined;
  try {
    staging = makeStaging(io, dest);
    snapshot = snapshotWithRetries(source, host, staging, linksWork(io, source.dir, staging));
    const files = snapshot.topics.flatMap((t) => t.files);
    const progress: BackupProgress = {
      totalBytes: files.reduce((n, f) => n + f.bytes, 0), copiedBytes: 0, linkedBytes: 0,
      totalFiles: files.length, copiedFiles: 0, topic: '',
    };
    const run: CopyRun = { io, dest, signal, progress, report: () => options.onProgress?.({ ...progress }) };
    run.report();
    const buf = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    for (const t of snapshot.topics) {
      progress.topic = t.name;
      for (const f of t.files) await copyPlanned(run, f, buf);
      fsyncDir(io, path.join(staging, t.name));
    }
    snapshot.release();
    progress.topic = '';
    run.report();
    checkAborted(signal, dest);
    await writeMetadata(await host.openMeta(staging), snapshot.topics);
    await host.recoverAndClose(staging, guardLinked(io, new Set(files.filter((f) => f.linked).map((f) => f.to))));
    checkAborted(signal, dest);
    try { io.rename(staging, dest); } catch (err) { throw ioError('rename the finished backup to', dest, err); }
    staging = undefined;
    fsyncDir(io, path.dirname(dest));
  } catch (err) {
    snapshot?.release();
    if (staging !== undefined) try { io.removeDir(staging); } catch { /* the first error matters */ }
    throw asSeglogError(err, 'back up to', dest);
  }
}

function snapshotWithRetries(source: BackupSource, host: BackupHost, staging: string, links: boolean): Snapshot {
  for (let tries = 1; ; tries++) {
    try {
      return takeSnapshot(source, staging, links);
    } catch (err) {
      if (!(err instanceof SnapshotMoved) || tries >= SNAPSHOT_TRIES_MAX) throw err;
      for (const name of source.io.readdir(staging)) if (!name.startsWith('~')) source.io.removeDir(path.join(staging, name));
      host.refresh();
    }
  }
}

async function writeMetadata(meta: MetaStore, topics: TopicSnapshot[]): Promise<void> {
  try {
    for (const t of topics) {
      if (t.options !== undefined) meta.putTopicOptions(t.name, t.options);
      meta.putStateSync(t.name, t.state);
      for (const [group, position] of t.groups) meta.putGroupSync(t.name, group, position, t.groupsDone.get(group) ?? []);
      for (const [group, triples] of t.groupsInFlight) if (t.groups.has(group)) meta.putGroupInFlight(t.name, group, triples);
      if (t.cleaner !== undefined) meta.putCleanerState(t.name, t.cleaner);
    }
    await meta.flush();
  } finally {
    await meta.close();
  }
}

function checkAborted(signal: AbortSignal | undefined, dest: string): void {
  throwIfAborted(signal, backupWhat(dest), dest);
}

function fsyncDir(io: FileIO, dir: string): void {
  try { io.fsyncDir(dir); } catch (err) { throw ioError('fsync directory', dir, err); }
}

/**
 * The FileIO the copy is recovered through: a write or truncate of a file hard-linked with the
 * source (a closed segment's `.log`) throws instead of changing the source's file too.
 */
function guardLinked(io: FileIO, linked: Set<string>): FileIO {
  const shared = new Set<number>();
  const refuse = (what: string): never => {
    throw new SeglogError('ERR_IO', `backup: the copy's recovery tried to ${what} a segment file it shares with the source (hard link); the source is left as it was`);
  };
  return {
    ...io,
    open(p, flags) {
      const fd = io.open(p, flags);
      if (linked.has(p)) shared.add(fd);
      return fd;
    },
    close(fd) {
      shared.delete(fd);
      io.close(fd);
    },
    write(fd, buf, offset, length, position) {
      if (shared.has(fd)) refuse('write');
      return io.write(fd, buf, offset, length, position);
    },
    truncate(fd, length) {
      if (shared.has(fd)) refuse('truncate');
      io.truncate(fd, length);
    },
  };
}
