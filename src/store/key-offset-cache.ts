// KeyOffsetCache: the newest offset of recently looked-up keys, in front of the LMDB key index
// (lmdb-store.ts), so that latest() of a key asked for again costs two Map lookups instead of an
// LMDB read (getBinaryFast with a binary key: ~0.6 us of the ~0.9 us a latest() took, bench W8,
// `node --cpu-prof`). Per topic, key as its latin1 string (key-index.ts keyString) -> offset, or
// ABSENT when the store had no entry.
//
// Invariants: an entry is the store's answer as this process last wrote or read it. Every write
// of the store goes through it (putKeyOffsets updates the keys it holds; dropping a topic's keys
// drops its map), so it is only used by a writable store: a read-only one shares its file with a
// writer in another process and reads LMDB every time. Bounded by KEY_OFFSETS_CACHED_MAX entries
// over all topics; past it, the oldest looked-up entries leave first (insertion order).
//
// Crash: nothing here is on disk.
import { KEY_OFFSETS_CACHED_MAX } from '../base/limits.js';

/** Cached: the store had no entry for the key. */
export const ABSENT = -1;

export class KeyOffsetCache {
  private readonly topics = new Map<string, Map<string, number>>();
  /** Entries in all topics' maps. */
  private size = 0;

  constructor(readonly entriesMax = KEY_OFFSETS_CACHED_MAX) {}

  /** The cached offset (ABSENT: cached as missing), or undefined when not cached. */
  get(topic: string, key: string): number | undefined {
    return this.topics.get(topic)?.get(key);
  }

  /** Remembers what the store answered for a key it was asked about. */
  add(topic: string, key: string, offset: number): void {
    let m = this.topics.get(topic);
    if (m === undefined) this.topics.set(topic, m = new Map());
    if (m.has(key)) { m.set(key, offset); return; }
    if (this.size >= this.entriesMax) this.evict();
    m.set(key, offset);
    this.size++;
  }

  /** A write of the store: the keys held take their new offsets (negative: removed). */
  written(topic: string, keys: readonly string[], offsets: readonly number[]): void {
    const m = this.topics.get(topic);
    if (m === undefined) return;
    for (let i = 0; i < keys.length; i++) {
      if (m.has(keys[i]!)) m.set(keys[i]!, offsets[i]! < 0 ? ABSENT : offsets[i]!);
    }
  }

  /** The topic's keys were dropped from the store (cleared, topic deleted). */
  dropTopic(topic: string): void {
    const m = this.topics.get(topic);
    if (m === undefined) return;
    this.size -= m.size;
    this.topics.delete(topic);
  }

  /** Lets go of the oldest eighth of the entries (at least one), topic by topic. */
  private evict(): void {
    let n = Math.max(1, this.entriesMax >>> 3);
    for (const [topic, m] of this.topics) {
      for (const key of m.keys()) {
        if (n-- <= 0) return;
        m.delete(key);
        this.size--;
      }
      if (m.size === 0) this.topics.delete(topic);
    }
  }
}
