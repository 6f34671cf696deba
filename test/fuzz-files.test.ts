// The file fuzzer: segment and index files replaced by random bytes or mutated (bit flips, cuts,
// zeroed ranges, spliced pieces, segments copied or swapped under other names), then opened — in a
// child process (fixtures/fuzz-open.mjs), so that a hang or a crash of the process is caught too.
// openLog must never hang, never crash the process, and never return a record that was not
// written at that offset; with { repair: true } it must open and read back a clean prefix.
// Default: 60 cases per entry point; SEGLOG_FUZZ_CASES=<n> for more.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entries } from './entry.js';
import { harness, killHard, spawnFixture } from './helpers.js';

const CASES = Number(process.env.SEGLOG_FUZZ_CASES ?? 60);

describe.each(entries)('$name: fuzzed segment and index files', (entry) => {
  const h = harness(entry);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-fuzz-template-'));
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

  test(`${CASES} damaged copies: never a hang, a crash or a record that was not written; repair always opens`, async () => {
    const config = { seed: 0xf022 + entry.name.length, count: CASES, records };
    const child = spawnFixture(h, 'fuzz-open.mjs', [entry.dist, template, JSON.stringify(config)]);
    try {
      await child.waitFor((l) => l.startsWith('done'), 100_000);
    } finally {
      await killHard(child);
    }
    const fails = child.lines.filter((l) => l.startsWith('fail'));
    expect(fails).toEqual([]);
    expect(child.stderr).toBe('');
    const cases = child.lines.filter((l) => l.startsWith('case '));
    expect(cases).toHaveLength(CASES);
    // repair turns every damage into an open log (the third word is the repair outcome)
    expect(cases.filter((l) => l.split(' ')[3]!.startsWith('refused'))).toEqual([]);
    // the damage was real: some cases needed more than a plain open
    expect(cases.some((l) => l.split(' ')[2] !== 'opened')).toBe(true);
  });
});
