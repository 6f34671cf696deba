// What a group subscription commits (SPEC: autoCommit): the record in hand is committed only by
// asking for the next one or by commit(); break, return, a throw out of for await, close() and the
// signal commit only what came before it, so a job whose handler failed is delivered again. Records
// a stream read ahead and its sink did not finish are never committed with the documented stream
// pattern (docs/subscriptions.md, "Node streams").
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, type Log } from './helpers.js';

describe.each(entries)('$name: what a group subscription commits', (entry) => {
  const h = harness(entry);

  async function jobs(n: number): Promise<{ log: Log; dir: string }> {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('jobs', { codec: 'json' });
    for (let i = 0; i < n; i++) t.appendSync({ job: i } as never);
    return { log, dir };
  }

  async function resumesAt(log: Log, dir: string): Promise<number> {
    await log.close();
    const again = await h.open(dir);
    const sub = again.topic('jobs', { codec: 'json' }).subscribe({ group: 'worker' });
    const first = (await sub.next()).value!.offset;
    await sub.close();
    return first;
  }

  test('a throw out of for await leaves the record in hand unfinished: it is delivered again after a reopen', async () => {
    const { log, dir } = await jobs(6);
    const t = log.topic('jobs', { codec: 'json' });
    await expect((async () => {
      for await (const r of t.subscribe({ group: 'worker' })) {
        if ((r.value as unknown as { job: number }).job === 3) throw new Error('SMTP down');
      }
    })()).rejects.toThrow('SMTP down');
    expect(log.stats().topics.jobs!.groups.worker!.position).toBe(3);
    expect(await resumesAt(log, dir)).toBe(3);
  });

  test('a throw out of a batches() loop leaves the whole batch in hand unfinished', async () => {
    const { log, dir } = await jobs(10);
    const t = log.topic('jobs', { codec: 'json' });
    const seen: number[] = [];
    await expect((async () => {
      for await (const batch of t.subscribe({ group: 'worker', maxBuffered: 4 }).batches()) {
        seen.push(batch[0]!.offset);
        if (batch[0]!.offset === 4) throw new Error('failed');
      }
    })()).rejects.toThrow('failed');
    expect(seen).toEqual([0, 4]);
    expect(await resumesAt(log, dir)).toBe(4);
  });

  test('close() and the signal commit only what came before the record in hand; a later next() commits nothing', async () => {
    const { log } = await jobs(10);
    const t = log.topic('jobs', { codec: 'json' });
    const a = t.subscribe({ group: 'a' });
    for (let i = 0; i < 3; i++) await a.next(); // holds 2
    await a.close();
    expect((await a.next()).done).toBe(true);
    const ac = new AbortController();
    const b = t.subscribe({ group: 'b', signal: ac.signal });
    for (let i = 0; i < 5; i++) await b.next(); // holds 4
    ac.abort();
    expect((await b.next()).done).toBe(true);
    await log.flush();
    expect(log.stats().topics.jobs!.groups).toMatchObject({ a: { position: 2 }, b: { position: 4 } });
  });

  test('commit() inside the loop covers the record in hand; break after it keeps that commit', async () => {
    const { log, dir } = await jobs(10);
    const t = log.topic('jobs', { codec: 'json' });
    const sub = t.subscribe({ group: 'worker' });
    for await (const r of sub) {
      if (r.offset === 5) {
        await sub.commit();
        break;
      }
    }
    expect(await resumesAt(log, dir)).toBe(6);
  });

  test('streams: with the documented pattern a sink that fails on job 1 leaves the group at 1, whatever was read ahead', async () => {
    const { log, dir } = await jobs(20);
    const t = log.topic('jobs', { codec: 'json' });
    const sub = t.subscribe({ group: 'worker', autoCommit: false });
    let readAhead = 0;
    const source = Readable.from(sub, { highWaterMark: 8 });
    source.on('data', () => readAhead++);
    const sink = new Writable({
      objectMode: true,
      highWaterMark: 4,
      write(r: { offset: number; value: { job: number } }, _enc, done) {
        setImmediate(() => {
          if (r.value.job === 1) return done(new Error('sink failed'));
          // the record is finished: commit it (the position is the next offset to read)
          sub.commit(r.offset + 1).then(() => done(), done);
        });
      },
    });
    await expect(pipeline(source, sink)).rejects.toThrow('sink failed');
    expect(readAhead).toBeGreaterThan(2); // the stream had read records 2.. ahead of the sink
    expect(log.stats().topics.jobs!.groups.worker!.position).toBe(1);
    expect(await resumesAt(log, dir)).toBe(1);
  });

  // A sink that fails on job `failAt` after finishing (and, with `commitInSink`, committing) the jobs before it.
  function failingSink(failAt: number, sub?: { commit(offset?: number): Promise<void> }): Writable {
    return new Writable({
      objectMode: true,
      highWaterMark: 4,
      write(r: { offset: number; value: { job: number } }, _enc, done) {
        setImmediate(() => {
          if (r.value.job === failAt) return done(new Error('sink failed'));
          if (sub === undefined) return done();
          sub.commit(r.offset + 1).then(() => done(), done);
        });
      },
    });
  }

  test('streams with the default autoCommit: Readable.from(sub) into a sink that fails on job 1 commits nothing the sink did not finish', async () => {
    const { log, dir } = await jobs(20);
    const t = log.topic('jobs', { codec: 'json' });
    const sub = t.subscribe({ group: 'worker' });
    let readAhead = 0;
    const source = Readable.from(sub);
    source.on('data', () => readAhead++);
    await expect(pipeline(source, failingSink(1))).rejects.toThrow('sink failed');
    expect(readAhead).toBeGreaterThan(2); // the sink's buffer had taken records 2.. from the stream
    // the library cannot see which records the sink finished: none is committed by reading on
    expect(log.stats().topics.jobs!.groups.worker!.position).toBeLessThanOrEqual(1);
    expect(await resumesAt(log, dir)).toBeLessThanOrEqual(1);
  });

  test('streams with the default autoCommit: pipeline(sub, sink) and Readable.from(sub.batches()) commit nothing the sink did not finish either', async () => {
    const { log, dir } = await jobs(20);
    const t = log.topic('jobs', { codec: 'json' });
    await expect(pipeline(t.subscribe({ group: 'worker' }), failingSink(1))).rejects.toThrow('sink failed');
    expect(log.stats().topics.jobs!.groups.worker!.position).toBeLessThanOrEqual(1);
    const batches = t.subscribe({ group: 'batches', maxBuffered: 3 }).batches();
    const sink = new Writable({
      objectMode: true,
      write(batch: Array<{ offset: number }>, _enc, done) {
        setImmediate(() => done(batch[0]!.offset >= 3 ? new Error('sink failed') : undefined));
      },
    });
    await expect(pipeline(Readable.from(batches), sink)).rejects.toThrow('sink failed');
    expect(log.stats().topics.jobs!.groups.batches!.position).toBeLessThanOrEqual(3);
    expect(await resumesAt(log, dir)).toBeLessThanOrEqual(1);
  });

  test('streams with the default autoCommit: a sink that commits what it finished moves the group exactly that far', async () => {
    const { log, dir } = await jobs(20);
    const t = log.topic('jobs', { codec: 'json' });
    const sub = t.subscribe({ group: 'worker' });
    await expect(pipeline(Readable.from(sub), failingSink(7, sub))).rejects.toThrow('sink failed');
    expect(log.stats().topics.jobs!.groups.worker!.position).toBe(7);
    expect(await resumesAt(log, dir)).toBe(7);
  });

  test('streams with the default autoCommit: members of one group read through streams never commit what a failed sink held', async () => {
    const { log, dir } = await jobs(40);
    const t = log.topic('jobs', { codec: 'json' });
    const subs = [t.subscribe({ group: 'worker' }), t.subscribe({ group: 'worker' })];
    const failedAt: number[] = [];
    const runs = subs.map((sub) => pipeline(Readable.from(sub), new Writable({
      objectMode: true,
      highWaterMark: 4,
      write(r: { offset: number }, _enc, done) {
        setImmediate(() => {
          if (r.offset >= 5) {
            failedAt.push(r.offset);
            return done(new Error('sink failed'));
          }
          sub.commit(r.offset + 1).then(() => done(), done);
        });
      },
    })).finally(() => Promise.all(subs.map((s) => s.close())))); // (the other member's stream ends too)
    await Promise.allSettled(runs);
    expect(failedAt.length).toBeGreaterThan(0);
    // everything below 5 was finished and committed; nothing a failed sink held is
    expect(log.stats().topics.jobs!.groups.worker!.position).toBeLessThanOrEqual(Math.min(...failedAt));
    expect(await resumesAt(log, dir)).toBeLessThanOrEqual(Math.min(...failedAt));
  });

  test('for await over the subscription itself still commits by asking for more (only streams are told apart)', async () => {
    const { log, dir } = await jobs(10);
    const t = log.topic('jobs', { codec: 'json' });
    for await (const r of t.subscribe({ group: 'worker' })) if (r.offset === 6) break;
    expect(await resumesAt(log, dir)).toBe(6);
  });
});
