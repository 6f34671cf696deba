// DirectoryLock: one writer per directory. A lock file `seglog.lock` created exclusively holds
// "<pid> <process start time> <hostname>". Inside one process a registry of held directories
// refuses a second opener at once. A lock whose process is gone, or whose pid now belongs to a
// process started at another time (pid reuse), is stale and taken over.
// Crash: a killed writer leaves its lock file behind; the next opener finds it stale.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeglogError } from './errors.js';
import { LOCK_FILE } from './format.js';

const held = new Set<string>();

/** Start time of a process (Linux: field 22 of /proc/<pid>/stat), or '' when unknown. */
function processStartTime(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
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
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx');
        try {
          fs.writeSync(fd, me);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        held.add(key);
        return new DirectoryLock(key, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new SeglogError('ERR_IO', `cannot create the lock file ${file}: ${(err as Error).message}`, { file, cause: err });
        }
      }
      const owner = DirectoryLock.owner(file);
      if (owner !== undefined && !DirectoryLock.isStale(owner)) {
        throw new SeglogError('ERR_LOCKED', `${dir} is locked by process ${owner.pid} on ${owner.host} (lock file ${file})`, { file, value: owner.pid });
      }
      // Stale: the owner is dead (or the file is unreadable garbage). Take it over.
      try { fs.unlinkSync(file); } catch { /* another opener removed it first */ }
    }
    throw new SeglogError('ERR_LOCKED', `${dir} is locked: the lock file ${file} keeps reappearing`, { file });
  }

  private static owner(file: string): { pid: number; start: string; host: string } | undefined {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
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
    if (!isAlive(owner.pid)) return true;
    const start = processStartTime(owner.pid);
    return start !== '' && owner.start !== '' && start !== owner.start;
  }

  release(): void {
    held.delete(this.dir);
    try { fs.unlinkSync(this.file); } catch { /* already removed */ }
  }
}
