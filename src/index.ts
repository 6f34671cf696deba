// seglog — the default entry point: segment files through node:fs, metadata in LMDB.
// (`seglog/native-free` exports the same API with no native addon.)
import { openLogWith, type Log } from './log.js';
import { lmdbMetaStore } from './meta/lmdb-store.js';
import type { LogOptions } from './options.js';

export function openLog(dir: string, options?: LogOptions): Promise<Log> {
  return openLogWith({ meta: lmdbMetaStore }, dir, options);
}

export * from './exports.js';
