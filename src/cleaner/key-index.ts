// KeyIndex: key -> newest offset for a compacted topic, in front of the metadata store (which
// holds it durably: LMDB, or the native-free key file). Appends note their key here; the entries of
// a tick go to the store at the end of the tick in one put, and only for records already handed
// to the OS (below `committedEnd`): entries of records that a failed write takes back are dropped
// (forgetFrom) before they ever reach the store. Lookups see noted entries at once
// (read-your-writes for latest()).
//
// A read-only index (a follower's) writes nothing: the writer's store is the index, and `recent`
// holds the keys of records this log can read that the store has not indexed yet (past its
// `indexedUpTo`: records handed to the OS before the writer's key puts of that tick, a store that
// lags, or has no index at all). Each refresh of the topic (topic.refresh) first reloads the store
// (a store holding the index in memory, the native-free key file) and notes where it ends, then,
// once the segments were refreshed, notes the keys of the records from there to the new end, and
// drops the entries the store now covers. A store whose end went back (the writer rebuilt its
// index, or the topic was created again) makes the follower note every record again.
//
// Crash: the store may be behind the log (lost puts): at open, the records from the store's
// `indexedUpTo` to the end of the log are indexed again (catchUp). If it is ahead (the log lost
// records the index had seen, e.g. a power cut under durability 'os'), it is rebuilt from scratch.
// A full disk must not fail the open: when the store has no room to drop the stale index, the
// index is rebuilt in memory (every key of the topic noted, the store not consulted) and the drop
// is tried again before each later put; until it succeeds nothing is written to the store.
import type { MetaStore } from '../store/meta-store.js';
import { isNoSpace } from '../io/space-reserve.js';
import { Cursor } from '../log/reader.js';
import type { SegmentLog } from '../log/topic-log.js';

