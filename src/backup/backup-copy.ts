// Copying the files of a backup snapshot: each file's first `bytes` bytes, in chunks of
// COPY_CHUNK_BYTES through the FileIO seam, yielding to the event loop between chunks (the writer
// keeps appending while a backup runs), fsynced before the next file starts; a `.pin` link the
// snapshot made is removed once its copy is whole. Progress is reported after every chunk and
// every file; the signal is checked between chunks.
//
// Invariant: nothing here opens a source file for writing; a copy is created with 'wx' in the
// staging directory, so it never overwrites anything.
// Crash: a partial copy lies in the staging directory, never at the destination (backup.ts).
import { SeglogError, ioError } from '../base/errors.js';
import { throwIfAborted } from '../base/abort.js';
import type { FileIO } from '../io/file-io.js';
import type { PlannedFile } from './backup-snapshot.js';

/** What `onProgress` is given: bytes of the copy done so far (hard links count as done). */
export interface BackupProgress {
  /** Bytes the finished copy holds (all topics' segment and index files). */
  totalBytes: number;
  /** Bytes done so far (copied, or hard-linked). */
  copiedBytes: number;
  /** The part of copiedBytes that was hard-linked (no data moved). */
  linkedBytes: number;
  totalFiles: number;
  copiedFiles: number;
  /** The topic being copied ('' before the first and after the last). */
  topic: string;
}

/** Bytes read and written per step; the event loop gets a turn between steps. */
export const COPY_CHUNK_BYTES = 1 << 20;

/** The operation named in ERR_ABORTED. */
export function backupWhat(dest: string): string {
  return `the backup to ${dest}`;
}

export interface CopyRun {
  io: FileIO;
  dest: string;
  signal: AbortSignal | undefined;
  progress: BackupProgress;
  report: () => void;
}

/** Copies one planned file (or counts a linked one), reporting progress. */
export async function copyPlanned(run: CopyRun, file: PlannedFile, buf: Buffer): Promise<void> {
  const { io, progress } = run;
  if (file.linked) {
    // durable in the source already, unless a read-only log's writer had not fsynced it yet
    let fd = -1;
    try {
      fd = io.open(file.to, 'r');
      await io.fsync(fd);
    } catch (err) {
      throw ioError('fsync', file.to, err);
    } finally {
      if (fd >= 0) try { io.close(fd); } catch { /* read only */ }
    }
    progress.copiedBytes += file.bytes;
    progress.linkedBytes += file.bytes;
    progress.copiedFiles++;
    run.report();
    return;
  }
  let src = -1;
  let dst = -1;
  try {
    try { src = io.open(file.from, 'r'); } catch (err) { throw ioError('open', file.from, err); }
    try { dst = io.open(file.to, 'wx'); } catch (err) { throw ioError('create', file.to, err); }
    let done = 0;
    while (done < file.bytes) {
      throwIfAborted(run.signal, backupWhat(run.dest), run.dest);
      const want = Math.min(buf.length, file.bytes - done);
      let got: number;
      try { got = io.read(src, buf, 0, want, done); } catch (err) { throw ioError('read', file.from, err); }
      if (got === 0) {
        throw new SeglogError('ERR_IO', `backup: ${file.from} ended at ${done} bytes, before the ${file.bytes} the snapshot holds (was it cut from outside?)`, { file: file.from, position: done });
      }
      let put = 0;
      try {
        while (put < got) put += io.write(dst, buf, put, got - put, done + put);
      } catch (err) {
        throw ioError('write', file.to, err);
      }
      done += got;
      progress.copiedBytes += got;
      run.report();
      if (done < file.bytes) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    try { await io.fsync(dst); } catch (err) { throw ioError('fsync', file.to, err); }
  } finally {
    if (src >= 0) try { io.close(src); } catch { /* read only */ }
    if (dst >= 0) try { io.close(dst); } catch { /* the error above matters */ }
  }
  if (file.from.endsWith('.pin')) {
    try { io.unlink(file.from); } catch (err) { throw ioError('unlink', file.from, err); }
  }
  progress.copiedFiles++;
  run.report();
}
