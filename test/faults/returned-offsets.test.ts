// Returned offsets are kept (SPEC: "an offset that was acknowledged, returned by appendSync, or
// delivered to a subscription, is never given to another record"; "an append whose promise rejected
// never shows up in the log later"). A record whose offset appendSync returned stays what readers
// see at that offset after a failed write; it is written once the failure clears (at the next
// append, flush or timer), and appends are refused until then. An append() whose promise is pending
// and an appendSync() never wait unwritten together: switching from one to the other hands what is
// pending to the OS first, so a failed write rejects only promises and keeps only returned offsets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogWith } from '../../src/log.js';
import { lmdbMetaStore } from '../../src/store/lmdb-store.js';
import { fileMetaStore } from '../../src/store/file-meta-store.js';
import type { MetaStoreFactory } from '../../src/store/meta-store.js';
import { SeglogError } from '../../src/index.js';
import { faultyIO, type FaultPlan } from './faulty-io.js';
import { waitUntil, withinHangBound } from '../helpers.js';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-returned-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const wirings: Array<[string, MetaStoreFactory]> = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]];
const text = (t: { read(): Iterable<{ valueBytes: Buffer | null }> }): string[] => [...t.read()].map((r) => r.valueBytes!.toString());

async function outcome(p: Promise<number>): Promise<number | string> {
  try {
    return await withinHangBound(p, 'an append');
  } catch (err) {
    expect(err).toBeInstanceOf(SeglogError);
    return (err as SeglogError).code;
  }
}

