// MetaStore on LMDB: one environment `<dir>/meta.lmdb`, keys `topic/<name>` (options) and
// `state/<name>` (recovery state), values msgpack-encoded by lmdb-js. Sync puts are LMDB write
// transactions with LMDB's default durability; async puts are batched by lmdb-js.
// Crash: LMDB is crash-safe by itself; a lost async put only means an older recovery point.
import { open, type RootDatabase } from 'lmdb';
import path from 'node:path';
import { SeglogError } from '../errors.js';
import type { MetaStore, MetaStoreFactory, StoredTopicOptions, TopicState } from './meta-store.js';

export const META_FILE = 'meta.lmdb';

class LmdbMetaStore implements MetaStore {
  readonly kind = 'lmdb' as const;
  private db: RootDatabase;

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
    return this.db.get('state/' + topic) as TopicState | undefined;
  }

  putStateSync(topic: string, state: TopicState): void {
    this.db.putSync('state/' + topic, state);
  }

  putState(topic: string, state: TopicState): void {
    void this.db.put('state/' + topic, state);
  }

  deleteTopic(topic: string): void {
    this.db.transactionSync(() => {
      this.db.removeSync('topic/' + topic);
      this.db.removeSync('state/' + topic);
    });
  }

  async flush(): Promise<void> {
    await this.db.flushed;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export const lmdbMetaStore: MetaStoreFactory = (dir, readOnly) => new LmdbMetaStore(dir, readOnly);
