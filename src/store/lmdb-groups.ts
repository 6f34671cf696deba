// Consumer group positions in the LMDB metadata store (lmdb-store.ts): the part of LmdbMetaStore
// that keeps `group/<topic>/<group>` (committed position, a number),
// `group/<topic>/\0done\0<group>` (finished-out-of-order ranges, a msgpack array) and
// `group/<topic>/\0given\0<group>` (offsets handed out and not finished, with their delivery
// counts: [from, to, deliveries] triples, a msgpack array), as a base class
// the store extends. Positions put in one tick are coalesced in `pendingGroups` and handed to
// lmdb-js as asynchronous puts at the end of the tick (one background transaction for many, no
// fsync on the event loop); reads see the pending ones first. putGroupSync is one LMDB write
// transaction and supersedes a pending put of the same keys. A writable store knows which topics
// have groups at all (one key scan at the first read, kept up to date by every put), so a topic
// without any costs no range read when it opens.
//
// Invariants: a failed asynchronous group write is kept in `groupWriteError` and thrown by the
// store's next flush() or close() (ERR_NO_SPACE when the disk was full, else ERR_IO); a position
// moved after close() is reported, never written. The store supplies the database, the async
// commit guard and the failure state (the abstract members below).
import type { RootDatabase } from 'lmdb';
import { SeglogError } from '../base/errors.js';
import { metadataCorrupt } from './metadata-damage.js';
import { inFlightTriples } from './groups-check.js';
import type { LmdbRoom } from './lmdb-room.js';

export abstract class LmdbGroupPositions {
  protected abstract readonly db: RootDatabase;
  protected abstract readonly dir: string;
  protected abstract readonly file: string;
  /** What the last failed asynchronous commit failed with (see LmdbMetaStore). */
  protected abstract asyncFailureCause: unknown;
  /** An asynchronous commit failed with ENOSPC (see LmdbMetaStore). */
  protected abstract asyncNoSpace: boolean;
  protected abstract readonly noteAsyncFailure: (err: unknown) => void;
  protected abstract guardCommit(): void;
  /** Group positions put this tick, by key `group/<topic>/<group>`. */
  protected pendingGroups = new Map<string, number | number[]>();
  /** close() has closed the lmdb-js database: a timer that runs later writes nothing. */
  protected storeClosed = false;
  private groupsScheduled = false;
  private groupWriteError: unknown = undefined;
  /** The disk's room is checked before every write transaction (lmdb-room.ts); undefined: not checked. */
  protected room: LmdbRoom | undefined = undefined;
  /** The tick's positions were refused for lack of room: they stay pending, and flush()/close() report it until they are written. */
  private groupsRefused: SeglogError | undefined = undefined;

  /** ERR_NO_SPACE unless the disk has room for a transaction of `entries` entries; the bytes it may take. */
  protected checkRoom(entries: number, payloadBytes: number): number {
    return this.room === undefined ? 0 : this.room.check(entries, payloadBytes);
  }

  /** Set by a writable store: no other process adds groups, so the topics that have any can be known (groupTopics). */
  protected knowsGroupTopics = false;
  /**
   * The topics with group keys in the database or put since, built by one key scan at the first
   * read: opening 10,000 topics without groups then costs no range read each (bench/topics.js).
   */
  private groupTopics: Set<string> | undefined = undefined;

  /** Whether the database may hold group keys of `topic` (always, in a read-only store). */
  private mayHaveGroups(topic: string): boolean {
    if (!this.knowsGroupTopics) return true;
    if (this.groupTopics === undefined) {
      const topics = new Set<string>();
      for (const key of this.db.getKeys({ start: 'group/', end: 'group0' })) {
        const k = String(key);
        topics.add(k.slice(6, k.indexOf('/', 6))); // (topic names hold no '/')
      }
      this.groupTopics = topics;
    }
    return this.groupTopics.has(topic);
  }

  getGroups(topic: string): Map<string, number> {
    const prefix = groupPrefix(topic);
    const groups = new Map<string, number>();
    try {
      if (this.mayHaveGroups(topic)) for (const { key, value } of this.db.getRange({ start: prefix, end: groupPrefixEnd(topic) })) {
        if (typeof value === 'number') groups.set(String(key).slice(prefix.length), value);
      }
    } catch (err) {
      throw metadataCorrupt(this.dir, this.file, 0, `the metadata store ${this.file} holds a group position of topic ${topic} that cannot be decoded: ${(err as Error).message}`);
    }
    for (const [key, offset] of this.pendingGroups) if (key.startsWith(prefix) && typeof offset === 'number') groups.set(key.slice(prefix.length), offset);
    return groups;
  }

  getGroupsDone(topic: string): Map<string, number[]> {
    const prefix = groupPrefix(topic) + GROUP_DONE_MARK;
    const done = new Map<string, number[]>();
    if (this.mayHaveGroups(topic)) for (const { key, value } of this.db.getRange({ start: prefix, end: groupPrefixEnd(topic) })) {
      const k = String(key);
      if (k.startsWith(prefix) && Array.isArray(value)) done.set(k.slice(prefix.length), value as number[]);
    }
    for (const [key, ranges] of this.pendingGroups) {
      if (!key.startsWith(prefix) || !Array.isArray(ranges)) continue;
      if (ranges.length > 0) done.set(key.slice(prefix.length), ranges); else done.delete(key.slice(prefix.length));
    }
    return done;
  }

