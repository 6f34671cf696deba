// FileIOs that fail on request, wrapped around node:fs: the seam the core uses for all segment I/O.
// faultyIO: a write or fsync fails (every one, once, or the Nth call of any operation, once or from
// then on), or the disk fills at a byte budget. powerCutIO: SQLite-crash-simulator style power cut:
// each write made since its file's last fsync is kept, dropped or torn at a random byte, each
// directory keeps a random prefix of its entry changes since its last fsync (power-cut-entries.ts),
// and the result is written as a copy of the directory (the image the machine would boot with).
// Crash: test code only; the image is a separate directory that the test removes.
import fs from 'node:fs';
import path from 'node:path';
import type { FileIO } from '../../src/io/file-io.js';
import { nodeFileIO } from '../../src/io/node-fs.js';
import { EntryJournal } from './power-cut-entries.js';

/** FileIO operations that faultyIO's failOp and powerCutIO count. fsync covers fsyncSync too. */
export type OpName = 'open' | 'read' | 'write' | 'fsync' | 'truncate' | 'rename' | 'unlink' | 'mkdir' | 'removeDir' | 'fsyncDir';

export interface FaultPlan {
  /** errno code thrown by every .log write while set (e.g. 'ENOSPC', 'EIO'). */
  writeError?: string;
  /** errno code thrown by every fsync while set (narrowed by fsyncLogOnly, fsyncOnce). */
  fsyncError?: string;
  /** With fsyncError: only fsyncs of `.log` descriptors fail (those of index files succeed). */
  fsyncLogOnly?: boolean;
  /**
   * With fsyncError: only the next failing fsync fails, then fsyncError is cleared (Linux reports a
   * writeback error to one fsync; the next one succeeds although the data was lost).
   */
  fsyncOnce?: boolean;
  /** Bytes of .log writes still allowed; past it writes write what fits, then fail with ENOSPC. */
  writeBudgetBytes?: number;
  /** While set, what freeBytes() (statfs) reports: a disk that looks full (or nearly) to the space reserve. */
  freeBytes?: number;
  /**
   * The `nth` call (1-based, counted from when the plan is set up) of `op` fails with `code`: once,
   * or with `persistent` that call and every later one of that op. `logOnly`: count only calls on
   * `.log` files (descriptors or paths).
   */
  failOp?: { op: OpName; nth: number; code: string; persistent?: boolean; logOnly?: boolean };
}

/** Wraps `open` so that the returned set always holds the descriptors of open `.log` files. */
export function trackLogFds(base: FileIO): { open: FileIO['open']; logFds: Set<number> } {
  const logFds = new Set<number>();
  return {
    logFds,
    open(path: string, flags: string): number {
      const fd = base.open(path, flags);
      if (path.endsWith('.log')) logFds.add(fd); else logFds.delete(fd);
      return fd;
    },
  };
}

/** A FileIO that counts the bytes read from `.log` files (what a recovery scan costs). */
export function countingIO(base: FileIO = nodeFileIO): FileIO & { logBytesRead: number } {
  const tracked = trackLogFds(base);
  const io = {
    ...base,
    logBytesRead: 0,
    open: tracked.open,
    read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
      const n = base.read(fd, buf, offset, length, position);
      if (tracked.logFds.has(fd)) io.logBytesRead += n;
      return n;
    },
  };
  return io;
}

