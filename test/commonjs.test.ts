// require('seglog') and require('seglog/native-free') load the CommonJS build (dist/cjs, built by
// test/global-setup.ts as `npm run build` does) through the package's "exports" (a child process
// in the repository resolves the package by its own name). Each entry runs a scenario in a child
// (test/fixtures/cjs-scenario.cjs); the native-free one under `node --no-addons`, loading nothing
// native. The CommonJS and ES module copies loaded in one process keep one writer per directory.
// test/package.test.ts does the same against the packed and installed package.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { FIXTURES } from './helpers.js';
import { run as runIn, type RunResult } from './package-probe.js';

const root = path.resolve(FIXTURES, '../..');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-cjs-'));
  dirs.push(dir);
  return path.join(dir, 'log');
}

/** node with `args`, in the repository (package-probe.ts run). */
function run(args: string[]): Promise<RunResult> {
  return runIn(process.execPath, args, root);
}

function okLine(r: { code: number | null; stdout: string; stderr: string }): Record<string, unknown> {
  expect(r.code, r.stderr).toBe(0);
  const line = r.stdout.split('\n').find((l) => l.startsWith('ok '));
  expect(line, r.stdout + r.stderr).toBeDefined();
  return JSON.parse(line!.slice(3)) as Record<string, unknown>;
}

describe('CommonJS', () => {
  test("require('seglog') loads the CommonJS build and runs the scenario", async () => {
    const r = okLine(await run([path.join(FIXTURES, 'cjs-scenario.cjs'), 'seglog', tempDir()]));
    expect(r).toEqual({ resolved: path.join(root, 'dist/cjs/src/index.js'), ok: true, nativeLoaded: true });
  });

  test("require('seglog/native-free') runs the scenario under node --no-addons, loading nothing native", async () => {
    const r = okLine(await run(['--no-addons', path.join(FIXTURES, 'cjs-scenario.cjs'), 'seglog/native-free', tempDir()]));
    expect(r).toEqual({ resolved: path.join(root, 'dist/cjs/native-free/index.js'), ok: true, nativeLoaded: false });
  });

  test('the CommonJS and ES module builds in one process refuse each other a directory (ERR_LOCKED) and share SeglogError', async () => {
    const r = okLine(await run([path.join(FIXTURES, 'dual-package.mjs'), tempDir()]));
    expect(r).toEqual({ refusals: ['ERR_LOCKED true true', 'ERR_LOCKED true true'], endOffset: 1 });
  });

  test('the CommonJS build is marked CommonJS and resolves #msgpackr-pure to msgpackr\'s pure build (no msgpackr-extract)', () => {
    const scope = JSON.parse(fs.readFileSync(path.join(root, 'dist/cjs/package.json'), 'utf8')) as { type: string };
    expect(scope.type).toBe('commonjs');
    const fromCodecs = createRequire(path.join(root, 'dist/cjs/src/format/codecs.js'));
    const resolved = fromCodecs.resolve('#msgpackr-pure');
    expect(resolved).toMatch(/msgpackr[\\/]dist[\\/]index-no-eval\.cjs$/);
    expect(fs.readFileSync(resolved, 'utf8')).not.toMatch(/msgpackr-extract/);
  });
});
