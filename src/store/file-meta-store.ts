// MetaStore on plain files, for the native-free entry point: one JSON document `<dir>/~meta.json`
// ({ version, topics: { name: options }, state: { name: TopicState } }), replaced atomically
// (write `~meta.json.tmp`, fsync, rename, fsync the directory). Durable puts write at once;
// checkpoint puts and the options of topics being created (`soon`) are coalesced and written at
// the end of the tick (later after a slow write of a large document), or when the log commits them (commitStates: the "not clean" markers and
// options of the topics first written in a tick, one write before their bytes reach the OS), so
// creating or first writing thousands of topics is not a rewrite of the whole document each.
// Committed consumer-group positions live beside it in `~groups.log` (file-groups.ts), so that
// committing per record never rewrites the document.
// The key index of each compacted topic lives in its own file, `<dir>/<topic>~keys` (key-file.ts),
// whose descriptors are bounded per store (KeyFileFds), not one per compacted topic; compaction's
// CleanerState in the document under `cleaner`.
//
// Crash: the rename is atomic, so the file is either the old or the new document; a leftover
// `~meta.json.tmp` is ignored and overwritten.
import fs from 'node:fs';
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import { GROUPS_FILE, JSON_META_FILE as META_JSON, LMDB_META_FILE } from '../format/batch.js';
import { nodeFileIO } from '../io/node-fs.js';
import { OPTIONS_AND_GROUPS_LOST, metadataCorrupt, moveAside, reportRebuilt } from './metadata-damage.js';
import { FileGroups } from './file-groups.js';
import type { CleanerState, MetaOpenOptions, MetaStore, MetaStoreFactory, StoredTopicOptions, TopicState } from './meta-store.js';
import { KeyFile, KeyFileFds } from './key-file.js';
import { documentDamage, type NeutralDocument } from './document-check.js';


/** `~meta.json` (its shape is checked in src/meta/document-check.ts). */
export type Document = NeutralDocument;

/** A write of the document slower than this makes the next coalesced write wait (writeSoon). */
const WRITE_SLOW_MS = 10;
/** The longest a coalesced write waits: a checkpoint lost meanwhile only lengthens a scan after a crash. */
const WRITE_DELAY_MAX_MS = 1000;

/** `<dir>/<topic>~keys`: no topic name holds '~', so it never collides with a topic folder. */
const KEYS_FILE_SUFFIX = '~keys';

class FileMetaStore implements MetaStore {
  readonly kind = 'files' as const;
  readonly rebuilt?: MetaStore['rebuilt'];
  private doc: Document;
  private readonly file: string;
  private dirty = false;
  private scheduled = false;
  /** How long the last write of the document took (writeSoon waits longer after a slow one). */
  private lastWriteMs = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private readonly groups: FileGroups;
  private readonly keyFiles = new Map<string, KeyFile>();
  /** The bound on the key files' open descriptors (key-file.ts). */
  private readonly keyFileFds = new KeyFileFds();
  /** Read-only: the document read last, held open (its inode is not reused while it is), with its identity. */
  private held: { fd: number; ino: number; bytes: number } | undefined = undefined;

  constructor(private readonly dir: string, private readonly readOnly: boolean, options: MetaOpenOptions = {}) {
    this.file = path.join(dir, META_JSON);
    this.doc = { version: 1, topics: {}, state: {} };
    let text: string | undefined;
    try {
      text = readOnly ? this.readHeld() : fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('read', this.file, err);
    }
    if (text !== undefined) {
      const damage = documentDamage(text);
      if (typeof damage !== 'string') {
        this.doc = damage;
      } else if (!options.repair) {
        this.release();
        throw metadataCorrupt(dir, this.file, 0, `metadata file ${this.file} is damaged: ${damage}`);
      } else {
        // A repair: the file goes aside, the topics come back from their folders (scanned), their options and groups do not.
        const io = options.io ?? nodeFileIO;
        const movedTo = moveAside(io, this.file);
        this.rebuilt = { file: this.file, movedTo };
        const groupsFile = path.join(dir, GROUPS_FILE);
        reportRebuilt(io, dir, this.file, movedTo, fs.existsSync(groupsFile)
          ? `topic options are lost (topics open with default options); consumer-group positions are kept in ${groupsFile}`
          : OPTIONS_AND_GROUPS_LOST);
        text = undefined;
      }
    }
    if (text === undefined && fs.existsSync(path.join(dir, LMDB_META_FILE)) && !readOnly) {
      // The default entry point keeps its metadata in LMDB while it has the directory open and
      // exports it here only at a clean close (neutral.ts): without the export, the positions of
      // its consumer groups and its recovery points would be lost or stale. A read-only open goes
      // on without metadata (empty): every topic folder is a topic, checked by a full scan in
      // memory; stored options, group positions and truncateBefore's start offset are not known.
      throw new SeglogError('ERR_NOT_SUPPORTED',
        `the log at ${dir} is open in the default entry point ('seglog') in another process, or that process did not close it cleanly: ` +
        `its metadata is in LMDB, which 'seglog/native-free' cannot read. Open it once with 'seglog' and close it, then ` +
        `'seglog/native-free' can open it for writing; a readOnly open works meanwhile`, { file: path.join(dir, LMDB_META_FILE) });
    }
    this.groups = new FileGroups(dir, readOnly, options);
    // From now on this file is the directory's metadata: the default entry imports it at its next open.
    if (!readOnly && this.doc.writer !== 'native-free') {
      this.doc.writer = 'native-free';
      this.writeNow();
    }
  }

