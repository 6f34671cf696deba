// The `seglog` command, run as a real child process (the compiled dist/src/cli/main.js that the
// package's `bin` names) against directories written by the library: output content and exit
// codes, a log written by another process (tail --follow), a locked directory and a damaged one.
import { afterEach, describe, expect, test } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { entries } from './entry.js';
import { ChildLines, FIXTURES, segmentBases, segmentPath, HANG_MS } from './helpers.js';
import { scanLog } from './format-reader.js';
import { Progress } from '../src/cli/output.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'dist/src/cli/main.js');
const [lmdbEntry, nativeFree] = entries as [typeof entries[0], typeof entries[0]];

interface Run { code: number | null; stdout: string; stderr: string }

function seglog(args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: HANG_MS });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dirs: string[] = [];
const children: ChildLines[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-cli-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const c of children.splice(0)) if (!c.exited) { c.child.kill('SIGKILL'); await c.exit(); }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function spawnLines(file: string, args: string[]): ChildLines {
  const lines = new ChildLines(spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(lines);
  return lines;
}

/** A log with a json topic (keys, headers, fixed timestamps), a string topic and a rolled binary topic. */
async function writeSample(entry = lmdbEntry): Promise<string> {
  const dir = tmp();
  const { openLog } = await entry.load();
  const log = await openLog(dir);
  const orders = log.topic<unknown>('orders', { codec: 'json' });
  for (let i = 0; i < 5; i++) await orders.append({ order: i, total: i * 10 }, { key: `cust-${i % 2}`, headers: { source: 'web' }, timestamp: Date.UTC(2026, 0, 1, 0, i) });
  await log.topic<string>('notes', { codec: 'string' }).appendBatch([{ value: 'first note' }, { value: 'second\nline' }]);
  const raw = log.topic('raw', { segmentBytes: 1024 });
  for (let i = 0; i < 30; i++) raw.appendSync(Buffer.from(`frame ${i} `.padEnd(100, '.')));
  raw.appendSync(Buffer.from([0, 1, 2, 255]));
  await log.close();
  return dir;
}

describe('seglog CLI', () => {
  test('package.json names the CLI as bin "seglog", and the file starts with a node shebang', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(path.resolve(root, pkg.bin.seglog!)).toBe(BIN);
    expect(fs.readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  test('--help lists every command and the exit codes; no command is a usage error', () => {
    const help = seglog(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['topics', 'stats', 'tail', 'dump', 'produce', 'verify', 'compact', 'retention', '--follow', '--key-sep', 'Exit codes']) expect(help.stdout).toContain(c);
    expect(seglog(['tail', '--help']).code).toBe(0);
    const none = seglog([]);
    expect(none.code).toBe(2);
  });

  test('topics lists the topics; stats prints a table and --json the numbers of log.stats()', async () => {
    const dir = await writeSample();
    const topics = seglog(['topics', dir]);
    expect(topics.code).toBe(0);
    expect(topics.stdout).toBe('notes\norders\nraw\n');

    const json = seglog(['stats', dir, '--json']);
    expect(json.code).toBe(0);
    const stats = JSON.parse(json.stdout) as { topics: Record<string, { segments: number; endOffset: number; bytes: number; codec: string }> };
    expect(stats.topics.orders).toMatchObject({ endOffset: 5, codec: 'json', segments: 1 });
    expect(stats.topics.raw!.segments).toBe(segmentBases(dir, 'raw').length);
    expect(stats.topics.raw!.bytes).toBe(segmentBases(dir, 'raw').reduce((n, b) => n + fs.statSync(segmentPath(dir, 'raw', b, 'log')).size, 0));

    const text = seglog(['stats', dir, 'orders']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TOPIC\s+SEGMENTS\s+SIZE\s+START\s+END\s+RECORDS\s+CODEC\s+CLEANUP/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^orders\s+1\s+\d+ B\s+0\s+5\s+5\s+json\s+delete\s+2026-01-01T00:04:00.000Z$/);
  });

  test('tail decodes with each topic\'s codec; --from N, -N, latest and an ISO time; --max; --json carries key, headers and time', async () => {
    const dir = await writeSample();
    const all = seglog(['tail', dir, 'orders']);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n')).toEqual([0, 1, 2, 3, 4].map((i) => `${i}\tcust-${i % 2}\t{"order":${i},"total":${i * 10}}`));
    expect(seglog(['tail', dir, 'orders', '--from', '3']).stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['3', '4']);
    expect(seglog(['tail', dir, 'orders', '--from=-2']).stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['3', '4']);
    // as the README writes it: `--from -N` with a space
    const lastTwo = seglog(['tail', dir, 'orders', '--from', '-2']);
    expect(lastTwo.code, lastTwo.stderr).toBe(0);
    expect(lastTwo.stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['3', '4']);
    expect(seglog(['tail', dir, 'orders', '--from', 'latest']).stdout).toBe('');
    expect(seglog(['tail', dir, 'orders', '--from', '2026-01-01T00:02:30Z']).stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['3', '4']);
    expect(seglog(['tail', dir, 'orders', '--max', '2']).stdout.trim().split('\n')).toHaveLength(2);
    const json = seglog(['tail', dir, 'orders', '--json', '--from', '1', '--max', '1']);
    expect(JSON.parse(json.stdout)).toEqual({ offset: 1, timestamp: '2026-01-01T00:01:00.000Z', key: 'cust-1', headers: { source: 'web' }, value: { order: 1, total: 10 } });
    // Strings stay on one line; bytes that are not text come out as base64.
    expect(seglog(['tail', dir, 'notes']).stdout).toBe('0\t-\tfirst note\n1\t-\tsecond\\nline\n');
    const raw = seglog(['tail', dir, 'raw', '--from=-2']).stdout.trim().split('\n');
    expect(raw[0]).toMatch(/^29\t-\tframe 29 \.+$/);
    expect(raw[1]).toBe(`30\t-\tbase64:${Buffer.from([0, 1, 2, 255]).toString('base64')}`);
    const bad = seglog(['tail', dir, 'orders', '--from', 'yesterday-ish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from must be');
  });

  test('a directory written by seglog/native-free is read by the CLI (its metadata picks the entry point)', async () => {
    const dir = await writeSample(nativeFree);
    expect(fs.existsSync(path.join(dir, '~meta.json'))).toBe(true);
    expect(seglog(['topics', dir]).stdout).toBe('notes\norders\nraw\n');
    expect(seglog(['tail', dir, 'orders', '--max', '1']).stdout).toBe('0\tcust-0\t{"order":0,"total":0}\n');
  });

  test('dump prints every batch with its position, offsets, size and checksum as on disk, and each record', async () => {
    const dir = await writeSample();
    const base = segmentBases(dir, 'raw')[1]!;
    const file = segmentPath(dir, 'raw', base, 'log');
    const parsed = scanLog(fs.readFileSync(file), base);
    const r = seglog(['dump', dir, 'raw', '--segment', String(base), '--batches']);
    expect(r.code).toBe(0);
    const batchLines = r.stdout.split('\n').filter((l) => l.startsWith('batch '));
    expect(batchLines).toHaveLength(parsed.batches.length);
    parsed.batches.forEach((b, i) => {
      expect(batchLines[i]).toContain(`batch position: ${b.position} baseOffset: ${b.baseOffset} lastOffset: ${b.baseOffset + b.lastOffsetDelta} count: ${b.recordCount} size: ${b.batchBytes}`);
      expect(batchLines[i]).toContain(`checksum: 0x${b.checksum.toString(16).padStart(8, '0')} valid`);
    });
    expect(r.stdout).not.toContain('  offset:');
    expect(r.stdout).toContain(`Dumping ${file}`);

    const full = seglog(['dump', dir, 'orders']);
    expect(full.code).toBe(0);
    expect(full.stdout).toContain('  offset: 2 timestamp: 2026-01-01T00:02:00.000Z key: cust-0 headers: source=web size: 22 value: {"order":2,"total":20}');
    const missing = seglog(['dump', dir, 'raw', '--segment', '7']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('has no segment 7');
  });

  test('dump of a damaged segment marks the bad batch INVALID with its position and exits 1', async () => {
    const dir = await writeSample();
    const file = segmentPath(dir, 'orders', 0, 'log');
    const parsed = scanLog(fs.readFileSync(file), 0);
    const victim = parsed.batches[1]!;
    const bytes = fs.readFileSync(file);
    bytes[victim.position + 50] = bytes[victim.position + 50]! ^ 0x40;
    fs.writeFileSync(file, bytes);
    const r = seglog(['dump', dir, 'orders', '--segment', '0']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`batch position: ${parsed.batches[0]!.position} baseOffset: 0`);
    expect(r.stdout).toContain(`batch position: ${victim.position} INVALID: checksum mismatch`);
  });

  test('produce appends one record per stdin line (key before --key-sep, empty lines skipped) that the library reads back', async () => {
    const dir = tmp();
    const r = seglog(['produce', dir, 'events', '--key-sep', '=', '--codec', 'json'], 'ada={"n":1}\n\nbob={"n":2}\nada={"n":3,"s":"a=b"}\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('produced 3 records to events (offsets 0 to 2)\n');
    const { openLog } = await lmdbEntry.load();
    const log = await openLog(dir, { readOnly: true });
    const records = [...log.topic<unknown>('events').read()];
    expect(records.map((x) => [x.key!.toString(), x.value])).toEqual([['ada', { n: 1 }], ['bob', { n: 2 }], ['ada', { n: 3, s: 'a=b' }]]);
    expect(log.stats().topics.events!.codec).toBe('json');
    await log.close();
  });

  test('produce into a missing directory needs --create; a line that is not JSON for a json topic appends nothing of its batch and exits 2', async () => {
    const dir = path.join(tmp(), 'new');
    const missing = seglog(['produce', dir, 't'], 'x\n');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('add --create');
    expect(fs.existsSync(dir)).toBe(false);
    const made = seglog(['produce', dir, 't', '--create'], 'one\ntwo\n');
    expect(made.code).toBe(0);
    expect(seglog(['tail', dir, 't']).stdout).toBe('0\t-\tone\n1\t-\ttwo\n');
    expect(seglog(['produce', dir, 'j', '--codec', 'json'], '{"a":1}\n').code).toBe(0);
    const bad = seglog(['produce', dir, 'j'], '{"a":2}\n{oops\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('line 2 is not JSON');
    expect(bad.stderr).toContain('nothing was appended');
    expect(seglog(['tail', dir, 'j']).stdout).toBe('0\t-\t{"a":1}\n');
    const sep = seglog(['produce', dir, 't', '--key-sep', ':'], 'no separator here\n');
    expect(sep.code).toBe(2);
    expect(sep.stderr).toContain('line 1 has no key separator ":"');
  });

  test("the README's produce example works as written in a new directory", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const line = readme.split('\n').find((l) => l.startsWith('printf ') && l.includes('| seglog produce'));
    expect(line).toBeDefined();
    const command = line!.replace(/\s+#.*$/, '').replace('| seglog ', `| "${process.execPath}" "${BIN}" `);
    const cwd = tmp();
    const r = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8', timeout: HANG_MS });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('produced 1 record to events (offset 0)\n');
    expect(seglog(['tail', path.join(cwd, 'data'), 'events']).stdout).toBe('0\tada\t{"n":1}\n');
  });

  test('a --create run that fails before appending anything removes the directory it made (parents too), and nothing else', () => {
    const base = tmp();
    const dir = path.join(base, 'a', 'b', 'log');
    const failed = seglog(['produce', dir, 'j', '--codec', 'json', '--create'], '{oops\n');
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('line 1 is not JSON');
    expect(failed.stderr).toContain(`${path.join(base, 'a')}, which this run created, was removed`);
    expect(fs.existsSync(path.join(base, 'a'))).toBe(false);
    expect(fs.readdirSync(base)).toEqual([]);
    // a parent that was there stays
    fs.mkdirSync(path.join(base, 'kept'));
    expect(seglog(['produce', path.join(base, 'kept', 'log'), 'j', '--codec', 'json', '--create'], '{oops\n').code).toBe(2);
    expect(fs.readdirSync(path.join(base, 'kept'))).toEqual([]);
    // a directory that existed before the run is left as it was, with its records
    expect(seglog(['produce', dir, 'j', '--codec', 'json', '--create'], '{"a":1}\n').stdout).toBe('produced 1 record to j (offset 0)\n');
    const again = seglog(['produce', dir, 'j', '--create'], '{oops\n');
    expect(again.code).toBe(2);
    expect(again.stderr).not.toContain('removed');
    expect(seglog(['tail', dir, 'j']).stdout).toBe('0\t-\t{"a":1}\n');
    // a run that appended a batch before it failed keeps the directory it made, and says what it appended
    const partialDir = path.join(base, 'c');
    const lines = Array.from({ length: 1000 }, (_, i) => `{"n":${i}}`).join('\n') + '\n{oops\n';
    const partial = seglog(['produce', partialDir, 'j', '--codec', 'json', '--create'], lines);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain('1000 records before it were appended (offsets 0 to 999)');
    expect(partial.stderr).not.toContain('removed');
    expect(seglog(['tail', partialDir, 'j', '--from', '-1']).stdout).toBe('999\t-\t{"n":999}\n');
  });

  test('counts of one are singular: produced 1 record, 1 topic, 1 record before', async () => {
    const dir = tmp();
    const one = seglog(['produce', dir, 'kv', '--key-sep', '=', '--cleanup', 'compact'], 'k=v\n');
    expect(one.stdout).toBe('produced 1 record to kv (offset 0)\n');
    expect(seglog(['produce', dir, 'kv'], 'a\nb\n').stdout).toBe('produced 2 records to kv (offsets 1 to 2)\n');
    expect(seglog(['verify', dir]).stdout).toMatch(/is intact \(1 topic\)\n$/);
    const solo = tmp();
    expect(seglog(['produce', solo, 'kv', '--key-sep', '=', '--cleanup', 'compact'], 'k=v\n').code).toBe(0);
    expect(seglog(['compact', solo, 'kv']).stdout).toMatch(/^compacted kv: 1 record before, 1 after, /);
  });

  test("produce refuses a --codec other than the topic's and appends nothing; a custom-codec topic is read as raw bytes", async () => {
    const dir = tmp();
    expect(seglog(['produce', dir, 'j', '--codec', 'json'], '{"a":1}\n').code).toBe(0);
    const other = seglog(['produce', dir, 'j', '--codec', 'string'], 'text\n');
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("codec 'string' for topic j");
    expect(other.stderr).toContain('changeCodec');
    expect(seglog(['tail', dir, 'j']).stdout).toBe('0\t-\t{"a":1}\n');
    const { openLog } = await lmdbEntry.load();
    const log = await openLog(dir);
    const upper = { encode: (v: string) => Buffer.from(v.toUpperCase()), decode: (b: Buffer) => b.toString().toLowerCase() };
    await log.topic('p', { codec: upper }).append('hello');
    await log.close();
    expect(seglog(['tail', dir, 'p']).stdout).toBe('0\t-\tHELLO\n');
    expect((JSON.parse(seglog(['stats', dir, 'p', '--json']).stdout) as { topics: Record<string, { codec: string }> }).topics.p!.codec).toBe('custom');
    expect(seglog(['groups', dir, 'p']).code).toBe(0);
    const into = seglog(['produce', dir, 'p'], 'x\n');
    expect(into.code).toBe(2);
    expect(into.stderr).toContain('custom codec');
    expect(seglog(['tail', dir, 'p']).stdout).toBe('0\t-\tHELLO\n');
  });

  test('errors: a missing directory exits 3, an unknown topic 5 (naming the topics there are), bad arguments 2', async () => {
    const dir = await writeSample();
    const nodir = seglog(['stats', path.join(dir, 'nope')]);
    expect(nodir.code).toBe(3);
    expect(nodir.stderr).toBe(`seglog: no log directory at ${path.join(dir, 'nope')}\n`);
    const notopic = seglog(['tail', dir, 'ordres']);
    expect(notopic.code).toBe(5);
    expect(notopic.stderr).toContain('no topic "ordres"');
    expect(notopic.stderr).toContain('topics: notes, orders, raw');
    expect(seglog(['dump', dir, 'ordres']).code).toBe(5);
    for (const args of [['frobnicate', dir], ['tail', dir], ['tail', dir, 'orders', '--max', 'ten'], ['stats', dir, '--nope'], ['produce', dir, 'x', '--codec', 'yaml']]) {
      const r = seglog(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^seglog: /);
    }
  });

  test('a directory locked by another process: reading commands still work; writing ones exit 4, name the holder, and tail --group suggests --read-only', async () => {
    const dir = await writeSample();
    const holder = spawnLines(path.join(FIXTURES, 'hold-lock.mjs'), [lmdbEntry.dist, dir]);
    await holder.waitFor((l) => l === 'open');
    expect(seglog(['topics', dir]).stdout).toContain('held');
    expect(seglog(['tail', dir, 'held']).stdout).toMatch(/^0\t-\tpid \d+\n$/);
    const produce = seglog(['produce', dir, 'orders'], '{"x":1}\n');
    expect(produce.code).toBe(4);
    expect(produce.stderr).toContain(`locked by process ${holder.child.pid}`);
    const group = seglog(['tail', dir, 'orders', '--group', 'g']);
    expect(group.code).toBe(4);
    expect(group.stderr).toContain('--read-only');
    expect(seglog(['compact', dir, 'orders']).code).toBe(4);
    expect(seglog(['retention', dir, 'orders']).code).toBe(4);
  });

  test('tail --follow prints what a writer in another process appends, across segment rolls, until --max', async () => {
    const dir = tmp();
    const count = 300;
    const writer = spawnLines(path.join(FIXTURES, 'slow-writer.mjs'), [lmdbEntry.dist, dir, String(count)]);
    await writer.waitFor((l) => l === 'wrote 0');
    const tail = spawnLines(BIN, ['tail', dir, 'feed', '--follow', '--max', String(count)]);
    await tail.exit();
    expect(tail.stderr).toBe('');
    expect(tail.child.exitCode).toBe(0);
    expect(tail.lines).toEqual(Array.from({ length: count }, (_, i) => `${i}\t-\tr${i}`));
    await writer.exit();
    expect(segmentBases(dir, 'feed').length).toBeGreaterThan(2);
  });

  test('tail --follow --from latest waits for new records and ends cleanly on SIGINT', async () => {
    const dir = await writeSample();
    const tail = spawnLines(BIN, ['tail', dir, 'notes', '--follow', '--from', 'latest']);
    // Give the follower time to start watching, then append from this process.
    const { openLog } = await lmdbEntry.load();
    const log = await openLog(dir);
    const notes = log.topic<string>('notes');
    let attempt = 0;
    // Appends until the follower shows one (it may start after the first append: --from latest).
    for (;;) {
      await notes.append(`late ${attempt++}`);
      try {
        await tail.waitFor((l) => /\tlate \d+$/.test(l), 500);
        break;
      } catch (err) {
        if (attempt > 40) throw err;
      }
    }
    await log.close();
    tail.child.kill('SIGINT');
    await tail.exit();
    expect(tail.child.exitCode).toBe(0);
    const shown = tail.lines.filter((l) => l.length > 0);
    expect(shown.length).toBeGreaterThan(0);
    for (const l of shown) expect(l).toMatch(/^\d+\t-\tlate \d+$/);
    expect(shown.some((l) => l.startsWith('0\t') || l.startsWith('1\t'))).toBe(false);
  });

  test('tail --follow ends with exit code 1 when the writer deletes the topic (the following log releases it)', async () => {
    const dir = await writeSample();
    const tail = spawnLines(BIN, ['tail', dir, 'notes', '--follow']);
    await tail.waitFor((l) => l.startsWith('0\t'));
    const { openLog } = await lmdbEntry.load();
    const log = await openLog(dir);
    await log.deleteTopic('notes');
    await log.close();
    await tail.exit();
    expect(tail.child.exitCode).toBe(1);
    expect(tail.stderr).toContain('topic notes was deleted');
  });

  test('verify: an intact log exits 0; a flipped byte in flushed data exits 1 naming the file and position', async () => {
    const dir = await writeSample();
    const good = seglog(['verify', dir]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('intact');
    expect(good.stdout).toMatch(/orders\s+1\s+\d+\s+5\s/);
    expect(seglog(['verify', dir, 'orders']).stdout).not.toContain('notes');
    const unknown = seglog(['verify', dir, 'ordres']);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('ordres');
    const file = segmentPath(dir, 'orders', 0, 'log');
    const victim = scanLog(fs.readFileSync(file), 0).batches[1]!;
    const bytes = fs.readFileSync(file);
    bytes[victim.position + 60] = bytes[victim.position + 60]! ^ 0x01;
    fs.writeFileSync(file, bytes);
    const bad = seglog(['verify', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('DAMAGED');
    expect(bad.stdout).toContain(file);
    expect(bad.stdout).toContain(`position ${victim.position}`);
    const json = seglog(['verify', dir, '--json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { ok: boolean }).ok).toBe(false);
  });

  test('compact keeps the newest record per key; retention --truncate-before raises the start offset', async () => {
    const dir = tmp();
    const { openLog } = await lmdbEntry.load();
    const log = await openLog(dir);
    const t = log.topic<string>('kv', { codec: 'string', cleanup: 'compact', segmentBytes: 1024 });
    for (let i = 0; i < 100; i++) await t.append(`v${i}`.padEnd(60, '.'), { key: `k${i % 5}` });
    const d = log.topic('d', { segmentBytes: 1024 });
    for (let i = 0; i < 60; i++) d.appendSync(Buffer.alloc(100, i));
    await log.close();
    const compact = seglog(['compact', dir, 'kv']);
    expect(compact.code).toBe(0);
    // (compaction may also have run by itself on rolls: the counts are of this pass)
    const [, before, after] = /^compacted kv: (\d+) records? before, (\d+) after, .* freed\n$/.exec(compact.stdout)!;
    expect(Number(after)).toBeLessThanOrEqual(Number(before));
    const lines = seglog(['tail', dir, 'kv']).stdout.trim().split('\n');
    const lastPerKey = new Map<string, string>();
    for (const l of lines) { const [, k, v] = l.split('\t'); lastPerKey.set(k!, v!); }
    for (let k = 0; k < 5; k++) expect(lastPerKey.get(`k${k}`)).toBe(`v${95 + k}`.padEnd(60, '.'));
    expect(lines).toHaveLength(5); // compact() closes the active segment first: one record per key is left
    expect(Number(after)).toBe(5);
    const ret = seglog(['retention', dir, 'd', '--truncate-before', '30']);
    expect(ret.code).toBe(0);
    expect(ret.stdout).toContain('retention on d:');
    // the segments wholly below offset 30 went, and the report counts them
    const deleted = Number(/(\d+) segments? deleted/.exec(ret.stdout)![1]);
    expect(deleted).toBeGreaterThan(0);
    expect(seglog(['tail', dir, 'd', '--max', '1']).stdout.split('\t')[0]).toBe('30');
  });

  test('tail --group commits the group\'s position: a second run continues where the first stopped; stats shows the lag', async () => {
    const dir = await writeSample();
    const first = seglog(['tail', dir, 'orders', '--group', 'audit', '--max', '2']);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['0', '1']);
    const peek = seglog(['tail', dir, 'orders', '--group', 'audit', '--read-only']);
    expect(peek.stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['2', '3', '4']);
    const second = seglog(['tail', dir, 'orders', '--group', 'audit']);
    expect(second.code).toBe(0);
    expect(second.stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['2', '3', '4']);
    const stats = JSON.parse(seglog(['stats', dir, 'orders', '--json']).stdout) as { topics: { orders: { groups: Record<string, { position: number; lag: number }> } } };
    expect(stats.topics.orders.groups.audit).toEqual({ position: 5, lag: 0 });
    expect(seglog(['tail', dir, 'orders', '--group', 'audit']).stdout).toBe('');
  });

  test('the progress bar draws on stderr only when asked to (a terminal); piped commands print none', async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => { writes.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      const quiet = new Progress('verify', false);
      quiet.update(5, 10, 'x');
      quiet.done();
      expect(writes).toEqual([]);
      const bar = new Progress('verify', true);
      bar.update(5, 10, 'orders');
      bar.done();
    } finally {
      process.stderr.write = original;
    }
    expect(writes[0]).toMatch(/^\rverify \[#{15}\.{15}\]  50% orders/);
    expect(writes[writes.length - 1]).toBe('\r\x1b[K');
    const dir = await writeSample();
    for (const args of [['dump', dir, 'raw'], ['verify', dir]]) expect(seglog(args).stderr, args[0]).toBe('');
  });
});
