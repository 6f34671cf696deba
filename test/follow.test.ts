// Followers that follow (SPEC "Range reads, followers, backups and streams"): a log opened with
// { readOnly: true, follow: true } picks up by itself what a writer in another process appends,
// rolls, expires, compacts and deletes, and the topics it creates; subscriptions on it wake without any
// refresh() call (a topic the writer deletes ends them, as deleteTopic() does in-process). Also:
// the fallback poll delivers where the file system gives no watch events, a background refresh
// that fails is reported on 'error' while the other topics go on, close() stops every watch and
// timer (and the process exits by itself), and the options are checked.
// Every wait is for an event, bounded by HANG_MS; nothing measures time.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';
import { entries } from './entry.js';
import {
  ChildLines, FIXTURES, expectSeglogError, expectSeglogErrorSync, harness, pad20, segmentBases, spawnFixture,
  waitUntil, withinHangBound, type Harness, type Log,
} from './helpers.js';

const metas = { 'seglog': lmdbMetaStore, 'seglog/native-free': fileMetaStore } as const;
const names = (topic: string, from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `${topic}-${from + i}`);

/** The writer child (fixtures/follow-writer.mjs): `send` runs one command and waits for its "ok". */
async function startWriter(h: Harness, dir: string): Promise<{ send(cmd: string): Promise<void>; lines: ChildLines }> {
  const child = spawn(process.execPath, [path.join(FIXTURES, 'follow-writer.mjs'), h.entry.dist, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  h.track(child);
  const lines = new ChildLines(child);
  await lines.waitFor((l) => l === 'ready');
  return {
    lines,
    async send(cmd: string) {
      child.stdin!.write(`${cmd}\n`);
      await lines.waitFor((l) => l === `ok ${cmd}`);
    },
  };
}

/** The next `n` values of an async iterator of records, as strings. */
async function take(it: AsyncIterator<{ valueBytes: Buffer | null }>, n: number, what: string): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const r = await withinHangBound(it.next(), `${what} (after ${out.length} of ${n})`);
    if (r.done) throw new Error(`${what}: the subscription ended after ${out.length} of ${n}`);
    out.push(r.value.valueBytes!.toString());
  }
  return out;
}

