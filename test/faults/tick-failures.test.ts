// Failures in the middle of a tick (one event-loop turn of appends): a write or fsync that fails
// after some of the tick's records were already handed to the OS, across a segment roll, or on a
// rolled segment. An append that resolved keeps its record; one that rejected never shows up, in
// this process or after a reopen; every promise settles. Also: under durability 'none' (appends
// resolve at once) a failed background write keeps the records, refuses appends while it lasts,
// and reaches the next append call.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogWith, type Log } from '../../src/log.js';
import { lmdbMetaStore } from '../../src/store/lmdb-store.js';
import { fileMetaStore } from '../../src/store/file-meta-store.js';
import type { MetaStoreFactory } from '../../src/store/meta-store.js';
import { SeglogError } from '../../src/index.js';
import { faultyIO, type FaultPlan } from './faulty-io.js';
import { waitUntil, withinHangBound } from '../helpers.js';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-tick-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** The offset an append resolved with, or the code of the SeglogError it rejected with. */
async function outcome(p: Promise<number>): Promise<number | string> {
  try {
    return await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return (err as SeglogError).code;
  }
}

/** Settles all of `ps` (as outcomes), or fails the test if one of them hangs. */
function settleAll(ps: Array<Promise<number>>): Promise<Array<number | string>> {
  return withinHangBound(Promise.all(ps.map(outcome)), 'appends');
}

/** A record's value as a short label: small values as text, big filled ones as `<fill byte>x<length>`. */
function label(v: Buffer | null): string {
  if (v === null) return 'null';
  return v.length > 16 ? `${v[0]}x${v.length}` : v.toString();
}

function values(log: Log, name = 't'): string[] {
  return [...log.topic(name).read()].map((r) => label(r.valueBytes));
}

const wirings: Array<[string, MetaStoreFactory]> = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]];

