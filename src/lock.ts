// DirectoryLock: one writer per directory. A lock file `~seglog.lock` created exclusively holds
// "<pid> <process start time> <hostname>". Inside one process a registry of held directories
// refuses a second opener at once. A lock whose process is gone, or whose pid now belongs to a
// process started at another time (pid reuse), is stale and taken over.
// Crash: a killed writer leaves its lock file behind; the next opener finds it stale.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeglogError, ioError } from './errors.js';
import { LOCK_FILE } from './format.js';

const held = new Set<string>();
/** A takeover guard older than this was left by a process that died while taking over. */
const TAKEOVER_STALE_MS = 10_000;

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
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
        return new DirectoryLock(key, file);
      }
      const text = readText(file);
      if (text === undefined) continue; // released meanwhile: try again
      const owner = DirectoryLock.parse(file, text);
      if (owner !== undefined && !DirectoryLock.isStale(owner)) {
        throw new SeglogError('ERR_LOCKED', `${dir} is locked by process ${owner.pid} on ${owner.host} (lock file ${file})`, { file, value: owner.pid });
      }
      DirectoryLock.removeStale(file, text);
    }
    throw new SeglogError('ERR_LOCKED', `${dir} is locked: could not take over the lock file ${file}`, { file });
  }

  /** Creates the lock file exclusively with our identity; false when it exists. */
  private static create(file: string, me: string): boolean {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw ioError('create the lock file', file, err);
    }
    try {
      fs.writeSync(fd, me);
      fs.fsyncSync(fd);
    } catch (err) {
      // (a full disk, or fsync refused): no lock file with a partial or unsynced identity stays behind
      try { fs.closeSync(fd); } catch { /* already gone */ }
      try { fs.unlinkSync(file); } catch { /* already gone */ }
      throw ioError('write the lock file', file, err);
    }
    fs.closeSync(fd);
    return true;
  }

  /**
   * Removes a stale lock file — only while holding `<lock>.takeover` (created exclusively), and only
   * if the file still says what was judged stale: two openers taking over at once can otherwise
   * delete the fresh lock the other one has just created.
   */
  private static removeStale(file: string, staleText: string): void {
    const guard = file + '.takeover';
    let fd: number;
    try {
      fd = fs.openSync(guard, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new SeglogError('ERR_IO', `cannot create ${guard}: ${(err as Error).message}`, { file: guard, cause: err });
      // Another opener is taking over; a guard left by a process that died during a takeover is old.
      try {
        if (Date.now() - fs.statSync(guard).mtimeMs > TAKEOVER_STALE_MS) fs.unlinkSync(guard);
      } catch { /* gone meanwhile */ }
      sleepMs(5);
      return;
    }
    try {
      if (readText(file) === staleText) fs.unlinkSync(file);
    } catch { /* removed meanwhile */ } finally {
      fs.closeSync(fd);
      try { fs.unlinkSync(guard); } catch { /* already gone */ }
    }
  }

  private static parse(file: string, text: string): { pid: number; start: string; host: string } | undefined {
    const [pidText, start, host] = text.trim().split(' ');
    const pid = Number(pidText);
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      // Written half-way by an opener that is creating it right now? Only trust it when it is old.
      try {
        if (Date.now() - fs.statSync(file).mtimeMs < 2000) return { pid: 0, start: '', host: os.hostname() };
      } catch { /* gone */ }
      return undefined;
    }
    return { pid, start: start ?? '', host: host ?? '' };
  }

  private static isStale(owner: { pid: number; start: string; host: string }): boolean {
    if (owner.pid === 0) return false;
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
