// The power-cut simulator's directory entries (power-cut-entries.ts): a file created, renamed or
// unlinked, or a folder made or removed, is durable only once its directory is fsynced.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { powerCutIO } from './faulty-io.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });
function setup(rng: () => number) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-entries-'));
  dirs.push(base);
  const root = path.join(base, 'root');
  fs.mkdirSync(root);
  const imageDir = path.join(base, 'image');
  return { root, imageDir, io: powerCutIO({ root, imageDir, rng }) };
}
const dropAll = (): number => 0; // keeps a prefix of length 0 of every directory's changes
const keepAll = (): number => 0.999999;

function writeSynced(io: ReturnType<typeof powerCutIO>, file: string, text: string): void {
  const fd = io.open(file, 'wx');
  io.write(fd, Buffer.from(text), 0, text.length, 0);
  io.fsyncSync(fd);
  io.close(fd);
}

describe('powerCutIO directory entries', () => {
  test('a created and fsynced file is lost when its directory was not fsynced, and kept when it was', () => {
    for (const syncDir of [false, true]) {
      const { root, imageDir, io } = setup(dropAll);
      writeSynced(io, path.join(root, 'a'), 'hello');
      if (syncDir) io.fsyncDir(root);
      io.cut();
      expect(fs.existsSync(path.join(imageDir, 'a')), `directory fsynced: ${syncDir}`).toBe(syncDir);
    }
  });

  test('a rename not followed by a directory fsync may be undone: the old name and the replaced file come back', () => {
    const { root, imageDir, io } = setup(dropAll);
    writeSynced(io, path.join(root, 'new.tmp'), 'new');
    writeSynced(io, path.join(root, 'final'), 'old');
    io.fsyncDir(root);
    io.rename(path.join(root, 'new.tmp'), path.join(root, 'final'));
    io.cut();
    expect(fs.readFileSync(path.join(imageDir, 'final'), 'utf8')).toBe('old');
    expect(fs.readFileSync(path.join(imageDir, 'new.tmp'), 'utf8')).toBe('new');
  });

  test('an unlink, a folder made and a folder removed are undone without a directory fsync, kept with one', () => {
    for (const rng of [dropAll, keepAll]) {
      const { root, imageDir, io } = setup(rng);
      writeSynced(io, path.join(root, 'gone'), 'data');
      io.mkdir(path.join(root, 'doomed'));
      io.fsyncDir(root);
      writeSynced(io, path.join(root, 'doomed', 'f'), 'inside');
      io.fsyncDir(path.join(root, 'doomed'));
      io.unlink(path.join(root, 'gone'));
      io.removeDir(path.join(root, 'doomed'));
      io.mkdir(path.join(root, 'fresh'));
      io.cut();
      const undone = rng === dropAll;
      expect(fs.existsSync(path.join(imageDir, 'gone'))).toBe(undone);
      if (undone) expect(fs.readFileSync(path.join(imageDir, 'doomed', 'f'), 'utf8')).toBe('inside');
      else expect(fs.existsSync(path.join(imageDir, 'doomed'))).toBe(false);
      expect(fs.existsSync(path.join(imageDir, 'fresh'))).toBe(!undone);
    }
  });

  test('an fsync of a descriptor opened on the directory makes its entries durable', async () => {
    const { root, imageDir, io } = setup(dropAll);
    writeSynced(io, path.join(root, 'a'), 'x');
    const fd = io.open(root, 'r');
    await io.fsync(fd);
    io.close(fd);
    io.cut();
    expect(fs.existsSync(path.join(imageDir, 'a'))).toBe(true);
  });
});
