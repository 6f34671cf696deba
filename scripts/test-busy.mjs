#!/usr/bin/env node
// npm run test:busy [-- --runs N] [-- vitest arguments...]: runs the test suite while the machine is
// loaded the way a busy CI host is: a process spinning on every core but one, and a writer that
// writes and fsyncs a file without pause. The suite must give the same answer as on an idle
// machine (tests wait for events, never for time). The load stops whatever happens: the script
// kills it when the suite ends, on SIGINT/SIGTERM/SIGHUP and on an exception, and every load
// process also exits by itself within about 50 ms once this script is gone (it watches its parent
// pid), so even a `kill -9` of this script leaves nothing behind. The writer's file lives in a
// fresh temporary directory that is removed at the end (by the writer itself after a kill -9).
//
// --runs N runs the suite N times in a row under the same load and stops at the first failure.
// Other arguments go to `vitest run` (for example a test file to run alone).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// --- the load processes (each is `node -e <source>`, watching its parent) ---------------------

/** Exits when the parent (this script) is gone: its pid is passed in, and ppid changes when it dies. */
const WATCH_PARENT = `const parent = Number(process.argv[1]); const alive = () => process.ppid === parent;`;

/** Spins one core: busy loops of 50 ms, checking the parent between them. */
const SPINNER = `${WATCH_PARENT}
let x = 0;
while (alive()) { const end = Date.now() + 50; while (Date.now() < end) x = (x * 31 + 7) | 0; }`;

/**
 * Writes 1 MiB and fsyncs, without pause, into one file that it rewinds every 64 MiB (so the
 * disk use stays bounded). Checks the parent every round; once it is gone, removes its folder.
 */
const WRITER = `${WATCH_PARENT}
const fs = require('node:fs');
const file = process.argv[2];
const fd = fs.openSync(file, 'w');
const chunk = Buffer.alloc(1024 * 1024, 0x5a);
let pos = 0;
while (alive()) {
  fs.writeSync(fd, chunk, 0, chunk.length, pos);
  fs.fsyncSync(fd);
  pos += chunk.length;
  if (pos >= 64 * 1024 * 1024) { pos = 0; fs.ftruncateSync(fd, 0); }
}
fs.closeSync(fd);
fs.rmSync(require('node:path').dirname(file), { recursive: true, force: true });`;

function parseArgs(argv) {
  let runs = 1;
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1) {
        console.error(`test:busy: --runs needs a whole number of at least 1, got ${argv[i]}`);
        process.exit(2);
      }
    } else rest.push(a);
  }
  return { runs, vitestArgs: rest };
}

const { runs, vitestArgs } = parseArgs(process.argv.slice(2));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-busy-'));
const load = [];
let suite;

function startLoad() {
  const spinners = Math.max(1, os.availableParallelism() - 1);
  for (let i = 0; i < spinners; i++) {
    load.push(spawn(process.execPath, ['-e', SPINNER, String(process.pid)], { stdio: 'ignore' }));
  }
  load.push(spawn(process.execPath, ['-e', WRITER, String(process.pid), path.join(tmp, 'fsync-load.bin')], { stdio: 'ignore' }));
  console.error(`test:busy: load started: ${spinners} spinning process(es) and one write+fsync loop (pids ${load.map((c) => c.pid).join(', ')})`);
}

let cleaned = false;
function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  for (const c of load) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (suite !== undefined && suite.exitCode === null && suite.signalCode === null) suite.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}

process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`test:busy: ${sig}: stopping the load and the suite`);
    cleanUp();
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  console.error('test:busy:', err);
  cleanUp();
  process.exit(1);
});

function runSuite(n) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.error(`test:busy: run ${n} of ${runs}: vitest run ${vitestArgs.join(' ')}`);
    suite = spawn(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...vitestArgs], { cwd: root, stdio: 'inherit' });
    suite.on('exit', (code, signal) => {
      const minutes = ((Date.now() - started) / 60_000).toFixed(1);
      console.error(`test:busy: run ${n} ended (${signal ?? `exit ${code}`}) after ${minutes} min under load`);
      resolve(code ?? 1);
    });
  });
}

startLoad();
let code = 0;
for (let n = 1; n <= runs && code === 0; n++) code = await runSuite(n);
cleanUp();
process.exit(code);
