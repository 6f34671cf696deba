// Fan-out: many subscriptions following one topic share the records they read (src/fan-out.ts).
// Subscriptions positioned together receive the same LogRecord objects (decoded once), each
// record once and in order; codecs whose values a consumer could change (json) are not shared;
// records are read-only (frozen headers) and stay valid however much is appended after them; a
// subscription behind the others reads on its own and joins them; a stalled one does not make the
// shared records grow without bound; a failed write is never delivered to any of them; and
// random mixes of positions, batch sizes and large ticks agree with an array.
import { describe, expect, test } from 'vitest';
import v8 from 'node:v8';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { entries } from './entry.js';
import { collect, harness, Rng, type LogRecord, type Topic } from './helpers.js';
import { openLogWith } from '../src/log.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import type { MetaStoreFactory } from '../src/store/meta-store.js';
import { faultyIO, type FaultPlan } from './faults/faulty-io.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 1 << 20;

/** Resolves when the event loop has turned: the writer's end-of-tick write and wake have run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function heapAndBuffers(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.arrayBuffers + m.heapUsed;
}

/**
 * Follows `t` from `from` with batches() until it has `n` records, keeping every record; the
 * subscription stays open (log.close() ends it).
 */
function follow<V>(t: Topic<V>, from: number, n: number, maxBuffered = 4096): { records: Array<LogRecord<V>>; done: Promise<void> } {
  const records: Array<LogRecord<V>> = [];
  const batches = t.subscribe({ from, maxBuffered }).batches();
  const done = (async () => {
    while (records.length < n) {
      const { value: batch, done: ended } = await batches.next();
      if (ended) throw new Error(`subscription ended after ${records.length} records`);
      expect(batch.length).toBeLessThanOrEqual(maxBuffered);
      for (const r of batch) records.push(r);
    }
  })();
  return { records, done };
}