describe.each(wirings)('%s', (_name, meta) => {
  const reopen = (): Promise<Log> => openLogWith({ meta }, dir);

  describe.each(['os', 'fsync'] as const)('a write failure in the middle of a tick (durability %s)', (durability) => {
    it('appends written before the failure resolve and stay; the later ones reject with ERR_NO_SPACE and never appear', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      const t = log.topic('t');
      await t.append(Buffer.from('before'));
      // 3000 separate appends of 1000 bytes in one tick fill several write buffers: the first ones
      // go out, a later write runs out of space half-way.
      plan.writeBudgetBytes = 1_500_000;
      const fill = (i: number) => i % 251;
      const out = await settleAll(Array.from({ length: 3000 }, (_, i) => t.append(Buffer.alloc(1000, fill(i)))));
      const resolved = out.flatMap((o, i) => (typeof o === 'number' ? [i] : []));
      const expected = ['before', ...resolved.map((i) => `${fill(i)}x1000`)];
      expect(values(log), 'the log holds exactly the resolved appends').toEqual(expected);
      const written = resolved.length;
      expect(written, 'some appends were written before the failure').toBeGreaterThan(0);
      expect(out.slice(0, written), 'the resolved appends are the first ones, at dense offsets').toEqual(Array.from({ length: written }, (_, i) => 1 + i));
      expect(new Set(out.slice(written)), 'every append after the failure rejects').toEqual(new Set(['ERR_NO_SPACE']));
      expect(t.endOffset).toBe(1 + written);
      plan.writeBudgetBytes = undefined;
      expect(await t.append(Buffer.from('after'))).toBe(1 + written);
      await log.close();
      const again = await reopen();
      expect(values(again), 'exactly the resolved appends, no ghost of a rejected one').toEqual([...expected, 'after']);
      await again.close();
    });

    it('an append made earlier in the tick than a failing appendBatch resolves and stays; the batch leaves nothing', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      const t = log.topic('t');
      await t.append(Buffer.from('before'));
      plan.writeBudgetBytes = 1_500_000;
      const a = t.append(Buffer.from('A'));
      const batch = t.appendBatch(Array.from({ length: 3000 }, (_, i) => ({ value: Buffer.alloc(1000, i % 251) })));
      expect(await settleAll([a, batch])).toEqual([1, 'ERR_NO_SPACE']);
      expect(values(log)).toEqual(['before', 'A']);
      plan.writeBudgetBytes = undefined;
      await log.close();
      const again = await reopen();
      expect(values(again)).toEqual(['before', 'A']);
      await again.close();
    });

    it('a write failure in a segment rolled earlier in the same tick keeps the appends of the old segment and drops the rest', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      const t = log.topic('t', { segmentBytes: 4096 });
      await t.append(Buffer.from('before'));
      // the roll writes the first segment's records; the tick's final write, to the new segment, fails
      plan.writeBudgetBytes = 3500;
      const out = await settleAll(Array.from({ length: 6 }, (_, i) => t.append(Buffer.alloc(1000, 65 + i))));
      const resolved = out.flatMap((o, i) => (typeof o === 'number' ? [i] : []));
      const expected = ['before', ...resolved.map((i) => `${65 + i}x1000`)];
      expect(values(log), 'the log holds exactly the resolved appends').toEqual(expected);
      const written = resolved.length;
      expect(written, 'the appends written to the old segment resolve').toBeGreaterThan(0);
      expect(out).toEqual([...Array.from({ length: written }, (_, i) => 1 + i), ...Array(6 - written).fill('ERR_NO_SPACE')]);
      plan.writeBudgetBytes = undefined;
      await log.close();
      const again = await reopen();
      expect(values(again), 'no ghost of a rejected append').toEqual(expected);
      expect(again.topic('t').endOffset).toBe(1 + written);
      await again.close();
    });
  });

  describe('fsync failures around a roll (durability fsync)', () => {
    it('a failed fsync of a tick that rolled a segment rejects all its appends with ERR_IO, settles them all, and leaves no ghost records', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability: 'fsync' });
      const t = log.topic('t', { segmentBytes: 4096 });
      await t.append(Buffer.from('durable'));
      plan.fsyncError = 'EIO';
      // 8 records of 1000 bytes in one tick: the segment rolls once in the middle of the tick
      const out = await settleAll(Array.from({ length: 8 }, (_, i) => t.append(Buffer.alloc(1000, 65 + i))));
      expect(out).toEqual(Array(8).fill('ERR_IO'));
      expect(t.endOffset).toBe(1);
      expect(values(log)).toEqual(['durable']);
      expect(log.stats().topics.t!.segments).toBe(1);
      plan.fsyncError = undefined;
      try { await log.close(); } catch { /* closing a failed log may report the failure again */ }
      const again = await reopen();
      expect(values(again), 'nothing of the rejected appends, in either segment').toEqual(['durable']);
      expect(again.topic('t').endOffset).toBe(1);
      expect(await again.topic('t').append(Buffer.from('later'))).toBe(1);
      await again.close();
    });

    it('a one-shot failed fsync of the rolled segment rejects the appends waiting on the group commit with ERR_IO, though later fsyncs succeed', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability: 'fsync' });
      const errors: string[] = [];
      log.on('error', (e) => errors.push(e.code));
      const t = log.topic('t', { segmentBytes: 4096 });
      await t.append(Buffer.from('durable'));
      // the first .log fsync from here on fails once: the one the roll starts for the old segment
      Object.assign(plan, { fsyncError: 'EIO', fsyncLogOnly: true, fsyncOnce: true } satisfies FaultPlan);
      const out = await settleAll(Array.from({ length: 8 }, (_, i) => t.append(Buffer.alloc(1000, 65 + i))));
      expect(plan.fsyncError, 'the injected failure was used').toBeUndefined();
      expect(out).toEqual(Array(8).fill('ERR_IO'));
      expect(errors).toContain('ERR_IO');
      expect(await outcome(t.append(Buffer.from('refused'))), 'the log refuses writes until reopened').toBe('ERR_IO');
      expect(values(log)).toEqual(['durable']);
      try { await log.close(); } catch { /* closing a failed log may report the failure again */ }
      const again = await reopen();
      expect(values(again)).toEqual(['durable']);
      await again.close();
    });
  });

  describe("durability 'none'", () => {
    // (Before issue 11 the resolved records were taken back and their offsets reused: SPEC forbids that.)
    it('a failed background write keeps the resolved records, is reported by an error event and the next append call, and they are written once it clears', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability: 'none', fsyncIntervalMs: 20 });
      const t = log.topic('t');
      t.appendSync(Buffer.from('ok'));
      await log.flush();
      const errored = new Promise<SeglogError>((resolve) => log.once('error', resolve));
      plan.writeError = 'EIO';
      expect(t.appendSync(Buffer.from('kept1'))).toBe(1);
      expect(await t.append(Buffer.from('kept2'))).toBe(2); // 'none' resolves at once
      // the periodic checkpoint tries to write them and fails
      const error = await withinHangBound(errored, "the log's 'error' event");
      expect(error.code).toBe('ERR_IO');
      expect(() => t.appendSync(Buffer.from('refused')), 'the next append call reports the failed write').toThrow(expect.objectContaining({ code: 'ERR_IO' }));
      expect(values(log)).toEqual(['ok', 'kept1', 'kept2']);
      plan.writeError = undefined;
      expect(t.appendSync(Buffer.from('next'))).toBe(3);
      await log.close();
      const again = await reopen();
      expect(values(again)).toEqual(['ok', 'kept1', 'kept2', 'next']);
      await again.close();
    });

    it('a failed background write is reported by the next append() as a rejection while it lasts', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability: 'none', fsyncIntervalMs: 20 });
      const errors: string[] = [];
      log.on('error', (e) => errors.push(e.code));
      const t = log.topic('t');
      await t.append(Buffer.from('ok'));
      await log.flush();
      plan.writeError = 'EIO';
      expect(await t.append(Buffer.from('kept'))).toBe(1);
      await waitUntil(() => errors.length > 0, "the background write's 'error' event");
      expect(errors).toContain('ERR_IO');
      expect(await outcome(t.append(Buffer.from('refused')))).toBe('ERR_IO');
      plan.writeError = undefined;
      expect(await t.append(Buffer.from('next'))).toBe(2);
      await log.close();
      const again = await reopen();
      expect(values(again)).toEqual(['ok', 'kept', 'next']);
      await again.close();
    });
  });
});
