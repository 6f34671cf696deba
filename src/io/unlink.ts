// Removing segment files: in parallel on the thread pool when the FileIO can, and on Windows,
// where an open file cannot be unlinked, renamed `.deleted` for a later pass (retention,
// compaction's swap and recovery remove those).
import { ioError } from '../base/errors.js';
import { SEGMENT_DELETED_SUFFIX } from '../format/batch.js';
import type { FileIO } from './file-io.js';

/** Unlinks files, in parallel on the thread pool when the FileIO can; the first failure is thrown once all are done. */
export async function unlinkAll(io: FileIO, files: string[]): Promise<void> {
  const unlinkAsync = io.unlinkAsync;
  if (unlinkAsync === undefined) {
    for (const f of files) unlinkOrDefer(io, f);
    return;
  }
  const results = await Promise.allSettled(files.map(async (f) => {
    try {
      await unlinkAsync.call(io, f);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      unlinkOrDefer(io, f); // EPERM/EBUSY (Windows): renamed; anything else: thrown as ERR_IO
    }
  }));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Unlinks a file; one that cannot be unlinked while open (EPERM/EBUSY on Windows) is renamed `.deleted`. */
export function unlinkOrDefer(io: FileIO, file: string): void {
  try {
    io.unlink(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'EPERM' || code === 'EBUSY') {
      try {
        io.rename(file, file + SEGMENT_DELETED_SUFFIX);
        return;
      } catch (err2) {
        throw ioError('rename a removed segment file', file, err2);
      }
    }
    throw ioError('unlink', file, err);
  }
}
