// What happens to a damaged metadata file (`~meta.lmdb`, `~meta.json`, `~groups.log`): without
// `repair` it is ERR_CORRUPT naming the file (and a `seglog:corruption` event); with `repair` the
// file is moved aside as `<name>.damaged` (`.damaged-2`, … if that exists) — never deleted — and
// `seglog:recovery` says, per topic folder, what the rebuilt metadata could not take back.
// The metadata is a cache of what the segment files hold, except topic options and consumer-group
// positions: those come back from the neutral `~meta.json` when it is there, else they are lost.
//
// Crash: a rename is atomic; a crash after it leaves the file aside and no metadata, which the next
// open treats as a directory without metadata (every topic folder scanned).
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import { publish } from '../base/diagnostics.js';
import type { FileIO } from '../io/file-io.js';
import { checkTopicName } from '../format/options.js';

/** Suffix of a damaged metadata file moved aside by a repair. */
export const DAMAGED_SUFFIX = '.damaged';

/** The ERR_CORRUPT for a damaged metadata file (published on `seglog:corruption` too). */
export function metadataCorrupt(dir: string, file: string, position: number, what: string): SeglogError {
  const message = `${what}; openLog(dir, { repair: true }) moves it aside and rebuilds the metadata from the segment files`;
  publish('corruption', { dir, topic: '', file, position, message });
  return new SeglogError('ERR_CORRUPT', message, { file, position });
}

/** Renames `file` to a free `<file>.damaged[-n]` and makes that durable; returns the new path. */
export function moveAside(io: FileIO, file: string): string {
  let target = file + DAMAGED_SUFFIX;
  for (let n = 2; io.stat(target) !== undefined; n++) target = `${file}${DAMAGED_SUFFIX}-${n}`;
  try {
    io.rename(file, target);
    io.fsyncDir(path.dirname(file));
  } catch (err) {
    throw ioError('move aside', file, err);
  }
  return target;
}

/** The topic folders of `dir` (names a topic may have, and directories). */
export function topicFolders(io: FileIO, dir: string): string[] {
  let entries: string[];
  try { entries = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  return entries.filter((e) => {
    try { checkTopicName(e); } catch { return false; }
    return io.stat(path.join(dir, e))?.isDirectory === true;
  }).sort();
}

/**
 * Publishes on `seglog:recovery` that the metadata file `file` was damaged and moved to `movedTo`,
 * and, per topic folder, what the rebuilt metadata holds (`outcome`).
 */
export function reportRebuilt(io: FileIO, dir: string, file: string, movedTo: string, outcome: string): void {
  const base = `the metadata file ${file} was damaged and moved to ${movedTo}`;
  publish('recovery', { dir, topic: '', action: 'rebuild-metadata', file: movedTo, reason: `${base}; ${outcome}` });
  for (const topic of topicFolders(io, dir)) {
    publish('recovery', { dir, topic, action: 'rebuild-metadata', file: movedTo, reason: `${base}; ${outcome}; its recovery point is rebuilt by a scan` });
  }
}

/** What a rebuild without a neutral copy loses. */
export const OPTIONS_AND_GROUPS_LOST = 'topic options and consumer-group positions are lost (nothing to restore them from): topics open with default options and groups restart from their \'from\' option';
