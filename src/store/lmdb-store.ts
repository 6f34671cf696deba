// MetaStore on LMDB: one environment `<dir>/~meta.lmdb`, keys `topic/<name>` (options),
// `state/<name>` (recovery state) and `group/<topic>/<group>` (committed position, a number),
// values msgpack-encoded by lmdb-js. Group positions are coalesced per tick and written with
// lmdb-js's asynchronous puts (one background transaction for many, no fsync on the event loop):
// lmdb-groups.ts, the base class of the store here; flush() awaits `db.flushed`. A read-only open
// of a directory without the file gets the empty store of lmdb-readonly.ts. Sync puts are LMDB write
// transactions with LMDB's default durability. Checkpoint puts (and the options of topics being
// created, `soon`) are kept in memory and written in one transaction at the end of the tick, or
// when the log commits them (commitStates: before the first bytes of their topics reach the OS);
// a later sync put of the same key supersedes a pending one (lmdb-js's own async puts would land
// after it and undo a clean-shutdown marker).
//
// Key index (compacted topics): lmdb-keys.ts, the class between the group positions and the store;
// `cleaner/<topic>` (CleanerState) is kept here in the root database.
//
// Crash: LMDB is crash-safe by itself; a lost checkpoint put only means an older recovery point,
// and lost key index puts only a longer catch-up scan at open.
import { open, type RootDatabase } from 'lmdb';
import fs from 'node:fs';
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import { LMDB_META_FILE as META_FILE } from '../format/batch.js';
import type { CleanerState, MetaStore, MetaStoreFactory, StoredTopicOptions, TopicState } from './meta-store.js';
import { nodeFileIO } from '../io/node-fs.js';
import { checkLmdbFile, describeDamage } from './lmdb-check.js';
import { metadataCorrupt, moveAside, topicFolders } from './metadata-damage.js';
import { stateDamage } from './document-check.js';
import { groupPrefix, groupPrefixEnd } from './lmdb-groups.js';
import { LmdbKeyIndexStore } from './lmdb-keys.js';
import { EmptyMetaStore } from './lmdb-readonly.js';
import { LmdbRoom, type TreeShape } from './lmdb-room.js';
import type { SpaceRoom } from '../io/space-reserve.js';

class LmdbMetaStore extends LmdbKeyIndexStore implements MetaStore {
  readonly kind = 'lmdb' as const;
  readonly rebuilt?: MetaStore['rebuilt'];
  protected override db: RootDatabase;
  private pending = new Map<string, TopicState>();
  /** Options of topics being created (putTopicOptions with `soon`), written with the pending states. */
  private pendingOptions = new Map<string, StoredTopicOptions>();
  private scheduled = false;
  /**
   * A full disk (ENOSPC as LMDB grows its file; lmdb-js grows the map itself, so MDB_MAP_FULL does
   * not happen) fails an asynchronous commit, and lmdb-js 3 then (measured on a full tmpfs) rejects
   * a promise of its own that nobody handles (an unhandled rejection ends the process), and leaves
   * `db.flushed` and `db.close()` pending until a later asynchronous commit succeeds. guardCommit()
   * handles the former; settleAsync() commits an empty transaction (a remove of a key that is
   * never there: no page is written, so it commits on a full disk too) for the latter.
   */
  private asyncFailed = false;
  /** What the last failed asynchronous commit failed with (lmdb-js gives it as err.commitError). */
  protected override asyncFailureCause: unknown = undefined;
  /**
   * An asynchronous commit failed with ENOSPC. Later ones on the still full disk fail with EIO
   * (LMDB reports a short write so: measured), and are reported as ERR_NO_SPACE too.
   */
  protected override asyncNoSpace = false;
  private onAsyncFailure: (() => void) | undefined = undefined;
  private guardScheduled = false;
  protected override readonly noteAsyncFailure = (err: unknown): void => {
    this.asyncFailed = true;
    (err as { commitError?: Promise<unknown> } | undefined)?.commitError?.catch((cause: unknown) => {
      this.asyncFailureCause = cause;
      if (ioError('', '', cause).code === 'ERR_NO_SPACE') this.asyncNoSpace = true;
    });
    this.onAsyncFailure?.();
  };

