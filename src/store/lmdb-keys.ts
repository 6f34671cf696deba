// The key index of compacted topics in the LMDB metadata store (lmdb-store.ts): the part of
// LmdbMetaStore that keeps a named database `keys` with binary keys `<topic> 0x00 <key bytes>` and
// 8-byte values (the offset as a little-endian float64), plus `keyend/<topic>` (every record below
// it is indexed) in the root database, as a base class the store extends (above the group
// positions of lmdb-groups.ts). Key index puts are lmdb-js asynchronous puts: those of a tick commit
// together in one transaction, off the main thread; until they commit they are served from
// `pendingKeys`. A writable store keeps recently looked-up answers in a bounded cache
// (key-offset-cache.ts), updated by every put and dropped with the topic's keys.
//
// Invariants: a put refused for lack of room (checkRoom, lmdb-room.ts) changes nothing (the caller
// keeps the entries and tries again); a failed asynchronous put leaves the entries pending in memory
// (the next open catches up from the stored end). The store supplies the databases (the abstract
// members below and `keysDb`, set by its constructor).
import type { Database } from 'lmdb';
import { SeglogError } from '../base/errors.js';
import { metadataCorrupt } from './metadata-damage.js';
import { LmdbGroupPositions } from './lmdb-groups.js';
import { ABSENT, KeyOffsetCache } from './key-offset-cache.js';

export abstract class LmdbKeyIndexStore extends LmdbGroupPositions {
  protected abstract readonly readOnly: boolean;
  protected keysDb: Database<Buffer, Buffer> | undefined;
  /** Key index puts not committed yet: `<topic>\0<key>` -> offset (-1: removed). */
  private pendingKeys = new Map<string, number>();
  private pendingKeyEnds = new Map<string, number>();
  private keyScratch = Buffer.allocUnsafe(1024);
  /** Recently looked-up key index entries (key-offset-cache.ts); none in a read-only store, whose file a writer changes. */
  private readonly keyCache: KeyOffsetCache | undefined;

  constructor(readOnly: boolean) {
    super();
    this.keyCache = readOnly ? undefined : new KeyOffsetCache();
  }

  /**
   * The value under `key`; one that does not decode (or is not an object where one must be) is
   * ERR_CORRUPT naming the store, not a msgpack error or a TypeError later in recovery.
   */
  protected value(key: string, shape?: 'object'): unknown {
    let v: unknown;
    try {
      v = this.db.get(key);
    } catch (err) {
      throw metadataCorrupt(this.dir, this.file, 0, `the metadata store ${this.file} holds a value under ${JSON.stringify(key)} that cannot be decoded: ${(err as Error).message}`);
    }
    if (shape === 'object' && v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw metadataCorrupt(this.dir, this.file, 0, `the metadata store ${this.file} holds ${typeof v} under ${JSON.stringify(key)} where an object belongs`);
    }
    return v;
  }

  /** `<topic> 0x00 <key bytes>` in a scratch buffer (lmdb-js copies keys when it uses them). */
  private keyBytes(topic: string, key: string): Buffer {
    const need = topic.length + 1 + key.length;
    if (need > this.keyScratch.length) this.keyScratch = Buffer.allocUnsafe(need * 2);
    let n = this.keyScratch.write(topic, 0, 'latin1');
    this.keyScratch[n++] = 0;
    n += this.keyScratch.write(key, n, 'latin1');
    return this.keyScratch.subarray(0, n);
  }

  getKeyOffset(topic: string, key: string): number | undefined {
    if (this.pendingKeys.size > 0) {
      const p = this.pendingKeys.get(topic + '\0' + key);
      if (p !== undefined) return p < 0 ? undefined : p;
    }
    const cache = this.keyCache;
    if (cache !== undefined) {
      const c = cache.get(topic, key);
      if (c !== undefined) return c === ABSENT ? undefined : c;
    }
    const v = this.keysDb?.getBinaryFast(this.keyBytes(topic, key));
    const offset = v === undefined || v.length < 8 ? undefined : v.readDoubleLE(0);
    cache?.add(topic, key, offset ?? ABSENT);
    return offset;
  }

  putKeyOffsets(topic: string, keys: string[], offsets: number[], indexedUpTo: number): void {
    if (this.readOnly || this.keysDb === undefined) throw new SeglogError('ERR_READ_ONLY', 'the metadata store is read-only');
    let payload = topic.length + 32;
    for (const k of keys) payload += topic.length + k.length + 9;
    const need = this.checkRoom(keys.length + 1, payload); // (refused: the caller keeps them and tries again)
    let last: Promise<boolean> | undefined;
    let previous: Promise<boolean> | undefined;
    this.keyCache?.written(topic, keys, offsets);
    const names: string[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const name = topic + '\0' + keys[i]!;
      names[i] = name;
      this.pendingKeys.set(name, offsets[i]!);
      const k = Buffer.from(this.keyBytes(topic, keys[i]!));
      if (offsets[i]! < 0) {
        last = this.keysDb.remove(k);
      } else {
        const v = Buffer.allocUnsafe(8);
        v.writeDoubleLE(offsets[i]!, 0);
        last = this.keysDb.put(k, v);
      }
      // (puts of one transaction share one promise: a handler only where a new one begins)
      if (previous !== undefined && last !== previous) previous.catch(this.noteAsyncFailure);
      previous = last;
    }
    if (indexedUpTo >= 0) {
      this.pendingKeyEnds.set(topic, indexedUpTo);
      last = this.db.put('keyend/' + topic, indexedUpTo);
      if (previous !== undefined && last !== previous) previous.catch(this.noteAsyncFailure);
    }
    if (last === undefined) return;
    this.room?.track(last, need, keys.length + 1, payload);
    this.guardCommit();
    const done = (): void => {
      for (let i = 0; i < names.length; i++) if (this.pendingKeys.get(names[i]!) === offsets[i]) this.pendingKeys.delete(names[i]!);
      if (indexedUpTo >= 0 && this.pendingKeyEnds.get(topic) === indexedUpTo) this.pendingKeyEnds.delete(topic);
    };
    last.then(done, this.noteAsyncFailure); // a failing store: the entries stay pending in memory; the next open catches up
  }

  getKeyIndexEnd(topic: string): number {
    const p = this.pendingKeyEnds.get(topic);
    if (p !== undefined) return p;
    const v = this.value('keyend/' + topic) as number | undefined;
    return typeof v === 'number' ? v : -1;
  }

  clearKeyIndex(topic: string): void {
    this.dropKeys(topic);
  }

  protected dropKeys(topic: string): void {
    const prefix = topic + '\0';
    const keysDb = this.keysDb;
    const start = Buffer.from(prefix, 'latin1');
    const end = Buffer.from(topic + '\x01', 'latin1');
    const doomed = keysDb === undefined ? [] : Array.from(keysDb.getKeys({ start, end }), (k) => Buffer.from(k as Buffer)); // (copies: lmdb-js may reuse a key buffer)
    // (bounded by the entries removed, not the whole trees: a topic with few keys is dropped on a nearly full disk)
    this.checkRoom(doomed.length + 1, 0);
    this.keyCache?.dropTopic(topic);
    for (const k of [...this.pendingKeys.keys()]) if (k.startsWith(prefix)) this.pendingKeys.delete(k);
    this.pendingKeyEnds.delete(topic);
    this.db.transactionSync(() => {
      if (keysDb !== undefined) for (const k of doomed) keysDb.removeSync(k);
      this.db.removeSync('keyend/' + topic);
    });
  }

}
