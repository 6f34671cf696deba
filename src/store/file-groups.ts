// Committed consumer-group positions of the native-free entry point: `<dir>/~groups.log`, an
// append-only file of lines `<xxh32 of the JSON, 8 hex digits> <JSON>\n`, where the JSON is
// `["g", topic, group, offset]` (a group's position), `["f", topic, group, [from, to, ...]]` (the
// ranges it finished out of order above it; [] forgets them), `["i", topic, group, [from, to,
// deliveries, ...]]` (the offsets it handed out and did not see finished, with how many times each
// was handed out; [] forgets them), `["x", topic, group]` (the group was deleted) or `["d", topic]`
// (the topic was deleted).
// Later lines win. The puts of one tick are coalesced into one write at its end (a process crash
// keeps them); flush() fsyncs the file, overlapping callers sharing one fsync. When the file has
// grown to many times its live content it is rewritten (temp file, fsync, rename, fsync of the
// directory).
// Crash: a torn last line (checksum or JSON fails, nothing valid after it) is dropped at open and
// the file is rewritten without it; a bad line followed by valid ones is damage (ERR_CORRUPT with
// the file and byte position), never skipped silently — that could move a position backwards.
import fs from 'node:fs';
import path from 'node:path';
import { SeglogError } from '../base/errors.js';
import { checksum } from '../format/checksum.js';
import { GROUPS_FILE } from '../format/batch.js';
import { publish } from '../base/diagnostics.js';
import { nodeFileIO } from '../io/node-fs.js';
import type { MetaOpenOptions } from './meta-store.js';
import { metadataCorrupt, moveAside } from './metadata-damage.js';
import { inFlightTriples, parseGroupsLine } from './groups-check.js';

/** The file is rewritten once it is past this size and four times its live content. */
const GROUPS_FILE_REWRITE_BYTES = 1 << 20;

export class FileGroups {
  private readonly file: string;
  /** topic -> group -> committed position. */
  private readonly positions = new Map<string, Map<string, number>>();
  /** topic -> group -> ranges finished out of order above its position. */
  private readonly done = new Map<string, Map<string, number[]>>();
  /** topic -> group -> offsets handed out and not finished ([from, to, deliveries] triples). */
  private readonly inFlight = new Map<string, Map<string, number[]>>();
  private pending: string[] = [];
  private scheduled = false;
  private fd = -1;
  private fileBytes = 0;
  private writeError: SeglogError | undefined = undefined;
  private syncing: Promise<void> | undefined = undefined;
  private syncAgain = false;
  /** Read-only: the inode of the file read (its descriptor is held in `fd`). */
  private heldIno: number | undefined = undefined;

  constructor(private readonly dir: string, private readonly readOnly: boolean, options: MetaOpenOptions = {}) {
    this.file = path.join(dir, GROUPS_FILE);
    let text: Buffer | undefined;
    try {
      text = readOnly ? this.readHeld(0) : fs.readFileSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.ioError('read', err);
    }
    let torn = false;
    let tornAt = -1;
    if (text !== undefined) {
      const damagedAt = { position: -1 };
      try {
        tornAt = this.load(text, options.repair === true ? damagedAt : undefined);
      } catch (err) {
        this.close(); // (a read-only log: the descriptor held)
        throw err;
      }
      torn = tornAt >= 0;
      if (damagedAt.position >= 0) {
        // A repair keeps every valid line (a group whose newest line was the damaged one goes back
        // to its previous position: records are delivered again, never skipped) and the file aside.
        const movedTo = moveAside(options.io ?? nodeFileIO, this.file);
        publish('recovery', { dir, topic: '', action: 'rebuild-metadata', file: movedTo, position: damagedAt.position, reason: `damaged consumer group entries in ${this.file} from byte ${damagedAt.position} on were skipped (the file was moved to ${movedTo}); positions they held fall back to the entries before them` });
        torn = true;
      }
    }
    if (readOnly) {
      // (a torn last line is read again by the next reload)
      if (text !== undefined) this.fileBytes = tornAt >= 0 ? tornAt : text.length;
      return;
    }
    // (the file is created by the first put: a log without groups has none)
    if (torn || (text !== undefined && text.length > GROUPS_FILE_REWRITE_BYTES && text.length > 4 * this.liveBytes())) this.rewrite();
  }

  /**
   * Read-only: takes the lines the writer appended since the file was last read, or the whole file
   * when it is another one (the writer rewrote it: another inode, held off reuse by the descriptor
   * kept of the one read) or shorter. A line without its newline yet, or one that fails its check,
   * is read again next time (nothing after it is taken meanwhile).
   */
  reload(): void {
    if (!this.readOnly) return;
    let st: fs.Stats;
    try { st = fs.statSync(this.file); } catch { return; }
    if (this.heldIno === st.ino && st.size === this.fileBytes) return;
    const whole = this.heldIno !== st.ino || st.size < this.fileBytes;
    let data: Buffer;
    try { data = this.readHeld(whole ? 0 : this.fileBytes); } catch { return; }
    if (whole) {
      this.positions.clear();
      this.done.clear();
      this.inFlight.clear();
      this.fileBytes = 0;
    }
    let p = 0;
    while (p < data.length) {
      const nl = data.indexOf(10, p);
      if (nl < 0) break;
      const entry = parseGroupsLine(data.subarray(p, nl));
      if (entry === undefined) break;
      this.apply(entry);
      p = nl + 1;
    }
    this.fileBytes += p;
  }