function errno(code: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected failure`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

export function faultyIO(plan: FaultPlan, base: FileIO = nodeFileIO): FileIO & { writes: number; fsyncs: number; calls: Record<string, number> } {
  const tracked = trackLogFds(base);
  const logFds = tracked.logFds;
  const calls: Record<string, number> = {};
  /** Counts a call of `op` and throws if the plan's failOp says this one fails. */
  const count = (op: OpName, isLog: boolean): void => {
    const f = plan.failOp;
    if (f === undefined || f.op !== op || (f.logOnly === true && !isLog)) return;
    const n = (calls[op] = (calls[op] ?? 0) + 1);
    if (n === f.nth || (f.persistent === true && n > f.nth)) throw errno(f.code);
  };
  const isLogPath = (p: string): boolean => p.endsWith('.log');
  const io = {
    ...base,
    writes: 0,
    fsyncs: 0,
    calls,
    open(p: string, flags: string): number {
      count('open', isLogPath(p));
      return tracked.open(p, flags);
    },
    read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
      count('read', logFds.has(fd));
      return base.read(fd, buf, offset, length, position);
    },
    truncate(fd: number, length: number): void {
      count('truncate', logFds.has(fd));
      base.truncate(fd, length);
    },
    rename(from: string, to: string): void {
      count('rename', isLogPath(from));
      base.rename(from, to);
    },
    unlink(p: string): void {
      count('unlink', isLogPath(p));
      base.unlink(p);
    },
    mkdir(p: string): void {
      count('mkdir', false);
      base.mkdir(p);
    },
    removeDir(p: string): void {
      count('removeDir', false);
      base.removeDir(p);
    },
    fsyncDir(p: string): void {
      count('fsyncDir', false);
      base.fsyncDir(p);
    },
    freeBytes(p: string): number {
      return plan.freeBytes ?? base.freeBytes?.(p) ?? Number.MAX_SAFE_INTEGER;
    },
    write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
      count('write', logFds.has(fd));
      if (logFds.has(fd)) {
        io.writes++;
        if (plan.writeError !== undefined) throw errno(plan.writeError);
        if (plan.writeBudgetBytes !== undefined) {
          if (plan.writeBudgetBytes <= 0) throw errno('ENOSPC');
          const n = Math.min(length, plan.writeBudgetBytes);
          plan.writeBudgetBytes -= n;
          return base.write(fd, buf, offset, n, position);
        }
      }
      return base.write(fd, buf, offset, length, position);
    },
    fsync(fd: number): Promise<void> {
      io.fsyncs++;
      try { count('fsync', logFds.has(fd)); } catch (err) { return Promise.reject(err); }
      const failure = fsyncFailure(fd);
      if (failure !== undefined) return Promise.reject(failure);
      return base.fsync(fd);
    },
    fsyncSync(fd: number): void {
      io.fsyncs++;
      count('fsync', logFds.has(fd));
      const failure = fsyncFailure(fd);
      if (failure !== undefined) throw failure;
      base.fsyncSync(fd);
    },
  };
  /** The error an fsync of `fd` fails with under the plan, if it fails (consumes a one-shot failure). */
  function fsyncFailure(fd: number): NodeJS.ErrnoException | undefined {
    if (plan.fsyncError === undefined) return undefined;
    if (plan.fsyncLogOnly === true && !logFds.has(fd)) return undefined;
    const err = errno(plan.fsyncError);
    if (plan.fsyncOnce === true) plan.fsyncError = undefined;
    return err;
  }
  return io;
}

/** One change to a file not yet made durable by an fsync of that file, with what it replaced. */
interface PendingOp {
  seq: number;
  kind: 'write' | 'truncate';
  position: number;
  /** write: the bytes written; truncate: unused */
  data: Buffer;
  /** The bytes this change replaced from `position` (write: up to its length; truncate: the cut tail). */
  old: Buffer;
  /** The file's size before this change. */
  oldSize: number;
}

export interface PowerCutIO extends FileIO {
  /** Counted operations so far (open, write, fsync, truncate, rename, unlink, mkdir, removeDir, fsyncDir). */
  ops: number;
  /** The operation number at which the power goes (that call and every later one fail with EIO). */
  cutAtOp: number;
  /** True once the power is gone. */
  readonly dead: boolean;
  /** What happened to each unsynced write at the cut: 'kept', 'dropped' or 'torn'. */
  readonly fates: Record<'kept' | 'dropped' | 'torn', number>;
  /** What happened to each directory entry change not covered by a directory fsync at the cut. */
  readonly entryFates: { kept: number; undone: number };
  /** Cuts the power now (if not cut yet) and writes the image. */
  cut(): void;
}

/**
 * A power cut. Until the cut, calls go to node:fs and every change to a file is remembered until an
 * fsync of that file completes (the writes it covers are then durable). At the cut, `root` is
 * copied to `imageDir` (lock files left out) and in the copy each remembered change is first
 * undone, then redone, dropped or (writes) torn at a random byte, in order. A file created,
 * renamed or unlinked, or a folder made or removed, through the FileIO is durable only once its
 * directory is fsynced (fsyncDir, or fsync of a descriptor opened on the directory): of each
 * directory's changes since, a random prefix survives (power-cut-entries.ts). Metadata written
 * outside the FileIO (LMDB, ~meta.json) is copied as it is at the cut: those stores are durable
 * when a write returns.
 */
export function powerCutIO(options: { root: string; imageDir: string; rng: () => number; cutAtOp?: number }, base: FileIO = nodeFileIO): PowerCutIO {
  const pending = new Map<string, PendingOp[]>();
  const fdPath = new Map<number, string>();
  const dirFds = new Set<number>();
  const entries = new EntryJournal((file) => pending.get(file));
  let seq = 0;
  let dead = false;
  const fates = { kept: 0, dropped: 0, torn: 0 };
  const eio = (): NodeJS.ErrnoException => errno('EIO');
  const step = (): void => {
    if (dead) throw eio();
    io.ops++;
    if (io.ops >= io.cutAtOp) {
      io.cut();
      throw eio();
    }
  };
  const remember = (file: string, op: Omit<PendingOp, 'seq'>): void => {
    let list = pending.get(file);
    if (list === undefined) pending.set(file, (list = []));
    list.push({ ...op, seq: ++seq });
  };
  const readRange = (fd: number, position: number, length: number): Buffer => {
    const out = Buffer.alloc(Math.max(0, length));
    let got = 0;
    while (got < length) {
      const n = base.read(fd, out, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return out.subarray(0, got);
  };
  const durableUpTo = (fd: number, upToSeq: number): void => {
    const file = fdPath.get(fd);
    const list = file === undefined ? undefined : pending.get(file);
    if (list === undefined) return;
    const rest = list.filter((op) => op.seq > upToSeq);
    if (rest.length === 0) pending.delete(file!); else pending.set(file!, rest);
  };

  const io: PowerCutIO = {
    ...base,
    ops: 0,
    cutAtOp: options.cutAtOp ?? Infinity,
    get dead() { return dead; },
    fates,
    entryFates: entries.fates,
    open(p, flags) {
      step();
      const st = base.stat(p);
      if (flags.startsWith('w') && !flags.includes('x')) {
        if (st !== undefined && st.size > 0) {
          const old = fs.readFileSync(p);
          remember(p, { kind: 'truncate', position: 0, data: Buffer.alloc(0), old, oldSize: old.length });
        }
      }
      const fd = base.open(p, flags);
      fdPath.set(fd, p);
      if (st?.isDirectory === true) dirFds.add(fd); else dirFds.delete(fd);
      if (st === undefined) entries.created(p);
      return fd;
    },
    close(fd) {
      fdPath.delete(fd);
      dirFds.delete(fd);
      base.close(fd);
    },
    read(fd, buf, offset, length, position) {
      if (dead) throw eio();
      return base.read(fd, buf, offset, length, position);
    },
    write(fd, buf, offset, length, position) {
      step();
      const file = fdPath.get(fd);
      if (file !== undefined) {
        const oldSize = base.fileSize(fd);
        const old = readRange(fd, position, Math.min(length, oldSize - position));
        const n = base.write(fd, buf, offset, length, position);
        remember(file, { kind: 'write', position, data: Buffer.from(buf.subarray(offset, offset + n)), old, oldSize });
        return n;
      }
      return base.write(fd, buf, offset, length, position);
    },
    truncate(fd, length) {
      step();
      const file = fdPath.get(fd);
      if (file !== undefined) {
        const oldSize = base.fileSize(fd);
        const old = readRange(fd, length, oldSize - length);
        remember(file, { kind: 'truncate', position: length, data: Buffer.alloc(0), old, oldSize });
      }
      base.truncate(fd, length);
    },
    fsync(fd) {
      try { step(); } catch (err) { return Promise.reject(err); }
      const upTo = seq;
      const dir = dirFds.has(fd) ? fdPath.get(fd) : undefined;
      return base.fsync(fd).then(() => {
        if (dead) throw eio(); // the power went while the fsync ran: nothing is known to be durable
        durableUpTo(fd, upTo);
        if (dir !== undefined) entries.synced(dir);
      });
    },
    fsyncSync(fd) {
      step();
      base.fsyncSync(fd);
      durableUpTo(fd, seq);
      if (dirFds.has(fd)) entries.synced(fdPath.get(fd)!);
    },
    fileSize(fd) {
      if (dead) throw eio();
      return base.fileSize(fd);
    },
    stat(p) {
      if (dead) throw eio();
      return base.stat(p);
    },
    readdir(p) {
      if (dead) throw eio();
      return base.readdir(p);
    },
    rename(from, to) {
      step();
      entries.renaming(from, to);
      base.rename(from, to);
      // everything under `from` moves (a file, or a topic folder renamed for deletion)
      for (const [file, list] of [...pending]) {
        if (file === from || file.startsWith(from + path.sep)) {
          pending.delete(file);
          pending.set(to + file.slice(from.length), list);
        }
      }
      for (const [fd, file] of fdPath) if (file === from || file.startsWith(from + path.sep)) fdPath.set(fd, to + file.slice(from.length));
    },
    unlink(p) {
      step();
      entries.unlinking(p);
      base.unlink(p);
      pending.delete(p);
    },
    unlinkAsync(p) {
      // through the counted, simulated unlink (node:fs's async one would bypass the simulation)
      try { io.unlink(p); } catch (err) { return Promise.reject(err); }
      return Promise.resolve();
    },
    mkdir(p) {
      step();
      const existed = base.stat(p) !== undefined;
      base.mkdir(p);
      if (!existed) entries.madeDir(p);
    },
    removeDir(p) {
      step();
      entries.removingDir(p);
      base.removeDir(p);
      for (const file of [...pending.keys()]) if (file.startsWith(p + path.sep)) pending.delete(file);
    },
    fsyncDir(p) {
      step();
      base.fsyncDir(p);
      entries.synced(p);
    },
    cut() {
      if (dead) return;
      dead = true;
      const root = path.resolve(options.root);
      fs.cpSync(root, options.imageDir, {
        recursive: true,
        filter: (src) => !/~seglog\.lock|~meta\.lmdb-lock/.test(path.basename(src)),
      });
      for (const [file, list] of pending) {
        const rel = path.relative(root, file);
        if (rel.startsWith('..')) continue;
        const target = path.join(options.imageDir, rel);
        if (!fs.existsSync(target)) continue;
        const fd = fs.openSync(target, 'r+');
        try {
          for (let i = list.length - 1; i >= 0; i--) {
            const op = list[i]!;
            fs.writeSync(fd, op.old, 0, op.old.length, op.position);
            fs.ftruncateSync(fd, op.oldSize);
          }
          for (const op of list) {
            const r = options.rng();
            if (op.kind === 'truncate') {
              if (r < 0.5) { fs.ftruncateSync(fd, op.position); fates.kept++; } else fates.dropped++;
            } else if (r < 1 / 3) {
              fs.writeSync(fd, op.data, 0, op.data.length, op.position);
              fates.kept++;
            } else if (r < 2 / 3) {
              fates.dropped++;
            } else {
              const n = Math.floor(options.rng() * op.data.length);
              if (n > 0) fs.writeSync(fd, op.data, 0, n, op.position);
              fates.torn++;
            }
          }
        } finally {
          fs.closeSync(fd);
        }
      }
      entries.applyCut(root, options.imageDir, options.rng);
    },
  };
  return io;
}