describe.each(entries)('$name: subscription fan-out', (entry) => {
  const h = harness(entry);

  test('8 subscriptions following live get every record once, in order, as the same LogRecord objects, across segment rolls', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 16 * 1024 });
    const n = 5000;
    const subs = Array.from({ length: 8 }, (_, i) => follow(t, 0, n, i % 2 === 0 ? 4096 : 37));
    for (let i = 0; i < n; i++) {
      t.appendSync(Buffer.from(`v${i}`));
      if (i % 250 === 249) await turn();
    }
    await Promise.all(subs.map((s) => s.done));
    for (const s of subs) {
      expect(s.records.map((r) => r.offset)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(s.records.every((r, i) => r.valueBytes!.toString() === `v${i}`)).toBe(true);
    }
    // decoded once: whatever their batch sizes, all eight hold the very same view of each record
    for (let i = 0; i < n; i++) expect(new Set(subs.map((s) => s.records[i])).size).toBe(1);
    await log.close();
  });

  test('with the json codec each subscription decodes its own values: a change made by one consumer is not seen by another', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic<{ n: number; seen?: string }>('j', { codec: 'json' });
    const a = t.subscribe();
    const b = t.subscribe();
    const n = 50;
    for (let i = 0; i < n; i++) t.appendSync({ n: i });
    await turn();
    const fromA = (await a.batches().next()).value!;
    for (const r of fromA) r.value!.seen = 'a';
    const fromB: Array<LogRecord<{ n: number; seen?: string }>> = [];
    while (fromB.length < n) fromB.push((await b.next()).value as LogRecord<{ n: number; seen?: string }>);
    expect(fromA.length).toBe(n);
    for (let i = 0; i < n; i++) {
      expect(fromB[i]).not.toBe(fromA[i]);
      expect(fromB[i]!.value).toEqual({ n: i });
    }
    await a.close();
    await b.close();
    await log.close();
  });

  test('records are read-only: headers are frozen (one frozen {} when there are none), from read() and from shared subscriptions', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic('t');
    const s1 = t.subscribe();
    const s2 = t.subscribe();
    t.appendSync(Buffer.from('x'), { headers: { h: 'v' } });
    t.appendSync(Buffer.from('y'));
    await turn();
    const got = [(await s1.next()).value!, (await s1.next()).value!];
    expect((await s2.next()).value).toBe(got[0]);
    for (const r of [...got, ...t.read()]) {
      expect(Object.isFrozen(r.headers)).toBe(true);
      expect(() => { (r.headers as Record<string, Buffer>).h = Buffer.from('changed'); }).toThrow(TypeError);
    }
    expect(got[0]!.headers.h!.toString()).toBe('v');
    expect(got[1]!.headers).toEqual({});
    // key, valueBytes and value are built once per record and kept
    expect(got[0]!.valueBytes).toBe(got[0]!.valueBytes);
    expect(got[0]!.value).toBe(got[0]!.valueBytes); // (binary: the value is the bytes)
    await s1.close();
    await s2.close();
    await log.close();
  });

  test('shared records stay valid however much is appended after them, across rolls and reads from the files', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 64 * 1024 });
    const n = 20_000;
    const subs = [follow(t, 0, n, 500), follow(t, 0, n, 64), follow(t, 0, n, 2000)];
    for (let i = 0; i < n; i++) {
      t.appendSync(Buffer.from(`value-${i}-${'z'.repeat(i % 50)}`));
      if (i % 1000 === 999) await turn();
    }
    await Promise.all(subs.map((s) => s.done));
    // a late subscription reads the same offsets from the segment files
    const late = follow(t, 0, n, 3000);
    await late.done;
    for (const s of [...subs, late]) {
      for (let i = 0; i < n; i++) {
        const r = s.records[i]!;
        expect(r.offset).toBe(i);
        expect(r.valueBytes!.toString()).toBe(`value-${i}-${'z'.repeat(i % 50)}`);
      }
    }
    await log.close();
  });

  test('a subscription far behind reads on its own, then joins the others at the tail and shares their records', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 32 * 1024 });
    for (let i = 0; i < 10_000; i++) t.appendSync(Buffer.from(`old${i}`));
    await turn();
    const total = 12_000;
    const front = follow(t, 10_000, total - 10_000, 100);
    const behind = follow(t, 0, total, 50);
    for (let i = 10_000; i < total; i++) {
      t.appendSync(Buffer.from(`new${i}`));
      if (i % 100 === 99) await turn();
    }
    await Promise.all([front.done, behind.done]);
    expect(behind.records.map((r) => r.offset)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(front.records.map((r) => r.offset)).toEqual(Array.from({ length: total - 10_000 }, (_, i) => 10_000 + i));
    expect(behind.records.every((r, i) => r.valueBytes!.toString() === (i < 10_000 ? `old${i}` : `new${i}`))).toBe(true);
    // the last records appended reached both at the tail: the same objects
    for (let i = total - 100; i < total; i++) expect(behind.records[i]).toBe(front.records[i - 10_000]);
    await log.close();
  });

  test('a stalled subscription does not make the shared records grow: 96 MiB go by a fast one within a few MiB, then the stalled one reads them all', async () => {
    const log = await h.open(h.tmp(), { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 16 * MiB });
    const value = Buffer.alloc(1000, 7);
    const stalled = t.subscribe({ maxBuffered: 1000 });
    const fast = t.subscribe({ maxBuffered: 1000 });
    const fastBatches = fast.batches();
    await turn();
    const base = heapAndBuffers();
    let peak = 0;
    let consumed = 0;
    const perTurn = 1024; // 1 MiB a turn
    for (let step = 0; step < 96; step++) {
      for (let i = 0; i < perTurn; i++) t.appendSync(value);
      await turn();
      while (consumed < (step + 1) * perTurn) {
        const b = (await fastBatches.next()).value!;
        expect(b[0]!.offset).toBe(consumed);
        consumed += b.length;
      }
      if (step % 8 === 7) peak = Math.max(peak, heapAndBuffers() - base);
    }
    expect(consumed).toBe(96 * perTurn);
    // the writer's tail chunks, the shared records (at most WINDOW_BYTES_MAX) and their buffers
    expect(peak).toBeLessThan(24 * MiB);
    let got = 0;
    for await (const b of stalled.batches()) {
      for (const r of b) expect(r.offset).toBe(got++);
      if (got === 96 * perTurn) break;
    }
    await fast.close();
    await log.close();
  });

  test.each([1, 2, 3])('seed %i: random positions, batch sizes, waits and ticks far larger than the shared window agree with an array', async (seed) => {
    const rng = new Rng(seed);
    const log = await h.open(h.tmp(), { durability: rng.pick(['os', 'none', 'fsync'] as const) });
    const codec = rng.bool() ? 'string' as const : 'binary' as const;
    const t = log.topic<unknown>('m', { codec, segmentBytes: 256 * 1024 });
    const model: string[] = [];
    const valueOf = (o: number): string => `m${o}-${seed}`;
    const encode = (o: number): unknown => (codec === 'string' ? valueOf(o) : Buffer.from(valueOf(o)));
    const append = (count: number): void => {
      const first = model.length;
      for (let i = 0; i < count; i++) model.push(valueOf(first + i));
      if (count > 1 && rng.bool()) {
        void t.appendBatch(Array.from({ length: count }, (_, i) => ({ value: encode(first + i) })));
      } else {
        for (let i = 0; i < count; i++) t.appendSync(encode(first + i));
      }
    };
    append(0);
    const consumers: Array<{ start: number; got: number[]; bad: number; done: Promise<void>; stop: boolean }> = [];
    const total = 60_000;
    for (let k = 0; k < 8; k++) {
      const start = rng.int(0, model.length);
      const crng = new Rng(seed * 100 + k);
      const c = { start, got: [] as number[], bad: 0, done: Promise.resolve(), stop: false };
      const sub = t.subscribe({ from: start, maxBuffered: crng.pick([1, 7, 500, 20_000, 100_000]) });
      const check = (r: LogRecord<unknown>): void => {
        c.got.push(r.offset);
        const v = typeof r.value === 'string' ? r.value : (r.value as Buffer).toString();
        if (v !== model[r.offset]) c.bad++;
      };
      c.done = (async () => {
        const useBatches = crng.bool();
        if (useBatches) {
          for await (const b of sub.batches()) {
            for (const r of b) check(r);
            if (c.got.length >= total - start) break;
            if (crng.bool(0.2)) await turn();
          }
        } else {
          for await (const r of sub) {
            check(r);
            if (c.got.length >= total - start) break;
            if (crng.bool(0.01)) await turn();
          }
        }
      })();
      consumers.push(c);
      append(rng.int(0, 300));
      await turn();
    }
    while (model.length < total) {
      // some ticks far larger than the window (WINDOW_RECORDS_MAX), most small
      append(Math.min(total - model.length, rng.bool(0.1) ? rng.int(10_000, 40_000) : rng.int(1, 500)));
      await turn();
    }
    await Promise.all(consumers.map((c) => c.done));
    for (const c of consumers) {
      expect(c.bad).toBe(0);
      expect(c.got.length).toBe(total - c.start);
      expect(c.got.every((o, i) => o === c.start + i)).toBe(true);
    }
    await log.close();
  });
});

