// The swap of a compaction: replacing the segments of offsets [base, end) by the cleaned ones, in
// an order that open can always resolve to exactly one of the two sets.
//
//   1. (compaction.ts) the new segments are complete and fsynced as `<file>.cleaned`.
//   2. Commit: the marker `<base>.swap` (JSON: { version, base, end, outputs: [bases] }) is written
//      as `<base>.swap.tmp`, fsynced, renamed, and the directory fsynced.
//   3. Every `.cleaned` file takes its final name; an old file of that name is first renamed
//      `.deleted` (replacing or unlinking a large file frees its blocks synchronously: ~30 ms for
//      bench W8's 130 MB segment, an append stall), and so are the range's other old files (bases
//      that are not outputs), in one synchronous step: a listing sees the new set, not both.
//      Iterators in old files keep their descriptors.
//   4. The `.deleted` files are unlinked on the thread pool; the directory is fsynced.
//   5. The marker is unlinked; the directory is fsynced.
//
// Crash: at open (resolveInterruptedSwap), no marker means the swap never committed: `.cleaned`
// files and `.swap.tmp` are removed and the old segments stand. A marker means it did: steps 3 to 5
// are run again, synchronously (each is idempotent: a final-name file whose `.cleaned` twin still
// exists is old, one whose twin is gone was already renamed, one whose base is not an output is
// old), so the new segments stand; verify() reads the folder through the same steps (swapSteps)
// without running them. Before step 2 the caller (compaction.ts) makes the topic's recovery point in
// the store durable past the range: open refuses a topic whose recovery-point segment is missing.
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import type { FileIO } from '../io/file-io.js';
import { CLEANED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, SEGMENT_DELETED_SUFFIX, SWAP_SUFFIX, TIME_INDEX_SUFFIX, TMP_SUFFIX, parseSegmentFileName, segmentFileName } from '../format/batch.js';
import { unlinkAll, unlinkOrDefer } from '../io/unlink.js';

export interface SwapMarker {
  version: 1;
  /** The replaced range of offsets: [base, end). */
  base: number;
  end: number;
  /** Base offsets of the new segments. */
  outputs: number[];
}

/** A failure after the commit point: the swap finishes at the next open; the log must be reopened. */
export class SwapIncomplete extends SeglogError {}

/**
 * Commits and applies a swap whose `.cleaned` files are complete. `inMemory` switches the topic's
 * segment list; it runs after the commit and before any old file is touched, so iterators in the
 * old segments still hold open descriptors.
 */
export async function commitSwap(io: FileIO, dir: string, marker: SwapMarker, inMemory: () => void): Promise<void> {
  const file = path.join(dir, segmentFileName(marker.base, SWAP_SUFFIX));
  const tmp = file + TMP_SUFFIX;
  let fd = -1;
  try {
    fd = io.open(tmp, 'w');
    const bytes = Buffer.from(JSON.stringify(marker));
    let done = 0;
    while (done < bytes.length) done += io.write(fd, bytes, done, bytes.length - done, done);
    await io.fsync(fd); // fsyncs run off the event loop: appends go on meanwhile
    io.close(fd);
    fd = -1;
    io.rename(tmp, file);
  } catch (err) {
    if (fd >= 0) try { io.close(fd); } catch { /* ignore */ }
    try { io.unlink(tmp); } catch { /* ignore */ }
    throw ioError('write the compaction marker', file, err);
  }
  // Committed (once the rename is durable): from here on a failure leaves the swap to the next open.
  try {
    await fsyncDirAsync(io, dir);
  } catch (err) {
    try { inMemory(); } catch { /* reported below */ }
    throw incomplete(file, err);
  }
  try {
    // One synchronous step: the topic switches to the new segments and their files get their
    // final names, so no reader can open a new segment by a name that is not there yet.
    inMemory();
    const stale = renameCleaned(io, dir, marker);
    await unlinkAll(io, stale);
    await fsyncDirAsync(io, dir);
    io.unlink(file);
    await fsyncDirAsync(io, dir);
  } catch (err) {
    throw incomplete(file, err);
  }
}

async function fsyncDirAsync(io: FileIO, dir: string): Promise<void> {
  let fd: number;
  try {
    fd = io.open(dir, 'r');
  } catch {
    io.fsyncDir(dir); // platforms that cannot open a directory: let the FileIO decide
    return;
  }
  try {
    await io.fsync(fd);
  } finally {
    io.close(fd);
  }
}

function incomplete(file: string, err: unknown): SwapIncomplete {
  const cause = err instanceof SeglogError ? err.message : (err as Error)?.message;
  return new SwapIncomplete('ERR_IO', `compaction swap ${file} did not finish (${cause}); it is finished when the log is reopened`, { file, cause: err });
}

/** Steps 3 to 5 (see the file header), synchronously (at open). */
function applySwap(io: FileIO, dir: string, marker: SwapMarker, markerFile: string): void {
  replaceFiles(io, dir, marker);
  try { io.fsyncDir(dir); } catch (err) { throw ioError('fsync directory', dir, err); }
  try { io.unlink(markerFile); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('unlink', markerFile, err); }
  try { io.fsyncDir(dir); } catch (err) { throw ioError('fsync directory', dir, err); }
}

/**
 * What steps 3 and 4 do to a folder holding `names` whose swap `marker` committed, whatever step a
 * crash stopped at: the old files of the range that go (a base that is not an output, or a
 * final-name file whose `.cleaned` twin is still there), and the `.cleaned` files that take their
 * final names. Pure: open (replaceFiles) applies it, verify() reads the folder through it.
 */
