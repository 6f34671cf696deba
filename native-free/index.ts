// seglog/native-free — the same API as `seglog`, with no native addon loaded: the metadata lives
// in a plain JSON file written atomically instead of LMDB, and the msgpack codec is msgpackr's
// pure-JS build. The segment files are the same code and the same format.
import { openLogWith, type Log } from '../src/log.js';
import type { LogOptions } from '../src/format/options.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';

/** `openLog` with no native addon: metadata in a JSON file written atomically (same API, same segment files). */
export function openLog(dir: string, options?: LogOptions): Promise<Log> {
  return openLogWith({ meta: fileMetaStore }, dir, options);
}

export * from '../src/exports.js';
