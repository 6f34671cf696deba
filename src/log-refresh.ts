// log.refresh() and the follower's refresh of a read-only log (src/log.ts; log/follower.ts, made
// here for a log opened with `follow`, its failures reported on the log's 'error' event): each
// topic picks up what the writer appended, rolled or removed (log/refresh.ts); a topic whose folder
// the writer deleted is released (its reads and subscriptions end with ERR_CLOSED); topics the
// writer created since are opened. Moved out of LogImpl as a function of the narrow RefreshedLog.
//
// Invariants: only memory changes (a read-only log writes nothing). Without `onError` the first
// failure is thrown (log.refresh()); with it (the follower) each failure is reported and the other
// topics are still refreshed.
//
// Crash: nothing here is on disk.
import { SeglogError, asSeglogError } from './base/errors.js';
import type { FileIO } from './io/file-io.js';
import { newTopicDirs } from './store/topic-dirs.js';
import { Follower } from './log/follower.js';
import type { MetaStore } from './store/meta-store.js';
import { resolveTopicOptions, type ResolvedLogOptions, type ResolvedTopicOptions } from './format/options.js';

/** What a refresh needs of one open topic. */
export interface RefreshedTopic {
  readonly dir: string;
  refresh(): number;
  release(err: SeglogError): void;
}

/** What a refresh needs of the log. */
export interface RefreshedLog {
  readonly dir: string;
  readonly io: FileIO;
  readonly open: Map<string, RefreshedTopic>;
  openTopicNamed(name: string, given: object): { readonly endOffset: number };
  emitError(err: SeglogError): void;
  /** Takes what the writer changed in the metadata store since (MetaStore.reload). */
  reloadMeta(): void;
}

/** The follower of a log opened with `follow` (stopped by the log's close()). */
export function followLog(log: RefreshedLog, pollMs: number): Follower {
  const followed = {
    dir: log.dir, io: log.io,
    topicNames: () => log.open.keys(),
    refreshTopics: (names: ReadonlySet<string> | undefined, onError: (err: unknown) => void) => void refreshLogTopics(log, names, onError),
  };
  return new Follower(followed, pollMs, (err) => {
    const e = asSeglogError(err, 'follow', log.dir);
    if (e instanceof SeglogError) log.emitError(e);
  });
}

/**
 * Refreshes the topics named (undefined: all of them, and opens the ones the writer created since).
 * Returns how many records became readable.
 */
export function refreshLogTopics(log: RefreshedLog, names: ReadonlySet<string> | undefined, onError?: (err: unknown) => void): number {
  const step = (fn: () => number): number => {
    if (onError === undefined) return fn();
    try { return fn(); } catch (err) { onError(err); return 0; }
  };
  let added = 0;
  // the metadata first: the topics' refreshes read start offsets, options and groups from it
  step(() => { log.reloadMeta(); return 0; });
  for (const [name, t] of [...log.open.entries()]) {
    if (names !== undefined && !names.has(name)) continue;
    if (log.io.stat(t.dir) === undefined) {
      log.open.delete(name);
      t.release(new SeglogError('ERR_CLOSED', `topic ${name} was deleted by the process that writes ${log.dir}`));
      continue;
    }
    added += step(() => t.refresh());
  }
  if (names !== undefined) return added;
  // Their folder is created before any record is written.
  added += step(() => {
    let n = 0;
    for (const e of newTopicDirs(log.io, log.dir, (name) => log.open.has(name))) n += step(() => log.openTopicNamed(e, {}).endOffset);
    return n;
  });
  return added;
}

/** What reloadMeta needs of an open topic. */
export interface ReconfiguredTopic {
  readonly options: ResolvedTopicOptions<any>;
  reconfigure(options: ResolvedTopicOptions<any>): void;
}

/**
 * A read-only log's reload of the metadata (log.refresh() and the follower): the store's changes
 * since (MetaStore.reload), and the options the writer stored for an open topic since it opened (a
 * topic found by its folder before the writer stored them, a reconfiguration) put in force; a user
 * codec given in this process is kept. `seen` holds what was last put in force per topic.
 */
export function reloadMeta(meta: MetaStore, open: ReadonlyMap<string, ReconfiguredTopic>, seen: Map<string, string>, defaults: ResolvedLogOptions['defaults']): void {
  meta.reload?.();
  for (const [name, topic] of open) {
    const stored = meta.getTopicOptions(name);
    const text = JSON.stringify(stored ?? null);
    if (text === seen.get(name)) continue;
    seen.set(name, text);
    const keepCodec = topic.options.codecName === undefined && !topic.options.customCodecMissing;
    topic.reconfigure(resolveTopicOptions(keepCodec ? { codec: topic.options.codec } : {}, stored, defaults));
  }
}
