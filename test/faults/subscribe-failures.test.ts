// Subscriptions and failed writes: a record whose write failed is not delivered until it is
// written, and each offset is delivered once (SPEC: "an offset that was ... delivered to a
// subscription is never given to another record"). A record whose offset appendSync returned keeps
// it: it is delivered once a retry writes it (since issue 11; before, it was taken back and its
// offset given to the next record). Under every durability mode, including 'none' (whose topic
// writes each tick while it has subscribers).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogWith } from '../../src/log.js';
import { lmdbMetaStore } from '../../src/store/lmdb-store.js';
import { fileMetaStore } from '../../src/store/file-meta-store.js';
import type { MetaStoreFactory } from '../../src/store/meta-store.js';
import { faultyIO, type FaultPlan } from './faulty-io.js';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-sub-faults-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const wirings: Array<[string, MetaStoreFactory]> = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]];

describe.each(wirings)('%s', (_name, meta) => {
  it.each(['fsync', 'os', 'none'] as const)("durability '%s': a record whose write failed is not delivered until a retry writes it; it keeps its offset, delivered once", async (durability) => {
    const plan: FaultPlan = {};
    const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability });
    log.on('error', () => undefined); // (the failure is also reported as an event)
    const t = log.topic('t');
    const sub = t.subscribe();
    const got: string[] = [];
    const offsets: number[] = [];
    const consumer = (async () => {
      for await (const r of sub) {
        offsets.push(r.offset);
        got.push(r.valueBytes!.toString());
        if (got.length === 4) break;
      }
    })();
    t.appendSync(Buffer.from('a0'));
    t.appendSync(Buffer.from('a1'));
    await turn();
    await turn();
    expect(got).toEqual(['a0', 'a1']);
    plan.writeError = 'ENOSPC';
    t.appendSync(Buffer.from('kept2'));
    t.appendSync(Buffer.from('kept3'));
    await turn();
    await turn();
    expect(t.endOffset).toBe(4); // the records whose offsets appendSync returned stay
    expect(got).toEqual(['a0', 'a1']);
    // appendSync has no promise: its failure is reported by the next append call, refused while it lasts
    expect(() => t.appendSync(Buffer.from('x'))).toThrow(/no space left/);
    plan.writeError = undefined;
    expect(t.appendSync(Buffer.from('b4'))).toBe(4); // writes the kept records first
    await consumer;
    expect(offsets).toEqual([0, 1, 2, 3]);
    expect(got).toEqual(['a0', 'a1', 'kept2', 'kept3']);
    await log.close();
  });
});
