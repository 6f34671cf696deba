// AbortSignal on the long operations: compact(), enforceRetention() and verify() reject with
// ERR_ABORTED (the signal's reason as `cause`) and leave the log as it was. The abort is placed
// deterministically at every check an operation makes in turn (a signal whose `aborted` turns true
// at its N-th reading), from the first to past the last: after each abort the topic reads the same
// records, its segment files are the same bytes, no `.cleaned` file is left, verify() finds it
// clean, and a reopen reads the same again. Options are validated (unknown keys, a non-signal).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { expectSeglogError, harness, type Topic } from './helpers.js';

const T0 = 1_700_000_000_000;

/** A real AbortSignal whose `aborted` reads true from its `n`-th reading on (0: at once). */
function abortAtCheck(n: number): { signal: AbortSignal; checks: () => number } {
  const signal = new AbortController().signal;
  let reads = 0;
  Object.defineProperty(signal, 'aborted', { get: () => reads++ >= n });
  Object.defineProperty(signal, 'reason', { get: () => new Error(`aborted at check ${n}`) });
  return { signal, checks: () => reads };
}

function snapshot(t: Topic<string>): string {
  return JSON.stringify([...t.read()].map((r) => [r.offset, r.key?.toString(), r.value, r.timestamp]));
}

/** The topic directory's files with their contents' digest-free fingerprint (size + bytes). */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).sort()) {
    if (!/\.(log|index|timeindex|cleaned|swap)$/.test(f) && !f.includes('.cleaned')) continue;
    out[f] = fs.readFileSync(path.join(dir, f)).toString('base64');
  }
  return out;
}

