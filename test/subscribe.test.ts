// topic.subscribe(): tail cursors and consumer groups through the public API — start positions,
// live delivery under every durability mode, delivery only after the write, many subscriptions,
// segment rolls, batches(), Readable.from backpressure, committed positions (autoCommit, manual,
// never backwards, across reopen, removed with the topic), stats, read-only logs, bad options, and
// the gap signal when retention removed a position.
import { describe, expect, test } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fs from 'node:fs';
import path from 'node:path';
import { entries } from './entry.js';
import { expectSeglogError, expectSeglogErrorSync, harness, segmentBases, sleep, truncateBeforeOrSkip, type LogRecord, type Topic } from './helpers.js';

const str = (r: LogRecord<unknown>): string => r.valueBytes!.toString();

/** Takes `n` records from an async iterator (without closing it). */
async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** Resolves when the event loop has turned: the writer's end-of-tick write and wake have run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function fill(t: Topic<Buffer>, from: number, to: number): void {
  for (let i = from; i < to; i++) t.appendSync(Buffer.from(`r${i}`));
}

describe.each(entries)('$name: subscribe', (entry) => {
  const h = harness(entry);

  describe('start positions and live delivery', () => {
    test('yields the existing records from earliest, then new ones as they are appended, in order, once each', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      fill(t, 0, 50);
      const sub = t.subscribe();
      expect(sub.position).toBe(0);
      expect(sub.lag).toBe(50);
      const first = await take(sub, 50);
      expect(first.map((r) => r.offset)).toEqual([...Array(50).keys()]);
      expect(first.map(str)).toEqual([...Array(50).keys()].map((i) => `r${i}`));
      // at the tail: the next record arrives when it is appended
      const waiting = sub.next();
      await turn();
      await t.append(Buffer.from('r50'));
      const next = await waiting;
      expect(next.done).toBe(false);
      expect(next.value!.offset).toBe(50);
      expect(str(next.value!)).toBe('r50');
      // records appended in bursts (appendSync, appendBatch, append) arrive in offset order
      fill(t, 51, 60);
      await t.appendBatch([{ value: Buffer.from('r60') }, { value: Buffer.from('r61') }]);
      const more = await take(sub, 11);
      expect(more.map((r) => r.offset)).toEqual([...Array(11).keys()].map((i) => 51 + i));
      expect(sub.position).toBe(62);
      expect(sub.lag).toBe(0);
      await sub.close();
    });

    test("from: 'latest', an offset, a Date; records are the same zero-copy views as read()", async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) t.appendSync(Buffer.from(`r${i}`), { timestamp: t0 + i * 1000, key: `k${i}`, headers: { h: `v${i}` } });
      const latest = t.subscribe({ from: 'latest' });
      expect(latest.position).toBe(20);
      const atOffset = t.subscribe({ from: 7 });
      const atDate = t.subscribe({ from: new Date(t0 + 12_500) });
      expect(atDate.position).toBe(13);
      const atEnd = t.subscribe({ from: 20 });
      const r7 = (await atOffset.next()).value!;
      const read7 = [...t.read({ from: 7, maxRecords: 1 })][0]!;
      expect({ offset: r7.offset, timestamp: r7.timestamp, key: r7.key?.toString(), h: r7.headers.h?.toString(), v: str(r7) })
        .toEqual({ offset: read7.offset, timestamp: read7.timestamp, key: 'k7', h: 'v7', v: 'r7' });
      expect((await atDate.next()).value!.offset).toBe(13);
      t.appendSync(Buffer.from('r20'));
      expect((await latest.next()).value!.offset).toBe(20);
      expect((await atEnd.next()).value!.offset).toBe(20);
      for (const s of [latest, atOffset, atDate, atEnd]) await s.close();
    });

    test.each(['fsync', 'os', 'none'] as const)("durability '%s': a waiting subscription gets each record, and only after it reached the file", async (durability) => {
      const dir = h.tmp();
      const log = await h.open(dir, { durability });
      const t = log.topic('t');
      const sub = t.subscribe();
      const logFile = path.join(dir, 't', `${'0'.repeat(20)}.log`);
      for (let i = 0; i < 30; i++) {
        const waiting = sub.next();
        if (i % 3 === 0) t.appendSync(Buffer.from(`r${i}`));
        else if (i % 3 === 1) void t.append(Buffer.from(`r${i}`));
        else await t.append(Buffer.from(`r${i}`));
        const r = await waiting;
        expect(r.value!.offset).toBe(i);
        expect(str(r.value!)).toBe(`r${i}`);
        // delivered records were handed to the OS: the file holds them (read it back raw)
        expect(fs.readFileSync(logFile).includes(Buffer.from(`r${i}`))).toBe(true);
      }
      await sub.close();
    });

    test("durability 'none': records appended before the first subscription, and not written yet, are delivered without another append", async () => {
      const log = await h.open(h.tmp(), { durability: 'none' });
      const t = log.topic('t');
      fill(t, 0, 10);
      await turn();
      await turn();
      const sub = t.subscribe();
      expect((await take(sub, 10)).map(str)).toEqual([...Array(10).keys()].map((i) => `r${i}`));
      await sub.close();
    });

    test('a subscription from an offset past the end is ERR_OFFSET_OUT_OF_RANGE; bad options are ERR_INVALID_ARGUMENT naming the value', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      fill(t, 0, 3);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ from: 4 }), 'ERR_OFFSET_OUT_OF_RANGE', [4]);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ from: -1 }), 'ERR_INVALID_ARGUMENT', [-1]);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ from: 1.5 }), 'ERR_INVALID_ARGUMENT', [1.5]);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ from: 'newest' as never }), 'ERR_INVALID_ARGUMENT', ['newest']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ from: new Date(NaN) }), 'ERR_INVALID_ARGUMENT', ['from']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ group: '' }), 'ERR_INVALID_ARGUMENT', ['group']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ group: 'x'.repeat(201) }), 'ERR_INVALID_ARGUMENT', ['group']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ group: 42 as never }), 'ERR_INVALID_ARGUMENT', ['42']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ autoCommit: true }), 'ERR_INVALID_ARGUMENT', ['autoCommit']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ group: 'g', autoCommit: 'yes' as never }), 'ERR_INVALID_ARGUMENT', ['yes']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ maxBuffered: 0 }), 'ERR_INVALID_ARGUMENT', ['maxBuffered']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ maxBuffered: 2.5 }), 'ERR_INVALID_ARGUMENT', ['2.5']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ signal: {} as never }), 'ERR_INVALID_ARGUMENT', ['signal']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ onGap: 'no' as never }), 'ERR_INVALID_ARGUMENT', ['onGap']);
      expectSeglogErrorSync(h.mod, () => t.subscribe({ goup: 'g' } as never), 'ERR_INVALID_ARGUMENT', ['goup']);
      expectSeglogErrorSync(h.mod, () => t.subscribe(null as never), 'ERR_INVALID_ARGUMENT', ['null']);
      // nothing was damaged, no group was created
      expect([...t.read()].map(str)).toEqual(['r0', 'r1', 'r2']);
      expect(log.stats().topics.t!.groups).toEqual({});
    });
  });

  describe('many subscriptions, rolls, batches, streams', () => {
    test('300 subscriptions at different positions each get every record from their start, live and behind', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t', { segmentBytes: 1024 });
      fill(t, 0, 300);
      const subs = Array.from({ length: 300 }, (_, i) => t.subscribe({ from: i }));
      const got: number[][] = subs.map(() => []);
      const consumers = subs.map(async (s, i) => {
        for await (const r of s) {
          got[i]!.push(r.offset);
          if (r.offset === 599) break;
          if (r.offset % (i + 7) === 0) await turn(); // some are slow
        }
      });
      for (let i = 300; i < 600; i += 10) {
        fill(t, i, i + 10);
        await turn();
      }
      await Promise.all(consumers);
      for (let i = 0; i < 300; i++) expect(got[i], `subscription ${i}`).toEqual(Array.from({ length: 600 - i }, (_, k) => i + k));
      expect(segmentBases(log.stats().dir, 't').length).toBeGreaterThan(3);
    });

    test('a subscription follows the log across segment rolls, catching up from files and at the tail', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t', { segmentBytes: 2048 });
      const sub = t.subscribe();
      const got: string[] = [];
      const consumer = (async () => {
        for await (const r of sub) {
          got.push(str(r));
          if (got.length === 2000) break;
        }
      })();
      for (let i = 0; i < 2000; i += 50) {
        if (i % 200 === 0) await t.appendBatch(Array.from({ length: 50 }, (_, k) => ({ value: Buffer.from(`r${i + k}`) })));
        else fill(t, i, i + 50);
        await turn();
      }
      await consumer;
      expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => `r${i}`));
      expect(log.stats().topics.t!.segments).toBeGreaterThan(10);
      // and from the start, all from closed segments
      const late = t.subscribe({ from: 'earliest' });
      expect((await take(late, 2000)).map(str)).toEqual(got);
      await late.close();
    });

    test('batches() yields arrays of at most maxBuffered records, then waits at the tail', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      fill(t, 0, 1000);
      const sub = t.subscribe({ maxBuffered: 64 });
      const batches = sub.batches();
      const sizes: number[] = [];
      const offsets: number[] = [];
      while (offsets.length < 1000) {
        const b = await batches.next();
        sizes.push(b.value!.length);
        for (const r of b.value!) offsets.push(r.offset);
      }
      expect(offsets).toEqual([...Array(1000).keys()]);
      expect(Math.max(...sizes)).toBe(64);
      const waiting = batches.next();
      fill(t, 1000, 1003);
      expect((await waiting).value!.map((r: LogRecord<Buffer>) => r.offset)).toEqual([1000, 1001, 1002]);
      // the record iterator shares the position
      fill(t, 1003, 1004);
      expect((await sub.next()).value!.offset).toBe(1003);
      await batches.return!();
      expect((await sub.next()).done).toBe(true);
    });

    test('Readable.from(sub) keeps backpressure: the subscription reads no further ahead than the stream buffers', async () => {
      const log = await h.open(h.tmp());
      const t = log.topic('t');
      fill(t, 0, 500);
      const sub = t.subscribe();
      const stream = Readable.from(sub, { highWaterMark: 8 });
      let written = 0;
      let maxAhead = 0;
      const slow = new Writable({
        objectMode: true,
        highWaterMark: 2,
        write(record: LogRecord<Buffer>, _enc, done) {
          expect(record.offset).toBe(written);
          written++;
          maxAhead = Math.max(maxAhead, sub.position - written);
          if (written === 500) {
            done();
            stream.destroy(); // ends the subscription through return()
            return;
          }
          setImmediate(done);
        },
      });
      await pipeline(stream, slow).catch((err: Error) => {
        if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
      });
      expect(written).toBe(500);
      // 8 buffered by the Readable, 2 by the Writable, one in flight
      expect(maxAhead).toBeLessThanOrEqual(12);
      await sleep(0);
      expect((await sub.next()).done).toBe(true);
    });
  });

  describe('consumer groups', () => {
    test('a group resumes from its committed position after close and reopen; from is ignored then', async () => {
      const dir = h.tmp();
      let log = await h.open(dir);
      let t = log.topic('t');
      fill(t, 0, 10);
      const sub = t.subscribe({ group: 'mailer' });
      let n = 0;
      for await (const r of sub) {
        expect(r.offset).toBe(n++);
        if (n === 6) break; // break leaves the record in hand (5) unfinished
      }
      expect(log.stats().topics.t!.groups).toEqual({ mailer: { position: 5, lag: 5 } });
      await log.close();
      log = await h.open(dir);
      t = log.topic('t');
      expect(log.stats().topics.t!.groups).toEqual({ mailer: { position: 5, lag: 5 } });
      const again = t.subscribe({ group: 'mailer', from: 'latest' });
      expect(again.position).toBe(5);
      expect((await again.next()).value!.offset).toBe(5);
      // a new group starts at from (earliest by default)
      expect(t.subscribe({ group: 'other', from: 'latest' }).position).toBe(10);
      expect(t.subscribe({ group: 'third' }).position).toBe(0);
    });

    test('autoCommit counts a record as processed when the next is asked for: log.close() mid-record resumes at that record', async () => {
      const dir = h.tmp();
      let log = await h.open(dir);
      let t = log.topic('t');
      fill(t, 0, 10);
      const sub = t.subscribe({ group: 'g' });
      const got = await take(sub, 4); // offsets 0..3; the consumer is "processing" 3
      expect(got.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
      await log.close();
      expect((await sub.next()).done).toBe(true); // ended by log.close()
      log = await h.open(dir);
      t = log.topic('t');
      expect(log.stats().topics.t!.groups.g!.position).toBe(3);
      const resumed = t.subscribe({ group: 'g' });
      expect((await resumed.next()).value!.offset).toBe(3); // seen again, never skipped
    });

    test('manual commit: default is everything yielded; an explicit offset is the next one to read; lower ones are ignored', async () => {
      const dir = h.tmp();
      let log = await h.open(dir);
      let t = log.topic('t');
      fill(t, 0, 20);
      const sub = t.subscribe({ group: 'g', autoCommit: false });
      expect(log.stats().topics.t!.groups).toEqual({});
      await take(sub, 5);
      await sub.commit();
      expect(log.stats().topics.t!.groups.g).toEqual({ position: 5, lag: 15 });
      await sub.commit(12); // ahead of what was yielded is allowed (up to endOffset)
      expect(log.stats().topics.t!.groups.g!.position).toBe(12);
      await sub.commit(2); // backwards: ignored
      await sub.commit();
      expect(log.stats().topics.t!.groups.g!.position).toBe(12);
      await expectSeglogError(h.mod, () => sub.commit(21), 'ERR_INVALID_ARGUMENT', [21]);
      await expectSeglogError(h.mod, () => sub.commit(-3), 'ERR_INVALID_ARGUMENT', [-3]);
      await expectSeglogError(h.mod, () => t.subscribe().commit(), 'ERR_INVALID_ARGUMENT', ['group']);
      await sub.close(); // autoCommit off: close commits nothing
      await log.close();
      await expectSeglogError(h.mod, () => sub.commit(13), 'ERR_CLOSED');
      log = await h.open(dir);
      t = log.topic('t');
      expect(t.subscribe({ group: 'g' }).position).toBe(12);
    });

    test('many commits in one tick, from several subscriptions of one group, keep the largest position', async () => {
      const dir = h.tmp();
      let log = await h.open(dir);
      let t = log.topic('t');
      fill(t, 0, 100);
      const a = t.subscribe({ group: 'g', autoCommit: false });
      const b = t.subscribe({ group: 'g', autoCommit: false });
      await Promise.all([a.commit(40), b.commit(30), a.commit(70), b.commit(50), a.commit(60)]);
      expect(log.stats().topics.t!.groups.g!.position).toBe(70);
      await log.close();
      log = await h.open(dir);
      t = log.topic('t');
      expect(log.stats().topics.t!.groups).toEqual({ g: { position: 70, lag: 30 } });
    });

    test('a new autoCommit group records its start at once, so a restart before any record resumes there', async () => {
      const dir = h.tmp();
      let log = await h.open(dir);
      let t = log.topic('t');
      fill(t, 0, 5);
      t.subscribe({ group: 'late', from: 'latest' });
      await turn();
      fill(t, 5, 8);
      await log.close();
      log = await h.open(dir);
      t = log.topic('t');
      const sub = t.subscribe({ group: 'late', from: 'latest' });
      expect((await take(sub, 3)).map((r) => r.offset)).toEqual([5, 6, 7]);
    });

    test('deleteTopic removes its groups: a topic created again under the name starts without them', async () => {
      const dir = h.tmp();
      let log = await h.open(dir);
      let t = log.topic('t');
      fill(t, 0, 10);
      const sub = t.subscribe({ group: 'g' });
      await take(sub, 10);
      await sub.commit();
      const waiting = sub.next();
      await turn();
      await log.deleteTopic('t');
      expect((await waiting).done).toBe(true);
      t = log.topic('t');
      expect(log.stats().topics.t!.groups).toEqual({});
      fill(t, 0, 2);
      await log.close();
      log = await h.open(dir);
      expect(log.stats().topics.t!.groups).toEqual({});
      expect(log.topic('t').subscribe({ group: 'g' }).position).toBe(0);
    });

    test('a read-only log delivers to group subscriptions from the committed position but cannot commit', async () => {
      const dir = h.tmp();
      const log = await h.open(dir);
      const t = log.topic('t');
      fill(t, 0, 10);
      await t.subscribe({ group: 'g', autoCommit: false }).commit(4);
      await log.close();
      const ro = await h.open(dir, { readOnly: true });
      const rt = ro.topic('t');
      const sub = rt.subscribe({ group: 'g' });
      expect((await take(sub, 6)).map((r) => r.offset)).toEqual([4, 5, 6, 7, 8, 9]);
      await expectSeglogError(h.mod, () => sub.commit(), 'ERR_READ_ONLY');
      expectSeglogErrorSync(h.mod, () => rt.subscribe({ group: 'g', autoCommit: true }), 'ERR_READ_ONLY');
      await sub.close();
      expect(ro.stats().topics.t!.groups.g!.position).toBe(4);
    });
  });

  describe('retention under a subscription', () => {
    test('a position removed by truncateBefore continues at startOffset and is reported to onGap', async ({ skip }) => {
      const log = await h.open(h.tmp());
      const t = log.topic('t', { segmentBytes: 2048 });
      fill(t, 0, 400);
      const gaps: Array<{ from: number; to: number }> = [];
      const sub = t.subscribe({ group: 'g', onGap: (g) => gaps.push(g) });
      expect((await take(sub, 10)).map((r) => r.offset)).toEqual([...Array(10).keys()]);
      await truncateBeforeOrSkip(t, 300, skip);
      const after = await take(sub, 100);
      // records already read ahead may not be handed out past the truncation point either
      expect(after[0]!.offset).toBe(300);
      expect(after.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => 300 + i));
      expect(gaps).toEqual([{ from: 10, to: 300 }]);
      // a group whose committed position was removed starts at startOffset too
      await sub.close();
      const late = t.subscribe({ group: 'stale', autoCommit: false, from: 0, onGap: (g) => gaps.push(g) });
      expect((await late.next()).value!.offset).toBe(300);
      expect(gaps[1]).toEqual({ from: 0, to: 300 });
    });
  });
});
