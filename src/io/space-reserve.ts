// SpaceReserve: emergency ballast, as CockroachDB keeps one. A writable log keeps `<dir>/~reserve`,
// a file of SPACE_RESERVE_BYTES of incompressible bytes. When the disk fills (a write fails with
// ENOSPC, or an open finds less free space than the reserve), the file is removed: the space it
// gave back is what the library's own bookkeeping needs on a full disk (the lock file, metadata
// puts, a clean close, the state truncateBefore/retention record, compaction's first output),
// so the log can always be opened, closed and cleaned up. While the reserve is out, appends are
// refused with ERR_NO_SPACE (they would eat it); once the disk has room for the reserve twice
// over (hysteresis: no release/re-create cycle at the edge), it is written again and appends go on.
//
// Crash: a half-written reserve is rewritten at the next open (its size is checked); a missing one
// is created when space allows. It holds no data: deleting it by hand is harmless.
import { randomFillSync } from 'node:crypto';
import path from 'node:path';
import { SeglogError, ioError } from '../base/errors.js';
import type { FileIO } from './file-io.js';
import { RESERVE_FILE } from '../format/batch.js';
import { SPACE_RESERVE_BYTES } from '../base/limits.js';

/** What the metadata store asks of the space reserve before an LMDB write (store/lmdb-room.ts). */
export interface SpaceRoom {
  /** Gives the reserve back if it is still there; true if it was (so the free space grew). */
  giveBack(): boolean;
}

export class SpaceReserve implements SpaceRoom {
  readonly file: string;
  /** True while the reserve is given back (the disk was found full): appends are refused. */
  released = false;

  constructor(private readonly io: FileIO, dir: string, readonly bytes = SPACE_RESERVE_BYTES) {
    this.file = path.join(dir, RESERVE_FILE);
  }

  /** Free bytes on the log's file system, or undefined where the FileIO cannot tell. */
  private freeBytes(): number | undefined {
    try {
      return this.io.freeBytes?.(path.dirname(this.file));
    } catch {
      return undefined;
    }
  }

  giveBack(): boolean {
    if (this.released) return false;
    this.release();
    return true;
  }

  /**
   * At open (with the lock held): a disk with less free space than the reserve is full, so the
   * reserve is given back before anything is written; otherwise it is made whole.
   */
  open(): void {
    if (!this.releaseIfFull()) this.restore();
  }

  /** Gives the reserve back when the disk has less free space than the reserve (before a close). True if it did. */
  releaseIfFull(): boolean {
    const free = this.freeBytes();
    if (free === undefined || free >= this.bytes) return false;
    this.release();
    return true;
  }

  /** Gives the reserve back (the disk is full). Never throws. */
  release(): void {
    this.released = true;
    try { this.io.unlink(this.file); } catch { /* not there (already released, or never written) */ }
  }

  /**
   * Writes the reserve if it is missing or short and the disk has room for it twice over. True when
   * the reserve is in place afterwards (or the FileIO cannot tell free space, and writing it worked).
   */
  restore(): boolean {
    if (this.io.stat(this.file)?.size === this.bytes) {
      this.released = false;
      return true;
    }
    const free = this.freeBytes();
    if (free !== undefined && free < 2 * this.bytes) {
      this.released = true;
      return false;
    }
    let fd = -1;
    try {
      fd = this.io.open(this.file, 'w');
      // Random bytes: a file system that compresses (btrfs, ZFS) would store zeros in no space.
      const buf = randomFillSync(Buffer.allocUnsafe(this.bytes));
      let done = 0;
      while (done < buf.length) done += this.io.write(fd, buf, done, buf.length - done, done);
      this.io.fsyncSync(fd);
      this.io.close(fd);
      fd = -1;
      this.released = false;
      return true;
    } catch {
      if (fd >= 0) try { this.io.close(fd); } catch { /* already gone */ }
      this.release(); // the disk filled meanwhile: a partial reserve is no reserve
      return false;
    }
  }

  /**
   * Before an append while the reserve is out: writes it again when the disk has room, else throws
   * ERR_NO_SPACE (the append would eat the space the log keeps for freeing space).
   */
  checkSpace(): void {
    if (this.restore()) return;
    const free = this.freeBytes();
    throw new SeglogError('ERR_NO_SPACE',
      `no space left on device for appends to the log at ${path.dirname(this.file)}: ${free ?? 'unknown'} bytes free, and the log keeps ${this.bytes} bytes ` +
      `(${this.file}) for its own bookkeeping; free space (truncateBefore, retention, compact, or outside the log) and append again`,
      { file: this.file, value: free });
  }
}

/** True when `err` (a SeglogError or a system error, LMDB's numeric codes included) says the disk is full. */
export function isNoSpace(err: unknown): boolean {
  if (err instanceof SeglogError) return err.code === 'ERR_NO_SPACE';
  return ioError('', '', err).code === 'ERR_NO_SPACE';
}