describe.each(entries)('$name: following read-only log', (entry) => {
  const h = harness(entry);
  const meta = metas[entry.name as keyof typeof metas];

  test('a subscription on a following log gets what a writer process appends, across rolls, without refresh()', async () => {
    const dir = h.tmp();
    const writer = await startWriter(h, dir);
    await writer.send('append feed 0 5');
    const ro = await h.open(dir, { readOnly: true, follow: true });
    const feed = ro.topic('feed');
    const fromStart = feed.subscribe({ from: 0 })[Symbol.asyncIterator]();
    const atTail = feed.subscribe({ from: 'latest' })[Symbol.asyncIterator]();
    expect(await take(fromStart, 5, 'the records there at the open')).toEqual(names('feed', 0, 5));
    const pendingTail = take(atTail, 300, 'a subscription waiting at the tail');
    const pendingStart = take(fromStart, 300, 'a subscription that caught up');
    await writer.send('append feed 5 300');
    expect(await pendingTail).toEqual(names('feed', 5, 305));
    expect(await pendingStart).toEqual(names('feed', 5, 305));
    expect(segmentBases(dir, 'feed').length).toBeGreaterThan(5); // it rolled many times meanwhile
    expect(feed.endOffset).toBe(305);
    // reads see the same (the read path was refreshed, not only the subscriptions)
    expect([...feed.read({ reverse: true, maxRecords: 2 })].map((r) => r.valueBytes!.toString())).toEqual(['feed-304', 'feed-303']);
    await writer.send('close');
  });

  test('topics the writer creates after the open appear, retention moves startOffset, and a deleted topic ends its subscriptions and reads', async () => {
    const dir = h.tmp();
    const writer = await startWriter(h, dir);
    await writer.send('append feed 0 300');
    const ro = await h.open(dir, { readOnly: true, follow: true });
    expect(ro.topics()).toEqual(['feed']);
    await writer.send('append later 0 20');
    await waitUntil(() => ro.topics().includes('later'), 'the new topic appears');
    const later = ro.topic('later').subscribe({ from: 0 })[Symbol.asyncIterator]();
    const laterAll = take(later, 40, 'the new topic');
    await writer.send('append later 20 20');
    expect(await laterAll).toEqual(names('later', 0, 40));

    const feed = ro.topic('feed');
    const cut = segmentBases(dir, 'feed')[3]!;
    await writer.send(`truncate feed ${cut}`);
    await waitUntil(() => feed.startOffset === cut, 'startOffset follows the writer\'s truncateBefore');
    expect([...feed.read()][0]!.offset).toBe(cut);

    const waiting = feed.subscribe({ from: 'latest' })[Symbol.asyncIterator]();
    const ended = waiting.next();
    await writer.send('delete feed');
    // as deleteTopic() in the writer's own process: a pending next() settles with done
    expect((await withinHangBound(ended, 'the subscription of a deleted topic ends')).done).toBe(true);
    expect(ro.topics()).toEqual(['later']);
    expectSeglogErrorSync(h.mod, () => feed.get(cut), 'ERR_CLOSED', ['feed']);
    await writer.send('close');
  });

  test('the writer\'s compaction is picked up by itself: reads on the follower see the compacted segments', async () => {
    const dir = h.tmp();
    const writerLog = await h.open(dir, { durability: 'os' });
    const w = writerLog.topic<string>('c', { cleanup: 'compact', codec: 'string', segmentBytes: 1024 });
    for (let i = 0; i < 400; i++) w.appendSync(`v${i}`, { key: `k${i % 10}` });
    await writerLog.flush();
    const ro = await h.open(dir, { readOnly: true, follow: true });
    const r = ro.topic<string>('c', { codec: 'string' });
    expect([...r.read()]).toHaveLength(400);
    const result = await w.compact();
    expect(result.recordsAfter).toBeLessThan(400);
    const survivors = [...w.read()].map((x) => x.offset);
    await waitUntil(() => {
      const seen = [...r.read()].map((x) => x.offset);
      return seen.length === survivors.length && seen.every((o, i) => o === survivors[i]);
    }, 'the follower reads what compaction left');
    expect([...r.read({ reverse: true, maxRecords: 3 })].map((x) => x.value)).toEqual(['v399', 'v398', 'v397']);
  });

  test('where the file system gives no watch events, the poll still delivers (every followPollMs)', async () => {
    const dir = h.tmp();
    const writerLog = await h.open(dir, { durability: 'os' });
    const w = writerLog.topic('t');
    await w.append(Buffer.from('first'));
    const io: FileIO = { ...nodeFileIO, watch: undefined };
    const ro = await openLogWith({ meta, io }, dir, { readOnly: true, follow: true, followPollMs: 20 });
    try {
      const it = ro.topic('t').subscribe({ from: 0 })[Symbol.asyncIterator]();
      expect(await take(it, 1, 'the first record')).toEqual(['first']);
      const rest = take(it, 50, 'records seen by the poll alone');
      for (let i = 0; i < 50; i++) await w.append(Buffer.from(`r${i}`));
      expect(await rest).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
    } finally {
      await ro.close();
    }
  });

  test('close() stops every watch and the poll timer; a following process exits by itself once closed', async () => {
    const dir = h.tmp();
    const writerLog = await h.open(dir, { durability: 'os' });
    const w = writerLog.topic('feed');
    for (let i = 0; i < 3; i++) await w.append(Buffer.from(`v${i}`));
    writerLog.topic('other').appendSync(Buffer.from('x'));
    await writerLog.flush();
    let open = 0;
    let made = 0;
    const io: FileIO = {
      ...nodeFileIO,
      watch(p, onChange) {
        const inner = nodeFileIO.watch!(p, onChange);
        if (inner === undefined) return undefined;
        made++;
        open++;
        let closed = false;
        return { close() { if (!closed) { closed = true; open--; } inner.close(); } };
      },
    };
    // Fake intervals (only those) from before the open to after the close: the poll timer is one.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const timersBefore = vi.getTimerCount();
      const ro = await openLogWith({ meta, io }, dir, { readOnly: true, follow: true });
      expect(vi.getTimerCount()).toBeGreaterThan(timersBefore); // the poll (the check can see it)
      expect(made).toBe(3); // the log folder and both topics
      expect(open).toBe(3);
      await ro.close();
      expect(vi.getTimerCount()).toBe(timersBefore);
    } finally {
      vi.useRealTimers();
    }
    expect(open).toBe(0);

    // In a process of its own: a subscription on a following log takes a record nobody refreshed
    // for, closes, and the process ends with nothing left keeping it alive.
    const child = spawnFixture(h, 'follow-exit.mjs', [entry.dist, dir, '3']);
    await child.waitFor((l) => l === 'waiting');
    await w.append(Buffer.from('from the writer'));
    await child.waitFor((l) => l === 'got from the writer');
    await child.waitFor((l) => l === 'closed');
    await withinHangBound(child.exit(), 'the follower process exits by itself');
    expect(child.child.exitCode, child.stderr).toBe(0);
  });

  test('a background refresh that fails is reported once on \'error\'; the other topics keep following', async () => {
    const dir = h.tmp();
    const writerLog = await h.open(dir, { durability: 'os' });
    const a = writerLog.topic('a');
    const b = writerLog.topic('b');
    a.appendSync(Buffer.from('a0'));
    b.appendSync(Buffer.from('b0'));
    await writerLog.flush();
    let looksAtA = 0;
    const io: FileIO = { ...nodeFileIO, readdir: (p) => { if (p === path.join(dir, 'a')) looksAtA++; return nodeFileIO.readdir(p); } };
    const ro = await openLogWith({ meta, io }, dir, { readOnly: true, follow: true, followPollMs: 10 });
    const errors: Array<{ code: string; message: string }> = [];
    ro.on('error', (err) => errors.push(err));
    // A segment that does not continue the topic: refresh of 'a' is ERR_CORRUPT from now on.
    fs.writeFileSync(path.join(dir, 'a', `${pad20(1000)}.log`), Buffer.alloc(0));
    await waitUntil(() => errors.length > 0, 'the damage is reported');
    expect(errors[0]!.code).toBe('ERR_CORRUPT');
    expect(errors[0]!.message).toContain(pad20(1000));
    const it = ro.topic('b').subscribe({ from: 0 })[Symbol.asyncIterator]();
    const got = take(it, 3, 'the healthy topic');
    b.appendSync(Buffer.from('b1'));
    b.appendSync(Buffer.from('b2'));
    expect(await got).toEqual(['b0', 'b1', 'b2']);
    // looked at again and again, the same damage is reported once
    const looked = looksAtA;
    await waitUntil(() => looksAtA >= looked + 5, 'more polls of a');
    expect(errors.length).toBe(1);
    expect(ro.topic('a').get(0)!.valueBytes!.toString()).toBe('a0');
    await ro.close();
  });

  test('bad follow options are ERR_INVALID_ARGUMENT naming the option, before anything is opened', async () => {
    const dir = h.tmp();
    const writerLog = await h.open(dir);
    await writerLog.topic('t').append(Buffer.from('kept'));
    await expectSeglogError(h.mod, () => h.mod.openLog(dir, { follow: true }), 'ERR_INVALID_ARGUMENT', ['follow', 'readOnly']);
    await expectSeglogError(h.mod, () => h.mod.openLog(dir, { readOnly: true, follow: 'yes' as never }), 'ERR_INVALID_ARGUMENT', ['follow', 'yes']);
    await expectSeglogError(h.mod, () => h.mod.openLog(dir, { readOnly: true, follow: true, followPollMs: 0 }), 'ERR_INVALID_ARGUMENT', ['followPollMs', '0']);
    await expectSeglogError(h.mod, () => h.mod.openLog(dir, { readOnly: true, followPollMs: 50 }), 'ERR_INVALID_ARGUMENT', ['followPollMs', 'follow']);
    const ro = await h.open(dir, { readOnly: true, follow: true });
    expect(ro.topic('t').get(0)!.valueBytes!.toString()).toBe('kept');
    expectSeglogErrorSync(h.mod, () => ro.topic('t').appendSync(Buffer.from('no')), 'ERR_READ_ONLY');
  });
});
