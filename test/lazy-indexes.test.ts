// A clean open reads no index file: every segment's `.index`/`.timeindex`, the active segment's
// included, are loaded on first use (a read, or the first write of the session) and checked then,
// so opening thousands of topics costs a folder listing and a stat each (bench/topics.js). Seen
// through the file-I/O seam: which files the log opens, and when. What was wrong with an index is
// found at first use as it was at open before: rebuilt from its `.log`.
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { openLogWith } from '../src/log.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { entries } from './entry.js';
import { harness } from './helpers.js';

const metas = { 'seglog': lmdbMetaStore, 'seglog/native-free': fileMetaStore } as const;
const TOPICS = 12;
const RECORDS = 40;

/** node:fs, recording the path of every file it opens. */
function recordingIO(): FileIO & { opened: string[] } {
  const opened: string[] = [];
  return { ...nodeFileIO, opened, open(file: string, flags: string): number { opened.push(file); return nodeFileIO.open(file, flags); } };
}

const indexFilesOf = (opened: string[], topic: string): string[] =>
  opened.filter((f) => path.basename(path.dirname(f)) === topic && /\.(index|timeindex)$/.test(f));

describe.each(entries)('$name: indexes loaded on first use', (entry) => {
  const h = harness(entry);
  const meta = metas[entry.name as keyof typeof metas];

  /** TOPICS topics of RECORDS records, one batch each (an index entry every batch), closed cleanly. */
  async function fill(dir: string): Promise<void> {
    const log = await h.open(dir, { durability: 'os', defaults: { indexIntervalBytes: 1 } });
    for (let i = 0; i < TOPICS; i++) {
      const t = log.topic(`t${i}`);
      for (let r = 0; r < RECORDS; r++) await t.append(Buffer.from(`t${i}:${r}`), { timestamp: 1000 + r });
    }
    await log.close();
  }

  test('a clean open opens no index file and no .log; a read loads that topic\'s indexes only, and close leaves untouched topics\' files as they were', async () => {
    const dir = h.tmp();
    await fill(dir);
    const before = fs.readFileSync(path.join(dir, 't5', '00000000000000000000.index'));
    const io = recordingIO();
    const log = await openLogWith({ meta, io }, dir, { durability: 'os' });
    expect(io.opened.filter((f) => /\.(log|index|timeindex)$/.test(f))).toEqual([]);
    const t3 = log.topic('t3');
    expect(t3.endOffset).toBe(RECORDS);
    expect(t3.get(17)!.valueBytes!.toString()).toBe('t3:17');
    expect(t3.offsetForTime(1000 + 25)).toBe(25);
    expect(indexFilesOf(io.opened, 't3').length).toBe(2);
    for (let i = 0; i < TOPICS; i++) if (i !== 3) expect(indexFilesOf(io.opened, `t${i}`)).toEqual([]);
    await log.close();
    for (let i = 0; i < TOPICS; i++) if (i !== 3) expect(indexFilesOf(io.opened, `t${i}`)).toEqual([]);
    expect(fs.readFileSync(path.join(dir, 't5', '00000000000000000000.index')).equals(before)).toBe(true);
  });

  test('the first append of a session loads the active segment\'s indexes before it writes: new entries follow the old ones, after a reopen too', async () => {
    const dir = h.tmp();
    await fill(dir);
    const io = recordingIO();
    let log = await openLogWith({ meta, io }, dir, { durability: 'os' });
    const t = log.topic('t1', { indexIntervalBytes: 1 });
    t.appendSync(Buffer.from('t1:40'), { timestamp: 5000 });
    expect(await t.append(Buffer.from('t1:41'), { timestamp: 5001 })).toBe(41);
    expect(indexFilesOf(io.opened, 't1').length).toBeGreaterThanOrEqual(2);
    expect(t.offsetForTime(5000)).toBe(40);
    await log.close();
    // One entry per batch: 40 from the first session, then the two new batches.
    expect(fs.statSync(path.join(dir, 't1', '00000000000000000000.index')).size).toBe((RECORDS + 2) * 8);
    log = await openLogWith({ meta }, dir, { durability: 'os' });
    const again = log.topic('t1');
    expect([...again.read({ from: 38 })].map((r) => r.valueBytes!.toString())).toEqual(['t1:38', 't1:39', 't1:40', 't1:41']);
    expect(again.offsetForTime(5001)).toBe(41);
    expect(again.get(3)!.valueBytes!.toString()).toBe('t1:3');
    await log.close();
  });

  test('a damaged index of the active segment is found at first use and rebuilt from the .log, for a read and for an append', async () => {
    const dir = h.tmp();
    await fill(dir);
    fs.truncateSync(path.join(dir, 't2', '00000000000000000000.index'), 0); // empty for a non-empty log
    fs.writeFileSync(path.join(dir, 't4', '00000000000000000000.timeindex'), Buffer.alloc(5, 0xff)); // not whole entries
    const rebuilt: string[] = [];
    const listen = (m: unknown): void => { const e = m as { action?: string; file?: string }; if (e.action === 'rebuild-index') rebuilt.push(path.basename(path.dirname(e.file!))); };
    diagnostics_channel.subscribe('seglog:recovery', listen);
    try {
      const log = await openLogWith({ meta }, dir, { durability: 'os' });
      expect(rebuilt).toEqual([]); // not at open
      expect(log.topic('t2').get(30)!.valueBytes!.toString()).toBe('t2:30');
      expect(await log.topic('t4').append(Buffer.from('t4:40'), { timestamp: 6000 })).toBe(40);
      expect(rebuilt.sort()).toEqual(['t2', 't4']);
      expect(log.topic('t4').offsetForTime(1010)).toBe(10);
      await log.close();
    } finally {
      diagnostics_channel.unsubscribe('seglog:recovery', listen);
    }
    const log = await openLogWith({ meta }, dir, { durability: 'os' });
    expect(log.topic('t2').get(39)!.valueBytes!.toString()).toBe('t2:39');
    expect(log.topic('t4').get(40)!.valueBytes!.toString()).toBe('t4:40');
    await log.close();
  });
});
