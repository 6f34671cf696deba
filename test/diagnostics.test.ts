// Observability: the `seglog:<event>` diagnostics_channel channels (roll, recovery, corruption),
// NODE_DEBUG=seglog in a child process, and the fields of log.stats().
import { afterEach, describe, expect, test } from 'vitest';
import diagnostics_channel from 'node:diagnostics_channel';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { entries } from './entry.js';
import { collect, expectSeglogError, harness, segmentBases, segmentPath } from './helpers.js';

type Message = Record<string, unknown>;

/** Collects what is published on a channel until the test ends. */
function listen(event: string): Message[] {
  const got: Message[] = [];
  const fn = (msg: unknown): void => { got.push(msg as Message); };
  diagnostics_channel.subscribe(`seglog:${event}`, fn);
  unsubscribers.push(() => diagnostics_channel.unsubscribe(`seglog:${event}`, fn));
  return got;
}
const unsubscribers: Array<() => void> = [];
afterEach(() => {
  for (const u of unsubscribers.splice(0)) u();
});

describe.each(entries)('$name: diagnostics', (entry) => {
  const h = harness(entry);

  test('a roll by size publishes seglog:roll with the old and new base offsets, one event per new segment', async () => {
    const rolls = listen('roll');
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { segmentBytes: 1024 });
    for (let i = 0; i < 40; i++) t.appendSync(Buffer.alloc(100, i));
    await log.flush();
    const bases = segmentBases(dir, 't');
    expect(bases.length).toBeGreaterThan(2);
    const mine = rolls.filter((r) => r.dir === dir && r.topic === 't');
    expect(mine.map((r) => r.newBase)).toEqual(bases.slice(1));
    expect(mine.map((r) => r.oldBase)).toEqual(bases.slice(0, -1));
    for (const r of mine) {
      expect(r.reason).toBe('bytes');
      expect(r.oldBytes).toBe(fs.statSync(segmentPath(dir, 't', r.oldBase as number, 'log')).size);
    }
  });

  test('a roll by age publishes reason "time"', async () => {
    const rolls = listen('roll');
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { segmentMs: 1000 });
    t.appendSync(Buffer.from('a'), { timestamp: 10_000 });
    t.appendSync(Buffer.from('b'), { timestamp: 10_500 });
    t.appendSync(Buffer.from('c'), { timestamp: 12_000 });
    const mine = rolls.filter((r) => r.dir === dir);
    expect(mine).toEqual([{ dir, topic: 't', oldBase: 0, newBase: 2, reason: 'time', oldBytes: expect.any(Number) }]);
  });

  test('reopening after garbage was appended to the active segment publishes a scan and a truncate naming the file, position and bytes cut', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t');
    for (let i = 0; i < 10; i++) await t.append(Buffer.from(`record ${i}`));
    await log.close();
    const file = segmentPath(dir, 't', 0, 'log');
    const goodBytes = fs.statSync(file).size;
    fs.appendFileSync(file, Buffer.alloc(30, 0xab));

    const recovery = listen('recovery');
    const again = await h.open(dir);
    expect(again.topic('t').endOffset).toBe(10);
    const mine = recovery.filter((r) => r.dir === dir && r.topic === 't');
    const scan = mine.find((r) => r.action === 'scan');
    expect(scan, JSON.stringify(mine)).toBeDefined();
    expect(String(scan!.reason)).toContain('clean close');
    const cut = mine.find((r) => r.action === 'truncate');
    expect(cut).toMatchObject({ file, position: goodBytes, bytes: 30 });
    expect(String(cut!.reason)).toContain('torn tail');
    expect(fs.statSync(file).size).toBe(goodBytes);
  });

  test('a clean reopen publishes no recovery event', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    for (let i = 0; i < 10; i++) await log.topic('t').append(Buffer.from(`record ${i}`));
    await log.close();
    const recovery = listen('recovery');
    await h.open(dir);
    expect(recovery.filter((r) => r.dir === dir)).toEqual([]);
  });

  test('a missing index of a closed segment is rebuilt on first use and the rebuild is published', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { segmentBytes: 1024, indexIntervalBytes: 128 });
    for (let i = 0; i < 40; i++) t.appendSync(Buffer.alloc(100, i));
    await log.close();
    const first = segmentBases(dir, 't')[0]!;
    fs.unlinkSync(segmentPath(dir, 't', first, 'index'));
    const recovery = listen('recovery');
    const again = await h.open(dir);
    expect(again.topic('t').get(1)!.valueBytes![0]).toBe(1);
    const rebuilt = recovery.filter((r) => r.dir === dir && r.action === 'rebuild-index');
    expect(rebuilt).toHaveLength(1);
    expect(rebuilt[0]).toMatchObject({ topic: 't', file: segmentPath(dir, 't', first, 'index'), reason: 'index files missing or inconsistent' });
  });

  test('an index file without its .log is removed at open and the removal is published', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    await log.topic('t').append(Buffer.from('x'));
    await log.close();
    const orphan = segmentPath(dir, 't', 12345, 'index');
    fs.writeFileSync(orphan, Buffer.alloc(8));
    const recovery = listen('recovery');
    await h.open(dir);
    expect(fs.existsSync(orphan)).toBe(false);
    expect(recovery.filter((r) => r.dir === dir)).toEqual([expect.objectContaining({ topic: 't', action: 'remove-orphan-index', file: orphan })]);
  });

  test('damage found by a read publishes seglog:corruption with the same file and position as the ERR_CORRUPT thrown', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { segmentBytes: 2048 });
    for (let i = 0; i < 60; i++) t.appendSync(Buffer.alloc(100, i));
    await log.close();
    const first = segmentBases(dir, 't')[0]!;
    const file = segmentPath(dir, 't', first, 'log');
    const bytes = fs.readFileSync(file);
    bytes[60] = bytes[60]! ^ 0xff; // inside the first batch's records: its checksum fails
    fs.writeFileSync(file, bytes);
    const corruption = listen('corruption');
    const again = await h.open(dir);
    const err = await expectSeglogError(h.mod, () => collect(again.topic('t').read({ from: 0 })), 'ERR_CORRUPT') as unknown as Error & { file: string; position: number };
    const mine = corruption.filter((c) => c.dir === dir);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(mine[mine.length - 1]).toEqual({ dir, topic: 't', file: err.file, position: err.position, message: err.message });
    expect(err.file).toBe(file);
  });

  test('retention and compaction publish seglog:retention and seglog:compaction naming the log directory, the topic and what they freed', async () => {
    const retention = listen('retention');
    const compaction = listen('compaction');
    const dir = h.tmp();
    const log = await h.open(dir);
    const d = log.topic('d', { segmentBytes: 1024 });
    for (let i = 0; i < 40; i++) d.appendSync(Buffer.alloc(100, i));
    await log.flush();
    const bases = segmentBases(dir, 'd');
    await d.truncateBefore(bases[2]!);
    await d.enforceRetention();
    const mine = retention.filter((e) => e.dir === dir && e.topic === 'd');
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(mine.reduce((n, e) => n + (e.segmentsDeleted as number), 0)).toBeGreaterThanOrEqual(2);
    expect(mine[mine.length - 1]!.startOffset).toBe(bases[2]);

    const kv = log.topic<string>('kv', { codec: 'string', cleanup: 'compact' });
    for (let i = 0; i < 50; i++) kv.appendSync(`v${i}`, { key: `k${i % 5}` });
    const result = await kv.compact();
    const c = compaction.filter((e) => e.dir === dir && e.topic === 'kv');
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({ recordsBefore: result.recordsBefore, recordsAfter: result.recordsAfter, bytesFreed: result.bytesFreed });
    expect(result.recordsAfter).toBe(5);
  });

  test('stats() names the active segment, the largest timestamp, the codec and the cleanup policy', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic<unknown>('t', { codec: 'json', segmentBytes: 1024 });
    for (let i = 0; i < 30; i++) t.appendSync({ i, pad: 'x'.repeat(100) }, { timestamp: 1000 + i });
    log.topic('raw');
    await log.flush();
    const s = log.stats();
    expect(s.topics.t!.activeSegmentBase).toBeGreaterThan(0);
    expect(s.topics.t!.activeSegmentBase).toBe(segmentBases(dir, 't').pop());
    expect(s.topics.t!.maxTimestampMs).toBe(1029);
    expect(s.topics.t!.codec).toBe('json');
    expect(s.topics.t!.cleanup).toBe('delete');
    expect(s.topics.raw).toMatchObject({ activeSegmentBase: 0, maxTimestampMs: -1, codec: 'binary', records: 0 });
    log.topic('custom', { codec: { encode: (v: string) => Buffer.from(v), decode: (b: Buffer) => b.toString() } });
    expect(log.stats().topics.custom!.codec).toBe('custom');
  });
});

