// seglog/native-free loads no native code: a child process with process.dlopen disabled (and a
// resolve hook refusing lmdb, msgpackr-extract and `.node` files) imports the entry point and runs
// a full scenario (append, read, subscribe with a group, retention, compaction, reopen). The same
// guard is shown to stop the default entry point, so the proof cannot pass by accident.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { FIXTURES } from './helpers.js';

const nativeFree = entries.find((e) => e.name === 'seglog/native-free')!;
const defaultEntry = entries.find((e) => e.name === 'seglog')!;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function run(entryDist: string, env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-nonative-'));
  dirs.push(dir);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, path.join(FIXTURES, 'no-native.mjs'), entryDist, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('native-free loads no native addon', () => {
  test('the full scenario runs under seglog/native-free with dlopen disabled', async () => {
    const r = await run(nativeFree.dist);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('ok '));
    expect(line, r.stdout).toBeDefined();
    const result = JSON.parse(line!.slice(3)) as { dlopenCalls: string[]; unsupported: string[] };
    expect(result.dlopenCalls).toEqual([]);
    expect(result.unsupported, 'every part of the scenario ran').toEqual([]);
  });

  test('the full scenario runs under seglog/native-free in `node --no-addons`, which stops the default entry point', async () => {
    const r = await run(nativeFree.dist, { SEGLOG_NO_GUARD: '1' }, ['--no-addons']);
    expect(r.stderr).toBe('');
    const line = r.stdout.split('\n').find((l) => l.startsWith('ok '));
    expect(line, r.stdout).toBeDefined();
    expect((JSON.parse(line!.slice(3)) as { unsupported: string[] }).unsupported).toEqual([]);
    const stopped = await run(defaultEntry.dist, { SEGLOG_NO_GUARD: '1' }, ['--no-addons']);
    expect(stopped.stdout).toMatch(/^import-failed .*addons/m);
  });

  test('under Node\'s permission model (addons off; Node 20 also refuses fsync) a writable open is a clear ERR_IO leaving no lock file; readOnly reads with read access only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-permission-'));
    dirs.push(dir);
    const mod = await nativeFree.load();
    const log = await mod.openLog(dir);
    const t = log.topic<string>('t', { codec: 'string', cleanup: 'compact' });
    for (let i = 0; i < 50; i++) t.appendSync(`v${i}`, { key: `k${i % 5}` });
    await log.close();
    const script = `
      const { openLog } = await import(${JSON.stringify(nativeFree.dist)});
      const dir = ${JSON.stringify(dir)};
      if (process.argv[1] === 'write') {
        try { await openLog(dir); console.log('opened'); } catch (e) { console.log(JSON.stringify({ name: e.constructor.name, code: e.code, message: e.message })); }
      } else {
        const log = await openLog(dir, { readOnly: true });
        const t = log.topic('t', { codec: 'string' });
        console.log(JSON.stringify({ n: [...t.read()].length, latest: t.latest('k3')?.value }));
        await log.close();
      }`;
    const child = (mode: string, flags: string[]) => new Promise<string>((resolve) => {
      const c = spawn(process.execPath, ['--experimental-permission', '--no-warnings', ...flags, '--input-type=module', '-e', script, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.stderr.on('data', (d) => (out += d));
      c.on('close', () => resolve(out.trim()));
    });
    const written = await child('write', ['--allow-fs-read=*', '--allow-fs-write=*']);
    if (written === 'opened') return; // a Node whose permission model allows fsync: nothing to refuse
    const err = JSON.parse(written) as { name: string; code: string; message: string };
    expect(err).toMatchObject({ name: 'SeglogError', code: 'ERR_IO' });
    expect(err.message).toContain('permission model');
    expect(fs.existsSync(path.join(dir, '~seglog.lock'))).toBe(false);
    expect(JSON.parse(await child('read', ['--allow-fs-read=*']))).toEqual({ n: 50, latest: 'v48' });
  });

  test('the same guard stops the default entry point (the proof is not vacuous)', async () => {
    const hooked = await run(defaultEntry.dist);
    expect(hooked.stdout).toMatch(/^import-failed refused to resolve a native module: lmdb/m);
    const dlopenOnly = await run(defaultEntry.dist, { SEGLOG_DLOPEN_ONLY: '1' });
    expect(dlopenOnly.stdout).toMatch(/^import-failed native addon loading is disabled in this process: .*\.node/m);
  });
});
