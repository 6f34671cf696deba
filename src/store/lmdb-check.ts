// A check of `~meta.lmdb` before LMDB maps it. LMDB trusts its file: a truncated file makes it
// touch pages past the end of the mapping (SIGBUS), and garbage meta pages send it through wild
// pointers (SIGSEGV) — the process dies, no error to catch. So the file is read here first, with
// plain positional reads, and judged the way mdb_env_read_header and the B-tree code would use it.
//
// The layout (lmdb-js 3.x, LMDB 0.9.90, 64-bit; node_modules/lmdb/dependencies/lmdb/libraries/
// liblmdb/mdb.c: MDB_page_header, MDB_meta, MDB_db, MDB_node), all little-endian:
//   page header (24 bytes): 0 pgno u64 | 8 txnid u64 | 16 pad u16 | 18 flags u16 | 20 lower u16 | 22 upper u16
//     (an overflow page keeps its page count at 20 as u32)
//   meta (at byte 24 of pages 0 and 1): 0 magic u32 0xBEEFC0DE | 4 version u32 (low 16 bits 2)
//     | 8 address u64 | 16 mapsize u64 | 24 free db (48) | 72 main db (48) | 120 last_pg u64
//     | 128 txnid u64 | 136 boot_id u64; the page size is the free db's pad field (meta byte 24).
//   db (48 bytes): 0 pad u32 | 4 flags u16 | 6 depth u16 | 8 branch pages u64 | 16 leaf pages u64
//     | 24 overflow pages u64 | 32 entries u64 | 40 root u64 (all ones: empty tree)
//   node (in branch and leaf pages, at offsets listed after the header): 0 lo u16 | 2 hi u16
//     | 4 flags u16 | 6 key size u16 | 8 key, then data. A branch node's child page is
//     lo | hi << 16 | flags << 32; a leaf node's data size is lo | hi << 16, and its data is an
//     overflow page number (F_BIGDATA) or a db record (F_SUBDATA: a named database).
// With overlappingSync (lmdb-js's default) a third copy of the newest meta fields from `mapsize`
// on is kept half a page into page 0; LMDB takes whichever of the three has the largest txnid.
//
// The environment is sound here when both meta pages carry the magic and version, agree on a page
// size, every meta copy LMDB may pick is self-consistent, and every page reachable from the chosen
// meta's trees (free list, main database, named databases, overflow pages) lies inside the file
// and has the header its parent promises. That also covers "the file is long enough": a page past
// the end is what kills the process. (last_pg itself can lie past the end legitimately: LMDB does
// not write a page freed in the transaction that allocated it.)
// Cost: one positional read per reachable page; a key index of 300,000 keys (a 17 MiB store) is
// checked in about 20 ms.
import path from 'node:path';
import type { FileIO } from '../io/file-io.js';
import { ioError } from '../base/errors.js';

const PAGE_HEADER_BYTES = 24;
const META_AT = PAGE_HEADER_BYTES;
const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_OVERFLOW = 0x04;
const P_META = 0x08;
const P_LEAF2 = 0x20;
const F_BIGDATA = 0x01;
const F_SUBDATA = 0x02;
const DB_BYTES = 48;
const DB_ROOT = 40;
const NODE_HEADER_BYTES = 8;
const PAGE_BYTES_MIN = 512;
const PAGE_BYTES_MAX = 65536;
/** B-trees deeper than this are damage (LMDB's own cursor stack holds 32 levels). */
const TREE_DEPTH_MAX = 32;
/** Pages the walk visits at most; a metadata store that big is far beyond what seglog writes. */
const PAGES_VISITED_MAX = 4_000_000;

/** What is wrong with the file, and where. */
export interface LmdbDamage {
  file: string;
  position: number;
  reason: string;
}

/** The verdict on `<dir>/~meta.lmdb`-like file `file`: 'absent', 'empty' (0 bytes), sound, or the damage. */
export type LmdbCheck = { kind: 'absent' } | { kind: 'empty' } | { kind: 'sound' } | { kind: 'damaged'; damage: LmdbDamage };

/** Which tree a page belongs to: the free list (its entries checked), the main database (its nodes checked), or a named database (its pages only). */
type TreeKind = 'free' | 'main' | 'named';

