// OS errors at open, read-only open and verify are SeglogErrors (issue 11, item 7): ERR_IO naming
// the path, with the OS code (EACCES, EPERM, EROFS, EMFILE, ENOTDIR, EISDIR) in the message and as
// the cause's code — never the plain Error node:fs threw. The tests run as root, where permissions
// do not bite, so EACCES and friends are injected through the FileIO seam; ENOTDIR and EISDIR are
// produced for real (a file where a directory is expected, and a directory where a file is).
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { entries } from './entry.js';
import { FIXTURES, HANG_MS, expectSeglogError, harness } from './helpers.js';
import { openLogWith } from '../src/log.js';
import { verifyWith } from '../src/verify/verify.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import * as seglog from '../src/index.js';

type PathOp = 'stat' | 'readdir' | 'open';

/** node:fs, except that `op` on `target` throws the errno error `code`, as the kernel would report it. */
function deniedIO(op: PathOp, target: string, code: string): FileIO {
  const fail = (p: string): void => {
    if (p === target) throw Object.assign(new Error(`${code}: operation refused, ${op} '${p}'`), { code, errno: -1, syscall: op, path: p });
  };
  return {
    ...nodeFileIO,
    stat(p) { if (op === 'stat') fail(p); return nodeFileIO.stat(p); },
    readdir(p) { if (op === 'readdir') fail(p); return nodeFileIO.readdir(p); },
    open(p, flags) { if (op === 'open') fail(p); return nodeFileIO.open(p, flags); },
  };
}

function expectThrows(f: () => unknown): unknown {
  try { f(); } catch (err) { return err; }
  throw new Error('expected a throw');
}

function expectIoError(err: Error & { code: string }, file: string, osCode: string): void {
  expect(err.message).toContain(file);
  expect(err.message).toContain(osCode);
  expect((err as { file?: string }).file).toBe(file);
  expect((err.cause as NodeJS.ErrnoException | undefined)?.code).toBe(osCode);
}

const wirings = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]] as const;

describe.each(wirings)('%s: OS errors at open and verify are ERR_IO', (_name, meta) => {
  const h = harness(entries[0]!);

  async function sample(): Promise<string> {
    const dir = h.tmp();
    const log = await openLogWith({ meta }, dir);
    log.topic('t').appendSync(Buffer.from('x'));
    await log.close();
    return dir;
  }

  const logFile = (d: string): string => path.join(d, 't', '00000000000000000000.log');
  const cases: Array<[PathOp, string, (dir: string) => string, string]> = [
    ['readdir', 'the log directory', (d) => d, 'EACCES'],
    ['readdir', 'the log directory', (d) => d, 'EPERM'],
    ['stat', 'the log directory', (d) => d, 'EACCES'],
    ['readdir', 'a topic folder', (d) => path.join(d, 't'), 'EACCES'],
    ['open', 'a segment file', logFile, 'EACCES'],
    ['open', 'a segment file', logFile, 'EMFILE'],
    ['open', 'a segment file', logFile, 'EROFS'],
  ];

  test.each(cases)('%s of %s failing with %s: openLog (writable and read-only; for a segment file, its first read) and verify throw ERR_IO naming it', async (op, _what, where, code) => {
    const dir = await sample();
    const file = where(dir);
    const io = deniedIO(op, file, code);
    for (const options of [{ readOnly: true }, {}]) {
      if (op === 'open') {
        // A clean open opens no segment file (the indexes and the .log are opened on first use:
        // test/lazy-indexes.test.ts), so the failure comes with the first read, as ERR_IO naming it.
        const log = await openLogWith({ meta, io }, dir, options);
        try {
          const err = expectThrows(() => [...log.topic('t').read({ from: 0 })]);
          expect(err).toBeInstanceOf(seglog.SeglogError);
          expect((err as { code?: string }).code).toBe('ERR_IO');
          expectIoError(err as Error & { code: string }, file, code);
        } finally {
          await log.close().catch(() => undefined);
        }
        continue;
      }
      const err = await expectSeglogError(seglog, () => openLogWith({ meta, io }, dir, options), 'ERR_IO');
      expectIoError(err, file, code);
    }
    // verify opens the .log itself and reports a file it cannot read as a problem, not a throw
    if (op === 'open') {
      const report = await verifyWith(io, dir);
      expect(report.ok).toBe(false);
      expect(report.topics[0]!.problems).toContainEqual(expect.objectContaining({ kind: 'io', file }));
    } else {
      expectIoError(await expectSeglogError(seglog, () => verifyWith(io, dir), 'ERR_IO'), file, code);
    }
    // nothing was broken: the log opens once the error is gone
    const log = await openLogWith({ meta }, dir);
    expect(log.topic('t').endOffset).toBe(1);
    await log.close();
  });
});

