// Regressions found by the model under faults (model-faults.test.ts), pinned down as plain tests:
//   1. an appendBatch that crossed a segment roll, whose second half failed to write at the end of
//      the tick: the batch rejected, but its first half (written to the old segment by the roll)
//      stayed in the log — a ghost of a rejected append, in process and after a reopen;
//   2. flush() after an appendSync whose write failed resolved, although the record was lost. (Since
//      issue 11 the record is kept at its offset and written once the failure clears: flush()
//      rejects while it lasts.)
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

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-fault-reg-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const wirings: Array<[string, MetaStoreFactory]> = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]];
const values = (t: { read(): Iterable<{ value: unknown }> }) => [...t.read()].map((r) => r.value);

describe.each(wirings)('%s', (_name, meta) => {
  describe.each(['fsync', 'os'] as const)('durability %s', (durability) => {
    it('an appendBatch across a roll whose second half fails to write leaves none of its records, in process or after a reopen', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      const t = log.topic<string>('t', { codec: 'string', segmentBytes: 1024 });
      const before: string[] = [];
      while (log.stats().topics.t!.segments === 1 && before.length < 100) {
        const v = `before ${before.length} ${'b'.repeat(60)}`;
        await t.append(v);
        before.push(v);
        if (log.stats().topics.t!.bytes > 700) break;
      }
      const start = t.endOffset;
      // the roll inside the batch writes the old segment (1st .log write); the tick's write of the
      // new segment (2nd) fails
      plan.failOp = { op: 'write', nth: 2, code: 'ENOSPC', logOnly: true };
      const batch = Array.from({ length: 12 }, (_, i) => ({ value: `batch ${i} ${'x'.repeat(50)}` }));
      const outcome = await t.appendBatch(batch).then((o) => o, (e: unknown) => e);
      plan.failOp = undefined;
      expect(outcome).toBeInstanceOf(SeglogError);
      expect((outcome as SeglogError).code).toBe('ERR_NO_SPACE');
      expect(t.endOffset).toBe(start);
      expect(values(t)).toEqual(before);
      // the log goes on at the same offset
      expect(await t.append('after')).toBe(start);
      await log.close();
      const again = await openLogWith({ meta }, dir);
      expect(values(again.topic<string>('t', { codec: 'string' }))).toEqual([...before, 'after']);
      await again.close();
    });

    it('flush() after an appendSync whose write failed rejects with that error while it lasts; the record stays and is written once it clears', async () => {
      const plan: FaultPlan = {};
      const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
      const t = log.topic<string>('t', { codec: 'string' });
      await t.append('kept');
      plan.writeError = 'ENOSPC';
      expect(t.appendSync('returned')).toBe(1);
      const outcome = await log.flush().then(() => 'resolved', (e: unknown) => e);
      expect(outcome).toBeInstanceOf(SeglogError);
      expect((outcome as SeglogError).code).toBe('ERR_NO_SPACE');
      expect(values(t), 'the record whose offset appendSync returned stays there').toEqual(['kept', 'returned']);
      await expect(log.flush(), 'still failing: flush() still rejects').rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
      plan.writeError = undefined;
      await log.flush(); // the failure cleared: the kept record is written
      expect(await t.append('next')).toBe(2);
      await log.close();
      const again = await openLogWith({ meta }, dir);
      expect(values(again.topic<string>('t', { codec: 'string' }))).toEqual(['kept', 'returned', 'next']);
      await again.close();
    });
  });
});