export function swapSteps(names: readonly string[], marker: SwapMarker): { stale: string[]; renames: Array<[from: string, to: string]> } {
  const outputs = new Set(marker.outputs);
  const present = new Set(names);
  const stale: string[] = [];
  const renames: Array<[string, string]> = [];
  for (const name of names) {
    const base = segmentBase(name);
    if (base < marker.base || base >= marker.end) continue;
    if (!outputs.has(base) || present.has(name + CLEANED_SUFFIX)) stale.push(name);
  }
  for (const name of names) if (name.endsWith(CLEANED_SUFFIX)) renames.push([name, name.slice(0, -CLEANED_SUFFIX.length)]);
  return { stale, renames };
}

/** Steps 3 and 4: old files of the range go, `.cleaned` files take their final names. */
function replaceFiles(io: FileIO, dir: string, marker: SwapMarker): void {
  let names: string[];
  try { names = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  const { stale, renames } = swapSteps(names, marker);
  for (const name of stale) unlinkOrDefer(io, path.join(dir, name));
  for (const [from, to] of renames) {
    try { io.rename(path.join(dir, from), path.join(dir, to)); } catch (err) { throw ioError('rename', path.join(dir, from), err); }
  }
}

/**
 * Step 3 of a live swap: every `.cleaned` file takes its final name, the old file of that name
 * moved aside as `.deleted` first (which open removes if a crash leaves it). Returns the old files
 * still to remove (step 4).
 */
function renameCleaned(io: FileIO, dir: string, marker: SwapMarker): string[] {
  const outputs = new Set(marker.outputs);
  let names: string[];
  try { names = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  const present = new Set(names);
  const stale: string[] = [];
  for (const name of names) {
    if (!name.endsWith(CLEANED_SUFFIX)) continue;
    const from = path.join(dir, name);
    const finalName = name.slice(0, -CLEANED_SUFFIX.length);
    const final = path.join(dir, finalName);
    if (present.has(finalName)) {
      try { io.rename(final, final + SEGMENT_DELETED_SUFFIX); } catch (err) { throw ioError('rename', final, err); }
      stale.push(final + SEGMENT_DELETED_SUFFIX);
    }
    try { io.rename(from, final); } catch (err) { throw ioError('rename', from, err); }
  }
  // The range's other old files are moved aside in the same synchronous step, so that a read-only
  // open or verify() listing the folder meanwhile sees the new set (bar a microsecond window
  // between renames), not old and new mixed while the unlinks run.
  for (const name of names) {
    const base = segmentBase(name);
    if (base < marker.base || base >= marker.end || outputs.has(base)) continue;
    const file = path.join(dir, name);
    try { io.rename(file, file + SEGMENT_DELETED_SUFFIX); } catch (err) { throw ioError('rename', file, err); }
    stale.push(file + SEGMENT_DELETED_SUFFIX);
  }
  return stale;
}

/** Base offset of a segment file name (`.log`, `.index`, `.timeindex`), or -1. */
function segmentBase(name: string): number {
  return Math.max(parseSegmentFileName(name, LOG_SUFFIX), parseSegmentFileName(name, INDEX_SUFFIX), parseSegmentFileName(name, TIME_INDEX_SUFFIX));
}

/**
 * At open, before the segments are listed: finishes a committed swap or discards an uncommitted
 * one. Takes the folder's names when the caller listed them, and returns them as they are after.
 */
export function resolveInterruptedSwap(io: FileIO, dir: string, listed?: string[]): string[] {
  let names: string[];
  try { names = listed ?? io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  const markers = names.filter((n) => parseSegmentFileName(n, SWAP_SUFFIX) >= 0);
  for (const m of markers) {
    const file = path.join(dir, m);
    applySwap(io, dir, readMarker(io, file), file);
  }
  if (markers.length > 0) {
    try { names = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  }
  const left = names.filter((n) => !(n.endsWith(CLEANED_SUFFIX) || n.endsWith(SWAP_SUFFIX + TMP_SUFFIX)));
  for (const n of names) {
    if (n.endsWith(CLEANED_SUFFIX) || n.endsWith(SWAP_SUFFIX + TMP_SUFFIX)) {
      try { io.unlink(path.join(dir, n)); } catch { /* already gone */ }
    }
  }
  return left;
}

/** Reads a committed swap's marker (ERR_IO, or ERR_CORRUPT when it is damaged: open refuses the topic). */
export function readMarker(io: FileIO, file: string): SwapMarker {
  let text: string;
  let fd = -1;
  try {
    fd = io.open(file, 'r');
    const size = io.fileSize(fd);
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = io.read(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    text = buf.toString('utf8', 0, got);
  } catch (err) {
    throw ioError('read', file, err);
  } finally {
    if (fd >= 0) io.close(fd);
  }
  try {
    const m = JSON.parse(text) as SwapMarker;
    if (m.version !== 1 || !Number.isSafeInteger(m.base) || !Number.isSafeInteger(m.end) || !Array.isArray(m.outputs)) throw new Error('unknown layout');
    return m;
  } catch (err) {
    throw new SeglogError('ERR_CORRUPT', `compaction marker ${file} is damaged (${(err as Error).message}): cannot tell whether its swap committed`, { file, position: 0 });
  }
}
