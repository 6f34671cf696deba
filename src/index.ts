// seglog — the default entry point: segment files through node:fs, metadata in LMDB.
// (`seglog/native-free` exports the same API with no native addon.)
import { openLogWith, type Log } from './log.js';
import { lmdbMetaStore } from './meta/lmdb-store.js';
import type { LogOptions } from './options.js';

export function openLog(dir: string, options?: LogOptions): Promise<Log> {
  return openLogWith({ meta: lmdbMetaStore }, dir, options);
}

export { SeglogError } from './errors.js';
export type { SeglogErrorCode } from './errors.js';
export type { Log, LogStats } from './log.js';
export type { LogOptions, TopicOptions, Durability, Cleanup } from './options.js';
export type { Codec } from './codecs.js';
export type { Topic, TopicStats, AppendMeta, SubscribeOptions, Subscription } from './topic.js';
export type { LogRecord } from './record.js';
export type { ReadOptions } from './reader.js';
