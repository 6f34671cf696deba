// "Reopen is fast: a clean shutdown reopens without scanning; after a crash only data past the
// last recorded recovery point is scanned." Measured through the file-I/O seam: the bytes read
// from .log files while openLog recovers.
import diagnostics_channel from 'node:diagnostics_channel';
import { describe, expect, test } from 'vitest';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { countingIO } from './faults/faulty-io.js';
import { entries } from './entry.js';
import { harness, killHard, spawnFixture } from './helpers.js';

const metas = { 'seglog': lmdbMetaStore, 'seglog/native-free': fileMetaStore } as const;
const RECORDS = 40_000; // ~4.5 MB of log

describe.each(entries)('$name: recovery point', (entry) => {
  const h = harness(entry);
  const meta = metas[entry.name as keyof typeof metas];

  test('a clean close reopens without scanning the log (only the batch headers after the last index entry are checked)', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('r');
    for (let i = 0; i < RECORDS; i += 1000) await t.appendBatch(Array.from({ length: 1000 }, () => ({ value: Buffer.alloc(100, 1) })));
    await log.close();
    const io = countingIO();
    const again = await openLogWith({ meta, io }, dir);
    expect(again.topic('r').endOffset).toBe(RECORDS);
    expect(io.logBytesRead).toBeLessThanOrEqual(64);
    await again.close();
  });

  test('after kill -9, open scans only what follows the recovery point recorded by flush()', async () => {
    const dir = h.tmp();
    const child = spawnFixture(h, 'flush-then-hang.mjs', [entry.dist, dir, String(RECORDS)]);
    await child.waitFor((l) => l === 'ready');
    await killHard(child);
    const io = countingIO();
    const log = await openLogWith({ meta, io }, dir);
    const t = log.topic('r');
    expect(t.endOffset).toBe(RECORDS + 100);
    // Only the 100 records after the flush (and at most one index interval before them) are read.
    expect(io.logBytesRead).toBeLessThan(64 * 1024);
    expect([...t.read({ from: RECORDS - 5 })].map((r) => r.offset)).toEqual(Array.from({ length: 105 }, (_, i) => RECORDS - 5 + i));
    await log.close();
    // That close, with nothing appended after the recovery, is a clean close: the next open scans nothing.
    const scans: unknown[] = [];
    const onRecovery = (m: unknown): void => { if ((m as { action?: string }).action === 'scan') scans.push(m); };
    diagnostics_channel.subscribe('seglog:recovery', onRecovery);
    try {
      const io2 = countingIO();
      const again = await openLogWith({ meta, io: io2 }, dir);
      expect(again.topic('r').endOffset).toBe(RECORDS + 100);
      expect(io2.logBytesRead).toBeLessThanOrEqual(64);
      await again.close();
    } finally {
      diagnostics_channel.unsubscribe('seglog:recovery', onRecovery);
    }
    expect(scans).toEqual([]);
  });
});
