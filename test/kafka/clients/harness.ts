// What the real-client suites (test/kafka/{kafkajs,platformatic,kcat}.test.ts) share: the server
// they talk to, running a client driver (driver.mjs and one script per client) as a child process,
// and the records they produce. The server is `serveKafka` in-process over a temp directory, on
// 127.0.0.1 port 0, with the `onRequest` hook logging (client, API, version) of every request.
// SEGLOG_KAFKA_TARGET=mock points the same suites at librdkafka's in-memory mock cluster instead
// (a `kcat -P` held open on a pipe), for debugging the harness: then there is no log, no request
// log, topics have 4 partitions and CreateTopics does not exist (those checks are skipped).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openLog, type Log } from '../../../src/index.js';
import { HANG_MS } from '../../helpers.js';
import { node22 } from '../node22.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../../..');
export const KCAT = process.env.KCAT ?? 'kcat';
export const MOCK = process.env.SEGLOG_KAFKA_TARGET === 'mock';

export interface RequestInfo { clientId: string | null; apiKey: number; apiName: string; apiVersion: number }
type ServeKafka = (log: Log, options: { host?: string; port?: number; onRequest?: (info: RequestInfo) => void }) => Promise<{ host: string; port: number; close(): Promise<void> }>;

export interface Target {
  brokers: string;
  /** Every request the server saw (empty against the mock). */
  requests: RequestInfo[];
  /** The served log (undefined against the mock). */
  log: Log | undefined;
  dir: string;
  /** Stops the server and closes the log (the directory stays, for reopening). */
  stop(): Promise<void>;
  /** stop(), then removes the directory. */
  dispose(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-kafka-clients-'));
  const requests: RequestInfo[] = [];
  let stop: () => Promise<void>;
  let brokers: string;
  let log: Log | undefined;
  if (MOCK) {
    ({ brokers, stop } = await startMock());
  } else {
    const kafkaModule = '../../../src/kafka/index.js';
    const { serveKafka } = (await import(kafkaModule)) as { serveKafka: ServeKafka };
    const served = await openLog(dir);
    log = served;
    const server = await serveKafka(served, { host: '127.0.0.1', port: 0, onRequest: (info) => requests.push({ ...info }) });
    brokers = `${server.host}:${server.port}`;
    stop = async () => {
      await server.close();
      await served.close();
    };
  }
  let stopped: Promise<void> | undefined;
  const target: Target = {
    brokers,
    requests,
    log,
    dir,
    stop: () => (stopped ??= stop()),
    async dispose() {
      await target.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return target;
}

/** librdkafka's mock cluster, kept alive by a `kcat -P` whose stdin stays open until stop(). */
async function startMock(): Promise<{ brokers: string; stop: () => Promise<void> }> {
  const child = spawn(KCAT, ['-b', 'unused:9092', '-X', 'test.mock.num.brokers=1', '-P', '-t', 'mock-keepalive'], { stdio: ['pipe', 'ignore', 'pipe'] });
  const brokers = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stderr });
    lines.on('line', (l) => {
      const m = /replaced with (\S+)/.exec(l);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`kcat mock cluster exited ${code}`)));
  });
  return {
    brokers,
    stop: () => new Promise((resolve) => {
      child.on('exit', () => resolve());
      child.stdin.end();
      child.kill('SIGTERM');
    }),
  };
}

export type Client = 'kafkajs' | 'platformatic' | 'kcat';

/** Runs one driver request; resolves with its result (ok: true), rejects with the driver's error. */
export function runClient<T = Record<string, unknown>>(client: Client, request: Record<string, unknown>): Promise<T> {
  const node = client === 'platformatic' ? node22() : process.execPath;
  const timeoutMs = (request.timeoutMs as number | undefined) ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(node, [path.join(HERE, `${client}.mjs`)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KCAT } });
    let stdout = '';
    let stderr = '';
    // (decoded as a stream: a multi-byte character split between two chunks stays whole)
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { stdout += d; });
    child.stderr.on('data', (d: string) => { stderr += d; });
    // The driver has its own deadline; this one only catches a driver that cannot even exit.
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.min(HANG_MS, timeoutMs + 20_000));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      let result: { ok?: boolean; error?: string } | undefined;
      try { result = JSON.parse(line); } catch { /* reported below */ }
      if (result?.ok) resolve(result as T);
      else reject(new Error(`${client} ${String(request.op)} (exit ${code ?? signal}): ${result?.error ?? stdout}\n${stderr}`));
    });
    child.stdin.end(JSON.stringify({ timeoutMs, ...request }));
  });
}

/** A record as the drivers take and give it (strings are UTF-8). */
export interface WireRecord { key: string | null; value: string; headers: Record<string, string>; partition: number; timestamp?: number }
export interface ConsumedRecord extends WireRecord { offset: number; timestamp: number }

/**
 * `count` records for `prefix`, spread over `partitions` round-robin: some null keys, non-ASCII
 * values of varied length, two headers. `timestampBaseMs` gives each record an explicit timestamp
 * (base + i); without it the producer stamps them. `constantHeaders` gives all the same headers
 * (kcat sets headers per run, not per record).
 */
export function makeRecords(prefix: string, count: number, partitions: number, opts: { timestampBaseMs?: number; constantHeaders?: boolean; from?: number } = {}): WireRecord[] {
  const from = opts.from ?? 0;
  return Array.from({ length: count }, (_, n): WireRecord => {
    const i = from + n;
    const headers: Record<string, string> = opts.constantHeaders ? { source: prefix, kind: 'test' } : { source: prefix, seq: String(i) };
    return {
      key: i % 7 === 3 ? null : `${prefix}-key-${i}`,
      value: `${prefix} value ${i} ${'é€'.repeat(i % 13)}${'x'.repeat(i % 41)}`,
      headers,
      partition: i % partitions,
      ...(opts.timestampBaseMs === undefined ? {} : { timestamp: opts.timestampBaseMs + i }),
    };
  });
}

/** "partition:offset" of a consumed record. */
export const idOf = (r: { partition: number; offset: number }): string => `${r.partition}:${r.offset}`;
