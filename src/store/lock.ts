// DirectoryLock: one writer per directory. A lock file `~seglog.lock` created exclusively holds
// "<pid> <process start time> <hostname>". Inside one process a registry of held directories
// refuses a second opener at once. A lock whose process is gone, or whose pid now belongs to a
// process started at another time (pid reuse), is stale and taken over. The registry is one per
// process, on globalThis: the ES module and CommonJS builds of seglog loaded side by side in one
// process (the dual-package hazard) must refuse each other, not take over each other's lock.
// On a disk with no free block (the space reserve already given back, the rest taken by another
// program) the identity cannot be written to a file: the lock is then a symbolic link whose target
// is the identity text. Creating a symlink is exclusive and atomic like a link, and a short target
// lives in the inode (ext4, tmpfs, xfs): no data block. Readers take either form (readLock).
// Crash: a killed writer leaves its lock file behind; the next opener finds it stale.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import { LOCK_FILE, TMP_SUFFIX } from '../format/batch.js';

const HELD_KEY = Symbol.for('seglog.heldDirectories');
const held: Set<string> = ((globalThis as { [HELD_KEY]?: Set<string> })[HELD_KEY] ??= new Set<string>());
/** A takeover guard older than this was left by a process that died while taking over. */
const TAKEOVER_STALE_MS = 10_000;
/** An empty lock file still empty after this long was left by an opener killed between create and write. */
const EMPTY_LOCK_WAIT_MS = 50;

/**
 * What a lock (or guard) file says: a regular file's text, or a symbolic link's target (the form
 * taken on a full disk); undefined when it is gone. A symlink is never followed.
 */