  protected override readonly file: string;

  constructor(protected override readonly dir: string, protected override readonly readOnly: boolean, space?: SpaceRoom) {
    super(readOnly);
    this.file = path.join(dir, META_FILE);
    ensureDescriptors(this.file);
    try {
      this.db = open({ path: path.join(dir, META_FILE), readOnly, compression: false });
      this.knowsGroupTopics = !readOnly;
    } catch (err) {
      throw new SeglogError('ERR_IO', `cannot open the metadata store ${path.join(dir, META_FILE)}: ${(err as Error).message}`, { file: path.join(dir, META_FILE), cause: err });
    }
    try {
      this.keysDb = this.db.openDB<Buffer, Buffer>({ name: 'keys', keyEncoding: 'binary', encoding: 'binary', create: !readOnly } as never);
    } catch {
      this.keysDb = undefined; // read-only, and no key index was ever written
    }
    if (space !== undefined && !readOnly) this.room = new LmdbRoom(dir, this.file, space, () => this.shape());
  }

  /** The trees the store writes, for LmdbRoom's bound (the root database holds the `keys` database's record). */
  private shape(): TreeShape {
    type Stats = { pageSize: number; treeDepth: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
    const root = this.db.getStats() as Stats;
    const keys = this.keysDb?.getStats() as Stats | undefined;
    const pages = (x: Stats | undefined): number => x === undefined ? 0 : x.treeBranchPageCount + x.treeLeafPageCount + x.overflowPages;
    return { pageSize: root.pageSize, depth: root.treeDepth + (keys?.treeDepth ?? 0), pages: pages(root) + pages(keys) };
  }

  probe(): void {
    for (const prefix of ['topic/', 'state/', 'cleaner/', 'keyend/']) {
      for (const key of this.db.getKeys({ start: prefix, end: prefix.slice(0, -1) + '0' })) this.value(String(key), prefix === 'keyend/' ? undefined : 'object');
    }
    // Point lookups too, for every topic the open will ask about: in a damaged tree a range scan
    // can miss a key that a lookup still finds.
    for (const topic of new Set([...this.listTopics(), ...topicFolders(nodeFileIO, this.dir)])) {
      for (const prefix of ['topic/', 'cleaner/']) this.value(prefix + topic, 'object');
      this.getState(topic);
      this.value('keyend/' + topic);
      this.getGroups(topic);
    }
  }

  getCleanerState(topic: string): CleanerState | undefined {
    return this.value('cleaner/' + topic, 'object') as CleanerState | undefined;
  }

  putCleanerState(topic: string, state: CleanerState): void {
    this.checkRoom(1, 64 + 18 * state.passes.length);
    this.db.putSync('cleaner/' + topic, state);
  }

  listTopics(): string[] {
    const names: string[] = [];
    for (const key of this.db.getKeys({ start: 'topic/', end: 'topic0' })) names.push(String(key).slice(6));
    for (const topic of this.pendingOptions.keys()) if (!names.includes(topic)) names.push(topic);
    return names;
  }

  getTopicOptions(topic: string): StoredTopicOptions | undefined {
    return this.pendingOptions.get(topic) ?? this.value('topic/' + topic, 'object') as StoredTopicOptions | undefined;
  }

  putTopicOptions(topic: string, options: StoredTopicOptions, soon = false): void {
    if (soon) {
      this.pendingOptions.set(topic, options);
      this.schedulePending();
      return;
    }
    this.checkRoom(1, 512);
    this.pendingOptions.delete(topic);
    this.db.putSync('topic/' + topic, options);
  }

  commitStates(): void {
    this.writePending();
  }

  getState(topic: string): TopicState | undefined {
    const pending = this.pending.get(topic);
    if (pending !== undefined) return pending;
    const state = this.value('state/' + topic, 'object');
    const damage = state === undefined ? undefined : stateDamage(topic, state);
    if (damage !== undefined) throw metadataCorrupt(this.dir, this.file, 0, `the metadata store ${this.file} is damaged: ${damage}`);
    return state as TopicState | undefined;
  }

  putStateSync(topic: string, state: TopicState): void {
    this.checkRoom(1, STATE_BYTES);
    this.pending.delete(topic);
    this.db.putSync('state/' + topic, state);
  }

  putState(topic: string, state: TopicState): void {
    this.pending.set(topic, state);
    this.schedulePending();
  }

  /** States and options put with `soon` are written in one transaction at the end of the tick (or sooner: commitStates, flush, close). */
  private schedulePending(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try { this.writePending(); } catch { /* the next durable put or close reports a failing store */ }
    });
  }

  private writePending(): void {
    const n = this.pending.size + this.pendingOptions.size;
    if (n === 0) return;
    this.checkRoom(n, this.pending.size * STATE_BYTES + this.pendingOptions.size * 512); // (refused: they stay pending)
    const entries = [...this.pending];
    const options = [...this.pendingOptions];
    this.db.transactionSync(() => {
      for (const [topic, o] of options) this.db.putSync('topic/' + topic, o);
      for (const [topic, state] of entries) this.db.putSync('state/' + topic, state);
    });
    // (cleared once committed: a failed commit leaves them pending for the next try, as the file store does)
    for (const [topic, state] of entries) if (this.pending.get(topic) === state) this.pending.delete(topic);
    for (const [topic, o] of options) if (this.pendingOptions.get(topic) === o) this.pendingOptions.delete(topic);
  }

  deleteTopic(topic: string): void {
    const prefix = groupPrefix(topic);
    const groupKeys = [...this.db.getKeys({ start: prefix, end: groupPrefixEnd(topic) })];
    this.checkRoom(groupKeys.length + 3, 0); // (the entries removed, not the whole trees)
    this.pending.delete(topic);
    this.pendingOptions.delete(topic);
    for (const key of [...this.pendingGroups.keys()]) if (key.startsWith(prefix)) this.pendingGroups.delete(key);
    this.db.transactionSync(() => {
      this.db.removeSync('topic/' + topic);
      this.db.removeSync('state/' + topic);
      for (const key of groupKeys) this.db.removeSync(key);
      this.db.removeSync('cleaner/' + topic);
    });
    // An async put of this topic's groups handed to lmdb-js earlier may still be in flight and
    // would land after the removal above: async removes are ordered after it.
    for (const key of groupKeys) this.db.remove(key).catch(this.noteAsyncFailure);
    if (groupKeys.length > 0) this.guardCommit();
    this.dropKeys(topic);
  }

  async flush(): Promise<void> {
    this.writePending();
    this.writeGroups();
    await this.settleAsync();
    this.throwGroupError();
  }

  /** Awaits `db.flushed`, unless an asynchronous commit fails meanwhile (see asyncFailed). */
  private async settleAsync(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.asyncFailed) {
        this.asyncFailed = false;
        const empty = this.db.remove(COMMIT_PROBE_KEY);
        this.guardCommit();
        await empty.catch(this.noteAsyncFailure);
      }
      const failed = new Promise<void>((resolve) => {
        this.onAsyncFailure = resolve;
        if (this.asyncFailed) resolve();
      });
      await Promise.race([this.db.flushed, failed]);
      this.onAsyncFailure = undefined;
      if (!this.asyncFailed) return;
    }
  }

  /**
   * Handles the rejection lmdb-js leaves unhandled when an asynchronous commit fails: its
   * event-turn transaction's promise, current once lmdb-js's own setImmediate has run (measured).
   */
  protected override guardCommit(): void {
    if (this.guardScheduled) return;
    this.guardScheduled = true;
    setImmediate(() => {
      this.guardScheduled = false;
      this.db.committed.then(undefined, this.noteAsyncFailure);
    });
  }

  async close(): Promise<void> {
    let refused: unknown; // a write refused for lack of room (lmdb-room.ts): the store still closes
    const writeAll = async (): Promise<void> => {
      try { this.writePending(); } catch (err) { refused ??= err; }
      this.writeGroups();
      await this.settleAsync();
    };
    await writeAll();
    // positions moved while that settled (a subscription closing meanwhile) are written too
    for (let i = 0; i < 3 && refused === undefined && (this.pendingGroups.size > 0 || this.pending.size > 0); i++) await writeAll();
    this.storeClosed = true;
    await this.db.close();
    if (refused !== undefined) throw refused;
    this.throwGroupError();
  }
}

