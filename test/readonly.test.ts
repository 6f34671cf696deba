// Read-only opens across entry points: both write the same on-disk format, so a directory written
// through one opens read-only through the other, whichever metadata store wrote it (LMDB or the
// JSON file), without creating any metadata of its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, expectSeglogError, expectSeglogErrorSync } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Every path under `dir`, relative, with its size (directories as -1). */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((p) => `${p} ${fs.statSync(path.join(dir, p)).isDirectory() ? -1 : fs.statSync(path.join(dir, p)).size}`)
    .sort();
}

const [lmdbEntry, nativeFree] = entries as [typeof entries[0], typeof entries[0]];

describe('read-only across entry points', () => {
  test.each([
    { writer: nativeFree, reader: lmdbEntry },
    { writer: lmdbEntry, reader: nativeFree },
  ])('a directory written through $writer.name opens read-only through $reader.name: topics and records are there, writes are ERR_READ_ONLY, nothing is created', async ({ writer, reader }) => {
    const w = await writer.load();
    const r = await reader.load();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-ro-'));
    dirs.push(dir);
    const log = await w.openLog(dir);
    const t = log.topic('t', { segmentBytes: 1024 });
    for (let i = 0; i < 20; i++) await t.append(Buffer.from(`v${i}`.padEnd(200, '.')), { key: `k${i % 3}`, headers: { n: String(i) } });
    await log.topic('empty').append(Buffer.from('only'));
    await log.close();
    const before = listing(dir);

    const ro = await r.openLog(dir, { readOnly: true });
    try {
      expect(ro.topics().sort()).toEqual(['empty', 't']);
      const rt = ro.topic('t');
      expect(rt.startOffset).toBe(0);
      expect(rt.endOffset).toBe(20);
      const records = collect(rt.read());
      expect(records.map((x) => x.valueBytes!.toString().replace(/\.+$/, ''))).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
      expect(records.map((x) => x.key!.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `k${i % 3}`));
      expect(rt.get(17)!.headers.n!.toString()).toBe('17');
      expect(ro.topic('empty').get(0)!.valueBytes!.toString()).toBe('only');
      expectSeglogErrorSync(r, () => rt.appendSync(Buffer.from('x')), 'ERR_READ_ONLY');
      await expectSeglogError(r, () => rt.append(Buffer.from('x')), 'ERR_READ_ONLY');
    } finally {
      await ro.close();
    }
    expect(listing(dir), 'a read-only open changes nothing in the directory').toEqual(before);
  });
});
