// The metadata store of a directory that has no `~meta.lmdb` (or an empty one) opened read-only:
// a log written by the native-free entry, or not written yet. lmdbMetaStore (lmdb-store.ts)
// returns it instead of opening LMDB (there is no environment to open).
//
// Invariants: it holds nothing and writes nothing; every durable put throws ERR_READ_ONLY, putState
// (the recovery checkpoint) is a no-op, flush and close have nothing to do.
import { SeglogError } from '../base/errors.js';
import type { MetaStore } from './meta-store.js';

/** Metadata of a directory that has none (read-only open of a log written by the native-free entry). */
export class EmptyMetaStore implements MetaStore {
  readonly kind = 'lmdb' as const;
  listTopics(): string[] { return []; }
  getTopicOptions(): undefined { return undefined; }
  putTopicOptions(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  getState(): undefined { return undefined; }
  putStateSync(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  putState(): void { /* read-only: nothing to record */ }
  commitStates(): void { /* read-only: nothing pending */ }
  getGroups(): Map<string, number> { return new Map(); }
  putGroup(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  putGroupSync(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  deleteGroup(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  getGroupsDone(): Map<string, number[]> { return new Map(); }
  putGroupDone(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  getGroupsInFlight(): Map<string, number[]> { return new Map(); }
  putGroupInFlight(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  deleteTopic(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  getKeyOffset(): undefined { return undefined; }
  putKeyOffsets(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  getKeyIndexEnd(): number { return -1; }
  clearKeyIndex(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  getCleanerState(): undefined { return undefined; }
  putCleanerState(): void { throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only'); }
  async flush(): Promise<void> { /* nothing to flush */ }
  async close(): Promise<void> { /* nothing to close */ }
}
