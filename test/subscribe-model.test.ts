// Model test for subscriptions: random interleavings of appends (appendSync, append awaited or
// not, appendBatch), awaits of every kind (microtask, nextTick, setImmediate, timer), new
// subscriptions (any start, with or without a group, records or batches), closes, breaks and
// reopens of the log, checked against a plain array of values. Every subscription must yield a
// dense run of offsets from its start, in order, each exactly once, with the values the model
// holds; at the end every live one reaches the end of the log. Groups: a new subscription of a
// group starts at the group's committed position; after close()/break that position is the first
// offset of the record (or batch) in hand, or one past the last record yielded when the consumer
// had asked for more; after log.close() it is at least the first record in hand (a record, or
// a batches() array) and at most one past the last record yielded.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, Rng, type Log, type LogRecord, type Topic } from './helpers.js';

interface Consumer {
  id: number;
  start: number;
  group: string | undefined;
  got: number[];
  bad: string[];
  sub: ReturnType<Topic<Buffer>['subscribe']>;
  breakNext: boolean;
  /** First offset of the last step (a record, or a batches() array): what the consumer holds. */
  inHand: number;
  /** The consumer is processing what it holds (it has not asked for more). */
  inBody: boolean;
  ended: boolean;
  endedBy?: 'close' | 'break' | 'log';
  loop: Promise<void>;
}

const waitKinds = ['microtask', 'nextTick', 'immediate', 'timer'] as const;
function wait(kind: (typeof waitKinds)[number]): Promise<void> {
  switch (kind) {
    case 'microtask': return Promise.resolve();
    case 'nextTick': return new Promise((r) => process.nextTick(r));
    case 'immediate': return new Promise((r) => setImmediate(r));
    case 'timer': return new Promise((r) => setTimeout(r, 0));
  }
}

