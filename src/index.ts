// seglog — the default entry point: segment files through node:fs, metadata in LMDB.
// (`seglog/native-free` exports the same API with no native addon.)
import { openLogWith, type Log } from './log.js';
import { lmdbMetaStore } from './store/lmdb-store.js';
import { openConvertingLmdbStore } from './store/neutral.js';
import type { LogOptions } from './format/options.js';
import { loadMmapAddon } from './io/mmap-addon.js';

/**
 * Opens (creating if needed) the log in `dir`, recovering every topic after a crash. Metadata lives
 * in LMDB. Throws `ERR_LOCKED` when another process has the directory open for writing.
 */
export function openLog(dir: string, options?: LogOptions): Promise<Log> {
  // LMDB, converting from and to the native-free metadata files so that either entry point can open
  // a directory the other one closed (native-free/neutral.ts).
  // Closed segments are read through memory mappings when the addon loads (io/mmap-addon.ts).
  return openLogWith({ meta: (d, readOnly, opts) => openConvertingLmdbStore(d, readOnly, lmdbMetaStore, opts), mapper: () => loadMmapAddon() }, dir, options);
}

export * from './exports.js';