function readLock(file: string): string | undefined {
  try {
    return fs.lstatSync(file).isSymbolicLink() ? fs.readlinkSync(file, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function isNoSpaceCode(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Creates `file` as a symbolic link to the text `me` (no data block); false when `file` exists. */
function createSymlink(file: string, me: string): boolean {
  try {
    fs.symlinkSync(me, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError('create the lock file', file, err);
  }
}

/** Writes `text` to a new file and fsyncs it; the file is removed again if that fails. */
function writeWhole(file: string, text: string, flags: 'w' | 'wx'): void {
  const fd = fs.openSync(file, flags);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } catch (err) {
    try { fs.closeSync(fd); } catch { /* already gone */ }
    try { fs.unlinkSync(file); } catch { /* already gone */ }
    throw err;
  }
  fs.closeSync(fd);
}

/** Temporary lock files left by openers killed while creating a lock (their pid is gone). */
function removeDeadTemporaries(dir: string): void {
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  for (const name of names) {
    const m = /^~seglog\.lock(?:\.takeover)?\.(\d+)\.tmp$/.exec(name);
    if (m === null || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    try { fs.unlinkSync(path.join(dir, name)); } catch { /* gone meanwhile */ }
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Fields of /proc/<pid>/stat after the command name (Linux), or undefined when unknown. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time of a process (Linux: field 22 of /proc/<pid>/stat), or '' when unknown. */
function processStartTime(pid: number): string {
  return procStat(pid)?.[19] ?? '';
}

/**
 * A killed process whose parent has not reaped it yet is a zombie (state Z, or X while it goes):
 * it answers kill(pid, 0) but holds nothing any more.
 */
function isZombie(pid: number): boolean {
  const state = procStat(pid)?.[0];
  return state === 'Z' || state === 'X';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DirectoryLock {
  private constructor(readonly dir: string, readonly file: string) {}

  static acquire(dir: string): DirectoryLock {
    const key = fs.realpathSync(dir);
    if (held.has(key)) {
      throw new SeglogError('ERR_LOCKED', `${dir} is already open for writing in this process`, { file: path.join(dir, LOCK_FILE) });
    }
    const file = path.join(dir, LOCK_FILE);
    const me = `${process.pid} ${processStartTime(process.pid)} ${os.hostname()}\n`;
    for (let attempt = 0; attempt < 50; attempt++) {
      if (DirectoryLock.create(file, me)) {
        held.add(key);
        removeDeadTemporaries(dir);
        return new DirectoryLock(key, file);
      }
      let text = readLock(file);
      if (text === undefined) continue; // released meanwhile: try again
      if (text === '') {
        // Our lock files appear whole (linked); an empty one is an opener of the fallback path
        // (no hard links) between its create and its write — microseconds — or one killed there.
        sleepMs(EMPTY_LOCK_WAIT_MS);
        text = readLock(file);
        if (text === undefined || text !== '') continue; // released or written meanwhile: look again
      }
      const owner = DirectoryLock.parse(text);
      if (owner !== undefined && !DirectoryLock.isStale(owner)) {
        throw new SeglogError('ERR_LOCKED', `${dir} is locked by process ${owner.pid} on ${owner.host} (lock file ${file})`, { file, value: owner.pid });
      }
      DirectoryLock.removeStale(file, text);
    }
    throw new SeglogError('ERR_LOCKED', `${dir} is locked: could not take over the lock file ${file}`, { file });
  }

  /**
   * Creates `file` exclusively holding `me`, whole: the identity is written and fsynced to a
   * private temporary file first, which is then hard-linked to `file` (a link, like an exclusive
   * create, fails when the name exists). A lock file is therefore never seen empty or half-written,
   * even when its opener is killed in the middle. Where hard links are not supported, an exclusive
   * create followed by the write. When the disk has no block for the identity (ENOSPC, EDQUOT), a
   * symbolic link to the identity text instead (createSymlink). False when `file` exists.
   */
  private static create(file: string, me: string): boolean {
    const tmp = `${file}.${process.pid}${TMP_SUFFIX}`;
    try {
      writeWhole(tmp, me, 'w');
    } catch (err) {
      try { fs.unlinkSync(tmp); } catch { /* never created */ }
      if (isNoSpaceCode(err)) return createSymlink(file, me);
      throw ioError('write the lock file', tmp, err);
    }
    try {
      fs.linkSync(tmp, file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (isNoSpaceCode(err)) return createSymlink(file, me); // the directory could not grow
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw ioError('create the lock file', file, err);
    } finally {
      try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    }
    // No hard links here (some FAT or network file systems).
    try {
      writeWhole(file, me, 'wx');
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      if (isNoSpaceCode(err)) return createSymlink(file, me);
      throw ioError('create the lock file', file, err);
    }
  }

  /**
   * Removes a stale lock file — only while holding `<lock>.takeover` (created like the lock, with
   * our identity), and only if the file still says what was judged stale: two openers taking over at
   * once can otherwise delete the fresh lock the other one has just created. A guard left by a
   * process that died while taking over is stale like a lock (or, when unreadable, once it is old).
   */
  private static removeStale(file: string, staleText: string): void {
    const guard = file + '.takeover';
    const me = `${process.pid} ${processStartTime(process.pid)} ${os.hostname()}\n`;
    if (!DirectoryLock.create(guard, me)) {
      // Another opener is taking over, or one died doing it.
      const text = readLock(guard);
      if (text !== undefined) {
        const owner = DirectoryLock.parse(text);
        let old = false;
        try { old = Date.now() - fs.lstatSync(guard).mtimeMs > TAKEOVER_STALE_MS; } catch { /* gone */ }
        if (owner === undefined ? old : DirectoryLock.isStale(owner) || old) {
          try { if (readLock(guard) === text) fs.unlinkSync(guard); } catch { /* gone meanwhile */ }
        }
      }
      sleepMs(5);
      return;
    }
    try {
      if (readLock(file) === staleText) fs.unlinkSync(file);
    } catch { /* removed meanwhile */ } finally {
      try { fs.unlinkSync(guard); } catch { /* already gone */ }
    }
  }

  /** The owner a lock (or guard) file names; undefined when it names none (empty or junk: stale). */
  private static parse(text: string): { pid: number; start: string; host: string } | undefined {
    const [pidText, start, host] = text.trim().split(' ');
    const pid = Number(pidText);
    if (!Number.isSafeInteger(pid) || pid <= 0 || host === undefined || host === '') return undefined;
    return { pid, start: start ?? '', host };
  }

  private static isStale(owner: { pid: number; start: string; host: string }): boolean {
    if (owner.host !== os.hostname()) return false; // cannot tell for another host: be safe
    if (owner.pid === process.pid) return true; // our own pid but not in `held`: a previous process with the same pid
    if (!isAlive(owner.pid) || isZombie(owner.pid)) return true;
    const start = processStartTime(owner.pid);
    return start !== '' && owner.start !== '' && start !== owner.start;
  }

  release(): void {
    held.delete(this.dir);
    try { fs.unlinkSync(this.file); } catch { /* already removed */ }
  }
}
