// FileIO over node:fs. Reads and writes are synchronous positional calls: appends land in the
// page cache in a few microseconds, and a synchronous loop beats the thread pool's round trip by
// a wide margin (see bench W1/W2). fsync is the one call that can take milliseconds: it is async.
// watch is fs.watch (inotify, FSEvents, ReadDirectoryChangesW), not persistent.
import fs from 'node:fs';
import type { DirectoryWatch, FileIO, FileStat } from './file-io.js';

export const nodeFileIO: FileIO = {
  open(path, flags) {
    return fs.openSync(path, flags);
  },
  close(fd) {
    fs.closeSync(fd);
  },
  read(fd, buf, offset, length, position) {
    return fs.readSync(fd, buf, offset, length, position);
  },
  write(fd, buf, offset, length, position) {
    return fs.writeSync(fd, buf, offset, length, position);
  },
  fsync(fd) {
    return new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  },
  unlinkAsync(path) {
    return fs.promises.unlink(path);
  },
  fsyncSync(fd) {
    fs.fsyncSync(fd);
  },
  truncate(fd, length) {
    fs.ftruncateSync(fd, length);
  },
  fileSize(fd) {
    return fs.fstatSync(fd).size;
  },
  fileIno(fd) {
    return fs.fstatSync(fd).ino;
  },
  stat(path): FileStat | undefined {
    const st = fs.statSync(path, { throwIfNoEntry: false });
    return st === undefined ? undefined : { size: st.size, isDirectory: st.isDirectory(), ino: st.ino };
  },
  rename(from, to) {
    fs.renameSync(from, to);
  },
  link(from, to) {
    fs.linkSync(from, to);
  },
  unlink(path) {
    fs.unlinkSync(path);
  },
  readdir(path) {
    return fs.readdirSync(path);
  },
  mkdir(path) {
    fs.mkdirSync(path, { recursive: true });
  },
  removeDir(path) {
    fs.rmSync(path, { recursive: true, force: true });
  },
  freeBytes(path) {
    const st = fs.statfsSync(path);
    return st.bavail * st.bsize;
  },
  fsyncDir(path) {
    let fd = -1;
    try {
      fd = fs.openSync(path, 'r');
      fs.fsyncSync(fd);
    } catch (err) {
      // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
      if ((err as NodeJS.ErrnoException).code !== 'EISDIR' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  },
  watch(path, onChange): DirectoryWatch | undefined {
    // Not persistent: a follower's watch never keeps the process alive (a subscription waiting at
    // the tail does, log/tail.ts). A watch that fails (the folder went away, out of inotify
    // watches) closes itself; the caller's poll carries on.
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(path, { persistent: false }, () => onChange());
    } catch {
      return undefined;
    }
    watcher.on('error', () => watcher.close());
    return { close: () => watcher.close() };
  },
};
