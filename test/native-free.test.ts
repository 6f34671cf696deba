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

function run(entryDist: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-nonative-'));
  dirs.push(dir);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, 'no-native.mjs'), entryDist, dir], {
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
  }, 60_000);

  test('the same guard stops the default entry point (the proof is not vacuous)', async () => {
    const hooked = await run(defaultEntry.dist);
    expect(hooked.stdout).toMatch(/^import-failed refused to resolve a native module: lmdb/m);
    const dlopenOnly = await run(defaultEntry.dist, { SEGLOG_DLOPEN_ONLY: '1' });
    expect(dlopenOnly.stdout).toMatch(/^import-failed native addon loading is disabled in this process: .*\.node/m);
  }, 60_000);
});
