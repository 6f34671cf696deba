// Exactly-once consume-transform-produce: `out.appendBatch(records, { commit: sub })` appends the
// records and commits the subscription's group as one step — both or neither after any crash
// (docs/subscriptions.md, "Exactly once"). The commit rides in the output batch; recovery re-applies
// it. These tests crash children at the worst moments and check that a reopen has both or neither.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { entries, type Entry } from './entry.js';
import { scanLog } from './format-reader.js';
import { Rng, expectSeglogError, harness, withinHangBound, type Log, type Topic, killHard, pad20, sleep, spawnFixture } from './helpers.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist/src/cli/main.js');

/**
 * Runs `body` in a child process that has opened `dir` (log, topics 'jobs' and 'done' as strings;
 * `doneOptions` adds options to 'done') and must end by killing itself with SIGKILL; returns its stdout.
 */
function runKilledChild(entry: Entry, dir: string, durability: string, body: string, doneOptions = ''): string {
  const script = `
    const { openLog } = await import(${JSON.stringify(entry.dist)});
    const dir = ${JSON.stringify(dir)};
    const log = await openLog(dir, { durability: ${JSON.stringify(durability)} });
    const jobs = log.topic('jobs', { codec: 'string' });
    const out = log.topic('done', { codec: 'string'${doneOptions} });
    ${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.signal).toBe('SIGKILL');
  return r.stdout;
}

/** The two topics of these tests, in process. */
function jobsAndDone(log: Log): { jobs: Topic<string>; out: Topic<string> } {
  return { jobs: log.topic<string>('jobs', { codec: 'string' }), out: log.topic<string>('done', { codec: 'string' }) };
}

describe.each(entries)('$name: appendBatch(records, { commit: sub })', (entry) => {
  const h = harness(entry);

  test('appends the records and commits the group position in one step', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const { jobs, out } = jobsAndDone(log);
    for (let i = 0; i < 10; i++) jobs.appendSync(`j${i}`);
    const sub = jobs.subscribe({ group: 'w', autoCommit: false });
    for (let i = 0; i < 4; i++) {
      const { value } = await sub.next();
      const at = await out.appendBatch([{ value: `out-${value!.value}` }], { commit: sub });
      expect(at).toBe(i);
    }
    expect(log.stats().topics.jobs!.groups.w!.position).toBe(4);
    const rs = [...out.read({ from: 0 })].map((r) => r.value);
    expect(rs).toEqual(['out-j0', 'out-j1', 'out-j2', 'out-j3']);
    // an explicit offset commits up to it (not the record in hand)
    await sub.next();
    await sub.next();
    await out.appendBatch([{ value: 'x', key: 'k', headers: { h: '1' } }, { value: null }], { commit: { subscription: sub, offset: 5 } });
    expect(log.stats().topics.jobs!.groups.w!.position).toBe(5);
    const tail = [...out.read({ from: 4 })];
    expect(tail.map((r) => r.value)).toEqual(['x', null]);
    expect(tail[0]!.key?.toString()).toBe('k');
    expect(tail[0]!.headers).toEqual({ h: Buffer.from('1') });
    await sub.close();
    await log.close();
    const again = await h.open(dir);
    expect(again.stats().topics.jobs!.groups.w!.position).toBe(5);
    expect(again.topic('done').endOffset).toBe(6);
    await again.close();
    const report = await h.mod.verify(dir);
    expect(report.problems).toEqual([]);
    expect(report.ok, JSON.stringify(report.topics)).toBe(true);
  });

  test('empty records commit only; a commit at or below the position appends only', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const { jobs, out } = jobsAndDone(log);
    for (let i = 0; i < 5; i++) jobs.appendSync(`j${i}`);
    const sub = jobs.subscribe({ group: 'w', autoCommit: false });
    await sub.next();
    await sub.next();
    expect(await out.appendBatch([], { commit: sub })).toBe(0);
    expect(log.stats().topics.jobs!.groups.w!.position).toBe(2);
    expect(out.endOffset).toBe(0);
    expect(await out.appendBatch([{ value: 'a' }], { commit: { subscription: sub, offset: 1 } })).toBe(0);
    expect(log.stats().topics.jobs!.groups.w!.position).toBe(2);
    await sub.close();
  });

  test('shared members: each commit names what its member finished; a member closed before its append resolved still counts', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const { jobs, out } = jobsAndDone(log);
    for (let i = 0; i < 10; i++) jobs.appendSync(`j${i}`);
    const a = jobs.subscribe({ group: 'w', autoCommit: false });
    const b = jobs.subscribe({ group: 'w', autoCommit: false });
    const ra = (await a.next()).value!;
    const rb = (await b.next()).value!;
    expect(ra.offset).not.toBe(rb.offset);
    // b finishes first: the group position stays at a's unfinished record
    await out.appendBatch([{ value: `out-${rb.value}` }], { commit: b });
    expect(log.stats().topics.jobs!.groups.w?.position ?? 0).toBe(Math.min(ra.offset, rb.offset === 0 ? ra.offset : 0));
    // a closes while its append is in flight: what it held goes back, but the record it finished is done
    const pending = out.appendBatch([{ value: `out-${ra.value}` }], { commit: { subscription: a, offset: ra.offset + 1 } });
    await a.close();
    await pending;
    const seen = [ra.offset, rb.offset];
    for (;;) {
      if (log.stats().topics.jobs!.groups.w!.position === 10) break;
      const r = (await withinHangBound(b.next(), 'the next record for member b')).value!;
      expect(seen, `offset ${r.offset} was given again after its output was written`).not.toContain(r.offset);
      seen.push(r.offset);
      await out.appendBatch([{ value: `out-${r.value}` }], { commit: b });
    }
    expect(seen.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...out.read({ from: 0 })].map((r) => r.value).sort()).toEqual(seen.map((o) => `out-j${o}`).sort());
    await b.close();
  });

  test('batches(): commit a whole batch with its output', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const { jobs, out } = jobsAndDone(log);
    for (let i = 0; i < 100; i++) jobs.appendSync(`j${i}`);
    const sub = jobs.subscribe({ group: 'w', autoCommit: false });
    let n = 0;
    for await (const batch of sub.batches()) {
      await out.appendBatch(batch.map((r) => ({ value: `out-${r.value}` })), { commit: { subscription: sub, offset: batch[batch.length - 1]!.offset + 1 } });
      n += batch.length;
      if (n >= 100) break;
    }
    expect(log.stats().topics.jobs!.groups.w!.position).toBe(100);
    expect(out.endOffset).toBe(100);
  });

  test("'none': the commit is applied when the append returns", async () => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability: 'none' });
    const { jobs, out } = jobsAndDone(log);
    jobs.appendSync('j0');
    const sub = jobs.subscribe({ group: 'w', autoCommit: false });
    await sub.next();
    expect(await out.appendBatch([{ value: 'x' }], { commit: sub })).toBe(0);
    expect(log.stats().topics.jobs!.groups.w!.position).toBe(1);
    await sub.close();
    await log.close();
    const again = await h.open(dir);
    expect(again.stats().topics.jobs!.groups.w!.position).toBe(1);
  });

  test('bad input is refused with a SeglogError and writes nothing', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const { jobs, out } = jobsAndDone(log);
    for (let i = 0; i < 3; i++) jobs.appendSync(`j${i}`);
    const plain = jobs.subscribe({ autoCommit: false });
    await plain.next();
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: plain }), 'ERR_INVALID_ARGUMENT', ['no group']);
    await plain.close();
    const sub = jobs.subscribe({ group: 'w', autoCommit: false });
    await sub.next();
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: sub, flush: true } as never), 'ERR_INVALID_ARGUMENT', ['flush']);
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: {} } as never), 'ERR_INVALID_ARGUMENT', ['commit']);
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: { subscription: sub, offset: 99 } }), 'ERR_INVALID_ARGUMENT', [99]);
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: { subscription: sub, offset: -1 } }), 'ERR_INVALID_ARGUMENT', [-1]);
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: { subscription: sub, extra: 1 } } as never), 'ERR_INVALID_ARGUMENT', ['extra']);
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: { subscription: {} } } as never), 'ERR_INVALID_ARGUMENT', ['subscription']);
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], null as never), 'ERR_INVALID_ARGUMENT', ['options']);
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 5 as never }], { commit: sub }), 'ERR_INVALID_ARGUMENT');
    const other = await h.open(h.tmp());
    const foreign = other.topic<string>('x', { codec: 'string' });
    await expectSeglogError(h.mod, () => foreign.appendBatch([{ value: 'a' }], { commit: sub }), 'ERR_INVALID_ARGUMENT', ['another log']);
    expect(foreign.endOffset).toBe(0);
    await sub.close();
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: sub }), 'ERR_CLOSED', ['w']);
    expect(out.endOffset).toBe(0);
    expect(log.stats().topics.jobs!.groups.w?.position ?? 0).toBe(0);
    await log.close();
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'a' }], { commit: sub }), 'ERR_CLOSED');
  });

  for (const durability of ['os', 'fsync'] as const) {
    test(`'${durability}': a kill -9 right after the append resolved keeps both the output and the commit`, async () => {
      const dir = h.tmp();
      runKilledChild(entry, dir, durability, `
        for (let i = 0; i < 50; i++) jobs.appendSync('j' + i);
        await log.flush();
        const sub = jobs.subscribe({ group: 'w', autoCommit: false });
        for (let i = 0; i < 20; i++) {
          const { value } = await sub.next();
          await out.appendBatch([{ value: 'out-' + value.value }], { commit: sub });
        }
        // no flush, no close: only the output batches say the group moved (the store may not)
        process.kill(process.pid, 'SIGKILL');`);
      const log = await h.open(dir);
      expect(log.topic('done').endOffset).toBe(20);
      expect(log.stats().topics.jobs!.groups.w!.position).toBe(20);
    });
  }
});

describe.each(entries)('$name: commit blocks on disk', (entry) => {
  const h = harness(entry);

  test('are what docs/format.md says (independent reader), and verify and dump read them', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const { jobs, out } = jobsAndDone(log);
    for (let i = 0; i < 30; i++) jobs.appendSync(`j${i}`);
    const sub = jobs.subscribe({ group: 'grüppe', autoCommit: false });
    for (let i = 0; i < 3; i++) await sub.next();
    await out.appendBatch([{ value: 'a', key: 'k1' }, { value: 'b' }], { commit: sub });
    for (let i = 0; i < 2; i++) await sub.next();
    await out.appendBatch([{ value: 'c' }], { commit: { subscription: sub, offset: 4 } });
    await out.append('plain');
    await sub.close();
    await log.close();
    const parsed = scanLog(fs.readFileSync(path.join(dir, 'done', `${pad20(0)}.log`)), 0);
    expect(parsed.error).toBeUndefined();
    expect(parsed.batches.map((b) => [b.baseOffset, b.recordCount, b.commit])).toEqual([
      [0, 2, { topic: 'jobs', group: 'grüppe', ranges: [[0, 3]] }],
      [2, 1, { topic: 'jobs', group: 'grüppe', ranges: [[3, 4]] }],
      [3, 1, undefined],
    ]);
    expect(parsed.batches[0]!.records.map((r) => r.value?.toString())).toEqual(['a', 'b']);
    const report = await h.mod.verify(dir);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    const dump = spawnSync(process.execPath, [CLI, 'dump', dir, 'done'], { encoding: 'utf8' });
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain('commit: topic: jobs group: grüppe finished: 0..2');
    expect(dump.stdout).toContain('commit: topic: jobs group: grüppe finished: 3..3');
    // a damaged block is a damaged batch: verify names it, like any checksum failure
    const file = path.join(dir, 'done', `${pad20(0)}.log`);
    const bytes = fs.readFileSync(file);
    const b0 = parsed.batches[0]!;
    bytes[b0.position + b0.batchBytes - 4] ^= 0x40;
    fs.writeFileSync(file, bytes);
    const damaged = await h.mod.verify(dir);
    expect(damaged.ok).toBe(false);
  });

  test.each(['os', 'fsync'])("'%s': truncateBefore and compaction of the output keep the positions right across a kill -9", async (durability) => {
    const dir = h.tmp();
    runKilledChild(entry, dir, durability, `
      const keyed = log.topic('latest', { codec: 'string', segmentBytes: 600, cleanup: 'compact' });
      for (let i = 0; i < 120; i++) jobs.appendSync('j' + i);
      const a = jobs.subscribe({ group: 'a', autoCommit: false });
      const b = jobs.subscribe({ group: 'b', autoCommit: false });
      for (let i = 0; i < 100; i++) {
        const { value } = await a.next();
        await out.appendBatch([{ value: 'out-' + value.value }], { commit: a });
        const r = await b.next();
        await keyed.appendBatch([{ key: 'k' + (i % 5), value: 'v' + i }], { commit: b });
      }
      await out.truncateBefore(60);
      const c = await keyed.compact();
      if (${JSON.stringify(durability)} === 'fsync' && c.recordsAfter >= c.recordsBefore) throw new Error('nothing compacted: ' + JSON.stringify(c));
      process.kill(process.pid, 'SIGKILL');`, ', segmentBytes: 600');
    const log = await h.open(dir);
    const groups = log.stats().topics.jobs!.groups;
    expect(groups.a!.position).toBe(100);
    expect(groups.b!.position).toBe(100);
    expect(log.topic('done').startOffset).toBeGreaterThan(0);
    expect(log.topic('done').endOffset).toBe(100);
    expect(log.topic('latest').endOffset).toBe(100);
    await log.close();
    const report = await h.mod.verify(dir);
    expect(report.ok, JSON.stringify(report)).toBe(true);
  });
});

describe.each(entries)('$name: ridden commits and group management', (entry) => {
  const h = harness(entry);

  for (const [what, act] of [['resetGroup', 'await jobs.resetGroup("w", 3);'], ['deleteGroup', 'await jobs.deleteGroup("w");']] as const) {
    for (const durability of ['os', 'fsync'] as const) {
      test(`'${durability}': ${what} after ridden commits is not undone by recovery after a kill -9`, async () => {
        const dir = h.tmp();
        runKilledChild(entry, dir, durability, `
          for (let i = 0; i < 20; i++) jobs.appendSync('j' + i);
          const sub = jobs.subscribe({ group: 'w', autoCommit: false });
          for (let i = 0; i < 10; i++) {
            const { value } = await sub.next();
            await out.appendBatch([{ value: 'out-' + value.value }], { commit: sub });
          }
          await sub.close();
          ${act}
          process.kill(process.pid, 'SIGKILL');`);
        const log = await h.open(dir);
        expect(log.topic('done').endOffset).toBe(10);
        const g = log.stats().topics.jobs!.groups.w;
        if (what === 'resetGroup') expect(g?.position).toBe(3);
        else expect(g).toBeUndefined();
      });
    }
  }
});

describe.each(entries)('$name: exactly once across a power cut', (entry) => {
  const h = harness(entry);

  test("'os': the group position is not stored ahead of output a power cut takes back", async () => {
    const dir = h.tmp();
    // the child: 5 inputs transformed and flushed (durable), 15 more transformed under 'os' (in the
    // page cache only), time for any store writes to happen, then SIGKILL. The parent then drops
    // what was never fsynced from the output topic, as a power cut would.
    const stdout = runKilledChild(entry, dir, 'os', `
      const fs = await import('node:fs');
      const path = await import('node:path');
      for (let i = 0; i < 50; i++) jobs.appendSync('j' + i);
      const sub = jobs.subscribe({ group: 'w', autoCommit: false });
      const step = async () => {
        const { value } = await sub.next();
        await out.appendBatch([{ value: 'out-' + value.value }], { commit: sub });
      };
      for (let i = 0; i < 5; i++) await step();
      await log.flush();
      const sizes = {};
      for (const f of fs.readdirSync(path.join(dir, 'done'))) sizes[f] = fs.statSync(path.join(dir, 'done', f)).size;
      fs.writeSync(1, JSON.stringify(sizes) + '\\n');
      for (let i = 0; i < 15; i++) await step();
      await sub.close();
      await new Promise((r) => setTimeout(r, 300));
      process.kill(process.pid, 'SIGKILL');`);
    const sizes = JSON.parse(stdout.trim()) as Record<string, number>;
    for (const f of fs.readdirSync(path.join(dir, 'done'))) {
      const file = path.join(dir, 'done', f);
      if (!/\.(log|index|timeindex)$/.test(f)) continue;
      if (sizes[f] === undefined) fs.rmSync(file); else fs.truncateSync(file, sizes[f]);
    }
    const log = await h.open(dir);
    expect(log.topic('done').endOffset).toBe(5);
    expect(log.stats().topics.jobs!.groups.w!.position, 'the group must redo what the power cut took back').toBe(5);
  });
});

describe.each(entries)('$name: exactly once under kill -9', (entry) => {
  const h = harness(entry);
  const perInput = (o: number) => 1 + (o % 3);

  /** The output topic's records grouped by input offset; fails on a duplicate or a malformed record. */
  function outputs(log: Awaited<ReturnType<typeof h.open>>): Map<number, number[]> {
    const byInput = new Map<number, number[]>();
    for (const r of log.topic<string>('out', { codec: 'string' }).read({ from: 0 })) {
      const [o, k] = r.value!.split(':').map(Number) as [number, number];
      const ks = byInput.get(o) ?? [];
      expect(ks, `output ${r.value} at offset ${r.offset} is a duplicate`).not.toContain(k);
      ks.push(k);
      byInput.set(o, ks);
    }
    return byInput;
  }

  for (const [durability, members] of [['os', 1], ['fsync', 1], ['os', 3]] as const) {
    test(`'${durability}', ${members} member(s): every input's output is in the log exactly once, and the group position agrees`, async () => {
      const dir = h.tmp();
      const total = 1500;
      const rng = new Rng(members * 7 + (durability === 'os' ? 1 : 2) + (entry.name.length << 4));
      let finished = false;
      let lastPosition = 0;
      for (let run = 0; !finished; run++) {
        const child = spawnFixture(h, 'transform-exactly-once.mjs', [entry.dist, dir, JSON.stringify({ durability, total, members })]);
        await child.waitFor((l) => l.startsWith('ready'));
        if (run < 10) {
          // kill once the child got past a random input (or finished), a few ms later
          const target = lastPosition + rng.int(1, 150);
          await child.waitFor((l) => l === 'done' || (l.startsWith('at ') && Number(l.slice(3)) >= target));
          await sleep(rng.int(0, 5));
          await killHard(child);
        } else {
          await child.waitFor((l) => l === 'done');
          await killHard(child);
        }
        finished = child.lines.includes('done');
        const log = await h.open(dir);
        const position = log.stats().topics.in?.groups.xf?.position ?? 0;
        expect(position, `run ${run}: the group position went backwards`).toBeGreaterThanOrEqual(lastPosition);
        lastPosition = position;
        if (process.env.SEGLOG_TEST_TRACE) console.log(entry.name, durability, members, 'run', run, 'position', position, 'outputs', log.topic('out').endOffset);
        const byInput = outputs(log);
        // every input below the position was finished: its outputs are all there, once
        for (let o = 0; o < position; o++) expect(byInput.get(o)?.length, `run ${run}: outputs of input ${o} (position ${position})`).toBe(perInput(o));
        // an input with output is finished (its output batch carried its commit): complete
        for (const [o, ks] of byInput) expect(ks.length, `run ${run}: input ${o} has partial output`).toBe(perInput(o));
        if (members === 1) {
          // a solo member commits in order: nothing past the position has output
          expect(Math.max(-1, ...byInput.keys()), `run ${run}: output past the position ${position}`).toBeLessThan(position);
        }
        await log.close();
      }
      expect(finished).toBe(true);
      expect(lastPosition).toBe(total);
    });
  }
});
