// A real full disk: a 2 MiB tmpfs mounted for the test (needs root; skipped with the reason
// printed where mounting is not permitted). Appends past the end reject with ERR_NO_SPACE, the log
// stays readable, appends work again once space is freed (without reopening), and a reopen finds
// every acknowledged record and none of the rejected ones.
//
// The default entry reads through memory mappings: the space of a mapped file that is removed
// comes back when its mapping is collected (no view of it left, and a GC: docs/guarantees.md,
// Known gaps), so each test collects garbage after removing its log, before the next one needs the
// room (and before the tmpfs is unmounted: a live mapping keeps it busy).
import { execFileSync } from 'node:child_process';
import v8 from 'node:v8';
import vm from 'node:vm';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { entries } from '../entry.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Collects garbage for a few turns: mapping finalizers run after a GC, on later turns. */
async function collectMappings(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

let mountPoint = '';
let skipReason = '';

beforeAll(() => {
  mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (err) {
    skipReason = `cannot mount a tmpfs here (${String((err as Error).message).split('\n')[0]}): full-disk test skipped`;
    console.warn(skipReason);
  }
});

afterEach(collectMappings); // (outside the test: its records, views into the mappings, are gone)

afterAll(async () => {
  await collectMappings();
  if (skipReason === '') {
    // busy (a mapping not collected yet): detach it now, the kernel frees it when the last user goes
    try { execFileSync('umount', [mountPoint], { stdio: 'pipe' }); } catch { execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' }); }
  }
  fs.rmSync(mountPoint, { recursive: true, force: true });
});

describe.each(entries)('$name: a real full disk', (entry) => {
  test.each(['fsync', 'os'] as const)('durability %s: ERR_NO_SPACE, readable, writable again after space is freed, nothing lost or invented', async (durability) => {
    if (skipReason !== '') return;
    const { openLog } = await entry.load();
    const dir = path.join(mountPoint, `log-${entry.name.replace('/', '-')}-${durability}`);
    const filler = path.join(mountPoint, `filler-${entry.name.replace('/', '-')}-${durability}`);
    const log = await openLog(dir, { durability });
    const t = log.topic('t');
    const acked: number[] = [];
    let failure: any;
    const value = (i: number) => Buffer.alloc(1000, i % 251);
    fs.writeFileSync(filler, Buffer.alloc(256 * 1024));
    for (let i = 0; i < 5000 && failure === undefined; i++) {
      try {
        acked.push(await t.append(value(i)));
      } catch (err) {
        failure = err;
      }
    }
    expect(failure?.code).toBe('ERR_NO_SPACE');
    // still readable, and exactly the acknowledged records are there
    expect(t.endOffset).toBe(acked.length);
    const read = [...t.read()];
    expect(read.length).toBe(acked.length);
    for (const r of read) expect(r.valueBytes!.equals(value(r.offset))).toBe(true);
    // a batch is refused whole as well
    await expect(t.appendBatch([{ value: value(1) }, { value: value(2) }])).rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
    expect(t.endOffset).toBe(acked.length);
    // free space: appends work again without reopening
    fs.rmSync(filler);
    const next = await t.append(value(acked.length));
    expect(next).toBe(acked.length);
    acked.push(next);
    await log.close();
    const again = await openLog(dir);
    const t2 = again.topic('t');
    expect(t2.endOffset).toBe(acked.length);
    for (const r of t2.read()) expect(r.valueBytes!.equals(value(r.offset))).toBe(true);
    await again.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
