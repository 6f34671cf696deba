// The writer lock: one writer per directory, in this process or any other; a lock left by a dead
// process (including one whose pid was reused) is taken over.
import { describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entries } from './entry.js';
import { ChildLines, collect, expectSeglogError, FIXTURES, harness, killHard, spawnFixture, waitUntil } from './helpers.js';

describe.each(entries)('$name: directory lock', (entry) => {
  const h = harness(entry);

  test('a second openLog on the same directory in the same process is ERR_LOCKED naming the directory', async () => {
    const dir = h.tmp();
    await h.open(dir);
    await expectSeglogError(h.mod, () => h.mod.openLog(dir), 'ERR_LOCKED', [dir]);
    // also through another spelling of the same path
    await expectSeglogError(h.mod, () => h.mod.openLog(`${dir}/./`), 'ERR_LOCKED');
  });

  test('two concurrent openLog calls on one directory: exactly one wins, the other is ERR_LOCKED', async () => {
    const dir = h.tmp();
    const results = await Promise.allSettled([h.mod.openLog(dir), h.mod.openLog(dir)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won.length).toBe(1);
    expect(lost.length).toBe(1);
    const err = (lost[0] as PromiseRejectedResult).reason as { code: string };
    expect(err).toBeInstanceOf(h.mod.SeglogError);
    expect(err.code).toBe('ERR_LOCKED');
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof h.mod.openLog>>>).value.close();
  });

  test('after close the directory can be opened again', async () => {
    const dir = h.tmp();
    for (let i = 0; i < 3; i++) {
      const log = await h.open(dir);
      log.topic('t').appendSync(Buffer.from(`open ${i}`));
      await log.close();
    }
    const log = await h.open(dir);
    expect(collect(log.topic('t').read()).map((r) => r.valueBytes!.toString())).toEqual(['open 0', 'open 1', 'open 2']);
  });

  test('a directory held by another live process is ERR_LOCKED, and free again once that process closes it', async () => {
    const dir = h.tmp();
    const child = spawnFixture(h, 'hold-lock.mjs', [entry.dist, dir]);
    await child.waitFor((l) => l === 'open');
    await expectSeglogError(h.mod, () => h.mod.openLog(dir), 'ERR_LOCKED', [dir]);
    child.child.kill('SIGTERM'); // the child closes its log and exits
    await child.exit();
    expect(child.child.exitCode, `signal ${child.child.signalCode} stderr ${child.stderr}`).toBe(0);
    const log = await h.open(dir);
    expect(log.topic('held').get(0)!.valueBytes!.toString()).toMatch(/^pid \d+$/);
  });

  test('another process cannot open a directory this process holds: it gets ERR_LOCKED', async () => {
    const dir = h.tmp();
    await h.open(dir);
    const child = spawnFixture(h, 'hold-lock.mjs', [entry.dist, dir]);
    const line = await child.waitFor((l) => l.startsWith('error') || l === 'open');
    expect(line).toMatch(/^error ERR_LOCKED /);
    await child.exit();
  });

  test('a lock left by a process killed with SIGKILL is taken over, and its data is there', async () => {
    const dir = h.tmp();
    const child = spawnFixture(h, 'hold-lock.mjs', [entry.dist, dir]);
    await child.waitFor((l) => l === 'open');
    const pid = child.child.pid!;
    await killHard(child);
    expect(fs.existsSync(path.join(dir, '~seglog.lock'))).toBe(true); // left behind
    const log = await h.open(dir);
    expect(log.topic('held').get(0)!.valueBytes!.toString()).toBe(`pid ${pid}`);
    // and now this process holds it
    await expectSeglogError(h.mod, () => h.mod.openLog(dir), 'ERR_LOCKED');
  });

  test.runIf(process.platform === 'linux')('a lock of a killed process that its parent has not reaped yet (a zombie) is taken over', async () => {
    const dir = h.tmp();
    // sh starts the holder in the background and becomes `sleep`, which never reaps it: once killed,
    // the holder stays a zombie (it still answers kill(pid, 0)) until sleep ends.
    const parent = spawn('sh', ['-c', `"${process.execPath}" "${path.join(FIXTURES, 'hold-lock.mjs')}" "${entry.dist}" "${dir}" & exec sleep 30`], { stdio: ['ignore', 'pipe', 'pipe'] });
    h.track(parent);
    const lines = new ChildLines(parent);
    await lines.waitFor((l) => l === 'open');
    const holder = Number(fs.readFileSync(path.join(dir, '~seglog.lock'), 'utf8').split(' ')[0]);
    process.kill(holder, 'SIGKILL');
    await waitUntil(() => /^\S+ \([^)]*\) Z/.test(fs.readFileSync(`/proc/${holder}/stat`, 'utf8')), 'the killed holder becomes a zombie');
    const log = await h.open(dir);
    expect(log.topic('held').get(0)!.valueBytes!.toString()).toBe(`pid ${holder}`);
    parent.kill('SIGKILL');
  });

  test('a lock whose pid now belongs to another, later-started process (pid reuse) is taken over', async () => {
    const dir = h.tmp();
    // first create the log, so the lock is the only thing in the way
    await (await h.mod.openLog(dir)).close();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    h.track(sleeper);
    await new Promise((resolve) => sleeper.once('spawn', resolve));
    // the lock names a live pid, but a start time that is not that process's
    fs.writeFileSync(path.join(dir, '~seglog.lock'), `${sleeper.pid} 1 ${os.hostname()}\n`);
    const log = await h.open(dir);
    log.topic('t').appendSync(Buffer.from('x'));
    await log.close();
    sleeper.kill('SIGKILL');
  });

  test('a lock of a dead pid is taken over', async () => {
    const dir = h.tmp();
    await (await h.mod.openLog(dir)).close();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    fs.writeFileSync(path.join(dir, '~seglog.lock'), `${gone.pid} 12345 ${os.hostname()}\n`);
    const log = await h.open(dir);
    expect(log.topics()).toEqual([]);
  });

  test('lock files that name no owner (junk, a pid alone, empty) are taken over', async () => {
    const dir = h.tmp();
    await (await h.mod.openLog(dir)).close();
    const lock = path.join(dir, '~seglog.lock');
    for (const content of ['garbage\x00\xff', '999999', '999999\n', '']) {
      fs.writeFileSync(lock, content);
      const log = await h.mod.openLog(dir);
      expect(fs.readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
      await log.close();
    }
  });

  test('a lock in its full-disk form (a symbolic link to the identity): a live owner is refused, a dead one taken over, a dead takeover guard removed', async () => {
    const dir = h.tmp();
    await (await h.mod.openLog(dir)).close();
    const lock = path.join(dir, '~seglog.lock');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    h.track(sleeper);
    await new Promise((resolve) => sleeper.once('spawn', resolve));
    const start = fs.readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    fs.symlinkSync(`${sleeper.pid} ${start} ${os.hostname()}\n`, lock);
    await expectSeglogError(h.mod, () => h.mod.openLog(dir), 'ERR_LOCKED', [String(sleeper.pid)]);
    expect(fs.readlinkSync(lock)).toBe(`${sleeper.pid} ${start} ${os.hostname()}\n`);
    sleeper.kill('SIGKILL');
    await new Promise((resolve) => sleeper.once('exit', resolve));
    fs.symlinkSync(`${sleeper.pid} ${start} ${os.hostname()}\n`, path.join(dir, '~seglog.lock.takeover'));
    const log = await h.open(dir);
    expect(fs.readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid} `)); // a regular file again where there is room
    expect(fs.existsSync(path.join(dir, '~seglog.lock.takeover'))).toBe(false);
    expect(fs.lstatSync(path.join(dir, '~seglog.lock.takeover'), { throwIfNoEntry: false })).toBeUndefined();
    await log.close();
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined();
  });

  test('a takeover guard left by an opener that died while taking over does not block the next opener', async () => {
    const dir = h.tmp();
    await (await h.mod.openLog(dir)).close();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    fs.writeFileSync(path.join(dir, '~seglog.lock'), `${gone.pid} 12345 ${os.hostname()}\n`);
    fs.writeFileSync(path.join(dir, '~seglog.lock.takeover'), `${gone.pid} 12345 ${os.hostname()}\n`);
    const log = await h.open(dir);
    expect(fs.existsSync(path.join(dir, '~seglog.lock.takeover'))).toBe(false);
    await log.close();
  });

  test('the lock file is written whole before it appears (no empty lock from a killed opener); temporaries of dead openers are removed', async () => {
    const dir = h.tmp();
    await (await h.mod.openLog(dir)).close();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    const leftover = path.join(dir, `~seglog.lock.${gone.pid}.tmp`);
    fs.writeFileSync(leftover, `${gone.pid} 1 ${os.hostname()}\n`);
    // Openers killed at random moments of their open: the lock is absent or whole, never empty.
    for (let i = 0; i < 6; i++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(h.entry.dist)}); await m.openLog(${JSON.stringify(dir)}); setInterval(() => {}, 1000);`], { stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, 40 + 25 * i));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const lock = path.join(dir, '~seglog.lock');
      if (fs.existsSync(lock)) expect(fs.readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${child.pid} \\S* ${os.hostname()}\n$`));
      const log = await h.mod.openLog(dir); // a dead opener's lock is taken over at once
      await log.close();
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('~seglog.lock'))).toEqual([]);
  });

  test('processes racing to take over a stale lock: at most one holds the directory at any time, and one gets it', async () => {
    const RACERS = 5;
    const ROUNDS = 8;
    const HOLD_MS = 150;
    const dir = h.tmp();
    await (await h.mod.openLog(dir)).close();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    const stale = `${gone.pid} 12345 ${os.hostname()}\n`;
    const racers = Array.from({ length: RACERS }, () => {
      const child = spawn(process.execPath, [path.join(FIXTURES, 'lock-racer.mjs'), entry.dist, dir, String(HOLD_MS)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      h.track(child);
      return new ChildLines(child);
    });
    for (const r of racers) await r.waitFor((l) => l === 'ready');
    for (let round = 0; round < ROUNDS; round++) {
      fs.writeFileSync(path.join(dir, '~seglog.lock'), stale); // left by a process that died
      for (const r of racers) r.child.stdin!.write(`go ${round}\n`);
      const results = await Promise.all(racers.map((r) => r.waitFor((l) => l.startsWith(`${round} `))));
      const holds = results.filter((l) => l.split(' ')[1] === 'got').map((l) => {
        const [, , t0, t1, check] = l.split(' ');
        return { t0: Number(t0), t1: Number(t1), check };
      });
      for (const l of results) expect(l, `round ${round}`).toMatch(/^\d+ (got \d+ \d+ \w+|no ERR_LOCKED)$/);
      expect(holds.length, `round ${round}: the stale lock is taken over`).toBeGreaterThanOrEqual(1);
      for (const x of holds) expect(x.check, `round ${round}: the lock file named its holder all along`).toBe('mine');
      holds.sort((a, b) => a.t0 - b.t0);
      for (let i = 1; i < holds.length; i++) {
        expect(holds[i]!.t0, `round ${round}: two processes held the lock at once`).toBeGreaterThanOrEqual(holds[i - 1]!.t1);
      }
    }
    for (const r of racers) r.child.stdin!.end();
    await Promise.all(racers.map((r) => r.exit()));
    const log = await h.open(dir); // and the directory is free and intact afterwards
    expect(log.topics()).toEqual([]);
  });
});
