// The single seam through which seglog touches files. The node:fs implementation is the default;
// tests wrap it to inject failures (failed write or fsync, a full disk, a crash after N bytes).
// Everything is synchronous except fsync, which runs on libuv's thread pool so that a group
// commit does not stall the event loop. Paths are absolute; fds are plain numbers.

export interface FileStat {
  size: number;
  isDirectory: boolean;
  /** The file's identity (inode number), where the platform gives one: tells a replaced file from the one read before. */
  ino?: number;
}

export interface FileIO {
  /** Opens a file; flags as node:fs ('r', 'r+', 'w+', 'wx', 'a+'). Throws the system error. */
  open(path: string, flags: string): number;
  close(fd: number): void;
  /** Positional read; returns the bytes read (fewer only at end of file). */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** Positional write; may write fewer bytes than asked (the caller loops). */
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  fsync(fd: number): Promise<void>;
  fsyncSync(fd: number): void;
  truncate(fd: number, length: number): void;
  fileSize(fd: number): number;
  /** The identity (inode number) of the file behind `fd`, as stat() gives it (optional). */
  fileIno?(fd: number): number;
  /** undefined when the path does not exist. */
  stat(path: string): FileStat | undefined;
  rename(from: string, to: string): void;
  /**
   * A hard link `to` of the file `from` (optional; a backup links closed segments with it and
   * copies where it is missing or fails, e.g. EXDEV across file systems).
   */
  link?(from: string, to: string): void;
  unlink(path: string): void;
  /**
   * Unlink on the thread pool (optional): retention removes thousands of files at once, and an
   * unlink of a file that was fsynced costs ~0.3 ms of journal work (bench W9); many in parallel
   * cost a fraction of that. A FileIO without it gets the synchronous unlink.
   */
  unlinkAsync?(path: string): Promise<void>;
  readdir(path: string): string[];
  mkdir(path: string): void;
  /** Removes a directory and everything in it. */
  removeDir(path: string): void;
  /** Bytes free for this process on the file system holding `path` (statfs), where the platform tells (optional). */
  freeBytes?(path: string): number;
  /** Makes a rename or creation in the directory durable. */
  fsyncDir(path: string): void;
  /**
   * Calls `onChange` when something in the directory changes (a file created, written, renamed or
   * removed), as fs.watch does; optional. Returns undefined where the directory cannot be watched.
   * Watching is a hint, never the only way a change is seen: file systems may drop events, so the
   * caller polls too (log/follower.ts). The watcher must not keep the process alive.
   */
  watch?(path: string, onChange: () => void): DirectoryWatch | undefined;
}

/** A directory being watched (FileIO.watch). */
export interface DirectoryWatch {
  close(): void;
}