  getGroupsInFlight(topic: string): Map<string, number[]> {
    const prefix = groupPrefix(topic) + GROUP_GIVEN_MARK;
    const out = new Map<string, number[]>();
    if (this.mayHaveGroups(topic)) for (const { key, value } of this.db.getRange({ start: prefix, end: groupPrefixEnd(topic) })) {
      const k = String(key);
      if (!k.startsWith(prefix)) continue;
      const triples = inFlightTriples(value);
      if (triples !== undefined) out.set(k.slice(prefix.length), triples);
    }
    for (const [key, triples] of this.pendingGroups) {
      if (!key.startsWith(prefix) || !Array.isArray(triples)) continue;
      if (triples.length > 0) out.set(key.slice(prefix.length), triples); else out.delete(key.slice(prefix.length));
    }
    return out;
  }

  putGroupInFlight(topic: string, group: string, triples: number[]): void {
    this.groupTopics?.add(topic);
    this.putPendingGroup(groupPrefix(topic) + GROUP_GIVEN_MARK + group, triples);
  }

  putGroupDone(topic: string, group: string, ranges: number[]): void {
    this.groupTopics?.add(topic);
    this.putPendingGroup(groupPrefix(topic) + GROUP_DONE_MARK + group, ranges);
  }

  private putPendingGroup(key: string, value: number | number[]): void {
    this.pendingGroups.set(key, value);
    if (this.groupsScheduled) return;
    this.groupsScheduled = true;
    setImmediate(() => this.writeGroups());
  }

  putGroupSync(topic: string, group: string, offset: number, done: number[]): void {
    this.groupTopics?.add(topic);
    const key = groupPrefix(topic) + group;
    const doneKey = groupPrefix(topic) + GROUP_DONE_MARK + group;
    this.checkRoom(2, key.length + doneKey.length + 9 * done.length + 32);
    this.pendingGroups.delete(key);
    this.pendingGroups.delete(doneKey);
    this.db.transactionSync(() => {
      this.db.putSync(key, offset);
      if (done.length > 0) this.db.putSync(doneKey, done); else this.db.removeSync(doneKey);
    });
  }

  putGroup(topic: string, group: string, offset: number): void {
    this.groupTopics?.add(topic);
    this.putPendingGroup(groupPrefix(topic) + group, offset);
  }

  deleteGroup(topic: string, group: string): void {
    this.checkRoom(3, 0);
    for (const key of [groupPrefix(topic) + group, groupPrefix(topic) + GROUP_DONE_MARK + group, groupPrefix(topic) + GROUP_GIVEN_MARK + group]) {
      this.pendingGroups.delete(key);
      // async, so ordered after the puts of this group already handed to lmdb-js; flush() awaits it
      this.db.remove(key).catch((err: unknown) => { this.groupWriteError ??= err; });
    }
  }

  /** Hands the tick's group positions to lmdb-js as async puts (committed together, off the event loop). */
  protected writeGroups(): void {
    this.groupsScheduled = false;
    if (this.pendingGroups.size === 0) return;
    if (this.storeClosed) {
      // a position moved after close() had written the last ones (lmdb-js would throw from this
      // timer and end the process): it is reported, not written
      this.groupWriteError ??= new SeglogError('ERR_CLOSED', `a consumer group position changed after the metadata store was closed (${[...this.pendingGroups.keys()].join(', ')})`);
      this.pendingGroups.clear();
      return;
    }
    let need: number;
    let payload = 0;
    const entries = this.pendingGroups.size;
    try {
      for (const [key, v] of this.pendingGroups) payload += key.length + 16 + (Array.isArray(v) ? 9 * v.length : 9);
      need = this.checkRoom(this.pendingGroups.size, payload);
    } catch (err) {
      this.groupsRefused = err as SeglogError; // kept pending (reads see them): the next put, flush() or close() tries again
      return;
    }
    this.groupsRefused = undefined;
    let write: Promise<boolean> | undefined;
    for (const [key, offset] of this.pendingGroups) {
      write = Array.isArray(offset) && offset.length === 0 ? this.db.remove(key) : this.db.put(key, offset);
      write.catch((err: unknown) => { this.groupWriteError ??= err; this.noteAsyncFailure(err); });
    }
    if (write !== undefined) this.room?.track(write, need, entries, payload);
    this.pendingGroups.clear();
    this.guardCommit();
  }

  protected throwGroupError(): void {
    if (this.groupsRefused !== undefined) throw this.groupsRefused;
    const err = this.groupWriteError;
    if (err === undefined) return;
    this.groupWriteError = undefined;
    const cause = this.asyncFailureCause;
    if (this.asyncNoSpace) {
      throw new SeglogError('ERR_NO_SPACE', `no space left on device for a consumer group position in the metadata store: ${(cause as Error)?.message ?? cause}`, { cause });
    }
    throw new SeglogError('ERR_IO', `cannot write a consumer group position to the metadata store: ${(err as Error)?.message ?? err}`, { cause: err });
  }
}

/** A group's finished-out-of-order ranges: `group/<topic>/\0done\0<group>` (a msgpack array, not a number). */
const GROUP_DONE_MARK = '\u0000done\u0000';
/** A group's handed-out offsets: `group/<topic>/\0given\0<group>` (a msgpack array of triples). */
const GROUP_GIVEN_MARK = '\u0000given\u0000';

/** Keys of a topic's groups: `group/<topic>/<group>` (a topic name has no '/'; '0' sorts right after '/'). */
export function groupPrefix(topic: string): string {
  return 'group/' + topic + '/';
}

export function groupPrefixEnd(topic: string): string {
  return 'group/' + topic + '0';
}