  /** Read-only: reads the file from `from` through a descriptor it keeps in place of the one held (see reload). */
  private readHeld(from: number): Buffer {
    const fd = fs.openSync(this.file, 'r');
    try {
      const st = fs.fstatSync(fd);
      const data = Buffer.allocUnsafe(Math.max(0, st.size - from));
      let done = 0;
      while (done < data.length) {
        const n = fs.readSync(fd, data, done, data.length - done, from + done);
        if (n === 0) break;
        done += n;
      }
      if (this.fd >= 0) fs.closeSync(this.fd);
      this.fd = fd;
      this.heldIno = st.ino;
      return data.subarray(0, done);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get(topic: string): Map<string, number> {
    return new Map(this.positions.get(topic) ?? []);
  }

  put(topic: string, group: string, offset: number): void {
    if (this.readOnly) throw new SeglogError('ERR_READ_ONLY', `the log at ${this.dir} was opened read-only`);
    let groups = this.positions.get(topic);
    if (groups === undefined) this.positions.set(topic, (groups = new Map()));
    groups.set(group, offset);
    this.queue(line(['g', topic, group, offset]));
  }

  getDone(topic: string): Map<string, number[]> {
    return new Map(this.done.get(topic) ?? []);
  }

  putDone(topic: string, group: string, ranges: number[]): void {
    if (this.readOnly) throw new SeglogError('ERR_READ_ONLY', `the log at ${this.dir} was opened read-only`);
    this.setDone(topic, group, ranges);
    this.queue(line(['f', topic, group, ranges]));
  }

  private setDone(topic: string, group: string, ranges: number[], map = this.done): void {
    let groups = map.get(topic);
    if (groups === undefined) map.set(topic, (groups = new Map()));
    if (ranges.length > 0) groups.set(group, ranges); else groups.delete(group);
  }

  getInFlight(topic: string): Map<string, number[]> {
    return new Map(this.inFlight.get(topic) ?? []);
  }

  putInFlight(topic: string, group: string, triples: number[]): void {
    if (this.readOnly) throw new SeglogError('ERR_READ_ONLY', `the log at ${this.dir} was opened read-only`);
    this.setDone(topic, group, triples, this.inFlight);
    this.queue(line(['i', topic, group, triples]));
  }

  /** Forgets one group's position (durable once flush() resolves). */
  deleteGroup(topic: string, group: string): void {
    if (this.readOnly) throw new SeglogError('ERR_READ_ONLY', `the log at ${this.dir} was opened read-only`);
    const hadDone = this.done.get(topic)?.delete(group) === true;
    const hadInFlight = this.inFlight.get(topic)?.delete(group) === true;
    if (this.positions.get(topic)?.delete(group) !== true && !hadDone && !hadInFlight) return;
    this.queue(line(['x', topic, group]));
  }

  /** Queues a line for the end-of-tick write. */
  private queue(entry: string): void {
    this.pending.push(entry);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try { this.writePending(); } catch (err) { this.writeError ??= err as SeglogError; }
    });
  }

  /** A group's position and finished ranges, durable when it returns (recovery re-applying ridden commits). */
  putSync(topic: string, group: string, offset: number, ranges: number[]): void {
    this.put(topic, group, offset);
    this.putDone(topic, group, ranges);
    this.writePending();
    try { fs.fsyncSync(this.fd); } catch (err) { throw this.ioError('fsync', err); }
  }

  /** Forgets the topic's groups, durably. */
  deleteTopic(topic: string): void {
    const hadDone = this.done.delete(topic);
    const hadInFlight = this.inFlight.delete(topic);
    if (!this.positions.has(topic) && !hadDone && !hadInFlight) return;
    this.positions.delete(topic);
    this.pending.push(line(['d', topic]));
    this.writePending();
    try { fs.fsyncSync(this.fd); } catch (err) { throw this.ioError('fsync', err); }
  }

  /** Everything put so far is durable when this resolves. */
  async flush(): Promise<void> {
    if (this.readOnly) return;
    this.writePending();
    if (this.fd < 0) return;
    if (this.writeError !== undefined) {
      const err = this.writeError;
      this.writeError = undefined;
      throw err;
    }
    if (this.syncing !== undefined) {
      // an fsync is running: it may have started before our bytes were written; one more covers us
      this.syncAgain = true;
      while (this.syncing !== undefined) await this.syncing;
      return;
    }
    this.syncing = this.syncLoop().finally(() => { this.syncing = undefined; });
    await this.syncing;
  }