const wirings: Array<[string, MetaStoreFactory]> = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]];

describe.each(wirings)('%s: fan-out and failed writes', (_name, meta) => {
  // (Before issue 11 the failed appendSync records were taken back and their offsets given to b2,
  // b3: SPEC forbids that. They are kept and delivered once written.)
  test.each(['fsync', 'os', 'none'] as const)("durability '%s': no subscription of several gets a record before its write succeeded; each gets every record once, at its offset", async (durability) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-fanout-faults-'));
    try {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      log.on('error', () => undefined); // (the failure is also reported as an event)
      const t = log.topic('t');
      const got: string[][] = [[], [], []];
      const subs = [t.subscribe(), t.subscribe({ maxBuffered: 2 }), t.subscribe({ maxBuffered: 100 })];
      const loops = [
        (async () => { for await (const r of subs[0]!) { got[0]!.push(`${r.offset}:${r.valueBytes!.toString()}`); if (got[0]!.length === 4) break; } })(),
        ...[1, 2].map(async (k) => {
          for await (const b of subs[k]!.batches()) {
            for (const r of b) got[k]!.push(`${r.offset}:${r.valueBytes!.toString()}`);
            if (got[k]!.length === 4) break;
          }
        }),
      ];
      t.appendSync(Buffer.from('a0'));
      t.appendSync(Buffer.from('a1'));
      await turn();
      await turn();
      for (const g of got) expect(g).toEqual(['0:a0', '1:a1']);
      plan.writeError = 'ENOSPC';
      t.appendSync(Buffer.from('kept2'));
      t.appendSync(Buffer.from('kept3'));
      await turn();
      await turn();
      expect(t.endOffset).toBe(4);
      for (const g of got) expect(g).toEqual(['0:a0', '1:a1']);
      expect(() => t.appendSync(Buffer.from('x'))).toThrow(/no space left/);
      plan.writeError = undefined;
      expect(t.appendSync(Buffer.from('b4'))).toBe(4);
      await Promise.all(loops);
      for (const g of got) expect(g).toEqual(['0:a0', '1:a1', '2:kept2', '3:kept3']);
      await log.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Descriptors of this process that still point at files unlinked from `dir` (Linux; [] elsewhere). */
function deletedFilesHeld(dir: string): string[] {
  if (process.platform !== 'linux') return [];
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try { target = fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    if (target.startsWith(dir) && target.endsWith(' (deleted)')) out.push(target);
  }
  return out;
}

describe.each(entries)('$name: fan-out under compaction and retention', (entry) => {
  const h = harness(entry);

  test('subscriptions sharing the window follow a compacted topic while compact() runs: offsets only go up, each value is the record at its offset, every survivor reaches each one', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic<string>('c', { cleanup: 'compact', codec: 'string', segmentBytes: 4096 });
    // a third of the keys are unique (always kept), the rest are superseded again and again
    const keyOf = (o: number): string => (o % 3 === 0 ? `u${o}` : `k${o % 11}`);
    const total = 30_000;
    const last = total - 1; // (the newest record of its key: never compacted away)
    const paces: Array<[number, number]> = [[4096, 0], [4096, 0], [37, 0], [500, 0.3], [7, 0.6], [1, 0.9]];
    const consumers = paces.map(([maxBuffered, slow], k) => {
      const rng = new Rng(k + 1);
      const got: Array<LogRecord<string>> = [];
      const sub = t.subscribe({ maxBuffered });
      const done = (async () => {
        for await (const b of sub.batches()) {
          for (const r of b) got.push(r);
          if (got[got.length - 1]!.offset === last) break;
          if (rng.bool(slow)) await turn(); // the slow ones fall behind, into the segments being compacted
        }
      })();
      return { got, done };
    });
    let removed = 0;
    let compactions = 0;
    let running: Promise<unknown> | undefined;
    const compact = (): Promise<unknown> => t.compact().then((r) => {
      compactions++;
      removed += r.recordsBefore - r.recordsAfter;
      running = undefined;
    });
    // (at least three passes, however slow the machine: the last ones may find nothing new)
    for (let o = 0; o < total || compactions < 2;) {
      for (const end = Math.min(total, o + 300); o < end; o++) t.appendSync(`${keyOf(o)}@${o}`, { key: keyOf(o) });
      running ??= compact();
      await turn();
    }
    await running;
    await compact(); // (while the slow ones are still behind)
    await Promise.all(consumers.map((c) => c.done));
    expect(compactions).toBeGreaterThanOrEqual(3);
    expect(removed).toBeGreaterThan(total / 3);
    const survivors = collect(t.read()).map((r) => r.offset);
    for (const { got } of consumers) {
      for (let i = 1; i < got.length; i++) expect(got[i]!.offset).toBeGreaterThan(got[i - 1]!.offset);
      for (const r of got) expect(r.value).toBe(`${keyOf(r.offset)}@${r.offset}`);
      const offsets = new Set(got.map((r) => r.offset));
      expect(survivors.filter((o) => !offsets.has(o))).toEqual([]);
    }
    // the two that kept up shared what they read
    const other = new Set(consumers[1]!.got);
    expect(consumers[0]!.got.filter((r) => other.has(r)).length).toBeGreaterThan(0);
    await log.close();
  });

  test.each(['truncateBefore', 'retention'] as const)('%s removes the segments under paused followers: they hold no descriptor of a removed file, continue at startOffset and call onGap; one closed in a removed segment lets go of it', async (how) => {
    // (an hour ahead: the automatic retention pass at each roll, by the clock, removes nothing)
    const T0 = Date.now() + 3_600_000;
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'os' });
    // ~10 records per segment; record o has timestamp T0 + o * 1000
    const t = log.topic('t', { segmentBytes: 1400, ...(how === 'retention' ? { retention: { maxAgeMs: 30_000 } } : {}) });
    const value = (o: number): Buffer => Buffer.from(`value-${o}-`.padEnd(100, 'x'));
    const append = (from: number, to: number): void => {
      for (let o = from; o < to; o++) t.appendSync(value(o), { timestamp: T0 + o * 1000 });
    };
    append(0, 25);
    await turn();
    // alone, it reads with its own cursor: 3 records, then it stops mid-segment (holding segment 0)
    const midGaps: Array<{ from: number; to: number }> = [];
    const mid = t.subscribe({ maxBuffered: 3, onGap: (g) => midGaps.push(g) });
    const midBatches = mid.batches();
    expect((await midBatches.next()).value!.map((r: LogRecord<Buffer>) => r.offset)).toEqual([0, 1, 2]);
    // three followers (sharing the window) read to the written end and stay there
    const gaps: Array<Array<{ from: number; to: number }>> = [[], [], []];
    const subs = [1000, 3, 1].map((maxBuffered, k) => t.subscribe({ maxBuffered, onGap: (g) => gaps[k]!.push(g) }));
    const iterators = subs.map((s) => s.batches());
    const got: number[][] = [[], [], []];
    for (let k = 0; k < 3; k++) {
      while (got[k]!.length < 25) for (const r of (await iterators[k]!.next()).value!) got[k]!.push(r.offset);
    }
    for (const g of got) expect(g).toEqual(Array.from({ length: 25 }, (_, i) => i));
    // more is written (rolling several segments) while nobody asks for it, then segments go
    append(25, 100);
    await log.flush();
    if (how === 'truncateBefore') await t.truncateBefore(63);
    else expect((await t.enforceRetention(T0 + 90_000)).segmentsDeleted).toBeGreaterThan(2);
    const start = t.startOffset;
    expect(start).toBeGreaterThan(25);
    // only `mid`, stopped in the middle of a removed segment, keeps its descriptor
    expect(deletedFilesHeld(dir).length).toBeLessThanOrEqual(1);
    await mid.close();
    expect(deletedFilesHeld(dir)).toEqual([]);
    // the followers go on at startOffset, say so, and share what they read again
    const after: Array<Array<LogRecord<Buffer>>> = [[], [], []];
    for (let k = 0; k < 3; k++) {
      while (after[k]!.length < 100 - start) for (const r of (await iterators[k]!.next()).value!) after[k]!.push(r);
    }
    for (let k = 0; k < 3; k++) {
      expect(gaps[k]).toEqual([{ from: 25, to: start }]);
      expect(after[k]!.map((r) => r.offset)).toEqual(Array.from({ length: 100 - start }, (_, i) => start + i));
      for (const r of after[k]!) expect(r.valueBytes!.equals(value(r.offset))).toBe(true);
    }
    expect(after[1]!.filter((r) => after[0]!.includes(r)).length).toBeGreaterThan(0);
    expect(midGaps).toEqual([]); // (closed before it read on)
    // waiting at the end again; the first takes all that comes, the others a little of it
    const waiting = iterators.map((it) => it.next());
    append(100, 160);
    const next = await Promise.all(waiting);
    for (const n of next) expect(n.value![0]!.offset).toBe(100);
    const positions = subs.map((s) => s.position);
    expect(positions).toEqual([160, 103, 101]);
    // then the segments under the two behind go
    await log.flush();
    if (how === 'truncateBefore') await t.truncateBefore(150);
    else await t.enforceRetention(T0 + 185_000);
    const start2 = t.startOffset;
    expect(start2).toBeGreaterThan(103);
    expect(start2).toBeLessThan(160);
    expect(deletedFilesHeld(dir)).toEqual([]);
    for (const k of [1, 2]) {
      const b = (await iterators[k]!.next()).value!;
      expect(b[0]!.offset).toBe(start2);
      for (const r of b) expect(r.valueBytes!.equals(value(r.offset))).toBe(true);
      expect(gaps[k]).toEqual([{ from: 25, to: start }, { from: positions[k], to: start2 }]);
    }
    expect(gaps[0]).toEqual([{ from: 25, to: start }]); // (it was past them)
    append(160, 161);
    expect((await iterators[0]!.next()).value!.map((r: LogRecord<Buffer>) => r.offset)).toEqual([160]);
    for (const s of subs) await s.close();
    expect(deletedFilesHeld(dir)).toEqual([]);
    await log.close();
  });
});
