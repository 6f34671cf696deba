// The directory is the library's (SPEC; issue 11, item 8): openLog marks a directory it creates
// (or finds empty) with `~seglog.dir`, opens and marks one an earlier version wrote, and refuses
// any other non-empty directory with ERR_INVALID_ARGUMENT naming it, before writing a byte there
// (read-only too). `seglog produce --create` goes through the same check.
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { entries } from './entry.js';
import { HANG_MS, expectSeglogError, harness } from './helpers.js';

const MARKER = '~seglog.dir';

/** Every path under `dir` with its size, to show that nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(`${path.relative(dir, p)}:${e.isDirectory() ? 'dir' : fs.statSync(p).size}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

function projectDir(dir: string): void {
  fs.mkdirSync(path.join(dir, 'node_modules', 'left-pad'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'app.ts'), 'export {};\n');
  fs.writeFileSync(path.join(dir, 'package.json'), '{}\n');
}

describe.each(entries)('$name: the directory is the library\'s', (entry) => {
  const h = harness(entry);

  test('a directory openLog creates, or finds empty, gets the marker, and opens again', async () => {
    const parent = h.tmp();
    const fresh = path.join(parent, 'new', 'log');
    const log = await h.open(fresh);
    expect(fs.existsSync(path.join(fresh, MARKER))).toBe(true);
    log.topic('t').appendSync(Buffer.from('x'));
    await log.close();
    const empty = h.tmp();
    await (await h.open(empty)).close();
    expect(fs.existsSync(path.join(empty, MARKER))).toBe(true);
    const again = await h.open(fresh);
    expect(again.topic('t').endOffset).toBe(1);
  });

  test('a project directory (node_modules, src, package.json) is refused, naming it, and nothing is written — read-only too', async () => {
    const dir = h.tmp();
    projectDir(dir);
    const before = snapshot(dir);
    for (const options of [{}, { readOnly: true }, { repair: true }]) {
      const err = await expectSeglogError(h.mod, () => h.mod.openLog(dir, options), 'ERR_INVALID_ARGUMENT', [dir]);
      expect(err.message).toMatch(/node_modules|src|package\.json/);
      expect(snapshot(dir)).toEqual(before);
    }
    // verify() agrees with openLog: it refuses the directory too (it used to list src as a topic, intact)
    await expectSeglogError(h.mod, () => h.mod.verify(dir), 'ERR_INVALID_ARGUMENT', [dir]);
    expect(snapshot(dir)).toEqual(before);
  });

  test('a seglog directory with a foreign file in it is refused; one with only lost+found is not', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    log.topic('t').appendSync(Buffer.from('x'));
    await log.close();
    fs.rmSync(path.join(dir, MARKER));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine\n');
    const before = snapshot(dir);
    await expectSeglogError(h.mod, () => h.mod.openLog(dir), 'ERR_INVALID_ARGUMENT', [dir, 'notes.txt']);
    expect(snapshot(dir)).toEqual(before);
    const mount = h.tmp();
    fs.mkdirSync(path.join(mount, 'lost+found'));
    await (await h.open(mount)).close();
    expect(fs.existsSync(path.join(mount, MARKER))).toBe(true);
  });

  test('a directory an earlier version wrote (no marker) opens with its data and is marked; read-only writes nothing', async () => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const t = log.topic<string>('orders', { codec: 'string' });
    for (let i = 0; i < 5; i++) await t.append(`o${i}`);
    log.topic('empty');
    await log.close();
    fs.rmSync(path.join(dir, MARKER));
    const before = snapshot(dir);
    const ro = await h.open(dir, { readOnly: true });
    expect(ro.topics()).toEqual(['empty', 'orders']);
    await ro.close();
    expect(snapshot(dir)).toEqual(before);
    log = await h.open(dir);
    expect(log.topic('orders').endOffset).toBe(5);
    expect(fs.existsSync(path.join(dir, MARKER))).toBe(true);
  });

  test('an unmarked directory holding only a topic folder with segment files (metadata lost) is recognised', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    await log.topic('t').append(Buffer.from('x'));
    await log.close();
    for (const f of fs.readdirSync(dir)) if (f !== 't') fs.rmSync(path.join(dir, f), { recursive: true });
    const again = await h.open(dir);
    expect(again.topic('t').endOffset).toBe(1);
  });
});

describe('seglog produce --create', () => {
  const h = harness(entries[0]!);
  test('refuses a foreign directory without writing, and creates and marks a new one', () => {
    const bin = path.join(path.dirname(entries[0]!.dist), 'cli/main.js');
    const dir = h.tmp();
    projectDir(dir);
    const before = snapshot(dir);
    const r = spawnSync(process.execPath, [bin, 'produce', dir, 'events', '--create'], { input: 'a\nb\n', encoding: 'utf8', timeout: HANG_MS });
    expect(r.signal).toBeNull();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(dir);
    expect(r.stderr).toMatch(/not a seglog log directory/);
    expect(snapshot(dir)).toEqual(before);
    const fresh = path.join(h.tmp(), 'log');
    const ok = spawnSync(process.execPath, [bin, 'produce', fresh, 'events', '--create'], { input: 'a\nb\n', encoding: 'utf8', timeout: HANG_MS });
    expect(ok.status, ok.stderr).toBe(0);
    expect(fs.existsSync(path.join(fresh, MARKER))).toBe(true);
  });
});
