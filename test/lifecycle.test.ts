// Closing and deleting while work is in flight: pending appends settle, nothing poisons the log.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness } from './helpers.js';

describe.each(entries)('$name: lifecycle', (entry) => {
  const h = harness(entry);

  test.each(['fsync', 'os', 'none'] as const)('deleteTopic with appends in flight (%s) rejects them with ERR_CLOSED and the log stays writable', async (durability) => {
    const log = await h.open(h.tmp(), { durability });
    const doomed = log.topic('doomed');
    const other = log.topic('other');
    await doomed.append(Buffer.from('first'));
    const pending = Array.from({ length: 20 }, (_, i) => doomed.append(Buffer.from(`v${i}`)).then(() => 'ok', (e) => e.code));
    await log.deleteTopic('doomed');
    const outcomes = await Promise.all(pending);
    for (const o of outcomes) expect(['ok', 'ERR_CLOSED']).toContain(o);
    if (durability !== 'none') expect(outcomes).toContain('ERR_CLOSED');
    expect(() => doomed.appendSync(Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(await other.append(Buffer.from('still writable'))).toBe(0);
    const again = log.topic('doomed');
    expect(again.endOffset).toBe(0);
    expect(await again.append(Buffer.from('fresh'))).toBe(0);
    await log.flush();
  });

  test('close() with appends in flight resolves them (they are flushed), then refuses new ones', async () => {
    const log = await h.open(h.tmp(), { durability: 'fsync' });
    const t = log.topic('t');
    const pending = Array.from({ length: 50 }, (_, i) => t.append(Buffer.from(`v${i}`)));
    await log.close();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await expect(t.append(Buffer.from('late'))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  test('a log left open does not keep the process alive (the checkpoint timer is unref\'d)', async () => {
    const log = await h.open(h.tmp(), { durability: 'os', fsyncIntervalMs: 5 });
    log.topic('t').appendSync(Buffer.from('x'));
    await new Promise((r) => setTimeout(r, 30)); // a few checkpoints run without error
    expect(log.stats().topics.t!.endOffset).toBe(1);
  });
});
