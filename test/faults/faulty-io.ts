// A FileIO that fails on request, wrapped around node:fs: the seam the core uses for all
// segment I/O. Used to check what the log does when a write or fsync fails or the disk fills.
import type { FileIO } from '../../src/io/file-io.js';
import { nodeFileIO } from '../../src/io/node-fs.js';

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

export function faultyIO(plan: FaultPlan, base: FileIO = nodeFileIO): FileIO & { writes: number; fsyncs: number } {
  const tracked = trackLogFds(base);
  const logFds = tracked.logFds;
  const io = {
    ...base,
    writes: 0,
    fsyncs: 0,
    open: tracked.open,
    write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
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
      const failure = fsyncFailure(fd);
      if (failure !== undefined) return Promise.reject(failure);
      return base.fsync(fd);
    },
    fsyncSync(fd: number): void {
      io.fsyncs++;
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
