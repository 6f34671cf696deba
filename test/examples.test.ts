// The examples in examples/ run as a user runs them (`node examples/<name>.mjs <dir>`, importing
// 'seglog' by the package's own name, i.e. the compiled dist/), and say what they should.
import { afterEach, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { HANG_MS } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function runExample(name: string, dataDir?: string): { code: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-example-'));
  dirs.push(dir);
  const r = spawnSync(process.execPath, [path.join(root, 'examples', name), dataDir ?? path.join(dir, 'data')], { cwd: root, encoding: 'utf8', timeout: HANG_MS });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('examples', () => {
  test('every example in examples/ has a test here', () => {
    const files = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.mjs')).sort();
    expect(files).toEqual(['cross-process-tail.mjs', 'edge-buffer.mjs', 'outbox-queue.mjs', 'todo-event-sourcing.mjs']);
  });

  test('todo-event-sourcing: the state replayed after a restart is the state before it, and the history is kept', () => {
    const r = runExample('todo-event-sourcing.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  [x] t1 buy milk\n  [ ] t2 write the quarterly report\n');
    expect(r.stdout).not.toContain('t3');
    expect(r.stdout).toContain('state identical after restart: true');
    expect(r.stdout).toContain('  offset 1: added "write report"\n  offset 4: renamed "write the quarterly report"\n');
    expect(r.stdout).toMatch(/6 events in /);
  });

  test('edge-buffer: readings buffered offline are forwarded once online, across a restart and a kill -9, in order and once each', () => {
    const r = runExample('edge-buffer.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('offline: buffered 1200, forwarded 0');
    expect(r.stdout).toContain('after restart: buffered 2000 in 5 chunks, resuming the uplink at chunk 3');
    // the child was killed right after its first chunk's appendBatch with commit resolved
    expect(r.stdout).toContain('after a crash (SIGKILL): buffered 2700, packed 2500 in 6 chunks');
    expect(r.stdout).toContain('online: forwarded 2700 of 2700, in order: true, duplicates: 0');
  });

  test('cross-process-tail: a read-only follower sees every record a writer in another process appends', () => {
    const r = runExample('cross-process-tail.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/follower got 0: \S+ worker-0 handled request 0\n/);
    expect(r.stdout).toMatch(/follower got 499: \S+ worker-1 handled request 499\n/);
    expect(r.stdout).toMatch(/follower saw 500 records written by process \d+, all of them: true/);
  });

  test('cross-process-tail run again in the same directory follows the new run\'s records, not the old ones', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-example-again-'));
    dirs.push(dir);
    const data = path.join(dir, 'data');
    expect(runExample('cross-process-tail.mjs', data).stdout).toMatch(/all of them: true/);
    const again = runExample('cross-process-tail.mjs', data);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/follower got 500: \S+ worker-0 handled request 0\n/);
    expect(again.stdout).toMatch(/follower got 999: \S+ worker-1 handled request 499\n/);
    expect(again.stdout).not.toMatch(/follower got (\d|\d\d|[1-4]\d\d):/);
    expect(again.stdout).toMatch(/follower saw 500 records written by process \d+, all of them: true/);
  });

  test('outbox-queue: a second worker in the group resumes where the first stopped; every job is sent once, in order', () => {
    const r = runExample('outbox-queue.mjs');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('worker A starts at offset 0');
    expect(r.stdout).toContain('worker A handled 4 jobs, the group is now at 4 (lag 6)');
    expect(r.stdout).toContain('worker B starts at offset 4');
    expect(r.stdout).toContain('worker B handled 8 jobs, the group is now at 12 (lag 0)');
    expect(r.stdout).toContain('sent 12 mails, each once: true, in order: true');
    expect(r.stdout).toContain('groups: {"mailer":{"position":12,"lag":0}}');
  });

  test('the README\'s quick start runs as written (in a temporary directory, its types stripped) and prints both records', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Quick start'));
    const source = section.slice(section.indexOf('```ts') + 5, section.indexOf('```', section.indexOf('```ts') + 5));
    expect(source.split('\n').filter((l) => l.trim().length > 0).length).toBeLessThanOrEqual(15);
    // (test/typing.test.ts compiles it with strict; here it runs as the JavaScript tsc makes of it)
    const code = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-readme-'));
    dirs.push(dir);
    expect(code).toContain("'./data'");
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code.replace("'./data'", JSON.stringify(path.join(dir, 'data')))], { cwd: root, encoding: 'utf8', timeout: HANG_MS });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("0 ada { type: 'signup', user: 'ada' }\n1 undefined { type: 'login', user: 'ada' }\nmail for ada\nmail for ada\n");
  });

  test('npm run demo\'s script: two consumer groups follow live, the compacted table keeps one reading per device, groups resume after a restart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-demo-test-'));
    dirs.push(dir);
    const r = spawnSync(process.execPath, [path.join(root, 'demo/demo.js'), path.join(dir, 'data')], { cwd: root, encoding: 'utf8', timeout: HANG_MS });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/produced 200,000 readings from 500 devices .*: \d+ ms, [\d,]+\/s/);
    expect(r.stdout).toContain("group 'latest-table' consumed 200,000 live");
    expect(r.stdout).toMatch(/group 'alerts' consumed 200,000 live: [\d,]+ readings above 27.5 °C/);
    expect(r.stdout).toMatch(/compacted 'latest': [\d,]+ records before, 500 after/);
    expect(r.stdout).toContain('latest(\'dev-0007\') = {"device":"dev-0007","seq":399,');
    expect(r.stdout).toContain('"alerts":{"position":200000,"lag":1000}');
    expect(r.stdout).toContain("after the restart 'latest-table' consumed 1000 and 'alerts' 1000");
    expect(r.stdout).toContain('readings 201,000 records');
  });
});