/**
 * lmdb-js 3.5 dies with SIGSEGV when opening an environment fails part way for want of file
 * descriptors (measured: `ulimit -n` with one or two left: "Too many open files" with none left is
 * thrown, with one or two the process is killed; it needs three). So that many are opened and
 * closed first: short of them, the open is ERR_IO with EMFILE naming the file, never a crash.
 */
function ensureDescriptors(file: string): void {
  const fds: number[] = [];
  try {
    for (let i = 0; i < LMDB_OPEN_DESCRIPTORS; i++) fds.push(fs.openSync(path.dirname(file), 'r'));
  } catch (err) {
    throw ioError('open the metadata store (it needs ' + LMDB_OPEN_DESCRIPTORS + ' file descriptors)', file, err);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

/** Descriptors lmdb-js needs free to open an environment (three measured; one spare). */
const LMDB_OPEN_DESCRIPTORS = 4;

/** Bytes of a msgpack-encoded TopicState with its key, at most (for LmdbRoom's bound). */
const STATE_BYTES = 256;

/** Never written: removing it commits an empty transaction (LmdbMetaStore.settleAsync). */
const COMMIT_PROBE_KEY = 'probe/commit';

/**
 * Checks `~meta.lmdb` before LMDB maps it (lmdb-check.ts: a damaged file would crash the process):
 * damage is ERR_CORRUPT, or with `repair` the file is moved aside (its `-lock` file is removed: it
 * describes the old environment) and an empty store is started.
 */
export const lmdbMetaStore: MetaStoreFactory = (dir, readOnly, options = {}) => {
  const io = options.io ?? nodeFileIO;
  const file = path.join(dir, META_FILE);
  const check = checkLmdbFile(io, file);
  let damage = check.kind === 'damaged' ? check.damage : undefined;
  if (check.kind === 'empty' && topicFolders(io, dir).length > 0) {
    // LMDB would take an empty file for a new environment and every option and group position would be gone without a word.
    damage = { file, position: 0, reason: 'the file is empty (0 bytes) while the directory holds topics' };
  }
  if (damage !== undefined && !options.repair) throw metadataCorrupt(dir, file, damage.position, describeDamage(damage));
  if (readOnly && (check.kind === 'absent' || check.kind === 'empty')) return new EmptyMetaStore();
  if (damage === undefined && options.rebuild === true && options.repair === true && check.kind === 'sound') {
    damage = { file, position: 0, reason: 'a value in it does not decode' };
  }
  if (damage === undefined) return new LmdbMetaStore(dir, readOnly, options.space);
  const movedTo = moveAside(io, file);
  try { io.unlink(file + LOCK_SUFFIX); } catch { /* absent */ }
  const store = new LmdbMetaStore(dir, false, options.space);
  (store as { rebuilt?: MetaStore['rebuilt'] }).rebuilt = { file, movedTo };
  return store;
};

/** lmdb-js opens `~meta.lmdb` with noSubdir (the name has an extension): its lock file is `~meta.lmdb-lock`. */
const LOCK_SUFFIX = '-lock';
