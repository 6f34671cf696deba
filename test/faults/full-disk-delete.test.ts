// deleteTopic on a full disk (real 2 MiB tmpfs, needs root; skipped otherwise): the way to free
// space must not be refused for want of space. The LMDB store's room check (store/lmdb-room.ts)
// bounds a deleteTopic by the whole store's trees, which a large key index makes larger than the
// space reserve: the deletion must still free the topic's files, and the log must open again.
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { fillDisk, onTmpfs } from './tmpfs.js';

test('deleteTopic on a full disk with a large key index frees the topic and the log opens again', async () => {
  await onTmpfs(async (mnt) => {
    const { openLog } = await import('../../src/index.js');
    const dir = path.join(mnt, 'log');
    const log = await openLog(dir, { durability: 'os' });
    const keyed = log.topic('keyed', { cleanup: 'compact' });
    const big = log.topic('big');
    for (let i = 0; i < 8000; i += 500) {
      await keyed.appendBatch(Array.from({ length: 500 }, (_, k) => ({ value: Buffer.from('v'), key: `key-${String(i + k).padStart(24, '0')}` })));
      await log.flush(); // (LmdbRoom counts unsettled key commits against the free space: let them settle)
    }
    for (let i = 0; i < 300; i++) await big.append(Buffer.alloc(1000, i));
    await log.flush();
    fillDisk(path.join(mnt, 'filler'));
    await log.deleteTopic('big');
    expect(fs.existsSync(path.join(dir, 'big~deleted')), 'the deleted topic\'s files are gone').toBe(false);
    expect(fs.existsSync(path.join(dir, 'big')), 'the deleted topic\'s files are gone').toBe(false);
    await log.close();
    const again = await openLog(dir);
    expect(again.topics()).not.toContain('big');
    expect(again.topic('keyed').latest(`key-${String(7999).padStart(24, '0')}`)?.valueBytes?.toString()).toBe('v');
    await again.close();
  });
});
