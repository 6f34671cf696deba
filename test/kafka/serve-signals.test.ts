// `seglog serve` as a real child process (the compiled dist/src/cli/main.js): it prints the address
// it listens on (the real port with --port 0), serves Kafka clients, and on SIGTERM (and SIGINT)
// answers the request in flight, closes the log cleanly (the next open scans nothing) and exits 0.
// Refused options exit 2.
import { afterEach, describe, expect, test } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLog } from '../../src/index.js';
import { ApiKey, ErrorCode } from '../../src/kafka/protocol/index.js';
import { encodeBatch } from '../../src/kafka/records/index.js';
import { RawClient } from './raw-client.js';
import { HANG_MS } from '../helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(root, 'dist/src/cli/main.js');

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A running `seglog serve`, its stderr so far, and a way to wait for a line of it. */
function serve(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; stderr: () => string; waitFor: (re: RegExp) => Promise<RegExpMatchArray>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let err = '';
  const waiters: Array<() => void> = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => { err += chunk; for (const w of waiters.splice(0)) w(); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => { for (const w of waiters.splice(0)) w(); resolve(code); }));
  const waitFor = async (re: RegExp): Promise<RegExpMatchArray> => {
    for (;;) {
      const m = err.match(re);
      if (m !== null) return m;
      if (child.exitCode !== null) throw new Error(`seglog serve exited (${child.exitCode}) first; stderr:\n${err}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { child, stderr: () => err, waitFor, exit };
}

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-serve-'));
  dirs.push(d);
  return d;
}

describe('seglog serve', () => {
  test('prints its address, serves, and on SIGTERM answers the fetch in flight, closes the log cleanly and exits 0', async () => {
    const dir = path.join(tmp(), 'data'); // created by serve
    const s = serve([dir, '--port', '0'], { NODE_DEBUG: 'seglog' });
    const m = await s.waitFor(/seglog: serving Kafka on 127\.0\.0\.1:(\d+) \(dir [^)]+\)\n/);
    const port = Number(m[1]);
    expect(port).toBeGreaterThan(0);
    const c = await RawClient.connect(port);
    const created = await c.request(ApiKey.CreateTopics, 4, { topics: [{ name: 'cli', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    const records = encodeBatch([{ offset: 0, timestamp: 1234, key: Buffer.from('k'), headers: {}, valueBytes: Buffer.from('v'), value: null, deliveryCount: 1 }]).bytes;
    const produced = await c.request(ApiKey.Produce, 8, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 'cli', partitionData: [{ index: 0, records }] }] });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    // a fetch that would wait for ever, seen by the server (its debug line), then SIGTERM
    const waiting = c.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 2 ** 31 - 1, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'cli', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 1n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '',
    });
    await s.waitFor(/Fetch v11 from/);
    s.child.kill('SIGTERM');
    const answer = await waiting;
    expect(answer.responses[0].partitions[0]).toEqual(expect.objectContaining({ errorCode: ErrorCode.NONE, highWatermark: 1n }));
    expect(await s.exit).toBe(0);
    await c.closed;

    const recoveries: unknown[] = [];
    const onRecovery = (msg: unknown): void => { recoveries.push(msg); };
    diagnostics_channel.subscribe('seglog:recovery', onRecovery);
    try {
      const log = await openLog(dir);
      const recs = [...log.topic('cli').read()];
      expect(recs.map((r) => [r.key?.toString(), r.valueBytes?.toString(), r.timestamp])).toEqual([['k', 'v', 1234]]);
      await log.close();
    } finally {
      diagnostics_channel.unsubscribe('seglog:recovery', onRecovery);
    }
    expect(recoveries).toEqual([]); // a clean close: nothing scanned, nothing repaired
  }, HANG_MS);

  test('SIGINT stops it too (exit 0)', async () => {
    const s = serve([tmp(), '--port', '0']);
    await s.waitFor(/serving Kafka on/);
    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
  });

  test('a non-loopback --host and a bad --port are usage errors (exit 2)', () => {
    const host = spawnSync(process.execPath, [BIN, 'serve', tmp(), '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', timeout: HANG_MS });
    expect(host.status).toBe(2);
    expect(host.stderr).toContain('loopback');
    const port = spawnSync(process.execPath, [BIN, 'serve', tmp(), '--port', 'x'], { encoding: 'utf8', timeout: HANG_MS });
    expect(port.status).toBe(2);
  });
});
