// Model test for members sharing a group: random interleavings of members joining (records or
// batches(), autoCommit or manual commits), asking for more (which finishes what they hold),
// leaving by return() (what break and a throw out of for await call), close() or the signal,
// appends, and reopens of the log. Checked against a plain model of who holds what:
// - never two open members holding the same record;
// - within one member, offsets increase;
// - the group's committed position never moves backwards and never passes an unfinished record
//   (also after a reopen: no resume past unfinished work);
// - a record's deliveryCount is one more than the times it was given before (its counts survive
//   the reopens: records in hand when the log closed count as delivered);
// - at the end, a last member drains the group and every record was finished at least once.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, Rng, type Log, type LogRecord, type Topic } from './helpers.js';

interface Member {
  id: number;
  sub: ReturnType<Topic<Buffer>['subscribe']>;
  next: () => Promise<IteratorResult<LogRecord<Buffer> | Array<LogRecord<Buffer>>>>;
  autoCommit: boolean;
  ac: AbortController;
  inHand: number[];
  last: number;
  pending: Promise<void> | undefined;
  open: boolean;
}

describe.each(entries)('$name: group members model', (entry) => {
  const h = harness(entry);

  test.each(Array.from({ length: Number(process.env.SEGLOG_MEMBER_SEEDS ?? 8) }, (_, i) => i + 1))('seed %i: members share the records without two holding one, and nothing unfinished is skipped', async (seed) => {
    const rng = new Rng(seed * 7919);
    const dir = h.tmp();
    let log: Log = await h.open(dir, { durability: rng.pick(['fsync', 'os', 'none'] as const) });
    let t: Topic<Buffer> = log.topic('m');
    let end = 0;
    const finished = new Set<number>();
    const bad: string[] = [];
    let members: Member[] = [];
    let nextId = 0;
    let lastCommitted = -1;
    const given = new Map<number, number>();

    const append = (n: number): void => {
      for (let i = 0; i < n; i++) t.appendSync(Buffer.from(`v${end++}`));
    };
    const committed = (): number => t.groups().find((g) => g.group === 'g')?.position ?? -1;
    const checkCommitted = (where: string): void => {
      const c = committed();
      if (c < 0) return;
      if (c < lastCommitted) bad.push(`${where}: committed went back from ${lastCommitted} to ${c}`);
      lastCommitted = Math.max(lastCommitted, c);
      for (let o = 0; o < Math.min(c, end); o++) if (!finished.has(o)) { bad.push(`${where}: committed ${c} passes unfinished ${o}`); break; }
    };

    const join = (): void => {
      const batches = rng.bool(0.4);
      const autoCommit = rng.bool(0.75);
      const ac = new AbortController();
      const sub = t.subscribe({ group: 'g', autoCommit, signal: ac.signal, maxBuffered: rng.int(1, 20), maxInFlight: 1000 });
      const it = batches ? sub.batches() : sub;
      members.push({ id: nextId++, sub, next: () => it.next() as never, autoCommit, ac, inHand: [], last: -1, pending: undefined, open: true });
    };

    const ask = (m: Member): void => {
      if (m.pending !== undefined || !m.open) return;
      if (m.autoCommit) for (const o of m.inHand) finished.add(o); // asking for more finishes them
      if (m.autoCommit) m.inHand = [];
      m.pending = m.next().then((r) => {
        m.pending = undefined;
        if (r.done === true) return;
        const records = Array.isArray(r.value) ? r.value : [r.value];
        for (const rec of records) {
          if (rec.offset <= m.last) bad.push(`member ${m.id}: offset ${rec.offset} after ${m.last}`);
          m.last = rec.offset;
          const before = given.get(rec.offset) ?? 0;
          if (rec.deliveryCount !== before + 1) bad.push(`member ${m.id}: offset ${rec.offset} deliveryCount ${rec.deliveryCount}, given ${before} times before`);
          given.set(rec.offset, before + 1);
          for (const other of members) if (other !== m && other.open && other.inHand.includes(rec.offset)) bad.push(`members ${m.id} and ${other.id} both hold ${rec.offset}`);
          m.inHand.push(rec.offset);
        }
      }, (err: Error) => { m.pending = undefined; bad.push(`member ${m.id}: ${err.message}`); });
    };

    const leave = async (m: Member): Promise<void> => {
      m.open = false;
      const how = rng.pick(['return', 'close', 'abort'] as const);
      if (how === 'abort') m.ac.abort();
      else if (how === 'return') await m.sub.return!();
      else await m.sub.close();
      await m.pending;
      m.inHand = []; // not finished: to be given again
    };

    for (let step = 0; step < 250; step++) {
      const r = rng.next();
      const open = members.filter((m) => m.open);
      if (r < 0.15) append(rng.int(1, 15));
      else if (r < 0.25 && open.length < 5) join();
      else if (r < 0.7 && open.length > 0) ask(rng.pick(open));
      else if (r < 0.78 && open.length > 0) {
        const m = rng.pick(open.filter((x) => !x.autoCommit).concat(open));
        if (!m.autoCommit && m.inHand.length > 0 && m.pending === undefined) {
          // a manual member commits everything it holds (commit() covers everything yielded, so
          // not while a next() is outstanding: what it yields would be covered unseen)
          for (const o of m.inHand) finished.add(o);
          m.inHand = [];
          await m.sub.commit();
        }
      } else if (r < 0.88 && open.length > 0) await leave(rng.pick(open));
      else if (r < 0.95) await new Promise((resolve) => setImmediate(resolve));
      else {
        // reopen: every member ends with what it holds unfinished
        await log.close();
        await Promise.all(members.map((m) => m.pending));
        for (const m of members) { m.open = false; m.inHand = []; }
        members = [];
        log = await h.open(dir);
        t = log.topic('m');
        expect(t.endOffset).toBe(end);
      }
      checkCommitted(`step ${step}`);
      if (bad.length > 0) break;
    }
    expect(bad).toEqual([]);
    // everyone leaves; one last member drains the group to the end
    for (const m of members.filter((x) => x.open)) await leave(m);
    checkCommitted('after all left');
    const last = t.subscribe({ group: 'g' });
    const seenAgain: number[] = [];
    while (committed() < end || seenAgain.length === 0) {
      if (last.lag === 0 && committed() >= end) break;
      const got = await Promise.race([last.next(), new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))]);
      if (got === undefined) {
        if (committed() >= end) break;
        continue;
      }
      if (got.done === true) break;
      seenAgain.push(got.value.offset);
      finished.add(got.value.offset);
      if (got.value.offset === end - 1) { await last.commit(); break; }
    }
    await last.close();
    expect(bad).toEqual([]);
    const missing: number[] = [];
    for (let o = 0; o < end; o++) if (!finished.has(o)) missing.push(o);
    expect(missing, 'every record finished at least once').toEqual([]);
    expect(committed()).toBe(end);
  });
});
