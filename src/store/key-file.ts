// KeyFile: the key index of one compacted topic for the native-free entry point. In memory it is
// a Map (key bytes as a latin1 string -> newest offset), loaded at open; on disk, `<dir>/<topic>~keys`,
// an append-only sequence of checksummed frames, one per tick that changed it:
//
//   0 frameBytes u32 | 4 xxh32 of [8, frameBytes) u32 | 8 indexedUpTo f64 (-1: unchanged)
//   16 entryCount u32 | 20 entries: keyBytes u32 | key | offset f64 (-1: key removed)
//
// All little-endian. When the file holds more than twice the live entries (and over 1 MiB), it is
// rewritten as one frame: `<topic>~keys.tmp`, fsync, rename, fsync the directory.
//
// A read-only store (a follower) loads the file at open and again at each refresh (reload): the
// frames the writer appended since, or the whole file when it is another one (a rewrite replaced it
// by rename, or the topic was deleted and created again: another inode) or shorter than what was
// read. A short or failing frame at the end is a write in progress: the next reload reads it again.
//
// Descriptors: a key file's is open from a write until the least recently written of more than
// KEY_FILES_OPEN_MAX key files of the log is closed (KeyFileFds, one per store), and an fsync of a
// file written through a descriptor closed since reopens it by path (fsync covers what any
// descriptor wrote, as for segments: docs/guarantees.md, "Many topics"). So compacted topics hold
// at most that many descriptors, whatever their number.
//
// Crash: frames are not fsynced one by one (the index can always be caught up from the log): at
// load, the first frame that is short or fails its checksum ends the file (it is cut there), and
// the catch-up scan at open indexes what the lost frames held. A leftover `.tmp` is ignored.
import fs from 'node:fs';
import { SeglogError } from '../base/errors.js';
import { checksum } from '../format/checksum.js';

const FRAME_HEADER_BYTES = 20;
const REWRITE_MIN_BYTES = 1024 * 1024;
/** Key-file descriptors one store keeps open (a few hot compacted topics write without reopening). */
export const KEY_FILES_OPEN_MAX = 16;

/** The bound on one store's open key-file descriptors: an LRU over the key files that hold one. */
export class KeyFileFds {
  private readonly lru = new Set<KeyFile>();
  constructor(readonly max: number = KEY_FILES_OPEN_MAX) {}
  get size(): number { return this.lru.size; }
  /** `kf` opened or used its descriptor: the least recently used past the bound is closed. */
  used(kf: KeyFile): void {
    this.lru.delete(kf);
    this.lru.add(kf);
    for (const victim of this.lru) {
      if (this.lru.size <= this.max) break;
      victim.closeFd(); // (it leaves the set: closed())
    }
  }
  closed(kf: KeyFile): void { this.lru.delete(kf); }
}

export class KeyFile {
  readonly map = new Map<string, number>();
  indexedUpTo = -1;
  private fd = -1;
  private sizeBytes = 0;
  private entriesInFile = 0;
  private dirty = false;
  /** Read-only: the inode of the file that was read (undefined: none was there). */
  private ino: number | undefined;

  constructor(readonly file: string, private readonly readOnly: boolean, private readonly fds: KeyFileFds = new KeyFileFds()) {
    if (readOnly) {
      this.reload();
      return;
    }
    let data: Buffer | undefined;
    try {
      data = fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('read', file, err);
    }
    if (data !== undefined) {
      const valid = this.load(data);
      if (valid < data.length && !readOnly) {
        try { fs.truncateSync(file, valid); } catch (err) { throw ioError('truncate', file, err); }
      }
      this.sizeBytes = valid;
    }
  }