describe.each(entries)('$name: subscription model', (entry) => {
  const h = harness(entry);

  test.each([11, 22, 33, 44, 55, 66])('seed %i: random appends, awaits and subscription operations agree with an array', async (seed) => {
    const rng = new Rng(seed);
    const durability = rng.pick(['fsync', 'os', 'none'] as const);
    const dir = h.tmp();
    let log: Log = await h.open(dir, { durability });
    /** Logs whose close() was called (a consumer whose body ran across it was ended by that close). */
    const closedLogs = new WeakSet<Log>();
    let t: Topic<Buffer> = log.topic('m', { segmentBytes: 1024 + rng.int(0, 4096) });
    const model: string[] = [];
    const consumers: Consumer[] = [];
    const pending: Array<Promise<unknown>> = [];
    let nextId = 0;

    const valueFor = (o: number): string => `v${o}-${seed}-${'x'.repeat(o % 23)}`;

    function startConsumer(): void {
      const live = new Set(consumers.filter((c) => !c.ended && c.group !== undefined).map((c) => c.group));
      const free = ['a', 'b', 'c'].filter((g) => !live.has(g));
      const group = free.length > 0 && rng.bool(0.5) ? rng.pick(free) : undefined;
      const end = t.endOffset;
      const r = rng.next();
      const from = r < 0.3 ? undefined : r < 0.5 ? 'latest' as const : rng.int(0, end);
      const committed = group === undefined ? undefined : log.stats().topics.m?.groups[group]?.position;
      const sub = t.subscribe({ ...(from === undefined ? {} : { from }), ...(group === undefined ? {} : { group }), maxBuffered: rng.int(1, 50) });
      const start = committed ?? (from === undefined ? 0 : from === 'latest' ? end : from);
      expect(sub.position, `consumer ${nextId} start`).toBe(start);
      const crng = new Rng(seed * 1000 + nextId);
      const c: Consumer = { id: nextId++, start, group, got: [], bad: [], sub, breakNext: false, inHand: start, inBody: false, ended: false, loop: Promise.resolve() };
      const batches = crng.bool(0.4);
      const take = (rec: LogRecord<Buffer>): void => {
        c.got.push(rec.offset);
        if (rec.valueBytes!.toString() !== model[rec.offset]) c.bad.push(`${rec.offset}: ${rec.valueBytes!.toString()}`);
      };
      const ownLog = log;
      c.loop = (async () => {
        if (batches) {
          for await (const batch of sub.batches()) {
            c.inHand = batch[0]!.offset;
            c.inBody = true;
            for (const rec of batch) take(rec);
            if (c.breakNext) { c.endedBy = 'break'; break; }
            if (crng.bool(0.3)) await wait(crng.pick(waitKinds));
            c.inBody = false;
          }
        } else {
          for await (const rec of sub) {
            c.inHand = rec.offset;
            c.inBody = true;
            take(rec);
            if (c.breakNext) { c.endedBy = 'break'; break; }
            if (crng.bool(0.3)) await wait(crng.pick(waitKinds));
            c.inBody = false;
          }
        }
        // break commits only what came before the record (or batch) in hand (unless the log was
        // closed while the body ran: then its close ended the subscription, checked at the reopen)
        if (c.endedBy === 'break' && group !== undefined && !closedLogs.has(ownLog) && groupPosition(group) !== c.inHand) c.bad.push(`group ${group} after break: ${groupPosition(group)}, not ${c.inHand}`);
        c.ended = true;
        c.endedBy ??= 'log';
      })();
      consumers.push(c);
    }

    function groupPosition(group: string): number | undefined {
      return log.stats().topics.m?.groups[group]?.position;
    }

    for (let step = 0; step < 150; step++) {
      const r = rng.next();
      if (r < 0.3) {
        const n = rng.int(1, 20);
        for (let i = 0; i < n; i++) {
          const o = model.length;
          model.push(valueFor(o));
          expect(t.appendSync(Buffer.from(valueFor(o)))).toBe(o);
        }
      } else if (r < 0.4) {
        const o = model.length;
        model.push(valueFor(o));
        const p = t.append(Buffer.from(valueFor(o)));
        if (rng.bool()) expect(await p).toBe(o); else pending.push(p);
      } else if (r < 0.5) {
        const n = rng.int(1, 30);
        const first = model.length;
        for (let i = 0; i < n; i++) model.push(valueFor(first + i));
        const p = t.appendBatch(Array.from({ length: n }, (_, i) => ({ value: Buffer.from(valueFor(first + i)) })));
        if (rng.bool()) expect(await p).toBe(first); else pending.push(p);
      } else if (r < 0.7) {
        await wait(rng.pick(waitKinds));
      } else if (r < 0.8) {
        if (consumers.filter((c) => !c.ended).length < 12) startConsumer();
      } else if (r < 0.9) {
        const live = consumers.filter((c) => !c.ended && !c.breakNext);
        if (live.length === 0) continue;
        const c = rng.pick(live);
        if (rng.bool()) {
          c.endedBy = 'close';
          // (a record yielded but not yet seen by the loop body is in hand as well)
          const finished = c.inBody ? c.inHand : c.got.length > 0 ? c.got[c.got.length - 1]! + 1 : c.start;
          await c.sub.close();
          await c.loop;
          if (c.group !== undefined) expect(groupPosition(c.group), `group ${c.group} after close`).toBe(finished);
        } else {
          c.breakNext = true;
        }
      } else if (r < 0.95) {
        // reopen: log.close() ends every subscription; groups keep the record in hand or the next
        await Promise.allSettled(pending.splice(0));
        const live = consumers.filter((c) => !c.ended);
        closedLogs.add(log);
        await log.close();
        await Promise.all(live.map((c) => c.loop));
        log = await h.open(dir, { durability });
        t = log.topic('m');
        expect(t.endOffset).toBe(model.length);
        for (const c of live) {
          if (c.group === undefined || c.endedBy !== 'log') continue;
          const pos = groupPosition(c.group)!;
          const last = c.got.length > 0 ? c.got[c.got.length - 1]! : c.start - 1;
          expect(pos, `group ${c.group} after log.close`).toBeGreaterThanOrEqual(c.inHand);
          expect(pos, `group ${c.group} after log.close`).toBeLessThanOrEqual(last + 1);
        }
      }
    }
    await Promise.allSettled(pending.splice(0));
    // every live subscription reaches the end
    const end = model.length;
    for (let i = 0; i < 10_000; i++) {
      const behind = consumers.filter((c) => !c.ended && !c.breakNext && (c.got.length === 0 ? c.start : c.got[c.got.length - 1]! + 1) < end);
      if (behind.length === 0) break;
      await wait('immediate');
    }
    for (const c of consumers) {
      expect(c.bad, `consumer ${c.id}: values`).toEqual([]);
      expect(c.got, `consumer ${c.id}: dense from its start, each once`).toEqual(Array.from({ length: c.got.length }, (_, k) => c.start + k));
      if (!c.ended && !c.breakNext) expect(c.got.length, `consumer ${c.id} reached the end`).toBe(end - c.start);
    }
    closedLogs.add(log);
    await log.close();
    await Promise.all(consumers.map((c) => c.loop));
  });
});
