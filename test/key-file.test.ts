// The native-free key file read by a follower (src/store/key-file.ts, read-only): reload() takes
// the frames the writer appended since, leaves a torn frame at the end for the next reload, and
// reads the whole file again when it is another one (the writer's rewrite replaced it by rename,
// even when the new file is longer than what was read; the file removed and created again).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { KeyFile } from '../src/store/key-file.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });
function tmpFile(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-keyfile-'));
  dirs.push(d);
  return path.join(d, 't~keys');
}
const entriesOf = (kf: KeyFile): Array<[string, number]> => [...kf.map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));

describe('KeyFile read-only reload', () => {
  test('takes appended frames and removals, and the indexed end', () => {
    const file = tmpFile();
    const w = new KeyFile(file, false);
    w.put(['a', 'b'], [0, 1], 2);
    const r = new KeyFile(file, true);
    expect(entriesOf(r)).toEqual([['a', 0], ['b', 1]]);
    w.put(['a', 'c'], [2, 3], 4);
    w.put(['b'], [-1], -1);
    expect(r.map.get('a')).toBe(0); // not reloaded yet
    r.reload();
    expect(entriesOf(r)).toEqual(entriesOf(w));
    expect(r.indexedUpTo).toBe(4);
    r.reload(); // nothing new
    expect(entriesOf(r)).toEqual(entriesOf(w));
    w.closeFd();
  });

  test('a torn frame at the end is left for the next reload', () => {
    const src = tmpFile();
    const w = new KeyFile(src, false);
    w.put(['a'], [0], 1);
    const first = fs.statSync(src).size;
    w.put(['b', 'c'], [1, 2], 3);
    w.closeFd();
    const bytes = fs.readFileSync(src);
    const file = tmpFile();
    fs.writeFileSync(file, bytes.subarray(0, first + 10)); // the second frame half written
    const r = new KeyFile(file, true);
    expect(entriesOf(r)).toEqual([['a', 0]]);
    expect(r.indexedUpTo).toBe(1);
    fs.appendFileSync(file, bytes.subarray(first + 10));
    r.reload();
    expect(entriesOf(r)).toEqual([['a', 0], ['b', 1], ['c', 2]]);
    expect(r.indexedUpTo).toBe(3);
  });

  test('a rewrite (another file, longer than what was read) and a file removed and created again are read whole', () => {
    const file = tmpFile();
    const w = new KeyFile(file, false);
    w.put(['x'], [0], 1);
    const r = new KeyFile(file, true);
    const readBytes = fs.statSync(file).size;
    const ino = fs.statSync(file).ino;
    const keys = Array.from({ length: 12_000 }, (_, i) => `key-${i}`);
    let offset = 1;
    for (let round = 0; round < 6; round++) w.put(keys, keys.map(() => offset++), offset);
    expect(fs.statSync(file).ino).not.toBe(ino); // rewritten
    expect(fs.statSync(file).size).toBeGreaterThan(readBytes);
    r.reload();
    expect(r.map.size).toBe(w.map.size);
    expect(entriesOf(r)).toEqual(entriesOf(w));
    expect(r.indexedUpTo).toBe(w.indexedUpTo);

    w.remove();
    r.reload();
    expect(r.map.size).toBe(0);
    expect(r.indexedUpTo).toBe(-1);
    const w2 = new KeyFile(file, false);
    w2.put(['y'], [7], 8);
    r.reload();
    expect(entriesOf(r)).toEqual([['y', 7]]);
    expect(r.indexedUpTo).toBe(8);
    w2.closeFd();
  });
});