describe.each(entries)('$name: AbortSignal on long operations', (entry) => {
  const h = harness(entry);

  async function compactedTopic(dir: string) {
    const log = await h.open(dir, { durability: 'none' });
    const t = log.topic<string>('table', { codec: 'string', cleanup: 'compact', segmentBytes: 4096 });
    // five records a tick: one batch each, so that compaction has many checks to make
    for (let i = 0; i < 600; i++) {
      t.appendSync(`value ${i} `.padEnd(40, '.'), { key: `k${i % 37}`, timestamp: T0 + i });
      if (i % 5 === 4) await new Promise((resolve) => setImmediate(resolve));
    }
    await log.flush();
    return { log, t };
  }

  test('compact() aborted at each of its checks in turn leaves the old segments and the records as they were', async () => {
    const dir = h.tmp();
    let { log, t } = await compactedTopic(dir);
    const topicDir = path.join(dir, 'table');
    // compact() rolls the active segment first: do that once without compacting, so that every
    // aborted attempt below starts from the same files
    await expectSeglogError(h.mod, () => t.compact({ signal: abortAtCheck(3).signal }), 'ERR_ABORTED');
    const before = snapshot(t);
    const filesBefore = files(topicDir);
    expect(Object.keys(filesBefore).filter((f) => f.endsWith('.log')).length).toBeGreaterThan(4);
    let n = 0;
    let result: { recordsBefore: number; recordsAfter: number } | undefined;
    for (; n < 10_000 && result === undefined; n += n < 8 ? 1 : 7) {
      const { signal, checks } = abortAtCheck(n);
      try {
        result = await t.compact({ signal, now: T0 });
        expect(checks()).toBeLessThanOrEqual(n); // finished before its n-th check
      } catch (err) {
        expect((err as { code?: string }).code, String(err)).toBe('ERR_ABORTED');
        expect(err).toBeInstanceOf(h.mod.SeglogError);
        expect((err as Error).message).toMatch(/compact on topic table was aborted/);
        expect(((err as Error).cause as Error).message).toBe(`aborted at check ${n}`);
        expect(snapshot(t), `records after an abort at check ${n}`).toBe(before);
        expect(files(topicDir), `files after an abort at check ${n}`).toEqual(filesBefore);
      }
    }
    expect(n, 'aborts at many different points before the pass could finish').toBeGreaterThan(100);
    expect(result!.recordsAfter).toBe(37);
    // the compaction that finished kept each key's newest record
    for (let k = 0; k < 37; k++) expect(t.latest(`k${k}`)!.value).toMatch(new RegExp(`^value ${k + 37 * Math.floor((599 - k) / 37)} `));
    const after = snapshot(t);
    await log.close();
    log = await h.open(dir);
    t = log.topic<string>('table', { codec: 'string' });
    expect(snapshot(t)).toBe(after);
    expect((await h.mod.verify(dir)).ok).toBe(true);
  });

  test('an aborted compact() reads the same after a reopen, and verify() finds the log clean', async () => {
    const dir = h.tmp();
    let { log, t } = await compactedTopic(dir);
    await expectSeglogError(h.mod, () => t.compact({ signal: abortAtCheck(3).signal }), 'ERR_ABORTED');
    const before = snapshot(t);
    await expectSeglogError(h.mod, () => t.compact({ signal: abortAtCheck(40).signal }), 'ERR_ABORTED');
    await log.close();
    expect((await h.mod.verify(dir)).ok).toBe(true);
    log = await h.open(dir);
    t = log.topic<string>('table', { codec: 'string' });
    expect(snapshot(t)).toBe(before);
    expect(fs.readdirSync(path.join(dir, 'table')).filter((f) => f.includes('cleaned') || f.endsWith('.swap'))).toEqual([]);
  });

  test('a signal aborted before the call rejects at once with its reason; one aborted while queued behind another compaction never starts', async () => {
    const dir = h.tmp();
    const { t } = await compactedTopic(dir);
    const before = snapshot(t);
    const reason = new Error('user pressed cancel');
    const err = await expectSeglogError(h.mod, () => t.compact({ signal: AbortSignal.abort(reason) }), 'ERR_ABORTED');
    expect(err.cause).toBe(reason);
    expect(snapshot(t)).toBe(before);
    const controller = new AbortController();
    const first = t.compact({ now: T0 });
    const second = t.compact({ signal: controller.signal, now: T0 });
    controller.abort();
    expect((await first).recordsAfter).toBe(37);
    await expectSeglogError(h.mod, () => second, 'ERR_ABORTED');
  });

  test('enforceRetention() aborted at each of its checks removes nothing; unaborted it removes what is due', async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'none' });
    const t = log.topic<string>('audit', { codec: 'string', segmentBytes: 4096, retention: { maxAgeMs: 1000 } });
    for (let i = 0; i < 600; i++) t.appendSync(`record ${i}`.padEnd(40, '.'), { timestamp: T0 + i });
    await log.flush();
    const topicDir = path.join(dir, 'audit');
    const before = snapshot(t);
    const filesBefore = files(topicDir);
    const now = T0 + 600 + 2000;
    let n = 0;
    for (;; n++) {
      const { signal } = abortAtCheck(n);
      try {
        const r = await t.enforceRetention({ now, signal });
        expect(r.segmentsDeleted).toBeGreaterThan(4);
        break;
      } catch (err) {
        expect((err as { code?: string }).code, String(err)).toBe('ERR_ABORTED');
        expect((err as Error).message).toMatch(/enforceRetention on topic audit was aborted/);
        expect(snapshot(t)).toBe(before);
        expect(t.startOffset).toBe(0);
        expect(files(topicDir)).toEqual(filesBefore);
      }
    }
    expect(n).toBeGreaterThanOrEqual(3); // before the call, when its turn comes, before the removal
    expect(t.startOffset).toBeGreaterThan(0);
    expect(snapshot(t)).toBe(JSON.stringify(JSON.parse(before).filter((r: [number]) => r[0] >= t.startOffset)));
  });

  test('verify() aborted at each of its checks rejects with ERR_ABORTED; unaborted it reports the log clean', async () => {
    const dir = h.tmp();
    const { log } = await compactedTopic(dir);
    await log.close();
    let n = 0;
    for (;; n++) {
      const { signal } = abortAtCheck(n);
      try {
        const report = await h.mod.verify(dir, { signal });
        expect(report.ok).toBe(true);
        break;
      } catch (err) {
        expect((err as { code?: string }).code, String(err)).toBe('ERR_ABORTED');
        expect((err as Error).message).toContain(`verify of ${path.resolve(dir)} was aborted`);
      }
    }
    expect(n).toBeGreaterThan(4); // the start, and once per segment at least
  });

  test('verify() stops at the next check once a real AbortController aborts during the walk (from onProgress)', async () => {
    const dir = h.tmp();
    const { log } = await compactedTopic(dir);
    await log.close();
    const controller = new AbortController();
    let calls = 0;
    let callsAtAbort = 0;
    const err = await expectSeglogError(h.mod, () => h.mod.verify(dir, {
      signal: controller.signal,
      onProgress: () => {
        if (++calls === 3) { controller.abort(new Error('enough')); callsAtAbort = calls; }
      },
    }), 'ERR_ABORTED');
    expect((err.cause as Error).message).toBe('enough');
    expect(calls).toBe(callsAtAbort); // no progress after the abort: the walk stopped at its next check
    expect((await h.mod.verify(dir)).ok).toBe(true);
  });

  test('bad options are ERR_INVALID_ARGUMENT naming them, and a number alone is still `now`', async () => {
    const dir = h.tmp();
    const { log, t } = await compactedTopic(dir);
    const audit = log.topic('audit', { retention: { maxAgeMs: 1000 } });
    await expectSeglogError(h.mod, () => t.compact({ signal: 'stop' } as never), 'ERR_INVALID_ARGUMENT', ['signal', '"stop"']);
    await expectSeglogError(h.mod, () => t.compact({ sginal: AbortSignal.abort() } as never), 'ERR_INVALID_ARGUMENT', ['sginal']);
    await expectSeglogError(h.mod, () => t.compact({ now: -1 }), 'ERR_INVALID_ARGUMENT', ['now']);
    await expectSeglogError(h.mod, () => audit.enforceRetention({ signal: {} } as never), 'ERR_INVALID_ARGUMENT', ['signal']);
    await expectSeglogError(h.mod, () => audit.enforceRetention('soon' as never), 'ERR_INVALID_ARGUMENT', ['now']);
    await expectSeglogError(h.mod, () => h.mod.verify(dir, { signal: 1 } as never), 'ERR_INVALID_ARGUMENT', ['signal']);
    expect(await audit.enforceRetention(T0)).toEqual({ segmentsDeleted: 0, bytesFreed: 0 });
    expect((await t.compact(T0)).recordsAfter).toBe(37);
  });
});
