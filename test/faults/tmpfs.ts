// A real small disk for full-disk tests: a 2 MiB tmpfs mounted per test (needs root; skipped with
// the reason printed otherwise), always unmounted afterwards; a new Node process to reopen a log in;
// a filler file that takes the disk to its last byte.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { Entry } from '../entry.js';
import { HANG_MS } from '../helpers.js';

/** Runs `fn` on a fresh 2 MiB tmpfs, always unmounted afterwards; false when mounting is not permitted. */
export async function onTmpfs(fn: (mnt: string) => Promise<void>): Promise<boolean> {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    console.warn(`cannot mount a tmpfs here (${String((err as Error).message).split('\n')[0]}): test skipped`);
    fs.rmSync(mnt, { recursive: true, force: true });
    return false;
  }
  try {
    await fn(mnt);
  } finally {
    try { execFileSync('umount', [mnt], { stdio: 'pipe' }); } catch { execFileSync('umount', ['-l', mnt], { stdio: 'pipe' }); }
    fs.rmSync(mnt, { recursive: true, force: true });
  }
  return true;
}

/** Runs `body` (an async function body with `openLog`, `dir` and `value` in scope) in a new Node process; returns what it prints as JSON. */
export function inChild(entry: Entry, dir: string, body: string): any {
  const script = `
    const { openLog } = await import(${JSON.stringify(entry.dist)});
    const dir = ${JSON.stringify(dir)};
    const value = (i) => Buffer.alloc(1000, i % 251);
    const codeOf = async (p) => { try { await p; return 'ok'; } catch (e) { return e.code ?? String(e); } };
    const out = {};
    ${body}
    console.log(JSON.stringify(out));`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: HANG_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

/** Fills the disk holding `file` to its last byte with `file`. */
export function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  try { for (;;) fs.writeSync(fd, Buffer.alloc(64 * 1024)); } catch (err) { expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC'); }
  try { for (;;) fs.writeSync(fd, Buffer.alloc(512)); } catch { /* the last blocks */ }
  fs.closeSync(fd);
}