/** The bytes of a key as a string of the same length (one char per byte). */
export function keyString(key: string | Uint8Array): string {
  if (typeof key === 'string') {
    // ASCII keys (the common case) are their own latin1 form.
    return Buffer.byteLength(key, 'utf8') === key.length ? key : Buffer.from(key, 'utf8').toString('latin1');
  }
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export class KeyIndex {
  /** Entries noted and not yet handed to the store, in offset order. */
  private keys: string[] = [];
  private offsets: number[] = [];
  /** The newest noted offset of each key in `keys`. */
  private readonly recent = new Map<string, number>();
  /** Read-only: records below this were noted here (-1: none). */
  private notedUpTo = -1;
  /** Read-only: the store's indexedUpTo when this index last looked (-1: no index). */
  private storeEnd = -1;
  /** Read-only: the store's indexedUpTo taken before the segments were refreshed. */
  private storeEndBefore = -1;
  /** The store's entries are stale and could not be dropped yet (a full disk at open): every key is in memory. */
  private staleStore = false;

  constructor(private readonly meta: MetaStore, private readonly topic: string, private readonly readOnly: boolean,
    private readonly onError: (err: unknown) => void) {}

  /** An append of a keyed record (hot path of compacted topics only). */
  note(key: Uint8Array, offset: number): void {
    const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    this.recent.set(k, offset);
    if (this.readOnly) return;
    this.keys.push(k);
    this.offsets.push(offset);
  }

  /** Appends from offset `end` on were undone (failed write, rolled-back batch). */
  forgetFrom(end: number): void {
    let n = this.offsets.length;
    if (n === 0 || this.offsets[n - 1]! < end) return;
    while (n > 0 && this.offsets[n - 1]! >= end) n--;
    this.keys.length = n;
    this.offsets.length = n;
    this.recent.clear();
    for (let i = 0; i < n; i++) this.recent.set(this.keys[i]!, this.offsets[i]!);
  }

  /** Hands the entries below `upTo` to the store (one put per tick). */
  persist(upTo: number): void {
    if (this.staleStore && !this.dropStale()) return;
    const total = this.offsets.length;
    if (this.readOnly || total === 0 || this.offsets[0]! >= upTo) return;
    let n = 0;
    while (n < total && this.offsets[n]! < upTo) n++;
    const keys = n === total ? this.keys : this.keys.slice(0, n);
    const offsets = n === total ? this.offsets : this.offsets.slice(0, n);
    try {
      this.meta.putKeyOffsets(this.topic, keys, offsets, upTo);
    } catch (err) {
      this.onError(err); // kept in memory; retried at the next tick
      return;
    }
    for (let i = 0; i < n; i++) if (this.recent.get(keys[i]!) === offsets[i]) this.recent.delete(keys[i]!);
    if (n === total) {
      this.keys = [];
      this.offsets = [];
    } else {
      this.keys = this.keys.slice(n);
      this.offsets = this.offsets.slice(n);
    }
  }

  /** Drops the store's stale entries (staleStore); false while the disk has no room for it. */
  private dropStale(): boolean {
    try {
      this.meta.clearKeyIndex(this.topic);
    } catch (err) {
      if (!isNoSpace(err)) this.onError(err);
      return false;
    }
    this.staleStore = false;
    return true;
  }

  /** Newest offset of `key` (a keyString), if any record had it. */
  lookup(key: string): number | undefined {
    const r = this.recent.get(key);
    return r !== undefined || this.staleStore ? r : this.meta.getKeyOffset(this.topic, key);
  }

  /** Drops `key` if the index still points at `offset` (a tombstone that compaction removed). */
  removeIf(key: string, offset: number): void {
    if (this.lookup(key) !== offset) return;
    this.recent.delete(key);
    if (!this.readOnly && !this.staleStore) this.meta.putKeyOffsets(this.topic, [key], [-1], -1);
  }

  /** Brings the index up to the end of the log at open (see the file header). */
  catchUp(topic: SegmentLog<any>): void {
    if (this.readOnly) {
      this.meta.reloadKeyIndex?.(this.topic); // (a topic created again: its store entries are another file's)
      this.storeEnd = this.meta.getKeyIndexEnd(this.topic);
      this.notedUpTo = topic.endOffset;
    }
    let from = this.meta.getKeyIndexEnd(this.topic);
    const end = topic.endOffset;
    if (from > end || (from < 0 && end > topic.startOffset)) {
      if (!this.readOnly) {
        try {
          this.meta.clearKeyIndex(this.topic);
        } catch (err) {
          if (!isNoSpace(err)) throw err;
          this.staleStore = true;
        }
      }
      from = topic.startOffset;
    }
    if (from < topic.startOffset) from = topic.startOffset;
    if (from >= end) return;
    const cursor = new Cursor<unknown>(topic, from, end, Infinity, Infinity);
    for (let r = cursor.next(); !r.done; r = cursor.next()) {
      const key = r.value.key;
      if (key !== undefined) this.note(key, r.value.offset);
    }
    this.persist(end);
    if (this.readOnly || this.staleStore || this.meta.getKeyIndexEnd(this.topic) >= end) return;
    try {
      this.meta.putKeyOffsets(this.topic, [], [], end);
    } catch (err) {
      if (!isNoSpace(err)) throw err; // (no room: the next open catches up from the stored end again)
    }
  }

  /** Read-only, before the topic's segments are refreshed: the store takes what the writer added (see the file header). */
  beforeRefresh(): void {
    if (!this.readOnly) return;
    this.meta.reloadKeyIndex?.(this.topic);
    this.storeEndBefore = this.meta.getKeyIndexEnd(this.topic);
  }

  /** Read-only, after the topic's segments were refreshed: notes the records the store has not indexed (see the file header). */
  afterRefresh(topic: SegmentLog<any>): void {
    if (!this.readOnly) return;
    const storeEnd = this.storeEndBefore;
    if (storeEnd < this.storeEnd) {
      this.recent.clear();
      this.notedUpTo = -1;
    } else if (storeEnd > this.storeEnd) {
      for (const [k, offset] of this.recent) if (offset < storeEnd) this.recent.delete(k);
    }
    this.storeEnd = storeEnd;
    const end = topic.endOffset;
    const from = Math.max(this.notedUpTo, storeEnd, topic.startOffset);
    if (from < end) {
      const cursor = new Cursor<unknown>(topic, from, end, Infinity, Infinity);
      for (let r = cursor.next(); !r.done; r = cursor.next()) {
        const key = r.value.key;
        if (key !== undefined) this.note(key, r.value.offset);
      }
    }
    if (end > this.notedUpTo) this.notedUpTo = end;
  }
}
