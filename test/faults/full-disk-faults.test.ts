// A full disk through the file-I/O seam (faulty-io.ts: writeBudgetBytes, a write failing with
// ENOSPC, and `freeBytes`, what statfs reports): the space reserve `~reserve` is given back when
// the disk fills, appends are refused (without touching the disk) until there is room for the
// reserve again, maintenance runs meanwhile, and index writes that fail for lack of space fail
// neither close nor open: the next open, in a new process, rebuilds those indexes from the log.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogWith } from '../../src/log.js';
import { lmdbMetaStore } from '../../src/store/lmdb-store.js';
import { fileMetaStore } from '../../src/store/file-meta-store.js';
import type { MetaStoreFactory } from '../../src/store/meta-store.js';
import { entries } from '../entry.js';
import { HANG_MS } from '../helpers.js';
import { faultyIO, type FaultPlan } from './faulty-io.js';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-nospace-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

const value = (i: number): Buffer => Buffer.alloc(500, i % 251);
const wirings: Array<[string, MetaStoreFactory, string]> = [
  ['seglog', lmdbMetaStore, entries[0]!.dist],
  ['seglog/native-free', fileMetaStore, entries[1]!.dist],
];

describe.each(wirings)('%s', (_name, meta, dist) => {
  it('after ENOSPC the reserve is given back, appends are refused without a write until space is free, and truncateBefore runs meanwhile', async () => {
    const plan: FaultPlan = {};
    const io = faultyIO(plan);
    const log = await openLogWith({ meta, io }, dir, { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 4096 });
    for (let i = 0; i < 50; i++) await t.append(value(i));
    expect(fs.existsSync(path.join(dir, '~reserve')), 'a writable log keeps a reserve').toBe(true);
    plan.writeBudgetBytes = 0;
    plan.freeBytes = 1000;
    await expect(t.append(value(50))).rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
    expect(fs.existsSync(path.join(dir, '~reserve')), 'the reserve is given back when the disk fills').toBe(false);
    const writes = io.writes;
    await expect(t.append(value(50))).rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
    expect(() => t.appendSync(value(50))).toThrow(expect.objectContaining({ code: 'ERR_NO_SPACE' }));
    expect(io.writes, 'refused appends do not touch the disk').toBe(writes);
    await t.truncateBefore(20); // maintenance is not refused
    expect(t.startOffset).toBe(20);
    plan.writeBudgetBytes = undefined;
    plan.freeBytes = undefined;
    expect(await t.append(value(50)), 'appends resume once space is free, without a reopen').toBe(50);
    expect(fs.existsSync(path.join(dir, '~reserve')), 'the reserve is written again').toBe(true);
    await log.close();
  });

  it('index writes that fail for lack of space fail neither flush nor close; the next open, in a new process, rebuilds the indexes', async () => {
    const plan: FaultPlan = {};
    const log = await openLogWith({ meta, io: faultyIO(plan) }, dir, { durability: 'fsync', fsyncIntervalMs: 600_000 });
    const t = log.topic('t', { indexIntervalBytes: 1024 });
    for (let i = 0; i < 200; i++) await t.append(value(i));
    // every write fails from here on (the .log is written: only index entries are pending)
    plan.failOp = { op: 'write', nth: 1, code: 'ENOSPC', persistent: true };
    plan.freeBytes = 0;
    await log.flush();
    await log.close();
    const script = `
      import diagnostics_channel from 'node:diagnostics_channel';
      const actions = [];
      diagnostics_channel.subscribe('seglog:recovery', (m) => actions.push(m.action));
      const { openLog } = await import(${JSON.stringify(dist)});
      const log = await openLog(${JSON.stringify(dir)});
      const t = log.topic('t');
      const offsets = [...t.read()].map((r) => r.offset);
      const g = t.get(150);
      const found = t.offsetForTime(0);
      await log.close();
      console.log(JSON.stringify({ records: offsets.length, dense: offsets.every((o, i) => o === i), got: g?.valueBytes?.[0], found, rebuilt: actions.includes('rebuild-index') }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: HANG_MS }).trim().split('\n').pop()!);
    expect(out).toEqual({ records: 200, dense: true, got: 150 % 251, found: 0, rebuilt: true });
  });
});
