// Damaged metadata (issue 11, item 5): a truncated, zeroed or random `~meta.lmdb`, a damaged
// `~meta.json` or `~groups.log` is ERR_CORRUPT naming the file — never a crash of the process (LMDB
// used to die with SIGSEGV/SIGBUS on such files) — verify() reports it as an error, and
// `repair: true` moves the file aside and rebuilds the metadata from the segment files (options
// and group positions from `~meta.json` when it has them). Every open runs in a child process
// (test/fixtures/open-damaged.mjs), and an exit by signal fails the test.
import { describe, expect, test } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { entries, type Entry } from './entry.js';
import { ChildLines, FIXTURES, HANG_MS, harness, killHard, Rng, spawnFixture, withinHangBound } from './helpers.js';

const [lmdbEntry, nativeFree] = entries as [Entry, Entry];

interface Outcome {
  ok: boolean; code?: string; message?: string; file?: string;
  topics?: string[]; ends?: Record<string, number>; codecs?: Record<string, string>; groupPosition?: number;
  recovery: Array<{ topic: string; file: string; reason: string }>;
  verify?: { ok: boolean; problems: Array<{ kind: string; severity: string; file: string }> };
}

async function inChild(entry: Entry, dir: string, mode: 'open' | 'readonly' | 'repair' | 'verify'): Promise<Outcome> {
  const lines = new ChildLines(spawn(process.execPath, [path.join(FIXTURES, 'open-damaged.mjs'), entry.dist, dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await withinHangBound(lines.exit(), `child ${mode} of ${dir}`);
  const { signalCode, exitCode } = lines.child;
  expect(signalCode, `the child (${mode}) was killed by ${signalCode}; stderr:\n${lines.stderr}`).toBeNull();
  expect(exitCode, `the child (${mode}) exited with ${exitCode}; stderr:\n${lines.stderr}`).toBe(0);
  return JSON.parse(lines.lines.find((l) => l.startsWith('{'))!) as Outcome;
}

/** A log with topic `events` (codec string, 20 records, group g committed at 3) and `other` (5 records). */
async function writeSample(h: ReturnType<typeof harness>): Promise<string> {
  const dir = h.tmp();
  const log = await h.mod.openLog(dir);
  const events = log.topic<string>('events', { codec: 'string' });
  for (let i = 0; i < 20; i++) await events.append(`e${i}`);
  const sub = events.subscribe({ group: 'g' });
  await sub.commit(3);
  await sub.close();
  const other = log.topic('other');
  for (let i = 0; i < 5; i++) other.appendSync(Buffer.from(`o${i}`));
  await log.close();
  return dir;
}

/** A log whose LMDB went through many transactions (options rewritten, groups committed, topics deleted), without ~meta.json. */
async function churnedStore(h: ReturnType<typeof harness>): Promise<string> {
  const dir = h.tmp();
  const log = await h.mod.openLog(dir);
  for (let round = 0; round < 4; round++) {
    for (let t = 0; t < 30; t++) {
      const topic = log.topic(`t${t}`, { retention: { maxBytes: 1 << (20 + round) } });
      topic.appendSync(Buffer.alloc(100));
      const sub = topic.subscribe({ group: `g${round}`.repeat(50) });
      await sub.commit(1);
      await sub.close();
    }
    await log.flush();
    for (let t = 0; t < 30; t += 3) await log.deleteTopic(`t${t}`);
  }
  await log.close();
  fs.rmSync(path.join(dir, '~meta.json'));
  return dir;
}

function copyDir(h: ReturnType<typeof harness>, from: string): string {
  const to = h.tmp();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

/** Opening refuses with ERR_CORRUPT naming `file`, read-only too, verify says so, and a repair opens every record. */
async function expectRefusedThenRepaired(entry: Entry, dir: string, file: string): Promise<Outcome> {
  for (const mode of ['open', 'readonly'] as const) {
    const r = await inChild(entry, dir, mode);
    expect(r.ok, `${mode} should refuse: ${JSON.stringify(r)}`).toBe(false);
    expect(r.code, r.message).toBe('ERR_CORRUPT');
    expect(r.file).toBe(file);
    expect(r.message).toContain(file);
  }
  const v = await inChild(entry, dir, 'verify');
  expect(v.verify!.ok).toBe(false);
  expect(v.verify!.problems).toContainEqual({ kind: 'metadata', severity: 'error', file });
  const repaired = await inChild(entry, dir, 'repair');
  expect(repaired.ok, JSON.stringify(repaired)).toBe(true);
  expect(repaired.ends).toEqual({ events: 20, other: 5 });
  expect(repaired.recovery.length).toBeGreaterThan(0);
  expect(fs.readdirSync(dir).some((f) => f.startsWith(path.basename(file) + '.damaged')), 'the damaged file is kept aside').toBe(true);
  const again = await inChild(entry, dir, 'open');
  expect(again.ok, JSON.stringify(again)).toBe(true);
  expect(again.ends).toEqual({ events: 21, other: 5 });
  expect((await inChild(entry, dir, 'verify')).verify!.ok).toBe(true);
  return repaired;
}

describe('damaged ~meta.lmdb (default entry point)', () => {
  const h = harness(lmdbEntry);
  const damages: Array<[string, (file: string) => void]> = [
    ['truncated to 4096 bytes', (f) => fs.truncateSync(f, 4096)],
    ['truncated to 12288 bytes', (f) => fs.truncateSync(f, 12288)],
    ['truncated to 0 bytes', (f) => fs.truncateSync(f, 0)],
    ['page 0 zeroed', (f) => { const fd = fs.openSync(f, 'r+'); fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 0); fs.closeSync(fd); }],
    ['page 1 zeroed', (f) => { const fd = fs.openSync(f, 'r+'); fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 4096); fs.closeSync(fd); }],
    ['random bytes', (f) => fs.writeFileSync(f, new Rng(11).bytes(fs.statSync(f).size))],
    ['random bytes over the data pages', (f) => { const size = fs.statSync(f).size; const fd = fs.openSync(f, 'r+'); fs.writeSync(fd, new Rng(12).bytes(size - 8192), 0, size - 8192, 8192); fs.closeSync(fd); }],
  ];

  test.each(damages)('%s: ERR_CORRUPT naming the file (no crash), verify reports it, repair restores options and groups from ~meta.json', async (_name, damage) => {
    const dir = await writeSample(h);
    const file = path.join(dir, '~meta.lmdb');
    damage(file);
    const repaired = await expectRefusedThenRepaired(lmdbEntry, dir, file);
    // the clean close left ~meta.json: what LMDB held comes back from it
    expect(repaired.codecs).toEqual({ events: 'string', other: 'binary' });
    expect(repaired.groupPosition).toBe(3);
    expect(repaired.recovery.some((e) => e.reason.includes('restored from'))).toBe(true);
  });

  test('without ~meta.json (a crash, not a clean close), a repair reports the options and group positions as lost', async () => {
    const dir = await writeSample(h);
    fs.rmSync(path.join(dir, '~meta.json'));
    fs.rmSync(path.join(dir, '~groups.log'), { force: true });
    const file = path.join(dir, '~meta.lmdb');
    fs.truncateSync(file, 4096);
    const repaired = await expectRefusedThenRepaired(lmdbEntry, dir, file);
    expect(repaired.groupPosition).toBe(0);
    expect(repaired.recovery.filter((e) => e.reason.includes('lost')).map((e) => e.topic).sort()).toEqual(['', 'events', 'other']);
  });

  test('a cut at any page boundary either opens with every record or is ERR_CORRUPT, and verify agrees', async () => {
    const sample = await writeSample(h);
    fs.rmSync(path.join(sample, '~meta.json'));
    const size = fs.statSync(path.join(sample, '~meta.lmdb')).size;
    for (let cut = 4096; cut < size; cut += 4096) {
      const dir = copyDir(h, sample);
      fs.truncateSync(path.join(dir, '~meta.lmdb'), cut);
      const v = await inChild(lmdbEntry, dir, 'verify');
      const r = await inChild(lmdbEntry, dir, 'readonly');
      if (r.ok) expect(r.ends, `cut at ${cut}`).toEqual({ events: 20, other: 5 });
      else expect(r.code, `cut at ${cut}: ${r.message}`).toBe('ERR_CORRUPT');
      expect(v.verify!.ok, `cut at ${cut}: verify and openLog disagree (${r.message})`).toBe(r.ok);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('random damage anywhere in a store after many transactions: never a signal; open works or is ERR_CORRUPT, and then repair opens every record', async () => {
    const sample = await churnedStore(h);
    const size = fs.statSync(path.join(sample, '~meta.lmdb')).size;
    const cases = Number(process.env.SEGLOG_META_FUZZ_CASES ?? 24);
    const rng = new Rng(20261202);
    const expected = (await inChild(lmdbEntry, copyDir(h, sample), 'readonly')).ends;
    for (let c = 0; c < cases; c++) {
      const dir = copyDir(h, sample);
      const file = path.join(dir, '~meta.lmdb');
      const bytes = rng.pick([1, 8, 64, 512]);
      const at = rng.int(0, size - bytes);
      const data = fs.readFileSync(file);
      const damage = bytes === 512 ? Buffer.alloc(bytes) : rng.bytes(bytes);
      damage.copy(data, at);
      fs.writeFileSync(file, data);
      const what = `case ${c}: ${bytes} bytes at ${at}`;
      const r = await inChild(lmdbEntry, dir, 'open');
      if (r.ok) {
        // LMDB keeps no checksums: a changed byte in a value that still decodes goes unseen (a
        // topic's options or recovery state differ). What must hold is that nothing crashed.
      } else {
        expect(r.code, `${what}: ${r.message}`).toBe('ERR_CORRUPT');
        expect(r.file, what).toBe(file);
        const repaired = await inChild(lmdbEntry, dir, 'repair');
        expect(repaired.ok, `${what}: repair: ${repaired.message}`).toBe(true);
        expect(repaired.ends, what).toEqual(expected);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a sound store after many transactions (groups, options, deletes) passes the check', async () => {
    const dir = await churnedStore(h);
    const r = await inChild(lmdbEntry, dir, 'open');
    expect(r.ok, r.message).toBe(true);
    expect((await inChild(lmdbEntry, dir, 'verify')).verify!.ok).toBe(true);
  });
});

describe('damaged ~meta.json and ~groups.log (native-free)', () => {
  const h = harness(nativeFree);
  const damages: Array<[string, (file: string) => void]> = [
    ['truncated in the middle', (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2))],
    ['garbage', (f) => fs.writeFileSync(f, new Rng(5).bytes(300))],
    ['empty', (f) => fs.writeFileSync(f, '')],
    ['valid JSON of the wrong shape', (f) => fs.writeFileSync(f, JSON.stringify({ version: 1, topics: { events: 5 }, state: {} }))],
    ['a state with a non-number field', (f) => {
      const doc = JSON.parse(fs.readFileSync(f, 'utf8'));
      doc.state.events.endOffset = 'twenty';
      fs.writeFileSync(f, JSON.stringify(doc));
    }],
  ];

  test.each(damages)('~meta.json %s: ERR_CORRUPT naming it, verify reports it, repair opens every record', async (_name, damage) => {
    const dir = await writeSample(h);
    const file = path.join(dir, '~meta.json');
    damage(file);
    const repaired = await expectRefusedThenRepaired(nativeFree, dir, file);
    expect(repaired.groupPosition, 'group positions live in ~groups.log, which is intact').toBe(3);
  });

  test('~groups.log with a damaged line before valid ones: ERR_CORRUPT naming it; repair keeps the valid lines', async () => {
    const dir = await writeSample(h);
    const file = path.join(dir, '~groups.log');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, 'deadbeef ["g","events","x",99]\n' + text);
    for (const mode of ['open', 'readonly'] as const) {
      const r = await inChild(nativeFree, dir, mode);
      expect(r.code, r.message).toBe('ERR_CORRUPT');
      expect(r.file).toBe(file);
    }
    const v = await inChild(nativeFree, dir, 'verify');
    expect(v.verify!.ok).toBe(false);
    expect(v.verify!.problems).toContainEqual({ kind: 'metadata', severity: 'error', file });
    const repaired = await inChild(nativeFree, dir, 'repair');
    expect(repaired.ok, repaired.message).toBe(true);
    expect(repaired.groupPosition).toBe(3);
    expect((await inChild(nativeFree, dir, 'verify')).verify!.ok).toBe(true);
    expect(fs.existsSync(file + '.damaged')).toBe(true);
    expect((await inChild(nativeFree, dir, 'open')).ok).toBe(true);
  });

  test('the default entry point refuses a directory whose native-free ~meta.json is damaged, naming it', async () => {
    const dir = await writeSample(h);
    const file = path.join(dir, '~meta.json');
    fs.writeFileSync(file, '{"version":1,');
    const r = await inChild(lmdbEntry, dir, 'open');
    expect(r.code, r.message).toBe('ERR_CORRUPT');
    expect(r.file).toBe(file);
    const repaired = await inChild(lmdbEntry, dir, 'repair');
    expect(repaired.ok, repaired.message).toBe(true);
    expect(repaired.ends).toEqual({ events: 20, other: 5 });
    expect(fs.existsSync(file + '.damaged')).toBe(true);
  });
});

describe('the copy in ~meta.json and ~groups.log a clean close of the default entry point leaves', () => {
  const h = harness(lmdbEntry);
  // verify() judged these as damaged (as native-free's openLog does) while the default openLog
  // opened the directory: it agrees now, and a repair opens with LMDB's positions.
  const damages: Array<[string, string, (file: string) => void]> = [
    ['~meta.json of the right writer but the wrong shape', '~meta.json', (f) => {
      const doc = JSON.parse(fs.readFileSync(f, 'utf8'));
      doc.topics.events = 5;
      fs.writeFileSync(f, JSON.stringify(doc));
    }],
    ['~groups.log with a damaged line before valid ones', '~groups.log', (f) => {
      fs.writeFileSync(f, 'deadbeef ["g","events","x",99]\n' + fs.readFileSync(f, 'utf8'));
    }],
  ];

  test.each(damages)('%s: openLog (and read-only) refuse it naming the file exactly when verify reports it; repair opens', async (_name, name, damage) => {
    const dir = await writeSample(h);
    const file = path.join(dir, name);
    expect(JSON.parse(fs.readFileSync(path.join(dir, '~meta.json'), 'utf8')).writer).toBe('seglog');
    damage(file);
    const v = await inChild(lmdbEntry, dir, 'verify');
    expect(v.verify!.ok).toBe(false);
    expect(v.verify!.problems).toContainEqual({ kind: 'metadata', severity: 'error', file });
    for (const mode of ['open', 'readonly'] as const) {
      const r = await inChild(lmdbEntry, dir, mode);
      expect(r.ok, `${mode} opened a directory verify reports as damaged`).toBe(false);
      expect(r.code, r.message).toBe('ERR_CORRUPT');
      expect(r.file).toBe(file);
    }
    const repaired = await inChild(lmdbEntry, dir, 'repair');
    expect(repaired.ok, repaired.message).toBe(true);
    expect(repaired.ends).toEqual({ events: 20, other: 5 });
    expect(repaired.groupPosition, 'LMDB holds the position').toBe(3);
    expect((await inChild(lmdbEntry, dir, 'verify')).verify!.ok).toBe(true);
  });
});

describe('the seglog command on a damaged ~meta.lmdb', () => {
  const h = harness(lmdbEntry);
  test('seglog stats exits 1 naming the file and seglog verify reports DAMAGED, neither killed by a signal', async () => {
    const dir = await writeSample(h);
    fs.truncateSync(path.join(dir, '~meta.lmdb'), 12288);
    const bin = path.join(path.dirname(lmdbEntry.dist), 'cli/main.js');
    for (const [command, expectOut] of [['stats', /the log is damaged: .*~meta\.lmdb/], ['verify', /ERROR metadata: .*~meta\.lmdb/]] as const) {
      const r = spawnSync(process.execPath, [bin, command, dir], { encoding: 'utf8', timeout: HANG_MS });
      expect(r.signal, `seglog ${command} was killed by ${r.signal}`).toBeNull();
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toMatch(expectOut);
    }
  });
});

describe('the check of ~meta.lmdb next to a writer in another process', () => {
  const h = harness(lmdbEntry);
  test('finds a sound store every time while the writer commits (pages freed and reused under the walk)', async () => {
    const dir = h.tmp();
    const writer = spawnFixture(h, 'meta-churn.mjs', [lmdbEntry.dist, dir]);
    await writer.waitFor((l) => l === 'ready');
    const { checkLmdbFile } = await import('../src/store/lmdb-check.js');
    const { nodeFileIO } = await import('../src/io/node-fs.js');
    for (let i = 0; i < 1000; i++) {
      const r = checkLmdbFile(nodeFileIO, path.join(dir, '~meta.lmdb'));
      expect(r, `check ${i}`).toEqual({ kind: 'sound' });
    }
    expect(writer.exited, writer.stderr).toBe(false);
    await killHard(writer);
  });
});
