// The real `seglog serve` command (the compiled dist/src/cli/main.js, as test/cli.test.ts runs it)
// with kcat against it: it prints its address, kcat produces (gzip) and reads back, SIGTERM stops
// it with exit code 0, and the directory then opens in-process with the records.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { openLog } from '../../src/index.js';
import { withinHangBound } from '../helpers.js';
import { MOCK, ROOT, makeRecords, runClient, type ConsumedRecord } from './clients/harness.js';
import { checkLog } from './clients/suite.js';

const BIN = path.join(ROOT, 'dist/src/cli/main.js');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

it.skipIf(MOCK)('seglog serve: kcat produces and consumes, SIGTERM exits 0, the directory reopens with the records', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-serve-cli-'));
  dirs.push(dir);
  const child = spawn(process.execPath, [BIN, 'serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    let stderr = '';
    const brokers = await withinHangBound(new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stderr }).on('line', (l) => {
        stderr += `${l}\n`;
        const m = /serving Kafka on (\S+)/.exec(l);
        if (m) resolve(m[1]);
      });
      void exited.then(({ code }) => reject(new Error(`seglog serve exited ${code} before serving: ${stderr}`)));
    }), 'seglog serve printing its address');
    expect(brokers).toMatch(/^127\.0\.0\.1:\d+$/);
    const records = makeRecords('cli', 100, 1, { constantHeaders: true });
    const t0 = Date.now();
    await runClient('kcat', { op: 'produce', brokers, clientId: 'kcat', topic: 'cli', codec: 'gzip', records });
    const t1 = Date.now();
    const res = await runClient<{ records: ConsumedRecord[] }>('kcat', { op: 'consume', brokers, clientId: 'kcat', topic: 'cli', offset: 'beginning' });
    expect(res.records.map((r) => [r.offset, r.key, r.value, r.headers])).toEqual(records.map((r, i) => [i, r.key, r.value, r.headers]));
    child.kill('SIGTERM');
    expect(await withinHangBound(exited, 'seglog serve exiting after SIGTERM')).toEqual({ code: 0, signal: null });
    const log = await openLog(dir);
    try {
      checkLog(log, 'cli', records.map((r, i) => ({ ...r, offset: i, sentFromMs: t0, sentToMs: t1 })));
    } finally {
      await log.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