interface Meta {
  at: number;
  psize: number;
  lastPage: number;
  txnid: number;
  roots: [number, number];
  depths: [number, number];
}

class Damage extends Error {
  constructor(readonly position: number, reason: string) {
    super(reason);
  }
}

/** Reads and judges the LMDB data file `file` (no lock, nothing written). Throws ERR_IO if it cannot be read. */
export function checkLmdbFile(io: FileIO, file: string): LmdbCheck {
  let st;
  try { st = io.stat(file); } catch (err) { throw ioError('stat', file, err); }
  if (st === undefined) return { kind: 'absent' };
  if (st.isDirectory) throw ioError('open', file, Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${file}'`), { code: 'EISDIR', path: file }));
  if (st.size === 0) return { kind: 'empty' };
  let fd: number;
  try { fd = io.open(file, 'r'); } catch (err) { throw ioError('open', file, err); }
  try {
    // A writer in another process may commit while this walk runs (a read-only follower opens next
    // to it), and LMDB reuses the pages of a snapshot two commits later: damage seen while the
    // newest txnid moved is judged again on the new snapshot.
    for (let attempt = 1; ; attempt++) {
      let walker: Walker | undefined;
      const size = io.fileSize(fd);
      try {
        walker = new Walker(io, fd, file, size);
        walker.run();
        return { kind: 'sound' };
      } catch (err) {
        if (!(err instanceof Damage)) throw err;
        // (the size is read before the meta pages: a commit in between grows the file and writes a
        // meta page naming the new pages, which this walk would judge against the old size)
        const moved = io.fileSize(fd) !== size || (walker !== undefined && walker.newestTxnid !== newestTxnid(io, fd));
        if (attempt >= WALK_ATTEMPTS_MAX || !moved) {
          return { kind: 'damaged', damage: { file, position: err.position, reason: err.message } };
        }
      }
    }
  } catch (err) {
    throw ioError('read', file, err);
  } finally {
    try { io.close(fd); } catch { /* nothing to do */ }
  }
}

/** The damage as a sentence for an error message. */
export function describeDamage(d: LmdbDamage): string {
  return `the metadata store ${d.file} is damaged: ${d.reason} (at byte ${d.position}; ${path.basename(d.file)} is not a sound LMDB environment)`;
}

class Walker {
  private readonly filePages: number;
  private readonly psize: number;
  private readonly seen: Uint8Array;
  private visited = 0;

  constructor(private readonly io: FileIO, private readonly fd: number, readonly file: string, private readonly size: number) {
    const first = this.read(0, Math.min(size, META_AT + 144));
    if (readU64(first, 0) !== 0 || (first.readUInt16LE(18) & P_META) === 0) throw new Damage(0, 'page 0 is not a meta page (wrong page number or flags)');
    if (first.readUInt32LE(META_AT) !== MDB_MAGIC) throw new Damage(META_AT, 'meta page 0 does not carry the LMDB magic number');
    this.psize = first.readUInt32LE(META_AT + 24);
    if (this.psize < PAGE_BYTES_MIN || this.psize > PAGE_BYTES_MAX || (this.psize & (this.psize - 1)) !== 0) {
      throw new Damage(META_AT + 24, `page size ${this.psize} in meta page 0 is not a power of two from ${PAGE_BYTES_MIN} to ${PAGE_BYTES_MAX}`);
    }
    if (size < 2 * this.psize) throw new Damage(size, `the file is ${size} bytes, shorter than its two meta pages (${2 * this.psize} bytes)`);
    this.filePages = Math.floor(size / this.psize);
    this.seen = new Uint8Array(Math.min(this.filePages, PAGES_VISITED_MAX + 2));
  }

  /** The txnid of the meta the walk started from (-1 before it was read). */
  newestTxnid = -1;

  run(): void {
    const p0 = this.read(0, this.psize);
    const p1 = this.read(this.psize, this.psize);
    const m0 = this.meta(p0, 0, 0, true);
    const m1 = this.meta(p1, 1, this.psize, true);
    let newest = m1.txnid > m0.txnid ? m1 : m0;
    // The overlappingSync copy half a page into page 0 (its fields from mapsize on), when written.
    const half = this.psize >> 1;
    const sync = p0.subarray(half, this.psize);
    if (sync.length >= META_AT + 144 && readU64(sync, META_AT + 128) > newest.txnid) {
      newest = this.meta(sync, 0, half, false);
    }
    this.newestTxnid = newest.txnid;
    for (let db = 0; db < 2; db++) this.tree(newest.roots[db]!, newest.depths[db]!, newest.lastPage, newest.at + META_AT + 24 + db * DB_BYTES + DB_ROOT, db === 0 ? 'free' : 'main');
  }

  private meta(page: Buffer, index: number, at: number, full: boolean): Meta {
    const where = `meta page ${index}${full ? '' : ' (its overlapping-sync copy)'}`;
    if (full) {
      if (readU64(page, 0) !== index || (page.readUInt16LE(18) & P_META) === 0) throw new Damage(at, `page ${index} is not a meta page (wrong page number or flags)`);
      if (page.readUInt32LE(META_AT) !== MDB_MAGIC) throw new Damage(at + META_AT, `${where} does not carry the LMDB magic number`);
      const version = page.readUInt32LE(META_AT + 4) & 0xffff;
      if (version !== MDB_DATA_VERSION) throw new Damage(at + META_AT + 4, `${where} has data format version ${version}, not ${MDB_DATA_VERSION}`);
    }
    const psize = page.readUInt32LE(META_AT + 24);
    if (psize !== this.psize) throw new Damage(at + META_AT + 24, `${where} says the page size is ${psize}, meta page 0 says ${this.psize}`);
    const lastPage = readU64(page, META_AT + 120);
    const txnid = readU64(page, META_AT + 128);
    if (lastPage < 1 || lastPage > Number.MAX_SAFE_INTEGER / this.psize) throw new Damage(at + META_AT + 120, `${where} has last page ${lastPage}`);
    const roots: [number, number] = [readU64(page, META_AT + 24 + DB_ROOT), readU64(page, META_AT + 24 + DB_BYTES + DB_ROOT)];
    const depths: [number, number] = [page.readUInt16LE(META_AT + 24 + 6), page.readUInt16LE(META_AT + 24 + DB_BYTES + 6)];
    for (let db = 0; db < 2; db++) {
      const root = roots[db]!;
      if (root !== INVALID && (root < 2 || root > lastPage)) throw new Damage(at + META_AT + 24 + db * DB_BYTES + DB_ROOT, `${where}: the root page ${root} of the ${db === 0 ? 'free list' : 'main database'} is outside pages 2 to ${lastPage}`);
    }
    return { at, psize, lastPage, txnid, roots, depths };
  }

  /** Walks the tree under `root`; `position` is where the reference to it was read (for the report). */
  private tree(root: number, depth: number, lastPage: number, position: number, kind: TreeKind): void {
    if (root === INVALID) return;
    if (depth < 1 || depth > TREE_DEPTH_MAX) throw new Damage(position, `a tree rooted at page ${root} has depth ${depth}`);
    this.page(root, depth, lastPage, position, kind);
  }

  private page(pgno: number, levels: number, lastPage: number, position: number, kind: TreeKind): void {
    const page = this.fetch(pgno, lastPage, position);
    const flags = page.readUInt16LE(18);
    const lower = page.readUInt16LE(20);
    const upper = page.readUInt16LE(22);
    const keys = lower >> 1;
    const at = pgno * this.psize;
    if ((flags & (P_BRANCH | P_LEAF | P_LEAF2)) === 0 || (flags & (P_META | P_OVERFLOW)) !== 0) throw new Damage(at + 18, `page ${pgno} should be a branch or leaf page but has flags 0x${flags.toString(16)}`);
    if (PAGE_HEADER_BYTES + lower > upper + PAGE_HEADER_BYTES || upper + PAGE_HEADER_BYTES > this.psize) throw new Damage(at + 20, `page ${pgno} has free-space bounds ${lower}..${upper} outside the page`);
    const isBranch = (flags & P_BRANCH) !== 0;
    if (isBranch !== levels > 1) throw new Damage(at + 18, `page ${pgno} is a ${isBranch ? 'branch' : 'leaf'} page where the tree's depth says ${levels > 1 ? 'branch' : 'leaf'}`);
    if ((flags & P_LEAF2) !== 0) return; // fixed-size keys, no nodes
    if (!isBranch && kind === 'named') return;
    for (let i = 0; i < keys; i++) {
      const ptrAt = PAGE_HEADER_BYTES + 2 * i;
      const nodeAt = page.readUInt16LE(ptrAt) + PAGE_HEADER_BYTES;
      if (nodeAt < PAGE_HEADER_BYTES + lower || nodeAt + NODE_HEADER_BYTES > this.psize) throw new Damage(at + ptrAt, `page ${pgno}: node ${i} lies outside the page`);
      const lo = page.readUInt16LE(nodeAt);
      const hi = page.readUInt16LE(nodeAt + 2);
      const nflags = page.readUInt16LE(nodeAt + 4);
      const ksize = page.readUInt16LE(nodeAt + 6);
      const dataAt = nodeAt + NODE_HEADER_BYTES + ksize;
      if (isBranch) {
        if (dataAt > this.psize) throw new Damage(at + nodeAt, `page ${pgno}: the key of node ${i} runs past the page`);
        const child = lo + hi * 0x10000 + nflags * 0x100000000;
        this.page(child, levels - 1, lastPage, at + nodeAt, kind);
        continue;
      }
      const dataBytes = lo + hi * 0x10000;
      if ((nflags & F_BIGDATA) !== 0) {
        if (dataAt + 8 > this.psize) throw new Damage(at + nodeAt, `page ${pgno}: node ${i} runs past the page`);
        const data = this.overflow(readU64(page, dataAt), lastPage, at + dataAt, dataBytes, kind === 'free');
        if (data !== undefined) this.freeList(data, lastPage, readU64(page, dataAt) * this.psize + PAGE_HEADER_BYTES);
      } else if ((nflags & F_SUBDATA) !== 0) {
        if (dataAt + DB_BYTES > this.psize) throw new Damage(at + nodeAt, `page ${pgno}: node ${i} runs past the page`);
        // A named database: its pages are checked, its leaves only for their headers (the key
        // index of a compacted topic can be large, and its values are 8 bytes: no overflow pages).
        this.tree(readU64(page, dataAt + DB_ROOT), page.readUInt16LE(dataAt + 6), lastPage, at + dataAt + DB_ROOT, 'named');
      } else if (dataAt + dataBytes > this.psize) {
        throw new Damage(at + nodeAt, `page ${pgno}: the data of node ${i} runs past the page`);
      } else if (kind === 'free') {
        this.freeList(page.subarray(dataAt, dataAt + dataBytes), lastPage, at + dataAt);
      }
    }
  }

  /** Checks an overflow run holding `dataBytes`; returns its data when `wanted`. */
  private overflow(pgno: number, lastPage: number, position: number, dataBytes: number, wanted: boolean): Buffer | undefined {
    const page = this.fetch(pgno, lastPage, position);
    const flags = page.readUInt16LE(18);
    const count = page.readUInt32LE(20);
    if ((flags & P_OVERFLOW) === 0) throw new Damage(pgno * this.psize + 18, `page ${pgno} should be an overflow page but has flags 0x${flags.toString(16)}`);
    if (count < 1 || pgno + count > this.filePages || pgno + count - 1 > lastPage) {
      throw new Damage(pgno * this.psize + 20, `overflow page ${pgno} spans ${count} pages, past the end of the file (${this.filePages} pages of ${this.psize} bytes)`);
    }
    if (PAGE_HEADER_BYTES + dataBytes > count * this.psize) throw new Damage(position, `${dataBytes} bytes of data do not fit the ${count} overflow pages at ${pgno}`);
    return wanted ? this.read(pgno * this.psize + PAGE_HEADER_BYTES, dataBytes) : undefined;
  }

  /**
   * A free-list entry (lmdb-js's IDL): a count, then that many slots, each 0 (unused), a page
   * number, or a negative block length followed by the block's first page. Every page it names must
   * be one LMDB may write to: a wild number there makes the next commit write far past the file.
   */
  private freeList(data: Buffer, lastPage: number, position: number): void {
    if (data.length < 8 || data.length % 8 !== 0) throw new Damage(position, `a free-list entry of ${data.length} bytes (not a count and page numbers)`);
    const count = data.readBigInt64LE(0);
    // (LMDB may reserve more room than it fills: slots past the count are unused)
    if (count < 0n || count > BigInt(data.length / 8 - 1)) throw new Damage(position, `a free-list entry says it lists ${count} pages but has room for ${data.length / 8 - 1}`);
    const last = BigInt(lastPage);
    let block = 1n;
    for (let k = 1; k <= Number(count); k++) {
      const v = data.readBigInt64LE(8 * k);
      if (v === 0n) continue;
      if (v < 0n) {
        block = -v;
        if (block > last) throw new Damage(position + 8 * k, `the free list holds a block of ${block} pages, more than the ${lastPage} in use`);
        continue;
      }
      if (v < 2n || v + block - 1n > last) throw new Damage(position + 8 * k, `the free list names page ${v}${block > 1n ? ` (a block of ${block})` : ''}, outside pages 2 to ${lastPage}`);
      block = 1n;
    }
  }

  /** Page `pgno`, after checking it is in the file, not seen before, and says it is page `pgno`. */
  private fetch(pgno: number, lastPage: number, position: number): Buffer {
    if (pgno < 2 || pgno > lastPage) throw new Damage(position, `a reference to page ${pgno}, outside pages 2 to ${lastPage}`);
    if (pgno >= this.filePages) {
      throw new Damage(position, `page ${pgno} is in use but the file ends at ${this.size} bytes (${this.filePages} pages of ${this.psize} bytes): it was cut short`);
    }
    if (++this.visited > PAGES_VISITED_MAX) throw new Damage(position, `more than ${PAGES_VISITED_MAX} pages are reachable`);
    if (pgno < this.seen.length) {
      if (this.seen[pgno] !== 0) throw new Damage(position, `page ${pgno} is reachable twice (a cycle or a crossed reference)`);
      this.seen[pgno] = 1;
    }
    const page = this.read(pgno * this.psize, this.psize);
    const own = readU64(page, 0);
    if (own !== pgno) throw new Damage(pgno * this.psize, `page ${pgno} says it is page ${own} (zeroed or overwritten)`);
    return page;
  }

  private read(position: number, length: number): Buffer {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = this.io.read(this.fd, buf, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    if (got < length) throw new Damage(position + got, `the file ends at ${position + got} bytes, inside page ${this.psize > 0 ? Math.floor(position / this.psize) : 0}`);
    return buf;
  }
}

/** How often a walk that met damage while a writer committed is run again. */
const WALK_ATTEMPTS_MAX = 10;

/** The largest txnid among the meta pages and the overlapping-sync copy, as they are now (-1 if unreadable). */
function newestTxnid(io: FileIO, fd: number): number {
  const head = Buffer.alloc(META_AT + 144);
  if (io.read(fd, head, 0, head.length, 0) < head.length) return -1;
  const psize = head.readUInt32LE(META_AT + 24);
  if (psize < PAGE_BYTES_MIN || psize > PAGE_BYTES_MAX) return -1;
  let newest = readU64(head, META_AT + 128);
  for (const at of [psize >> 1, psize]) {
    const m = Buffer.alloc(META_AT + 144);
    if (io.read(fd, m, 0, m.length, at) === m.length) newest = Math.max(newest, readU64(m, META_AT + 128));
  }
  return newest;
}

/** An absent tree's root (all ones in a u64). */
const INVALID = -1;

/** A u64 as a number; all ones (LMDB's P_INVALID) as -1, anything else past 2^53 as +Infinity. */
function readU64(buf: Buffer, at: number): number {
  const lo = buf.readUInt32LE(at);
  const hi = buf.readUInt32LE(at + 4);
  if (hi === 0xffffffff && lo === 0xffffffff) return INVALID;
  if (hi >= 0x200000) return Number.POSITIVE_INFINITY;
  return hi * 0x100000000 + lo;
}