describe('NODE_DEBUG=seglog', () => {
  test('a child process with NODE_DEBUG=seglog prints roll and recovery events on stderr; without it, nothing', () => {
    const dist = entries[0]!.dist;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-debug-'));
    try {
      // Rolls a topic, then damages its tail so that the next open cuts it.
      const script = `
        const { openLog } = await import(${JSON.stringify(dist)});
        const fs = await import('node:fs');
        const dir = ${JSON.stringify(dir)};
        fs.rmSync(dir, { recursive: true, force: true });
        let log = await openLog(dir);
        const t = log.topic('t', { segmentBytes: 1024 });
        for (let i = 0; i < 30; i++) t.appendSync(Buffer.alloc(100, i));
        await log.close();
        const file = dir + '/t/' + fs.readdirSync(dir + '/t').filter((f) => f.endsWith('.log')).sort().pop();
        fs.appendFileSync(file, Buffer.alloc(7, 1));
        log = await openLog(dir);
        await log.close();
      `;
      const withDebug = childStderr(script, { NODE_DEBUG: 'seglog' });
      expect(withDebug).toMatch(/SEGLOG \d+: roll \{"dir":"[^"]+","topic":"t","oldBase":0,"newBase":\d+,"reason":"bytes"/);
      expect(withDebug).toMatch(/SEGLOG \d+: recovery \{[^\n]*"action":"truncate"[^\n]*"bytes":7/);
      const without = childStderr(script, { NODE_DEBUG: '' });
      expect(without).not.toContain('SEGLOG');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs an ES module script in a child Node process and returns its stderr (throws if it fails). */
function childStderr(script: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return r.stderr;
}