describe.each(wirings)('%s', (_name, meta) => {
  describe.each(['os', 'fsync'] as const)('durability %s', (durability) => {
    it('offsets appendSync returned before a disk-full write stay readable with their records, are refused to later appends, and survive once space is back', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      log.on('error', () => undefined);
      const t = log.topic('t', { segmentBytes: 64 * 1024 });
      const value = (i: number): Buffer => Buffer.from(`record ${i} `.padEnd(700, String.fromCharCode(97 + (i % 26))));
      plan.writeBudgetBytes = 150 * 1024; // some ticks' writes go out, a later one fails half-way
      const returned: number[] = [];
      let refused: unknown;
      for (let tick = 0; tick < 40 && refused === undefined; tick++) {
        try {
          for (let k = 0; k < 64; k++) returned.push(t.appendSync(value(returned.length)));
        } catch (err) {
          refused = err;
        }
        await new Promise((r) => setImmediate(r));
      }
      expect((refused as SeglogError)?.code, 'appends are refused once a write failed').toBe('ERR_NO_SPACE');
      expect(returned).toEqual(returned.map((_, i) => i));
      expect(t.endOffset, 'endOffset does not go back').toBe(returned.length);
      for (const o of returned) expect(t.get(o)?.valueBytes?.equals(value(o)), `offset ${o}`).toBe(true);
      expect(await outcome(t.append(Buffer.from('refused'))), 'append() is refused too').toBe('ERR_NO_SPACE');
      await expect(log.flush()).rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
      plan.writeBudgetBytes = undefined;
      expect(await outcome(t.append(value(returned.length))), 'the next append writes the kept records first, then takes the next offset').toBe(returned.length);
      await log.close();
      const again = await openLogWith({ meta }, dir);
      const t2 = again.topic('t');
      expect(t2.endOffset).toBe(returned.length + 1);
      for (const r of t2.read()) expect(r.valueBytes!.equals(value(r.offset)), `offset ${r.offset} after a reopen`).toBe(true);
      await again.close();
    });

    it('append() then appendSync() in one tick, the write at the end of the tick failing: the append resolves, the appendSync record is kept, later appends wait', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      log.on('error', () => undefined);
      const t = log.topic('t');
      await t.append(Buffer.from('before'));
      const a = t.append(Buffer.from('A'));
      expect(t.appendSync(Buffer.from('B')), 'A was handed to the OS by this call').toBe(2);
      plan.writeError = 'ENOSPC'; // the write of B at the end of the tick fails
      expect(await outcome(a)).toBe(1);
      expect(text(t)).toEqual(['before', 'A', 'B']);
      expect(await outcome(t.append(Buffer.from('C')))).toBe('ERR_NO_SPACE');
      plan.writeError = undefined;
      await log.flush(); // the retry writes B
      expect(await outcome(t.append(Buffer.from('D')))).toBe(3);
      await log.close();
      const again = await openLogWith({ meta }, dir);
      expect(text(again.topic('t'))).toEqual(['before', 'A', 'B', 'D']);
      await again.close();
    });

    it('append() then appendSync() in one tick with the disk already full: the append rejects and the appendSync throws, so neither shows up', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      log.on('error', () => undefined);
      const t = log.topic('t');
      await t.append(Buffer.from('before'));
      plan.writeError = 'ENOSPC';
      const a = t.append(Buffer.from('A'));
      expect(() => t.appendSync(Buffer.from('B'))).toThrow(expect.objectContaining({ code: 'ERR_NO_SPACE' }));
      expect(await outcome(a)).toBe('ERR_NO_SPACE');
      expect(t.endOffset).toBe(1);
      plan.writeError = undefined;
      expect(t.appendSync(Buffer.from('C')), 'offset 1 was never returned: it goes to the next append').toBe(1);
      await log.close();
      const again = await openLogWith({ meta }, dir);
      expect(text(again.topic('t'))).toEqual(['before', 'C']);
      await again.close();
    });

    it('appendSync() then append() in one tick, a failed write: the append rejects and never shows up, the appendSync record stays', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      log.on('error', () => undefined);
      const t = log.topic('t');
      await t.append(Buffer.from('before'));
      expect(t.appendSync(Buffer.from('B'))).toBe(1);
      plan.writeError = 'ENOSPC';
      // writing B first (before a promise joins) fails: B stays, the append is refused
      expect(await outcome(t.append(Buffer.from('C')))).toBe('ERR_NO_SPACE');
      expect(text(t)).toEqual(['before', 'B']);
      plan.writeError = undefined;
      const c = t.append(Buffer.from('C'));        // B is written by this call, C waits for the tick
      plan.writeError = 'ENOSPC';                  // and C's write fails
      expect(await outcome(c)).toBe('ERR_NO_SPACE');
      expect(text(t)).toEqual(['before', 'B']);
      plan.writeError = undefined;
      expect(await outcome(t.append(Buffer.from('D')))).toBe(2);
      await log.close();
      const again = await openLogWith({ meta }, dir);
      expect(text(again.topic('t')), 'no ghost of the rejected append').toEqual(['before', 'B', 'D']);
      await again.close();
    });
  });

  describe.each(['EIO', 'ENOSPC'])('close() while a write keeps failing (%s)', (code) => {
    it('rejects and closes nothing; once the failure clears, close() writes the kept records and a reopen finds them at their offsets', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability: 'os' });
      log.on('error', () => undefined);
      const t = log.topic('t');
      for (let i = 0; i < 5; i++) t.appendSync(Buffer.from(`a${i}`));
      await log.flush();
      plan.writeError = code;
      const returned: number[] = [];
      for (let i = 0; i < 5; i++) returned.push(t.appendSync(Buffer.from(`b${i}`)));
      expect(returned).toEqual([5, 6, 7, 8, 9]);
      await new Promise((r) => setImmediate(r)); // the tick's write fails: the records are kept
      const expected = code === 'EIO' ? 'ERR_IO' : 'ERR_NO_SPACE';
      await expect(withinHangBound(log.close(), 'close')).rejects.toMatchObject({ code: expected });
      await expect(log.close(), 'again, while it lasts').rejects.toMatchObject({ code: expected });
      expect(text(t), 'the log is still open and reads them').toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4']);
      plan.writeError = undefined;
      await log.close();
      const again = await openLogWith({ meta }, dir);
      const t2 = again.topic('t');
      expect(text(t2), 'offsets 5..9 hold the records appendSync returned them for').toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4']);
      expect(t2.appendSync(Buffer.from('next'))).toBe(10);
      await again.close();
    });
  });

  it("the log's timer writes a kept record once the failure clears, with no append or flush call", async () => {
    const plan: FaultPlan = {};
    const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability: 'os', fsyncIntervalMs: 20 });
    const errors: string[] = [];
    log.on('error', (e) => errors.push(e.code));
    const t = log.topic('t');
    const sub = t.subscribe();
    const got: string[] = [];
    const consumer = (async () => {
      for await (const r of sub) {
        got.push(r.valueBytes!.toString());
        if (got.length === 2) break;
      }
    })();
    t.appendSync(Buffer.from('a'));
    await waitUntil(() => got.length === 1, 'delivery of a');
    plan.writeError = 'EIO';
    expect(t.appendSync(Buffer.from('kept'))).toBe(1);
    await waitUntil(() => errors.length > 0, "the failed write's error event");
    plan.writeError = undefined;
    await withinHangBound(consumer, 'delivery of the kept record by the timer');
    expect(got).toEqual(['a', 'kept']);
    await log.close();
  });
});
