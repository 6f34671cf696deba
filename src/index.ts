// seglog — the default entry point: segment files through node:fs, metadata in LMDB.
// (`seglog/native-free` exports the same API with no native addon.)
import { openLogWith, type Log } from './log.js';
import { lmdbMetaStore } from './meta/lmdb-store.js';
import type { LogOptions } from './options.js';

/**
 * Opens (creating if needed) the log in `dir`, recovering every topic after a crash. Metadata lives
 * in LMDB. Throws `ERR_LOCKED` when another process has the directory open for writing.
 */
export function openLog(dir: string, options?: LogOptions): Promise<Log> {
  return openLogWith({ meta: lmdbMetaStore }, dir, options);
}

export * from './exports.js';
