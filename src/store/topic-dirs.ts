// The topic folders of a log directory, as the log facade (src/log.ts) finds them: at open, every
// topic the metadata names plus every folder with a valid topic name (metadata lost or copied
// without it); on a read-only refresh, the folders the writer created since. A `<topic>~deleted`
// folder is a deleteTopic a crash interrupted: it is never a topic, and a writable open finishes
// the deletion (metadata entry, then the folder) before any topic opens. Reads the directory only
// through FileIO; writes only by finishing deletions.
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import { recoveryAction } from '../base/diagnostics.js';
import { DELETED_SUFFIX } from '../format/batch.js';
import { checkTopicName } from '../format/options.js';
import type { FileIO } from '../io/file-io.js';
import type { MetaStore } from './meta-store.js';

/**
 * The names of the topics `dir` holds: the metadata's and the topic folders'; and `listed`, the
 * entries of `dir` (so that opening a topic the metadata names needs no stat to know its folder
 * is there: bench/topics.js). Finishes the deletions a crash interrupted (their names are not
 * returned), unless `readOnly`.
 */
export function scanTopicDirs(io: FileIO, dir: string, meta: MetaStore, readOnly: boolean): { names: Set<string>; listed: Set<string> } {
  const names = new Set(meta.listTopics());
  let entries: string[] = [];
  try { entries = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  const listed = new Set(entries);
  for (const e of entries) {
    if (e.endsWith(DELETED_SUFFIX)) {
      // A deleteTopic that a crash interrupted: finish it.
      const name = e.slice(0, -DELETED_SUFFIX.length);
      names.delete(name);
      if (!readOnly) {
        finishDelete(io, meta, name, path.join(dir, e));
        recoveryAction(path.join(dir, name), 'finish-delete', 'a deleteTopic was interrupted by a crash', { file: path.join(dir, e) });
      }
      continue;
    }
    // A topic folder the metadata does not know (metadata lost or copied without it).
    if (names.has(e)) continue;
    try { checkTopicName(e); } catch { continue; }
    const st = io.stat(path.join(dir, e));
    if (st?.isDirectory) names.add(e);
  }
  return { names, listed };
}

/**
 * Ends a deletion once the topic folder is renamed to `doomed`: its metadata, then the folder. A
 * metadata store refused for want of room (ERR_NO_SPACE: the LMDB store's check bounds a deletion
 * by its whole trees, store/lmdb-room.ts) gets the room of the topic's files: they are removed
 * first and the metadata tried again, the emptied `doomed` folder staying until it is done (a crash
 * meanwhile still finishes the deletion at the next open).
 */
export function finishDelete(io: FileIO, meta: MetaStore, name: string, doomed: string): void {
  try {
    try {
      meta.deleteTopic(name);
    } catch (err) {
      if (!(err instanceof SeglogError) || err.code !== 'ERR_NO_SPACE') throw err;
      for (const f of io.readdir(doomed)) io.removeDir(path.join(doomed, f));
      meta.deleteTopic(name);
    }
    io.removeDir(doomed);
  } catch (err) {
    throw ioError('delete topic', doomed, err);
  }
}

/**
 * The topic folders of `dir` that `known` does not name, sorted, skipping deletions in progress
 * (a read-only refresh: topics the writer created since the open). Lazy: each is checked as the
 * caller reaches it.
 */
export function* newTopicDirs(io: FileIO, dir: string, known: (name: string) => boolean): Generator<string> {
  let entries: string[] = [];
  try { entries = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  for (const e of entries.sort()) {
    if (known(e) || e.endsWith(DELETED_SUFFIX)) continue;
    try { checkTopicName(e); } catch { continue; }
    if (!io.stat(path.join(dir, e))?.isDirectory) continue;
    yield e;
  }
}