  private async syncLoop(): Promise<void> {
    do {
      this.syncAgain = false;
      const fd = this.fd;
      await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(this.ioError('fsync', err)) : resolve())));
    } while (this.syncAgain);
  }

  close(): void {
    if (this.readOnly) {
      if (this.fd >= 0) try { fs.closeSync(this.fd); } catch { /* read-only: nothing to lose */ }
      this.fd = -1;
      return;
    }
    this.writePending();
    if (this.fd < 0) return;
    try {
      this.writePending();
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    if (this.fd < 0) this.openForAppend();
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    let done = 0;
    try {
      while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
    } catch (err) {
      // a partial line is a torn tail: cut it so the next lines are not behind damage
      try { fs.ftruncateSync(this.fd, this.fileBytes); } catch { /* the open after a crash drops it */ }
      throw this.ioError('write', err);
    }
    this.fileBytes += bytes.length;
    if (this.fileBytes > GROUPS_FILE_REWRITE_BYTES && this.fileBytes > 4 * this.liveBytes()) this.rewrite();
  }

  /** Applies the file's lines; returns where its torn tail begins (to be rewritten), -1 when it has none. */
  private load(text: Buffer, repair?: { position: number }): number {
    let p = 0;
    let badAt = -1;
    while (p < text.length) {
      const nl = text.indexOf(10, p);
      const end = nl < 0 ? text.length : nl;
      const entry = nl < 0 ? undefined : parseGroupsLine(text.subarray(p, end));
      if (entry === undefined) {
        if (badAt < 0) badAt = p;
      } else {
        if (badAt >= 0 && repair !== undefined) {
          if (repair.position < 0) repair.position = badAt;
          badAt = -1;
        } else if (badAt >= 0) {
          throw metadataCorrupt(this.dir, this.file, badAt, `damaged consumer group entry in ${this.file} at byte ${badAt}, followed by valid entries`);
        }
        this.apply(entry);
      }
      p = end + 1;
    }
    return badAt;
  }

  private apply(entry: unknown[]): void {
    const [kind, topic, group, offset] = entry;
    if (kind === 'd' && typeof topic === 'string') {
      this.positions.delete(topic);
      this.done.delete(topic);
      this.inFlight.delete(topic);
    }
    if (kind === 'x' && typeof topic === 'string' && typeof group === 'string') {
      this.positions.get(topic)?.delete(group);
      this.done.get(topic)?.delete(group);
      this.inFlight.get(topic)?.delete(group);
    }
    if (kind === 'i' && typeof topic === 'string' && typeof group === 'string') {
      // (another shape: ignored, the counts start over)
      const triples = inFlightTriples(offset);
      if (triples !== undefined) this.setDone(topic, group, triples, this.inFlight);
    }
    if (kind === 'f' && typeof topic === 'string' && typeof group === 'string' && Array.isArray(offset) && offset.every((n) => typeof n === 'number')) this.setDone(topic, group, offset as number[]);
    if (kind === 'g' && typeof topic === 'string' && typeof group === 'string' && typeof offset === 'number') {
      let groups = this.positions.get(topic);
      if (groups === undefined) this.positions.set(topic, (groups = new Map()));
      groups.set(group, offset);
    }
  }

  private liveBytes(): number {
    let n = 0;
    for (const [topic, groups] of this.positions) for (const [group] of groups) n += 32 + topic.length + group.length;
    // (the ranges lines: about 12 bytes a number)
    for (const map of [this.done, this.inFlight]) for (const [topic, groups] of map) for (const [group, list] of groups) n += 32 + topic.length + group.length + 12 * list.length;
    return n;
  }

  /** Replaces the file with one line per live position: temp file, fsync, rename, fsync the directory. */
  private rewrite(): void {
    const lines: string[] = [];
    for (const [topic, groups] of this.positions) for (const [group, offset] of groups) lines.push(line(['g', topic, group, offset]));
    for (const [topic, groups] of this.done) for (const [group, ranges] of groups) lines.push(line(['f', topic, group, ranges]));
    for (const [topic, groups] of this.inFlight) for (const [group, triples] of groups) lines.push(line(['i', topic, group, triples]));
    const bytes = Buffer.from(lines.join(''), 'utf8');
    const tmp = this.file + '.tmp';
    try {
      const fd = fs.openSync(tmp, 'w');
      try {
        let done = 0;
        while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
      const dfd = fs.openSync(this.dir, 'r');
      try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
    } catch (err) {
      throw this.ioError('rewrite', err);
    }
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    this.openForAppend();
  }

  private openForAppend(): void {
    try {
      this.fd = fs.openSync(this.file, 'a');
      this.fileBytes = fs.fstatSync(this.fd).size;
    } catch (err) {
      throw this.ioError('open', err);
    }
  }

  private ioError(what: string, err: unknown): SeglogError {
    if (err instanceof SeglogError) return err;
    const code = (err as NodeJS.ErrnoException)?.code;
    return new SeglogError(code === 'ENOSPC' ? 'ERR_NO_SPACE' : 'ERR_IO', `cannot ${what} ${this.file}: ${(err as Error)?.message ?? err}`, { file: this.file, cause: err });
  }
}

function line(entry: unknown[]): string {
  const json = JSON.stringify(entry);
  return `${checksum(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0')} ${json}\n`;
}
