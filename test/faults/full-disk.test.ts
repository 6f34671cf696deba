// A real full disk: a 2 MiB tmpfs mounted for the test (needs root; skipped with the reason
// printed where mounting is not permitted). Appends past the end reject with ERR_NO_SPACE, the log
// stays readable, appends work again once space is freed (without reopening), and a reopen finds
// every acknowledged record and none of the rejected ones.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { entries } from '../entry.js';

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

afterAll(() => {
  if (skipReason === '') {
    try { execFileSync('umount', [mountPoint], { stdio: 'pipe' }); } catch { /* busy: left for the OS */ }
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
