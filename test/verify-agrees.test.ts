// verify agrees with openLog (issue 11, item 6): over the file fuzzer's damaged copies
// (fixtures/fuzz-open.mjs, seeded), verify reports an error (report.ok false) exactly when openLog
// without repair refuses the data — at open, or when reading it back — and one of its errors names
// the file openLog's error names. Default: 60 cases per entry point with a fixed seed;
// SEGLOG_VERIFY_CASES=<n> and SEGLOG_VERIFY_SEED=<seed> for more or other ones.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entries } from './entry.js';
import { expectSeglogError, harness, killHard, segmentBases, segmentPath, spawnFixture } from './helpers.js';

const CASES = Number(process.env.SEGLOG_VERIFY_CASES ?? 60);
const SEED = Number(process.env.SEGLOG_VERIFY_SEED ?? 0x5e1f);

interface Agreement { what: string; refused?: { code: string; file?: string; message: string }; errors: Array<{ file: string; message: string }> }

describe.each(entries)('$name: verify agrees with openLog on fuzzed files', (entry) => {
  const h = harness(entry);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-verify-agrees-'));
  const template = path.join(root, 'log');
  const records: Array<{ value: string; key?: string; timestamp: number }> = [];

  beforeAll(async () => {
    const log = await h.mod.openLog(template, { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 1024, indexIntervalBytes: 100 });
    for (let i = 0; i < 60; i++) {
      const value = Buffer.from(`fuzz ${i} ${'q'.repeat((i * 17) % 50)}`);
      const key = i % 2 === 0 ? `k${i % 7}` : undefined;
      const timestamp = 1_650_000_000_000 + i * 3 - (i % 5 === 0 ? 20 : 0);
      if (i % 3 === 0) await t.append(value, { key, timestamp });
      else t.appendSync(value, { key, timestamp });
      records.push({ value: value.toString('base64'), key, timestamp });
    }
    await log.close();
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test(`${CASES} damaged copies (seed ${SEED}): verify reports an error exactly when openLog or a read refuses, naming the same file`, async () => {
    const config = { seed: SEED + entry.name.length, count: CASES, records };
    const child = spawnFixture(h, 'fuzz-open.mjs', [entry.dist, template, JSON.stringify(config)]);
    try {
      await child.waitFor((l) => l.startsWith('done'), 100_000);
    } finally {
      await killHard(child);
    }
    expect(child.lines.filter((l) => l.startsWith('fail'))).toEqual([]);
    const cases = child.lines.filter((l) => l.startsWith('agree ')).map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Agreement);
    expect(cases).toHaveLength(CASES);
    const disagreements: string[] = [];
    for (const c of cases) {
      const refused = c.refused !== undefined && c.refused.code === 'ERR_CORRUPT';
      if (refused !== c.errors.length > 0) {
        disagreements.push(`${c.what}: openLog ${refused ? `refused (${c.refused!.message})` : 'opened and read everything'}, verify ${c.errors.length > 0 ? `reported ${c.errors.map((e) => e.message).join(' / ')}` : 'reported no error'}`);
      } else if (refused && c.refused!.file !== undefined && !c.errors.some((e) => e.file === c.refused!.file || e.message.includes(c.refused!.file!))) {
        disagreements.push(`${c.what}: openLog names ${c.refused!.file}, verify names ${c.errors.map((e) => e.file).join(', ')}`);
      }
    }
    expect(disagreements).toEqual([]);
    // the cases were real: some refused, some did not
    expect(cases.some((c) => c.refused !== undefined)).toBe(true);
  });

  test('the active segment\'s .log deleted after a clean close: openLog refuses, and verify reports an error naming the topic folder', async () => {
    const dir = h.tmp();
    fs.cpSync(template, dir, { recursive: true });
    const bases = segmentBases(dir, 't');
    fs.unlinkSync(segmentPath(dir, 't', bases.at(-1)!, 'log'));
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(false);
    const errors = report.topics.flatMap((t) => t.problems).filter((p) => p.severity === 'error');
    expect(errors.map((p) => p.file)).toEqual([path.join(dir, 't')]);
    await expectSeglogError(h.mod, () => h.open(dir), 'ERR_CORRUPT', [path.join(dir, 't')]);
  });

  test('a topic folder emptied of segments after a clean close: openLog refuses, and verify reports an error', async () => {
    const dir = h.tmp();
    fs.cpSync(template, dir, { recursive: true });
    for (const f of fs.readdirSync(path.join(dir, 't'))) fs.unlinkSync(path.join(dir, 't', f));
    const report = await h.mod.verify(dir);
    expect(report.ok).toBe(false);
    await expectSeglogError(h.mod, () => h.open(dir), 'ERR_CORRUPT', [path.join(dir, 't')]);
  });
});
