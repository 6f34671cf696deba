// TCP_QUICKACK on the Kafka server's sockets (docs/kafka.md, "Where the latency's p99 comes from"):
// the addon's call (native/seglog_socket.c) sets and reads back the option on a real TCP socket and
// refuses quietly what is not one; the server calls it after every read through its seam
// (ServerContext.quickAck) with the accepted socket's descriptor; a default-entry process serving
// Kafka sets it on every read, and a seglog/native-free one loads no addon at all (dlopen refused)
// and serves the same.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { addonSocketOptions } from '../../src/io/mmap-addon.js';
import { openLog } from '../../src/index.js';
import { KafkaServer } from '../../src/kafka/server/server.js';
import { resolveServeOptions } from '../../src/kafka/server/options.js';
import { ApiKey } from '../../src/kafka/protocol/index.js';
import { entries } from '../entry.js';
import { FIXTURES } from '../helpers.js';
import { RawClient } from './raw-client.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const sockets = addonSocketOptions(ROOT);
const linux = process.platform === 'linux';
const KAFKA_DIST = path.join(ROOT, 'dist/src/kafka/index.js');

const dirs: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-quickack-'));
  dirs.push(dir);
  return dir;
}

/** A connected pair of TCP sockets on loopback: [the accepted one, the client]. */
async function tcpPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const a = await accepted;
  server.close();
  cleanups.push(() => { a.destroy(); client.destroy(); });
  return [a, client];
}

function fdOf(s: net.Socket): number {
  return (s as unknown as { _handle: { fd: number } })._handle.fd;
}

describe('the addon sets TCP_QUICKACK', () => {
  test.runIf(linux)('is built with the socket calls', () => {
    expect(sockets).toBeDefined();
  });

  test.runIf(linux && sockets !== undefined)('on a TCP socket: set off reads back off, set on reads back on', async () => {
    const [a] = await tcpPair();
    const fd = fdOf(a);
    expect(sockets!.setTcpQuickAck(fd, false)).toBe(true);
    expect(sockets!.getTcpQuickAck(fd)).toBe(false);
    expect(sockets!.setTcpQuickAck(fd, true)).toBe(true);
    expect(sockets!.getTcpQuickAck(fd)).toBe(true);
  });

  test.runIf(sockets !== undefined)('what is not a TCP socket: false and null, never a throw', () => {
    const dir = tmp();
    const fd = fs.openSync(path.join(dir, 'f'), 'w');
    try {
      expect(sockets!.setTcpQuickAck(fd, true)).toBe(false);
      expect(sockets!.getTcpQuickAck(fd)).toBeNull();
    } finally {
      fs.closeSync(fd);
    }
    expect(sockets!.setTcpQuickAck(-1, true)).toBe(false);
    expect(sockets!.getTcpQuickAck(-1)).toBeNull();
    expect(sockets!.setTcpQuickAck(2 ** 30, true)).toBe(false);
    expect(() => sockets!.setTcpQuickAck('3' as unknown as number, true)).toThrow(TypeError);
  });
});

describe('the server calls it after every read', () => {
  test('through its seam, with the accepted socket\'s descriptor, once per read; a false stops the calls', async () => {
    const log = await openLog(tmp());
    cleanups.push(() => log.close());
    const calls: number[] = [];
    let answer = true;
    const server = await KafkaServer.start(log, resolveServeOptions({ port: 0 }), { quickAck: (fd) => { calls.push(fd); return answer; } });
    cleanups.push(() => server.close());
    const client = await RawClient.connect(server.port);
    cleanups.push(async () => { client.socket.destroy(); await client.closed; });
    for (let i = 0; i < 3; i++) await client.request(ApiKey.ApiVersions, 0, {});
    expect(calls.length).toBe(3); // one request at a time: one read each
    expect(new Set(calls).size).toBe(1);
    const fd = calls[0]!;
    expect(fd).toBeGreaterThanOrEqual(0);
    if (linux && sockets !== undefined) expect(sockets.getTcpQuickAck(fd), 'the descriptor is a TCP socket').not.toBeNull();
    expect(server.stats().connections[0]!.quickAcks).toBe(3);
    answer = false;
    await client.request(ApiKey.ApiVersions, 0, {});
    await client.request(ApiKey.ApiVersions, 0, {});
    expect(calls.length).toBe(4);
    expect(server.stats().connections[0]!.quickAcks).toBe(3);
  });

  test('with no native parts it calls nothing and serves the same', async () => {
    const log = await openLog(tmp());
    cleanups.push(() => log.close());
    const server = await KafkaServer.start(log, resolveServeOptions({ port: 0 }), { quickAck: undefined });
    cleanups.push(() => server.close());
    const client = await RawClient.connect(server.port);
    cleanups.push(async () => { client.socket.destroy(); await client.closed; });
    const r = await client.request(ApiKey.ApiVersions, 0, {});
    expect(r.errorCode).toBe(0);
    expect(server.stats().connections[0]!.quickAcks).toBe(0);
  });
});

function runFixture(entryDist: string, mode: 'allow' | 'refuse'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = tmp();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, 'kafka-quickack.mjs'), entryDist, KAFKA_DIST, dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface FixtureResult { answered: number[]; quickAcks: number; requests: number; dlopenCalls: string[]; mapped: boolean; io: string }

function parse(r: { code: number | null; stdout: string; stderr: string }): FixtureResult {
  expect(r.code, r.stderr).toBe(0);
  const line = r.stdout.split('\n').find((l) => l.startsWith('ok '));
  expect(line, r.stdout + r.stderr).toBeDefined();
  return JSON.parse(line!.slice(3)) as FixtureResult;
}

describe('per entry point, in a process of its own', () => {
  test.runIf(linux && sockets !== undefined)('seglog (default): the log reads through mappings and the server sets TCP_QUICKACK after each read', async () => {
    const r = parse(await runFixture(entries.find((e) => e.name === 'seglog')!.dist, 'allow'));
    expect(r.answered).toEqual([1, 2, 3]);
    expect(r.io).toBe('mmap');
    expect(r.mapped).toBe(true);
    expect(r.quickAcks).toBe(3);
  });

  test('seglog/native-free: no .node file is asked for or mapped, nothing is set, and it serves the same', async () => {
    const r = parse(await runFixture(entries.find((e) => e.name === 'seglog/native-free')!.dist, 'refuse'));
    expect(r.answered).toEqual([1, 2, 3]);
    expect(r.dlopenCalls).toEqual([]);
    expect(r.mapped).toBe(false);
    expect(r.io).toBe('pread');
    expect(r.quickAcks).toBe(0);
  });
});
