// Closing and deleting while work is in flight: pending appends and flushes settle, appends made
// during close() are refused, iterators stop with ERR_CLOSED, nothing poisons the log.
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { spawn } from 'node:child_process';
import { ChildLines, harness, withinHangBound } from './helpers.js';

/** 'ok', or the code of the error `p` rejected with. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Descriptors open in this process (Linux). */
function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Reads on from an iterator (at most 100 records); how many it gave and the error code it ended with. */
function readOn(it: Iterator<unknown>): { n: number; code: string | undefined } {
  let n = 0;
  try {
    for (let r = it.next(); !r.done && n < 100; r = it.next()) n++;
  } catch (err) {
    return { n, code: (err as { code?: string }).code };
  }
  return { n, code: undefined };
}

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
    // a child opens a log, appends, lets its 5 ms checkpoint timer fire while something else keeps
    // the process busy (a 40 ms timer: how many checkpoints run in it does not matter), and never
    // closes the log: the process must exit by itself, with no 'error' from any checkpoint
    const dir = h.tmp();
    const code = `const m = await import(${JSON.stringify(h.entry.dist)});
      const log = await m.openLog(${JSON.stringify(dir)}, { durability: 'os', fsyncIntervalMs: 5 });
      log.on('error', (e) => { process.stdout.write('error ' + e.code + '\\n'); process.exitCode = 1; });
      log.topic('t').appendSync(Buffer.from('x'));
      setTimeout(() => process.stdout.write('open ' + log.stats().topics.t.endOffset + '\\n'), 40);`;
    const child = new ChildLines(spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] }));
    h.track(child.child);
    await withinHangBound(child.exit(), 'the process with a log left open exits by itself');
    expect(child.stderr).toBe('');
    expect(child.lines.filter((l) => l !== '')).toEqual(['open 1']);
    expect(child.child.exitCode).toBe(0);
  });

  test.each(['fsync', 'os', 'none'] as const)('deleteTopic while flush() runs (%s): flush settles, the topic is created again empty, and the log reopens with it', async (durability) => {
    for (let round = 0; round < 3; round++) {
      const dir = h.tmp();
      const log = await h.open(dir, { durability });
      log.topic('other').appendSync(Buffer.from('keep me'));
      const t = log.topic('t');
      for (let k = 0; k < 10; k++) t.appendSync(Buffer.from(`x${k}`));
      await new Promise((r) => setImmediate(r));
      const flushing = log.flush();
      await log.deleteTopic('t');
      expect(['ok', 'ERR_CLOSED']).toContain(await codeOf(flushing));
      expect(log.topics().sort()).toEqual(['other']);
      const again = log.topic('t');
      expect(again.endOffset).toBe(0);
      expect(await again.append(Buffer.from('fresh'))).toBe(0);
      await log.close();
      const reopened = await h.open(dir);
      expect(reopened.topics().sort()).toEqual(['other', 't']);
      expect([...reopened.topic('t').read()].map((r) => r.valueBytes!.toString())).toEqual(['fresh']);
      expect(reopened.topic('other').get(0)!.valueBytes!.toString()).toBe('keep me');
      await reopened.close();
    }
  });

  test('appends waiting on the group-commit fsync when deleteTopic runs reject with ERR_CLOSED (not ERR_IO) and the log stays writable', async () => {
    for (let round = 0; round < 5; round++) {
      const log = await h.open(h.tmp(), { durability: 'fsync' });
      const t = log.topic('t');
      await t.append(Buffer.from('first'));
      const pending = Array.from({ length: 5 }, (_, k) => codeOf(t.append(Buffer.from(`v${k}`))));
      await new Promise((r) => setImmediate(r)); // the tick ran: they wait on the fsync
      await log.deleteTopic('t');
      for (const c of await Promise.all(pending)) expect(['ok', 'ERR_CLOSED']).toContain(c);
      expect(await log.topic('other').append(Buffer.from('x'))).toBe(0);
      expect(await log.topic('t').append(Buffer.from('fresh'))).toBe(0);
      await log.close();
    }
  });

  test.each(['fsync', 'os', 'none'] as const)('append and appendSync while close() runs (%s) are refused with ERR_CLOSED, and what was appended before close() is kept', async (durability) => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability });
    const t = log.topic('t');
    await t.append(Buffer.from('a'));
    t.appendSync(Buffer.from('b'));
    const closing = log.close();
    expect(() => t.appendSync(Buffer.from('late sync'))).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(await codeOf(t.append(Buffer.from('late')))).toBe('ERR_CLOSED');
    expect(await codeOf(t.appendBatch([{ value: Buffer.from('late batch') }]))).toBe('ERR_CLOSED');
    await closing;
    const again = await h.open(dir);
    expect([...again.topic('t').read()].map((r) => r.valueBytes!.toString())).toEqual(['a', 'b']);
  });

  /** A log with one topic of ~17 small segments, reopened so that reads go to the files. */
  async function manySegments(dir: string) {
    const w = await h.open(dir);
    const wt = w.topic('t', { segmentBytes: 1024 });
    for (let i = 0; i < 50; i++) wt.appendSync(Buffer.alloc(300, i));
    await w.close();
    const log = await h.open(dir);
    return { log, t: log.topic('t') };
  }

  test('a read() iterator started before close() throws ERR_CLOSED instead of reading on, and opens no descriptor', async () => {
    const { log, t } = await manySegments(h.tmp());
    expect(log.stats().topics.t!.segments).toBeGreaterThan(10);
    const it = t.read()[Symbol.iterator]();
    expect(it.next().value!.offset).toBe(0);
    await log.close();
    const fdsAfterClose = openFds();
    const { n, code } = readOn(it);
    expect(code).toBe('ERR_CLOSED');
    expect(n, 'records read after close()').toBeLessThan(10);
    expect(openFds()).toBeLessThanOrEqual(fdsAfterClose);
  });

  test('a read() iterator started before deleteTopic() throws ERR_CLOSED instead of reading on, and opens no descriptor', async () => {
    const { log, t } = await manySegments(h.tmp());
    const it = t.read()[Symbol.iterator]();
    expect(it.next().value!.offset).toBe(0);
    await log.deleteTopic('t');
    const fdsAfterDelete = openFds();
    const { n, code } = readOn(it);
    expect(code).toBe('ERR_CLOSED');
    expect(n, 'records read after deleteTopic()').toBeLessThan(10);
    expect(openFds()).toBeLessThanOrEqual(fdsAfterDelete);
    expect(log.topics()).toEqual([]);
  });
});
