// The public face of a log: the Log interface of SPEC.md (what `openLog` resolves to), the LogStats
// that `log.stats()` returns, and LogWiring, how an entry point builds a log. Types only; LogImpl
// (src/log.ts) implements them.
//
// Crash: nothing here is on disk.
import type { SeglogError } from './base/errors.js';
import type { FileIO } from './io/file-io.js';
import type { MetaOpenOptions, MetaStore, MetaStoreFactory } from './store/meta-store.js';
import type { NamedCodecTopicOptions, TopicOptions } from './format/options.js';
import type { MapStats } from './segment/map-pool.js';
import type { ReadPath, ReadPathChoice } from './io/mapper.js';
import type { Topic, TopicStats } from './topic-api.js';
import type { BackupOptions } from './backup/backup.js';

/** What `log.stats()` returns. */
export interface LogStats {
  dir: string;
  durability: 'fsync' | 'os' | 'none';
  readOnly: boolean;
  /** How closed segments are read: `'mmap'` (views into mappings) or `'pread'` (positional reads), and why. */
  io: ReadPath;
  ioReason: string;
  /** Mapped reads so far (all zero on the pread path). */
  mapped: MapStats;
  topics: Record<string, TopicStats>;
}

/**
 * A log directory, opened by `openLog(dir, options)`. One process writes a directory at a time
 * (`ERR_LOCKED` for a second writer); any number may open it with `readOnly: true`.
 *
 * ```ts
 * await using log = await openLog('./data');
 * const t = log.topic('events', { codec: 'json' });
 * ```
 */
export interface Log {
  /**
   * Opens or creates a topic; always the same object for a name. Given options are stored and
   * override stored ones. The value type follows the codec: `{ codec: 'string' }` gives a
   * `Topic<string>`, `'json'` and `'msgpack'` a `Topic<unknown>` (or `log.topic<Order>(…)`), a
   * `Codec<V>` a `Topic<V>`, `'binary'` and no codec a `Topic<Buffer>`; a type argument that the
   * codec cannot produce (`log.topic<number>('n', { codec: 'string' })`) does not type-check.
   */
  topic(name: string, options: NamedCodecTopicOptions<'string'>): Topic<string>;
  topic(name: string, options: NamedCodecTopicOptions<'json' | 'msgpack'>): Topic<unknown>;
  topic<V = Buffer>(name: string, options?: TopicOptions<V>): Topic<V>;
  /** The topics' names, sorted. */
  topics(): string[];
  /** Deletes a topic and its files (crash-safe: finished at the next open if interrupted). */
  deleteTopic(name: string): Promise<void>;
  /** Resolves when everything appended so far is fsynced. */
  flush(): Promise<void>;
  /** Per topic: segments, bytes, offsets, codec, groups and their lag. */
  stats(): LogStats;
  /**
   * On a read-only log: picks up what the writer process appended since the open (new records,
   * rolled segments, segments removed by retention, new topics; a topic the writer deleted is
   * closed). Returns how many records became readable. On a writable log it does nothing and returns 0.
   */
  refresh(): number;
  /**
   * Copies a consistent snapshot into `destDir` (a new path or an empty directory) while the log is
   * written: what was flushed when it started, group positions of then; `openLog(destDir)` opens it
   * as a cleanly closed log. docs/guarantees.md, "Backups".
   */
  backup(destDir: string, options?: BackupOptions): Promise<void>;
  /** Flushes and closes; later calls on the log or its topics throw `ERR_CLOSED`. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  on(event: 'error', listener: (err: SeglogError) => void): this;
  off(event: 'error', listener: (err: SeglogError) => void): this;
  once(event: 'error', listener: (err: SeglogError) => void): this;
}

/** How an entry point builds a log: which metadata store, which file layer. */
export interface LogWiring {
  /** The metadata store (it may open asynchronously, e.g. after converting another entry point's files). */
  meta: MetaStoreFactory | ((dir: string, readOnly: boolean, options?: MetaOpenOptions) => Promise<MetaStore>);
  io?: FileIO;
  /** Memory mappings of closed segments (io/mapper.ts): the default entry point's addon; none means positional reads. */
  mapper?: () => ReadPathChoice;
}