  /**
   * Read-only: takes what the writer changed in the file since it was last read (see the header).
   * Read through one descriptor, so that the identity and the bytes are of the same file.
   */
  reload(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('open', this.file, err);
      if (this.ino !== undefined || this.sizeBytes > 0) this.forget();
      return;
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.ino === this.ino && st.size === this.sizeBytes) return;
      const whole = st.ino !== this.ino || st.size < this.sizeBytes;
      if (whole) this.forget();
      const from = this.sizeBytes;
      const data = Buffer.allocUnsafe(st.size - from);
      let done = 0;
      while (done < data.length) {
        const n = fs.readSync(fd, data, done, data.length - done, from + done);
        if (n === 0) break;
        done += n;
      }
      this.sizeBytes = from + this.load(done === data.length ? data : data.subarray(0, done));
      this.ino = st.ino;
    } catch (err) {
      throw err instanceof SeglogError ? err : ioError('read', this.file, err);
    } finally {
      try { fs.closeSync(fd); } catch { /* read-only: nothing to lose */ }
    }
  }

  /** Read-only: drops what was loaded (the file is gone or is another one). */
  private forget(): void {
    this.map.clear();
    this.indexedUpTo = -1;
    this.sizeBytes = 0;
    this.entriesInFile = 0;
    this.ino = undefined;
  }

  /** Applies the frames of `data`; returns the length of its valid prefix. */
  private load(data: Buffer): number {
    let p = 0;
    while (p + FRAME_HEADER_BYTES <= data.length) {
      const frameBytes = data.readUInt32LE(p);
      if (frameBytes < FRAME_HEADER_BYTES || p + frameBytes > data.length) break;
      if (checksum(data.subarray(p + 8, p + frameBytes)) !== data.readUInt32LE(p + 4)) break;
      const upTo = data.readDoubleLE(p + 8);
      const count = data.readUInt32LE(p + 16);
      let q = p + FRAME_HEADER_BYTES;
      const end = p + frameBytes;
      let ok = true;
      for (let i = 0; i < count; i++) {
        if (q + 4 > end) { ok = false; break; }
        const keyBytes = data.readUInt32LE(q);
        if (q + 4 + keyBytes + 8 > end) { ok = false; break; }
        const key = data.toString('latin1', q + 4, q + 4 + keyBytes);
        const offset = data.readDoubleLE(q + 4 + keyBytes);
        if (offset < 0) this.map.delete(key); else this.map.set(key, offset);
        q += 4 + keyBytes + 8;
      }
      if (!ok || q !== end) break;
      if (upTo >= 0) this.indexedUpTo = upTo;
      this.entriesInFile += count;
      p = end;
    }
    return p;
  }

  put(keys: string[], offsets: number[], indexedUpTo: number): void {
    for (let i = 0; i < keys.length; i++) {
      if (offsets[i]! < 0) this.map.delete(keys[i]!); else this.map.set(keys[i]!, offsets[i]!);
    }
    if (indexedUpTo >= 0) this.indexedUpTo = indexedUpTo;
    if (this.readOnly) return;
    if (this.entriesInFile + keys.length > 2 * this.map.size && this.sizeBytes > REWRITE_MIN_BYTES) {
      this.rewrite();
      return;
    }
    const frame = encodeFrame(keys, offsets, indexedUpTo);
    this.append(frame);
    this.entriesInFile += keys.length;
  }

  clear(): void {
    this.map.clear();
    this.indexedUpTo = -1;
    if (this.readOnly) return;
    this.rewrite();
  }

  private openFd(): number {
    if (this.fd < 0) {
      // Positional writes at sizeBytes (not O_APPEND: a failed write is cut back by ftruncate).
      try {
        this.fd = fs.openSync(this.file, fs.existsSync(this.file) ? 'r+' : 'w+');
      } catch (err) {
        throw ioError('open', this.file, err);
      }
    }
    this.fds.used(this);
    return this.fd;
  }

  private append(frame: Buffer): void {
    const fd = this.openFd();
    try {
      let done = 0;
      while (done < frame.length) done += fs.writeSync(fd, frame, done, frame.length - done, this.sizeBytes + done);
    } catch (err) {
      try { fs.ftruncateSync(fd, this.sizeBytes); } catch { /* the next load cuts a torn frame */ }
      throw ioError('write', this.file, err);
    }
    this.sizeBytes += frame.length;
    this.dirty = true;
  }

  /** Replaces the file with one frame holding the whole map. */
  private rewrite(): void {
    const keys = [...this.map.keys()];
    const offsets = keys.map((k) => this.map.get(k)!);
    const frame = encodeFrame(keys, offsets, this.indexedUpTo);
    const tmp = this.file + '.tmp';
    let fd = -1;
    try {
      fd = fs.openSync(tmp, 'w');
      let done = 0;
      while (done < frame.length) done += fs.writeSync(fd, frame, done, frame.length - done, done);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = -1;
      this.closeFd();
      fs.renameSync(tmp, this.file);
      const dir = this.file.slice(0, this.file.lastIndexOf('/')) || '/';
      const dfd = fs.openSync(dir, 'r');
      try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
    } catch (err) {
      if (fd >= 0) try { fs.closeSync(fd); } catch { /* ignore */ }
      throw ioError('rewrite', this.file, err);
    }
    this.sizeBytes = frame.length;
    this.entriesInFile = keys.length;
    this.dirty = false;
  }

  /** fsyncs what was written since the last fsync (reopening the file if its descriptor was closed since). */
  fsync(): void {
    if (!this.dirty) return;
    const fd = this.openFd();
    try { fs.fsyncSync(fd); } catch (err) { throw ioError('fsync', this.file, err); }
    this.dirty = false;
  }

  closeFd(): void {
    if (this.fd >= 0) { try { fs.closeSync(this.fd); } catch { /* already gone */ } this.fd = -1; }
    this.fds.closed(this);
  }

  /** Closes and removes the file (deleteTopic). */
  remove(): void {
    this.closeFd();
    this.dirty = false;
    this.map.clear();
    try { fs.unlinkSync(this.file); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('unlink', this.file, err); }
  }
}

function encodeFrame(keys: string[], offsets: number[], indexedUpTo: number): Buffer {
  let bytes = FRAME_HEADER_BYTES;
  for (const k of keys) bytes += 4 + k.length + 8;
  const frame = Buffer.allocUnsafe(bytes);
  frame.writeUInt32LE(bytes, 0);
  frame.writeDoubleLE(indexedUpTo, 8);
  frame.writeUInt32LE(keys.length, 16);
  let q = FRAME_HEADER_BYTES;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    frame.writeUInt32LE(k.length, q);
    frame.write(k, q + 4, 'latin1');
    frame.writeDoubleLE(offsets[i]!, q + 4 + k.length);
    q += 4 + k.length + 8;
  }
  frame.writeUInt32LE(checksum(frame.subarray(8)), 4);
  return frame;
}

function ioError(op: string, file: string, err: unknown): SeglogError {
  const code = (err as NodeJS.ErrnoException).code;
  return new SeglogError(code === 'ENOSPC' ? 'ERR_NO_SPACE' : 'ERR_IO', `cannot ${op} the key index ${file}: ${(err as Error).message}`, { file, cause: err });
}
