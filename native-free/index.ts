// seglog/native-free — the same API as `seglog`, with no native addon loaded: the metadata lives
// in a plain JSON file written atomically instead of LMDB, and the msgpack codec is msgpackr's
// pure-JS build. The segment files are the same code and the same format.
import { openLogWith, type Log } from '../src/log.js';
import type { LogOptions } from '../src/options.js';
import { fileMetaStore } from './file-meta-store.js';

export function openLog(dir: string, options?: LogOptions): Promise<Log> {
  return openLogWith({ meta: fileMetaStore }, dir, options);
}

export { SeglogError } from '../src/errors.js';
export type { SeglogErrorCode } from '../src/errors.js';
export type { Log, LogStats } from '../src/log.js';
export type { LogOptions, TopicOptions, Durability, Cleanup } from '../src/options.js';
export type { Codec } from '../src/codecs.js';
export type { Topic, TopicStats, AppendMeta, SubscribeOptions, Subscription } from '../src/topic.js';
export type { LogRecord } from '../src/record.js';
export type { ReadOptions } from '../src/reader.js';
