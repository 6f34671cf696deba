// `seglog groups`, run as a real child process against directories written by either entry point:
// the listing (table and --json), --reset-to earliest|latest|<offset>|<ISO time> (a rewind that a
// reopen keeps), --delete, and the refusals: bad arguments exit 2, an unknown topic 5, an unknown
// group for --delete 1, a locked directory 4 (the listing still works next to the writer).
import { afterEach, describe, expect, test } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { entries } from './entry.js';
import { ChildLines, FIXTURES, HANG_MS } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'dist/src/cli/main.js');

function seglog(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: HANG_MS });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dirs: string[] = [];
const children: ChildLines[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (!c.exited) { c.child.kill('SIGKILL'); await c.exit(); }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe.each(entries)('$name: seglog groups', (entry) => {
  async function sample(): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-cli-groups-'));
    dirs.push(dir);
    const { openLog } = await entry.load();
    const log = await openLog(dir);
    const jobs = log.topic('jobs');
    for (let i = 0; i < 10; i++) jobs.appendSync(Buffer.from(`job ${i}`), { timestamp: Date.UTC(2026, 0, 1, 0, i) });
    log.topic('other').appendSync(Buffer.from('x'));
    await jobs.subscribe({ group: 'mailer', autoCommit: false }).commit(7);
    await jobs.subscribe({ group: 'audit', autoCommit: false }).commit(2);
    await log.topic('other').subscribe({ group: 'mailer', autoCommit: false }).commit(1);
    await log.close();
    return dir;
  }

  async function positions(dir: string): Promise<Record<string, number>> {
    const { openLog } = await entry.load();
    const log = await openLog(dir, { readOnly: true });
    try {
      return Object.fromEntries(log.topic('jobs').groups().map((g) => [g.group, g.position]));
    } finally {
      await log.close();
    }
  }

  test('lists every topic\'s groups, or one topic\'s, as a table or JSON', async () => {
    const dir = await sample();
    const all = seglog(['groups', dir]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/TOPIC\s+GROUP\s+POSITION\s+LAG/);
    expect(all.stdout).toMatch(/jobs\s+audit\s+2\s+8/);
    expect(all.stdout).toMatch(/jobs\s+mailer\s+7\s+3/);
    expect(all.stdout).toMatch(/other\s+mailer\s+1\s+0/);
    const one = seglog(['groups', dir, 'jobs', '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual([
      { topic: 'jobs', group: 'audit', position: 2, lag: 8 },
      { topic: 'jobs', group: 'mailer', position: 7, lag: 3 },
    ]);
  });

  test('--reset-to rewinds and moves a group (earliest, latest, an offset, an ISO time); a reopen keeps it', async () => {
    const dir = await sample();
    let r = seglog(['groups', dir, 'jobs', '--group', 'mailer', '--reset-to', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('was at offset 7, now at offset 3');
    expect(await positions(dir)).toEqual({ audit: 2, mailer: 3 });
    expect(seglog(['groups', dir, 'jobs', '--group', 'mailer', '--reset-to', 'latest']).code).toBe(0);
    expect((await positions(dir)).mailer).toBe(10);
    expect(seglog(['groups', dir, 'jobs', '--group', 'mailer', '--reset-to', '2026-01-01T00:05:00Z']).code).toBe(0);
    expect((await positions(dir)).mailer).toBe(5);
    expect(seglog(['groups', dir, 'jobs', '--group', 'fresh', '--reset-to', 'earliest']).code).toBe(0);
    expect(await positions(dir)).toEqual({ audit: 2, fresh: 0, mailer: 5 });
    // the group resumes where it was reset to
    const { openLog } = await entry.load();
    const log = await openLog(dir);
    const sub = log.topic('jobs').subscribe({ group: 'mailer' });
    expect((await sub.next()).value!.offset).toBe(5);
    await log.close();
  });

  test('--delete forgets one group of one topic', async () => {
    const dir = await sample();
    const r = seglog(['groups', dir, 'jobs', '--group', 'mailer', '--delete']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deleted group mailer of topic jobs');
    expect(await positions(dir)).toEqual({ audit: 2 });
    expect(JSON.parse(seglog(['groups', dir, 'other', '--json']).stdout)).toEqual([{ topic: 'other', group: 'mailer', position: 1, lag: 0 }]);
    const again = seglog(['groups', dir, 'jobs', '--group', 'mailer', '--delete']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no group "mailer"');
  });

  test('bad arguments exit 2, an unknown topic 5, a missing directory 3', async () => {
    const dir = await sample();
    for (const args of [
      ['groups', dir, 'jobs', '--group', 'mailer', '--reset-to', 'soon'],
      ['groups', dir, 'jobs', '--group', 'mailer', '--reset-to', '-4'],
      ['groups', dir, 'jobs', '--reset-to', '3'],
      ['groups', dir, '--group', 'mailer', '--delete'],
      ['groups', dir, 'jobs', '--group', 'mailer', '--reset-to', '3', '--delete'],
      ['groups', dir, 'jobs', '--group', 'mailer', '--reset-to', '11'],
    ]) {
      const r = seglog(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^seglog: /);
    }
    expect(seglog(['groups', dir, 'nope']).code).toBe(5);
    expect(seglog(['groups', dir, 'nope', '--group', 'g', '--delete']).code).toBe(5);
    expect(seglog(['groups', path.join(dir, 'missing')]).code).toBe(3);
    expect(await positions(dir)).toEqual({ audit: 2, mailer: 7 });
  });

  test('next to a writer: the listing works, changes exit 4 (the log must be unlocked)', async () => {
    const dir = await sample();
    const holder = new ChildLines(spawn(process.execPath, [path.join(FIXTURES, 'hold-lock.mjs'), entry.dist, dir], { stdio: ['ignore', 'pipe', 'pipe'] }));
    children.push(holder);
    await holder.waitFor((l) => l === 'open');
    expect(seglog(['groups', dir, 'jobs']).stdout).toMatch(/jobs\s+mailer\s+7/);
    const r = seglog(['groups', dir, 'jobs', '--group', 'mailer', '--reset-to', '0']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`locked by process ${holder.child.pid}`);
    expect(seglog(['groups', dir, 'jobs', '--group', 'mailer', '--delete']).code).toBe(4);
  });
});
