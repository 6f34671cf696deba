// MetaStore on LMDB: one environment `<dir>/~meta.lmdb`, keys `topic/<name>` (options) and
// `state/<name>` (recovery state), values msgpack-encoded by lmdb-js. Sync puts are LMDB write
// transactions with LMDB's default durability. Checkpoint puts are kept in memory and written in
// one transaction at the end of the tick; a later sync put of the same key supersedes a pending
// one (lmdb-js's own async puts would land after it and undo a clean-shutdown marker).
// Crash: LMDB is crash-safe by itself; a lost checkpoint put only means an older recovery point.
import { open, type RootDatabase } from 'lmdb';
import path from 'node:path';
import { SeglogError } from '../errors.js';
import { LMDB_META_FILE as META_FILE } from '../format.js';
import type { MetaStore, MetaStoreFactory, StoredTopicOptions, TopicState } from './meta-store.js';
import fs from 'node:fs';


class LmdbMetaStore implements MetaStore {
  readonly kind = 'lmdb' as const;
  private db: RootDatabase;
  private pending = new Map<string, TopicState>();
  private scheduled = false;

  constructor(dir: string, readOnly: boolean) {
    try {
      this.db = open({ path: path.join(dir, META_FILE), readOnly, compression: false });
    } catch (err) {
      throw new SeglogError('ERR_IO', `cannot open the metadata store ${path.join(dir, META_FILE)}: ${(err as Error).message}`, { file: path.join(dir, META_FILE), cause: err });
    }
  }

  listTopics(): string[] {
    const names: string[] = [];
    for (const key of this.db.getKeys({ start: 'topic/', end: 'topic0' })) names.push(String(key).slice(6));
    return names;
  }

  getTopicOptions(topic: string): StoredTopicOptions | undefined {
    return this.db.get('topic/' + topic) as StoredTopicOptions | undefined;
  }

  putTopicOptions(topic: string, options: StoredTopicOptions): void {
    this.db.putSync('topic/' + topic, options);
  }

  getState(topic: string): TopicState | undefined {
    return this.pending.get(topic) ?? (this.db.get('state/' + topic) as TopicState | undefined);
  }

  putStateSync(topic: string, state: TopicState): void {
    this.pending.delete(topic);
    this.db.putSync('state/' + topic, state);
  }

  putState(topic: string, state: TopicState): void {
    this.pending.set(topic, state);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try { this.writePending(); } catch { /* the next durable put or close reports a failing store */ }
    });
  }

  private writePending(): void {
    if (this.pending.size === 0) return;
    const entries = [...this.pending];
    this.pending.clear();
    this.db.transactionSync(() => {
      for (const [topic, state] of entries) this.db.putSync('state/' + topic, state);
    });
  }

  deleteTopic(topic: string): void {
    this.pending.delete(topic);
    this.db.transactionSync(() => {
      this.db.removeSync('topic/' + topic);
      this.db.removeSync('state/' + topic);
    });
  }

  async flush(): Promise<void> {
    this.writePending();
    await this.db.flushed;
  }

  async close(): Promise<void> {
    this.writePending();
    await this.db.close();
  }
}

/** Metadata of a directory that has none (read-only open of a log written by the native-free entry). */
class EmptyMetaStore implements MetaStore {
  readonly kind = 'lmdb' as const;
  listTopics(): string[] { return []; }
  getTopicOptions(): undefined { return undefined; }
  putTopicOptions(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  getState(): undefined { return undefined; }
  putStateSync(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  putState(): void { /* read-only: nothing to record */ }
  deleteTopic(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  async flush(): Promise<void> { /* nothing to flush */ }
  async close(): Promise<void> { /* nothing to close */ }
}

export const lmdbMetaStore: MetaStoreFactory = (dir, readOnly) =>
  readOnly && !fs.existsSync(path.join(dir, META_FILE)) ? new EmptyMetaStore() : new LmdbMetaStore(dir, readOnly);