describe.each(entries)('$name: a file where a directory is expected, and a directory where a file is', (entry) => {
  const h = harness(entry);

  test('a path under a file is ERR_IO with ENOTDIR; a path that is a file is a bad argument (ERR_INVALID_ARGUMENT naming it)', async () => {
    const file = path.join(h.tmp(), 'plain-file');
    fs.writeFileSync(file, 'not a log\n');
    const under = path.join(file, 'log');
    for (const options of [{}, { readOnly: true }]) {
      expectIoError(await expectSeglogError(h.mod, () => h.mod.openLog(under, options), 'ERR_IO', ['ENOTDIR']), under, 'ENOTDIR');
      await expectSeglogError(h.mod, () => h.mod.openLog(file, options), 'ERR_INVALID_ARGUMENT', [file, 'not a directory']);
    }
    expectIoError(await expectSeglogError(h.mod, () => h.mod.verify(under), 'ERR_IO', ['ENOTDIR']), under, 'ENOTDIR');
    await expectSeglogError(h.mod, () => h.mod.verify(file), 'ERR_INVALID_ARGUMENT', [file, 'not a directory']);
    expect(fs.readFileSync(file, 'utf8')).toBe('not a log\n');
  });

  test('a metadata file that is a directory is ERR_IO with EISDIR naming it', async () => {
    const dir = h.tmp();
    await (await h.open(dir)).close();
    const metaFile = path.join(dir, entry.name === 'seglog' ? '~meta.lmdb' : '~meta.json');
    fs.rmSync(metaFile, { force: true });
    fs.rmSync(path.join(dir, '~meta.json'), { force: true });
    fs.mkdirSync(metaFile);
    for (const options of [{}, { readOnly: true }]) {
      expectIoError(await expectSeglogError(h.mod, () => h.mod.openLog(dir, options), 'ERR_IO', ['EISDIR']), metaFile, 'EISDIR');
    }
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'metadata', file: metaFile }));
  });
});

describe.each(entries)('$name: a directory the user cannot read (real permissions, in a child process)', (entry) => {
  const h = harness(entry);
  // As root permissions do not bite: the child runs as `nobody` then. Elsewhere it runs as the user.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

  function run(dir: string, mode: string): { ok: boolean; code?: string; message?: string; file?: string } | undefined {
    const r = spawnSync(process.execPath, [path.join(FIXTURES, 'open-damaged.mjs'), entry.dist, dir, mode], { ...asUser, encoding: 'utf8', timeout: HANG_MS });
    expect(r.signal, r.stderr).toBeNull();
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    return line === undefined ? undefined : JSON.parse(line);
  }

  test('openLog (writable and read-only) and verify throw ERR_IO with EACCES naming the path', async (ctx) => {
    const parent = h.tmp();
    fs.chmodSync(parent, 0o755);
    const dir = path.join(parent, 'log');
    const log = await h.open(dir);
    log.topic('t').appendSync(Buffer.from('x'));
    await log.close();
    fs.chmodSync(dir, 0o000);
    try {
      for (const mode of ['readonly', 'open', 'verify']) {
        const r = run(dir, mode);
        if (r === undefined) ctx.skip('the child cannot load seglog as this user');
        expect(r!.ok, `${mode}: ${JSON.stringify(r)}`).toBe(false);
        expect(r!.code, r!.message).toBe('ERR_IO');
        expect(r!.message).toContain('EACCES');
        expect(r!.message).toContain(dir);
      }
    } finally {
      fs.chmodSync(dir, 0o755);
    }
  });
});

// lmdb-js 3.5 is killed by SIGSEGV when its environment open fails part way for want of file
// descriptors (one or two left under `ulimit -n`); none left it throws. openLog checks first.
describe.each(entries)('$name: too few file descriptors left (EMFILE) in a child process', (entry) => {
  const h = harness(entry);
  test.each([0, 1, 2, 3, 4, 6])('%i descriptors left: openLog opens or is ERR_IO with EMFILE naming a path, writable and read-only, never a signal', async (left) => {
    const dir = h.tmp();
    const log = await h.mod.openLog(dir);
    for (let i = 0; i < 10; i++) await log.topic('t').append(Buffer.from(`r${i}`));
    await log.close();
    const script = `
      const { openLog } = await import(${JSON.stringify(entry.dist)});
      const fs = await import('node:fs');
      const fds = [];
      try { for (;;) fds.push(fs.openSync('/dev/null', 'r')); } catch {}
      for (let i = 0; i < ${left}; i++) fs.closeSync(fds.pop());
      const out = [];
      for (const readOnly of [false, true]) {
        try { const l = await openLog(${JSON.stringify(dir)}, { readOnly }); out.push({ end: l.topic('t').endOffset }); await l.close(); }
        catch (e) { out.push({ name: e.name, code: e.code, cause: e.cause?.code ?? e.cause?.errno, file: typeof e.file }); }
      }
      for (const fd of fds) fs.closeSync(fd);
      console.log(JSON.stringify(out));`;
    const r = spawnSync('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" --input-type=module -e "$0"`, script], { encoding: 'utf8', timeout: HANG_MS });
    expect(r.signal, `killed by ${r.signal}; stderr:\n${r.stderr}`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    for (const o of JSON.parse(r.stdout.trim().split('\n').pop()!)) {
      if ('end' in o) expect(o.end).toBe(10);
      else expect(o).toEqual({ name: 'SeglogError', code: 'ERR_IO', cause: 'EMFILE', file: 'string' });
    }
  });
});
