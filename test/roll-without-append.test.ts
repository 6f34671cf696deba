// A segment roll that no append preceded in this session (compact() rolls the active segment
// first) must leave a stored state that the next open accepts: found by the CLI's compact test
// (compact of a freshly opened log, then close, then ERR_CORRUPT "segment … holds the recovery
// point" at the next open).
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, harness, segmentBases } from './helpers.js';

describe.each(entries)('$name: a roll with no append before it', (entry) => {
  const h = harness(entry);

  test('compact() right after a reopen, then close: the next open, writable or read-only, has every surviving record', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const t = log.topic<string>('kv', { codec: 'string', cleanup: 'compact', segmentBytes: 1024 });
    for (let i = 0; i < 100; i++) await t.append(`v${i}`.padEnd(60, '.'), { key: `k${i % 5}` });
    await log.close();

    log = await h.open(dir);
    const before = segmentBases(dir, 'kv');
    const result = await log.topic<string>('kv').compact();
    expect(result.recordsAfter).toBe(5);
    expect(segmentBases(dir, 'kv')).not.toEqual(before);
    await log.close();

    const ro = await h.open(dir, { readOnly: true });
    expect(collect(ro.topic<string>('kv', { codec: 'string' }).read()).map((r) => [r.offset, r.value])).toEqual(
      [95, 96, 97, 98, 99].map((o) => [o, `v${o}`.padEnd(60, '.')]),
    );
    await ro.close();
    log = await h.open(dir);
    const kv = log.topic<string>('kv');
    expect(kv.endOffset).toBe(100);
    expect(kv.latest('k2')!.value).toBe('v97'.padEnd(60, '.'));
    expect(await kv.append('after', { key: 'k0' })).toBe(100);
  });
});
