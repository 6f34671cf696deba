// Shared test plumbing: temp directories, logs that are always closed, SeglogError assertions, a
// seeded PRNG, segment-file helpers and child processes. No library logic lives here.
import { afterEach, beforeAll, expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry, SeglogModule } from './entry.js';

export type { Log, Topic, LogRecord } from '../src/index.js';
import type { Log } from '../src/index.js';
export type LogOptions = NonNullable<Parameters<SeglogModule['openLog']>[1]>;

export const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures');

/**
 * How long a test waits for an event before it calls it a hang. Tests wait for events (a line from
 * a child, a promise, a file), never for a guessed time; this bound is far beyond what any of those
 * waits takes on a busy machine, so reaching it means the event is not coming.
 */
export const HANG_MS = 120_000;

/** `p`, or a rejection naming `what` if it has not settled within HANG_MS. */
export function withinHangBound<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: still pending after ${HANG_MS} ms (a hang)`)), HANG_MS); }),
  ]);
}

/** Waits (polling every few ms) until `pred()` holds; throws naming `what` after HANG_MS. */
export async function waitUntil(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HANG_MS;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${HANG_MS} ms (a hang)`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Registers per-test cleanup: every log opened through `open` is closed, every dir from `tmp` removed. */
export function harness(entry: Entry) {
  let mod: SeglogModule | undefined;
  const dirs: string[] = [];
  const logs: Log[] = [];
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    mod = await entry.load();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const log of logs.splice(0)) {
      try {
        await log.close();
      } catch {
        // already closed, or closing a log a test broke on purpose
      }
    }
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    entry,
    get mod(): SeglogModule {
      if (mod === undefined) throw new Error('entry not loaded yet');
      return mod;
    },
    tmp(): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-test-'));
      dirs.push(dir);
      return dir;
    },
    async open(dir: string, options?: LogOptions): Promise<Log> {
      if (mod === undefined) throw new Error('entry not loaded yet');
      const log = await mod.openLog(dir, options);
      logs.push(log);
      return log;
    },
    track(child: ChildProcess): ChildProcess {
      children.push(child);
      return child;
    },
  };
}
export type Harness = ReturnType<typeof harness>;

/**
 * Runs `fn` and asserts it fails with a SeglogError of `code`, synchronously or through a rejected
 * promise, and that the message mentions each of `mentions`.
 */
export async function expectSeglogError(
  mod: SeglogModule,
  fn: () => unknown,
  code: string,
  mentions: Array<string | number> = [],
): Promise<Error & { code: string }> {
  let error: unknown;
  try {
    const result = fn();
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      await result;
    }
  } catch (e) {
    error = e;
  }
  return checkError(mod, error, code, mentions);
}

/** Like expectSeglogError, but the failure must be a synchronous throw. */
export function expectSeglogErrorSync(
  mod: SeglogModule,
  fn: () => unknown,
  code: string,
  mentions: Array<string | number> = [],
): Error & { code: string } {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  return checkError(mod, error, code, mentions);
}

function checkError(mod: SeglogModule, error: unknown, code: string, mentions: Array<string | number>): Error & { code: string } {
  expect(error, `expected a SeglogError ${code}, but nothing was thrown`).toBeDefined();
  expect(error, `expected a SeglogError ${code}, got ${String(error)}`).toBeInstanceOf(mod.SeglogError);
  const err = error as Error & { code: string };
  expect(err.code, `wrong code; message: ${err.message}`).toBe(code);
  for (const m of mentions) expect(err.message, `message should mention ${String(m)}`).toContain(String(m));
  return err;
}

/** mulberry32: a tiny, good-enough seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  int(lo: number, hiInclusive: number): number {
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

export function pad20(offset: number): string {
  return String(offset).padStart(20, '0');
}

/** Base offsets of a topic's segments, from the `.log` file names, ascending. */
export function segmentBases(dir: string, topic: string): number[] {
  return fs
    .readdirSync(path.join(dir, topic))
    .filter((f) => /^\d{20}\.log$/.test(f))
    .map((f) => Number(f.slice(0, 20)))
    .sort((a, b) => a - b);
}

export function segmentPath(dir: string, topic: string, base: number, ext: 'log' | 'index' | 'timeindex'): string {
  return path.join(dir, topic, `${pad20(base)}.${ext}`);
}

export function collect<T>(it: Iterable<T>): T[] {
  return [...it];
}

/** For random kill moments only: a test that needs something to have happened waits for that event. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reads stdout of a child line by line. */
export class ChildLines {
  readonly lines: string[] = [];
  private partial = '';
  private waiters: Array<() => void> = [];
  stderr = '';
  exited = false;
  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Resolves once some line satisfies `pred`; rejects if the child exits first or on timeout. */
  async waitFor(pred: (line: string) => boolean, timeoutMs = HANG_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(pred);
      if (found !== undefined) return found;
      if (this.exited) throw new Error(`child exited before the expected line; stderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for child; stderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  /** Resolves when the child has exited (and all its stdout was read). */
  async exit(): Promise<void> {
    if (this.exited && this.child.stdout!.readableEnded) return;
    await new Promise<void>((resolve) => {
      if (this.child.stdout!.readableEnded) return resolve();
      this.child.stdout!.on('end', () => resolve());
    });
    if (!this.exited) await new Promise<void>((resolve) => this.child.on('exit', () => resolve()));
  }
}

/** Spawns `node <fixture> ...args` with piped stdout/stderr. */
export function spawnFixture(h: Harness, fixture: string, args: string[]): ChildLines {
  const child = spawn(process.execPath, [path.join(FIXTURES, fixture), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: h.entry.env === undefined ? process.env : { ...process.env, ...h.entry.env },
  });
  h.track(child);
  return new ChildLines(child);
}

export async function killHard(lines: ChildLines): Promise<void> {
  if (!lines.exited) lines.child.kill('SIGKILL');
  await lines.exit();
}

/**
 * truncateBefore is part of the Topic API but may land after the core: while it throws
 * ERR_NOT_SUPPORTED the calling test is skipped with that reason, and it runs once it is there.
 */
export async function truncateBeforeOrSkip(
  topic: { truncateBefore(offset: number): Promise<void> },
  offset: number,
  skip: (note?: string) => never,
): Promise<void> {
  try {
    await topic.truncateBefore(offset);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_NOT_SUPPORTED') skip('truncateBefore() is not implemented yet (ERR_NOT_SUPPORTED)');
    throw e;
  }
}