  /**
   * Read-only: takes the document the writer wrote since it was last read, and the group lines it
   * appended (see the header). The writer replaces `~meta.json` by rename and never writes it in
   * place, so the document read is held open: while it is, no new file can get its inode, and one
   * fstat of the path tells whether there is a new document. A new one that does not parse or has
   * the wrong shape (a foreign write caught half done, damage) leaves the last good one in force
   * and is read again at the next reload; a removed one (the default entry imported it) too.
   */
  reload(): void {
    if (!this.readOnly) return;
    this.groups.reload();
    let st: fs.Stats;
    try { st = fs.statSync(this.file); } catch { return; }
    if (this.held !== undefined && st.ino === this.held.ino && st.size === this.held.bytes) return;
    let text: string;
    try { text = this.readHeld(); } catch { return; }
    const doc = documentDamage(text);
    if (typeof doc !== 'string') this.doc = doc;
    // (a damaged one: the last good document stays in force; the next reload reads the file again)
    else this.release();
  }

  /** Read-only: reads the document through a descriptor it keeps (see reload), in place of the one held. */
  private readHeld(): string {
    const fd = fs.openSync(this.file, 'r');
    let text: string;
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
      const data = Buffer.allocUnsafe(st.size);
      let done = 0;
      while (done < data.length) {
        const n = fs.readSync(fd, data, done, data.length - done, done);
        if (n === 0) break;
        done += n;
      }
      text = data.toString('utf8', 0, done);
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
    this.release();
    this.held = { fd, ino: st.ino, bytes: st.size };
    return text;
  }

  /** Read-only: closes the descriptor of the document read last. */
  private release(): void {
    if (this.held !== undefined) closeQuietly(this.held.fd);
    this.held = undefined;
  }

  getGroups(topic: string): Map<string, number> {
    return this.groups.get(topic);
  }

  deleteGroup(topic: string, group: string): void {
    this.groups.deleteGroup(topic, group);
  }

  getGroupsDone(topic: string): Map<string, number[]> {
    return this.groups.getDone(topic);
  }

  putGroupDone(topic: string, group: string, ranges: number[]): void {
    this.groups.putDone(topic, group, ranges);
  }

  getGroupsInFlight(topic: string): Map<string, number[]> {
    return this.groups.getInFlight(topic);
  }

  putGroupInFlight(topic: string, group: string, triples: number[]): void {
    this.groups.putInFlight(topic, group, triples);
  }

  putGroupSync(topic: string, group: string, offset: number, done: number[]): void {
    this.groups.putSync(topic, group, offset, done);
  }

  putGroup(topic: string, group: string, offset: number): void {
    this.groups.put(topic, group, offset);
  }

  listTopics(): string[] {
    return Object.keys(this.doc.topics);
  }

  getTopicOptions(topic: string): StoredTopicOptions | undefined {
    return this.doc.topics[topic];
  }

  putTopicOptions(topic: string, options: StoredTopicOptions, soon = false): void {
    this.doc.topics[topic] = options;
    if (soon) this.writeSoon(); else this.writeNow();
  }

  getState(topic: string): TopicState | undefined {
    return this.doc.state[topic];
  }

  putStateSync(topic: string, state: TopicState): void {
    this.doc.state[topic] = state;
    this.writeNow();
  }

  putState(topic: string, state: TopicState): void {
    this.doc.state[topic] = state;
    this.writeSoon();
  }

