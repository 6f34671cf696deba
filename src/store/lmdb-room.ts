// LmdbRoom: LMDB must never find its disk full. lmdb-js 3.5's page writer, when a write fails with
// an errno (ENOSPC on a full disk), formats a message into a 100-byte malloc'd buffer that its
// arguments can overrun (mdb.c, mdb_page_flush: "Attempting to write page at position ..."), and
// the process then dies in glibc ("double free or corruption", "corrupted size vs. prev_size";
// reproduced on a full tmpfs in test/faults/full-disk-open.test.ts). No error handling after the
// fact can catch that, so every LMDB write transaction of the store is checked first: the disk
// must have room for the most the transaction can make the file grow (growthBound). When it has
// not, the space reserve (io/space-reserve.ts) is given back and the check made again; when even
// that is not enough, the write is refused with ERR_NO_SPACE before lmdb-js sees it (the store
// keeps what it could not write in memory, as it does for a failed asynchronous commit).
//
// The bound: LMDB copies every page a transaction changes to a free page (one its free list can
// reuse, or a new one at the end of the file), so the file grows by at most the pages it dirties:
// the path from a root to each changed leaf (at most entries × depth, and never more than the trees
// hold), pages made by splits (twice the new bytes, in pages, plus a path), the free list's and the
// main database's own pages. Asynchronous transactions not committed yet count against the free
// space too (inFlight), each once: lmdb-js commits the asynchronous puts of a turn of the event loop
// as one transaction, whose puts share one promise, so a put that joins a transaction replaces its
// bound by the bound of the whole (entries and bytes added up) rather than adding its own: a loop of
// awaited appends that never yields a turn (each a key-index or group put) is one transaction, not
// thousands (their sum refused a 2 MiB disk after 40 such puts, with 1.9 MB free). Every
// asynchronous transaction is counted, however much is free: an earlier shortcut (no bound above
// 64 MiB free) also left those transactions out of inFlight, so the sum could undercount once the
// free space fell. Free space is read with statfs and the trees' shape with lmdb-js getStats() (one
// system call and a few native calls per write transaction; node:fs itself, not the log's FileIO:
// LMDB writes outside that seam).
//
// How tight: the bound assumes no page the transaction frees or finds on LMDB's free list is
// reused, which is the worst case (a reader of an old snapshot, in this or another process, and
// lmdb-js's overlapping sync keep freed pages from reuse for a while). A batch of a few hundred keys
// spread over a key index dirties nearly every leaf, so each transaction in flight counts as about
// the whole index: on a 2 MiB disk with a 270 KiB index the first key-index write was refused at
// about half the disk used, and a caller-visible ERR_NO_SPACE came at about 80 % used. Counting
// LMDB's reuse (pages on the free list freed before the oldest reader and the last synced
// transaction) would make it tighter; it needs the free list and the reader table, which lmdb-js
// does not expose, and is not done.
//
// Not covered: another program filling the disk between the check and LMDB's write (microseconds
// for a synchronous put, until the background commit for an asynchronous one); a file system that
// copies on write (btrfs, ZFS) can need more than the bound.
import fs from 'node:fs';
import { SeglogError } from '../base/errors.js';
import type { SpaceRoom } from '../io/space-reserve.js';

/** Free space above which a check may bound with a cached shape (roomy()). */
const FAST_BYTES = 64 * 1024 * 1024;
/** Checks after which the cached shape is read again. */
const FAST_CHECKS = 256;
/** Pages every write transaction may dirty besides its entries' paths: free list, main database, meta. */
const FIXED_PAGES = 6;

/** What the bound needs of the environment (lmdb-js getStats() of the databases written). */
export interface TreeShape {
  pageSize: number;
  /** Largest tree depth of the databases the store writes. */
  depth: number;
  /** Branch, leaf and overflow pages of those databases. */
  pages: number;
}

export class LmdbRoom {
  /** Bytes that asynchronous transactions handed to lmdb-js and not settled yet may still take. */
  private inFlight = 0;
  /** Those transactions, by the promise their puts share: what they carry and the bound counted for them. */
  private readonly transactions = new Map<Promise<unknown>, { entries: number; payloadBytes: number; need: number }>();

