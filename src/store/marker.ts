// The directory is the library's (SPEC): `openLog` creates a directory, or opens one this library
// wrote, and refuses any other non-empty directory with ERR_INVALID_ARGUMENT before it writes a
// byte there (`openLog('./my-project')` must not take node_modules for a topic and drop files).
//
// The marker `<dir>/~seglog.dir` (one line of text; only its existence counts) is written when
// the library creates the directory or finds it empty, and when it opens, for writing, an unmarked
// directory that a version from before the marker wrote: every entry is one of the library's own
// files (`~meta.*`, `~groups.log*`, `~seglog.lock*`, `<topic>~keys`, `<topic>~deleted`, …) or a
// topic folder holding only segment files, and at least one of them says seglog was there (a
// metadata or lock file, or a topic folder with a `.log`). A read-only open writes nothing: it
// accepts a marked, empty or recognisable directory and refuses any other.
//
// Crash: the marker is written (fsynced, then the directory) before anything else of the log; a
// crash before it leaves an empty or recognisable directory, which the next open marks.
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import type { FileIO } from '../io/file-io.js';
import { DELETED_SUFFIX, GROUPS_FILE, JSON_META_FILE, LMDB_META_FILE, LOCK_FILE, LOG_SUFFIX, MARKER_FILE, OFFSET_DIGITS, RESERVE_FILE, isCutFileName } from '../format/batch.js';
import { checkTopicName } from '../format/options.js';

const MARKER_TEXT = 'seglog log directory (format 1): managed by the seglog library; do not add other files\n';
/** Entries a file system or desktop puts into any directory, which do not make it someone else's. */
const IGNORED_ENTRIES = new Set(['lost+found', '.DS_Store']);
/** Names of the library's own top-level files (and their temporaries, takeover and lock files, moved-aside copies). */
const OWN_PREFIXES = [LOCK_FILE, LMDB_META_FILE, JSON_META_FILE, GROUPS_FILE, MARKER_FILE, RESERVE_FILE];
const OWN_SUFFIXES = ['~keys', '~keys.tmp', DELETED_SUFFIX];
/** Files a topic folder holds: `<20 digits>.log|.index|.timeindex|.swap`, with `.tmp`/`.cleaned`/`.deleted`. */
const SEGMENT_FILE = new RegExp(`^\\d{${OFFSET_DIGITS}}\\.(log|index|timeindex|swap)(\\.tmp|\\.cleaned|\\.deleted)?$`);

/**
 * Makes sure `dir` is the library's before anything is written there: creates it (with the marker)
 * when missing, marks it when empty or written by an earlier version, and refuses anything else.
 * With `readOnly`, writes nothing.
 */
export function claimDirectory(io: FileIO, dir: string, readOnly: boolean): void {
  let st;
  try { st = io.stat(dir); } catch (err) { throw ioError('stat', dir, err); }
  if (st === undefined) {
    if (readOnly) throw new SeglogError('ERR_INVALID_ARGUMENT', `cannot open ${dir} read-only: no such directory`, { value: dir });
    try { io.mkdir(dir); } catch (err) { throw ioError('mkdir', dir, err); }
    writeMarker(io, dir, false);
    return;
  }
  if (!st.isDirectory) throw new SeglogError('ERR_INVALID_ARGUMENT', `cannot open ${dir} as a log: it is a file, not a directory (ENOTDIR)`, { value: dir, file: dir });
  let entries: string[];
  try { entries = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  if (entries.includes(MARKER_FILE)) return;
  const foreign: string[] = [];
  let recognised = false;
  for (const e of entries) {
    if (IGNORED_ENTRIES.has(e)) continue;
    if (OWN_PREFIXES.some((p) => e.startsWith(p)) || OWN_SUFFIXES.some((s) => e.endsWith(s))) { recognised = true; continue; }
    const verdict = topicFolderVerdict(io, dir, e);
    if (verdict === 'foreign') foreign.push(e);
    else if (verdict === 'segments') recognised = true;
  }
  if (foreign.length > 0 || (!recognised && entries.some((e) => !IGNORED_ENTRIES.has(e)))) {
    const shown = (foreign.length > 0 ? foreign : entries).slice(0, 5).map((e) => JSON.stringify(e)).join(', ');
    throw new SeglogError('ERR_INVALID_ARGUMENT',
      `refusing to open ${dir}: it is not a seglog log directory (no ${MARKER_FILE} marker) and holds other things (${shown}${foreign.length > 5 ? ', …' : ''}); ` +
      `give openLog a new or empty directory, which it will own`, { value: dir, file: dir });
  }
  // Empty, or written by a version before the marker: make it the library's.
  if (!readOnly) writeMarker(io, dir, recognised);
}

/** 'segments': a topic folder with a `.log`; 'empty': a topic-named folder with nothing (or only segment leftovers); else 'foreign'. */
function topicFolderVerdict(io: FileIO, dir: string, name: string): 'segments' | 'empty' | 'foreign' {
  try { checkTopicName(name); } catch { return 'foreign'; }
  const full = path.join(dir, name);
  if (io.stat(full)?.isDirectory !== true) return 'foreign';
  let files: string[];
  try { files = io.readdir(full); } catch (err) { throw ioError('readdir', full, err); }
  if (files.some((f) => !SEGMENT_FILE.test(f) && !isCutFileName(f))) return 'foreign';
  return files.some((f) => f.endsWith(LOG_SUFFIX)) ? 'segments' : 'empty';
}

/**
 * Writes the marker durably. When migrating an existing log on a full disk, a failure to write it
 * is not fatal (the directory is recognisable without it; the next open tries again): a full disk
 * must not keep a log from opening.
 */
function writeMarker(io: FileIO, dir: string, migrating: boolean): void {
  const file = path.join(dir, MARKER_FILE);
  let fd = -1;
  try {
    fd = io.open(file, 'w');
    const bytes = Buffer.from(MARKER_TEXT, 'utf8');
    let done = 0;
    while (done < bytes.length) done += io.write(fd, bytes, done, bytes.length - done, done);
    io.fsyncSync(fd);
    io.close(fd);
    fd = -1;
    io.fsyncDir(dir);
    if (!migrating) io.fsyncDir(path.dirname(dir));
  } catch (err) {
    if (fd >= 0) try { io.close(fd); } catch { /* the first error matters */ }
    const code = (err as NodeJS.ErrnoException).code;
    if (migrating && (code === 'ENOSPC' || code === 'EDQUOT')) {
      try { io.unlink(file); } catch { /* nothing was created */ }
      return;
    }
    throw ioError('write the directory marker', file, err);
  }
}