  commitStates(): void {
    if (this.dirty) this.writeNow();
  }

  /** The document changed: it is written at the end of the tick (or sooner, by a durable put, commitStates, flush or close). */
  private writeSoon(): void {
    this.dirty = true;
    if (!this.scheduled) {
      this.scheduled = true;
      const write = (): void => {
        this.scheduled = false;
        if (this.dirty) {
          try { this.writeNow(); } catch { /* a later durable put or close reports it */ }
        }
      };
      // A large document (thousands of topics: megabytes) waits a few times its last write's
      // duration, so rewriting it takes a bounded share of the time whatever the number of topics
      // (closing 10,000 topics put a checkpoint after each one's fsync: a whole write each, 415 s).
      // A small one is written at the end of the tick, as before.
      if (this.lastWriteMs < WRITE_SLOW_MS) setImmediate(write);
      else this.timer = setTimeout(write, Math.min(WRITE_DELAY_MAX_MS, 4 * this.lastWriteMs));
    }
  }

  deleteTopic(topic: string): void {
    delete this.doc.topics[topic];
    delete this.doc.state[topic];
    if (this.doc.cleaner !== undefined) delete this.doc.cleaner[topic];
    this.writeNow();
    this.groups.deleteTopic(topic);
    this.keyFile(topic).remove();
    this.keyFiles.delete(topic);
  }

  private keyFile(topic: string): KeyFile {
    let kf = this.keyFiles.get(topic);
    if (kf === undefined) {
      kf = new KeyFile(path.join(this.dir, topic + KEYS_FILE_SUFFIX), this.readOnly, this.keyFileFds);
      this.keyFiles.set(topic, kf);
    }
    return kf;
  }

  getKeyOffset(topic: string, key: string): number | undefined {
    return this.keyFile(topic).map.get(key);
  }

  putKeyOffsets(topic: string, keys: string[], offsets: number[], indexedUpTo: number): void {
    if (this.readOnly) throw new SeglogError('ERR_READ_ONLY', `the log at ${this.dir} was opened read-only`);
    this.keyFile(topic).put(keys, offsets, indexedUpTo);
  }

  getKeyIndexEnd(topic: string): number {
    return this.keyFile(topic).indexedUpTo;
  }

  reloadKeyIndex(topic: string): void {
    if (this.readOnly) this.keyFile(topic).reload();
  }

  clearKeyIndex(topic: string): void {
    this.keyFile(topic).clear();
  }

  getCleanerState(topic: string): CleanerState | undefined {
    return this.doc.cleaner?.[topic];
  }

  putCleanerState(topic: string, state: CleanerState): void {
    this.doc.cleaner ??= {};
    this.doc.cleaner[topic] = state;
    this.writeNow();
  }

  async flush(): Promise<void> {
    if (this.dirty) this.writeNow();
    await this.groups.flush();
    for (const kf of this.keyFiles.values()) kf.fsync();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer); // (its write is the one below)
    try {
      if (this.dirty && !this.readOnly) this.writeNow();
    } finally {
      this.release();
      this.groups.close();
      for (const kf of this.keyFiles.values()) {
        if (!this.readOnly) kf.fsync();
        kf.closeFd();
      }
    }
  }

  private writeNow(): void {
    if (this.readOnly) throw new SeglogError('ERR_READ_ONLY', `the log at ${this.dir} was opened read-only`);
    const t0 = performance.now();
    writeDocument(this.dir, this.doc);
    this.lastWriteMs = performance.now() - t0;
    this.dirty = false;
  }
}

function closeQuietly(fd: number): void {
  try { fs.closeSync(fd); } catch { /* read-only: nothing to lose */ }
}

/** Replaces `<dir>/~meta.json` with `doc` atomically and durably (temp file, fsync, rename, fsync of the directory). */
export function writeDocument(dir: string, doc: Document): void {
  const file = path.join(dir, META_JSON);
  const tmp = file + '.tmp';
  let fd = -1;
  try {
    fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, JSON.stringify(doc));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch (err) {
    if (fd >= 0) try { fs.closeSync(fd); } catch { /* ignore */ }
    const code = (err as NodeJS.ErrnoException).code;
    throw new SeglogError(code === 'ENOSPC' ? 'ERR_NO_SPACE' : 'ERR_IO', `cannot write ${file}: ${(err as Error).message}`, { file, cause: err });
  }
}

export const fileMetaStore: MetaStoreFactory = (dir, readOnly, options) => new FileMetaStore(dir, readOnly, options);