  /** The shape the last check() bounded with (track() bounds a joined transaction with it: no second getStats()). */
  private lastShape: TreeShape | undefined = undefined;
  /** The shape last read, the checks since and the bytes they carried (roomy()). */
  private cached: TreeShape | undefined = undefined;
  private cachedChecks = 0;
  private cachedBytes = 0;

  constructor(private readonly dir: string, private readonly file: string, private readonly space: SpaceRoom, private readonly shape: () => TreeShape) {}

  /** Free bytes on the store's file system (undefined where statfs fails). */
  private free(): number | undefined {
    try {
      const st = fs.statfsSync(this.dir);
      return st.bavail * st.bsize;
    } catch {
      return undefined;
    }
  }

  /**
   * Throws ERR_NO_SPACE unless the disk has room for a transaction of `entries` puts or removes
   * carrying about `payloadBytes` of keys and values (giving the space reserve back first if that is
   * what it takes). Returns the bytes the transaction may take (for track()).
   */
  check(entries: number, payloadBytes: number): number {
    let free = this.free();
    if (free === undefined) return 0;
    let shape = this.roomy(payloadBytes);
    let need = shape === undefined ? Infinity : growthBound(shape, entries, payloadBytes);
    if (shape === undefined || free < FAST_BYTES + need + this.inFlight) {
      shape = this.fresh();
      need = growthBound(shape, entries, payloadBytes);
    }
    this.lastShape = shape;
    if (free >= need + this.inFlight) return need;
    if (this.space.giveBack()) {
      free = this.free() ?? Infinity;
      if (free >= need + this.inFlight) return need;
    }
    throw new SeglogError('ERR_NO_SPACE',
      `no space left on device for a metadata write to ${this.file}: ${free} bytes free, and the write may need up to ${need + this.inFlight} ` +
      `(LMDB is never let write on a full disk: lmdb-js does not survive a failed page write); free space and try again`,
      { file: this.file, value: free });
  }

  /** The shape read now (and cached for roomy()). */
  private fresh(): TreeShape {
    const shape = this.shape();
    this.cached = shape;
    this.cachedChecks = 0;
    this.cachedBytes = 0;
    return shape;
  }

  /**
   * The cached shape made safe to bound with while it is not read again: one level deeper, and no
   * cap by the trees' pages (entries × depth); undefined when it is due to be read again.
   */
  private roomy(payloadBytes: number): TreeShape | undefined {
    const c = this.cached;
    if (c === undefined || ++this.cachedChecks > FAST_CHECKS) return undefined;
    this.cachedBytes += payloadBytes;
    if (this.cachedBytes >= Math.max(c.pages, 1) * c.pageSize) return undefined;
    return { pageSize: c.pageSize, depth: Math.max(1, c.depth) + 1, pages: Infinity };
  }

  /**
   * Counts the asynchronous put of `entries` entries (`payloadBytes`), whose check() returned
   * `need`, against the free space until its transaction's promise `p` settles; a put joining a
   * transaction already counted makes it count as one of the two puts' entries and bytes together.
   */
  track(p: Promise<unknown>, need: number, entries: number, payloadBytes: number): void {
    const t = this.transactions.get(p);
    if (t === undefined) {
      if (need === 0) return;
      this.inFlight += need;
      this.transactions.set(p, { entries, payloadBytes, need });
      const done = (): void => {
        const settled = this.transactions.get(p);
        if (settled === undefined) return;
        this.inFlight -= settled.need;
        this.transactions.delete(p);
      };
      p.then(done, done);
      return;
    }
    t.entries += entries;
    t.payloadBytes += payloadBytes;
    const whole = growthBound(this.lastShape ?? this.shape(), t.entries, t.payloadBytes);
    this.inFlight += whole - t.need;
    t.need = whole;
  }

  /** Bytes counted for asynchronous transactions not settled yet (for tests). */
  get inFlightBytes(): number {
    return this.inFlight;
  }
}

/** The most a transaction of `entries` entries carrying `payloadBytes` can make an environment of `shape` grow, in bytes. */
export function growthBound(shape: TreeShape, entries: number, payloadBytes: number): number {
  const depth = Math.max(1, shape.depth);
  const paths = Math.min(entries * depth, shape.pages + depth);
  const splits = 2 * Math.ceil((2 * payloadBytes) / shape.pageSize) + depth;
  return (paths + splits + depth + FIXED_PAGES) * shape.pageSize;
}
