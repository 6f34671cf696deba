// Directory entries in the power-cut simulator (powerCutIO, faulty-io.ts): a file created, renamed
// or removed, or a folder made or removed, is not durable until its directory is fsynced, as
// SQLite's crash tester and Pebble's crashable in-memory file system model it. Each directory's
// entry changes since its last fsync are remembered in order; at the cut a random prefix of them
// survives (a journaling file system commits metadata in order) and the rest are undone in the
// image, latest first. What an undone unlink, replacing rename or folder removal brings back is
// the file's synced content (its unsynced writes undone).
// Crash: test code only; it edits the image directory, never the live one.
import fs from 'node:fs';
import path from 'node:path';

/** One unsynced change to a file's content (see PendingOp in faulty-io.ts). */
export interface ContentChange {
  position: number;
  old: Buffer;
  oldSize: number;
}

type EntryOp =
  | { seq: number; kind: 'create' | 'mkdir'; path: string }
  | { seq: number; kind: 'rename'; from: string; to: string; replaced: Buffer | undefined }
  | { seq: number; kind: 'unlink'; path: string; content: Buffer }
  | { seq: number; kind: 'removeDir'; path: string; files: Array<[string, Buffer]> };

type NewOp = EntryOp extends infer T ? (T extends EntryOp ? Omit<T, 'seq'> : never) : never;

/** A file's content as its last fsync left it: the current bytes with every unsynced change undone. */
export function syncedContent(file: string, changes: ContentChange[] | undefined): Buffer {
  let buf = fs.readFileSync(file);
  for (const c of [...(changes ?? [])].reverse()) {
    const size = Math.max(c.oldSize, c.position + c.old.length, buf.length);
    const next = Buffer.alloc(size);
    buf.copy(next, 0, 0, Math.min(buf.length, size));
    c.old.copy(next, c.position);
    buf = next.subarray(0, c.oldSize);
  }
  return buf;
}

export class EntryJournal {
  private readonly byDir = new Map<string, EntryOp[]>();
  private seq = 0;
  /** Entry changes that survived / were undone at the cut. */
  readonly fates = { kept: 0, undone: 0 };

  constructor(private readonly changesOf: (file: string) => ContentChange[] | undefined) {}

  private add(dir: string, op: NewOp): void {
    let list = this.byDir.get(dir);
    if (list === undefined) this.byDir.set(dir, (list = []));
    list.push({ ...op, seq: ++this.seq } as EntryOp);
  }

  created(file: string): void { this.add(path.dirname(file), { kind: 'create', path: file }); }
  madeDir(dir: string): void { this.add(path.dirname(dir), { kind: 'mkdir', path: dir }); }

  /** Before a rename: remembers what `to` held (synced), so that undoing it brings that back. */
  renaming(from: string, to: string): void {
    const st = fs.statSync(to, { throwIfNoEntry: false });
    const replaced = st?.isFile() === true ? syncedContent(to, this.changesOf(to)) : undefined;
    this.add(path.dirname(to), { kind: 'rename', from, to, replaced });
  }

  /** Before an unlink: remembers the file's synced content. */
  unlinking(file: string): void {
    if (fs.statSync(file, { throwIfNoEntry: false })?.isFile() !== true) return;
    this.add(path.dirname(file), { kind: 'unlink', path: file, content: syncedContent(file, this.changesOf(file)) });
  }

  /** Before a folder is removed: remembers every file in it (synced content). */
  removingDir(dir: string): void {
    const files: Array<[string, Buffer]> = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p); else if (e.isFile()) files.push([p, syncedContent(p, this.changesOf(p))]);
      }
    };
    if (fs.existsSync(dir)) walk(dir);
    this.add(path.dirname(dir), { kind: 'removeDir', path: dir, files });
  }

  /** The directory was fsynced: its entries so far are durable. */
  synced(dir: string): void {
    this.byDir.delete(path.resolve(dir));
  }

  /** Undoes, in the image of `root`, the entry changes that did not survive (a random prefix of each directory's survives). */
  applyCut(root: string, imageDir: string, rng: () => number): void {
    const undone: EntryOp[] = [];
    for (const list of this.byDir.values()) {
      const keep = Math.floor(rng() * (list.length + 1));
      this.fates.kept += keep;
      undone.push(...list.slice(keep));
    }
    this.fates.undone += undone.length;
    const image = (p: string): string | undefined => {
      const rel = path.relative(root, p);
      return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : path.join(imageDir, rel);
    };
    const write = (p: string | undefined, content: Buffer): void => {
      if (p === undefined || !fs.existsSync(path.dirname(p))) return;
      fs.writeFileSync(p, content);
    };
    for (const op of undone.sort((a, b) => b.seq - a.seq)) {
      if (op.kind === 'create' || op.kind === 'mkdir') {
        const p = image(op.path);
        if (p !== undefined) fs.rmSync(p, { recursive: true, force: true });
      } else if (op.kind === 'rename') {
        const from = image(op.from);
        const to = image(op.to);
        if (from === undefined || to === undefined) continue;
        if (fs.existsSync(to) && fs.existsSync(path.dirname(from))) fs.renameSync(to, from);
        if (op.replaced !== undefined) write(to, op.replaced);
      } else if (op.kind === 'unlink') {
        write(image(op.path), op.content);
      } else if (op.kind === 'removeDir') {
        const p = image(op.path);
        if (p === undefined || !fs.existsSync(path.dirname(p))) continue;
        fs.mkdirSync(p, { recursive: true });
        for (const [file, content] of op.files) {
          const target = image(file)!;
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fs.writeFileSync(target, content);
        }
      }
    }
  }
}
