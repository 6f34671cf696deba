// The corruption matrix: a log is written, then its files are damaged the ways a crash, a bad disk
// or a stray tool damages them, and openLog must recover exactly as SPEC.md ("Durability and
// recovery") and docs/format.md ("Recovery") say. Two starting points:
//   clean: written in this process with durability 'fsync' and closed cleanly;
//   crash: written by a child process with durability 'os' and a long fsyncIntervalMs, then killed
//          with SIGKILL, so the recovery point stays at the start of the active segment.
// Where the spec is silent the assertion is the floor: no record that was written is returned
// wrong, and nothing but a SeglogError is thrown.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readPathEntries } from './entry.js';
import { collect, expectSeglogError, harness, killHard, pad20, Rng, segmentBases, segmentPath, spawnFixture } from './helpers.js';
import { scanLog, type ParsedBatch } from './format-reader.js';

/** Cuts of the last batch past its header are tried every CUT_STRIDE bytes (see the tail-truncation test). */
const CUT_STRIDE = process.env.SEGLOG_CORRUPTION_EVERY_BYTE === '1' ? 1 : 8;
const TOPIC = 't';
const TOPIC_OPTIONS = { segmentBytes: 2048, indexIntervalBytes: 128 };

interface Rec {
  value: Buffer;
  timestamp: number;
}
interface Group {
  kind: 'append' | 'batch';
  records: Rec[];
}

/** 60-odd records in single appends and small batches, non-monotone timestamps; ends in a batch of 3. */
function makeGroups(): Group[] {
  const groups: Group[] = [];
  let offset = 0;
  const rec = (): Rec => {
    const o = offset++;
    return {
      value: Buffer.from(`v${o}-${'x'.repeat((o * 37) % 90)}`),
      timestamp: 1_600_000_000_000 + o * 10 - (o % 5 === 4 ? 500 : 0) + (o % 11 === 7 ? 300 : 0),
    };
  };
  for (let i = 0; i < 44; i++) {
    if (i % 4 === 1) groups.push({ kind: 'batch', records: [rec(), rec(), rec()] });
    else groups.push({ kind: 'append', records: [rec()] });
  }
  groups.push({ kind: 'batch', records: [rec(), rec(), rec()] });
  return groups;
}

const GROUPS = makeGroups();
const RECORDS = GROUPS.flatMap((g) => g.records);

function oracleOffsetForTime(records: Rec[], time: number): number {
  let max = -Infinity;
  for (let i = 0; i < records.length; i++) {
    max = Math.max(max, records[i]!.timestamp);
    if (max >= time) return i;
  }
  return records.length;
}

interface SegmentLayout {
  base: number;
  logPath: string;
  logBytes: number;
  batches: ParsedBatch[];
}

function layoutOf(dir: string): SegmentLayout[] {
  return segmentBases(dir, TOPIC).map((base) => {
    const logPath = segmentPath(dir, TOPIC, base, 'log');
    const data = fs.readFileSync(logPath);
    const scan = scanLog(data, base);
    if (scan.error !== undefined) throw new Error(`template ${logPath} is not valid: ${scan.error}`);
    return { base, logPath, logBytes: data.length, batches: scan.batches };
  });
}

function flipByte(file: string, position: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, position);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, position);
  fs.closeSync(fd);
}

describe.each(readPathEntries)('$name: corruption matrix', (entry) => {
  const h = harness(entry);
  const templates = { clean: '', crash: '' };
  const layouts: Record<'clean' | 'crash', SegmentLayout[]> = { clean: [], crash: [] };
  const templateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-corruption-'));

  beforeAll(async () => {
    // clean: written here with 'fsync' and closed
    templates.clean = path.join(templateRoot, 'clean');
    fs.mkdirSync(templates.clean);
    const log = await h.mod.openLog(templates.clean, { durability: 'fsync' });
    const t = log.topic(TOPIC, TOPIC_OPTIONS);
    for (const g of GROUPS) {
      if (g.kind === 'batch') await t.appendBatch(g.records.map((r) => ({ value: r.value, timestamp: r.timestamp })));
      else for (const r of g.records) await t.append(r.value, { timestamp: r.timestamp });
    }
    await log.close();
    layouts.clean = layoutOf(templates.clean);

    // crash: written by a child with 'os' durability, killed without closing
    templates.crash = path.join(templateRoot, 'crash');
    fs.mkdirSync(templates.crash);
    const specFile = path.join(templateRoot, 'spec.json');
    fs.writeFileSync(
      specFile,
      JSON.stringify({
        logOptions: { durability: 'os', fsyncIntervalMs: 600_000 },
        topic: TOPIC,
        topicOptions: TOPIC_OPTIONS,
        groups: GROUPS.map((g) => ({ kind: g.kind, records: g.records.map((r) => ({ value: r.value.toString('base64'), timestamp: r.timestamp })) })),
      }),
    );
    const child = spawnFixture(h, 'write-and-hang.mjs', [entry.dist, templates.crash, specFile]);
    const line = await child.waitFor((l) => l.startsWith('done') || l.startsWith('error'));
    expect(line).toBe(`done ${RECORDS.length}`);
    await killHard(child);
    layouts.crash = layoutOf(templates.crash);
    for (const kind of ['clean', 'crash'] as const) {
      const l = layouts[kind];
      expect(l.length, `${kind}: segments`).toBeGreaterThanOrEqual(3);
      expect(l.at(-1)!.batches.length, `${kind}: batches in the active segment`).toBeGreaterThanOrEqual(3);
      expect(l.at(-1)!.batches.at(-1)!.recordCount).toBe(3);
    }
  });

  afterAll(() => {
    fs.rmSync(templateRoot, { recursive: true, force: true });
  });

  function copyOf(kind: 'clean' | 'crash'): string {
    const dir = h.tmp();
    fs.cpSync(templates[kind], dir, { recursive: true });
    return dir;
  }

  /** Path of a segment file in a copy, given the template's layout. */
  const fileIn = (dir: string, base: number, ext: 'log' | 'index' | 'timeindex') => segmentPath(dir, TOPIC, base, ext);

  /**
   * Opens `dir` and checks it holds exactly the first `n` records, correctly, that time lookups
   * agree with the oracle, and that appends continue at offset n. With `again`, closes, reopens and
   * checks once more (what recovery rebuilt must stay right).
   */
  async function expectRecords(dir: string, n: number, again = true): Promise<void> {
    // verify agrees: what openLog opens by itself holds no error (warnings for what it repairs)
    const report = await h.mod.verify(dir);
    expect(report.ok, `verify: ${report.topics.flatMap((t) => t.problems).filter((p) => p.severity === 'error').map((p) => p.message).join(' / ')}`).toBe(true);
    for (let round = 0; round < (again ? 2 : 1); round++) {
      const log = await h.open(dir);
      const t = log.topic(TOPIC);
      expect(t.endOffset, 'endOffset').toBe(n + round);
      expect(t.startOffset).toBe(0);
      const all = collect(t.read());
      expect(all.length).toBe(n + round);
      for (let i = 0; i < n; i++) {
        expect(all[i]!.offset).toBe(i);
        expect(all[i]!.valueBytes!.toString(), `record ${i}`).toBe(RECORDS[i]!.value.toString());
        expect(all[i]!.timestamp).toBe(RECORDS[i]!.timestamp);
      }
      for (let i = n - 1; i >= 0; i -= 3) expect(t.get(i)!.valueBytes!.toString(), `get(${i})`).toBe(RECORDS[i]!.value.toString());
      // backwards, the walk enters the segments at every index point: the same records, newest first
      const backwards = collect(t.read({ reverse: true, to: n }));
      expect(backwards.map((r) => r.offset), 'offsets read backwards').toEqual(Array.from({ length: n }, (_, i) => n - 1 - i));
      for (const r of backwards) expect(r.valueBytes!.toString(), `record ${r.offset} read backwards`).toBe(RECORDS[r.offset]!.value.toString());
      for (let i = 0; i < n; i += 4) {
        expect(collect(t.read({ from: i, maxRecords: 2 })).map((r) => r.offset)).toEqual([i, i + 1].filter((o) => o < n + round));
      }
      const prefix = RECORDS.slice(0, n);
      for (const r of prefix) {
        for (const q of [r.timestamp - 1, r.timestamp, r.timestamp + 1]) {
          // in round 1 the record appended at offset n has a current timestamp: the oracle's answer n still holds
          expect(t.offsetForTime(q), `offsetForTime(${q})`).toBe(oracleOffsetForTime(prefix, q));
        }
      }
      if (round === 0) {
        expect(t.appendSync(Buffer.from('after recovery'))).toBe(n);
        expect(t.get(n)!.valueBytes!.toString()).toBe('after recovery');
      } else {
        expect(t.get(n)!.valueBytes!.toString()).toBe('after recovery');
      }
      await log.close();
    }
  }

  /**
   * Damage in flushed data: openLog fails with ERR_CORRUPT naming the file and position, or opens
   * and the first read of the damaged batch does. Never wrong data, never a silent cut.
   */
  async function expectCorruptionReported(
    dir: string,
    damaged: { segment: SegmentLayout; batch: ParsedBatch; flipped: number },
    mustFailAtOpen: boolean,
  ): Promise<void> {
    const file = damaged.segment.logPath.replace(templateRootOf(damaged.segment.logPath), dir);
    const segments = segmentBases(dir, TOPIC);
    const segmentEnd = segments.find((b) => b > damaged.segment.base) ?? Infinity;
    const sizeBefore = fs.statSync(file).size;
    const name = path.basename(file);
    const namesPosition = (message: string) =>
      expect(
        message.includes(String(damaged.batch.position)) || message.includes(String(damaged.flipped)),
        `message names the position (${damaged.batch.position}): ${message}`,
      ).toBe(true);
    // verify agrees: an error naming the damaged file
    const report = await h.mod.verify(dir);
    expect(report.ok, 'verify reports the damage as an error').toBe(false);
    expect(report.topics.flatMap((t) => t.problems).some((p) => p.severity === 'error' && p.file === file), `verify names ${file}`).toBe(true);
    let log: Awaited<ReturnType<typeof h.mod.openLog>>;
    try {
      log = await h.open(dir);
    } catch (e) {
      expect(e).toBeInstanceOf(h.mod.SeglogError);
      expect((e as { code: string }).code, (e as Error).message).toBe('ERR_CORRUPT');
      expect((e as Error).message).toContain(name);
      namesPosition((e as Error).message);
      expect(fs.statSync(file).size, 'the damaged file was not cut').toBe(sizeBefore);
      return;
    }
    const t = log.topic(TOPIC);
    expect(
      mustFailAtOpen,
      `openLog must fail: an invalid batch followed by a valid one past the recovery point (it opened with endOffset ${t.endOffset} of ${RECORDS.length}, ${name} is now ${fs.statSync(file).size} bytes, was ${sizeBefore})`,
    ).toBe(false);
    expect(t.endOffset, 'nothing after the damage was dropped').toBe(RECORDS.length);
    const first = damaged.batch.baseOffset;
    const last = first + damaged.batch.recordCount - 1;
    for (let o = first; o <= last; o++) {
      const err = await expectSeglogError(h.mod, () => t.get(o), 'ERR_CORRUPT', [name]);
      namesPosition(err.message);
    }
    await expectSeglogError(h.mod, () => collect(t.read()), 'ERR_CORRUPT', [name]);
    await expectSeglogError(h.mod, () => collect(t.read({ reverse: true })), 'ERR_CORRUPT', [name]);
    for (let o = 0; o < RECORDS.length; o++) {
      if (o >= first && o <= last) continue;
      let value: string | undefined;
      try {
        value = t.get(o)?.valueBytes?.toString();
      } catch (e) {
        // a read of the damaged batch's neighbours in the same segment may fail too, but only as
        // corruption; records of other segments stay readable
        expect(e).toBeInstanceOf(h.mod.SeglogError);
        expect((e as { code: string }).code).toBe('ERR_CORRUPT');
        expect(o >= damaged.segment.base && o < segmentEnd, `get(${o}) in another segment failed: ${(e as Error).message}`).toBe(true);
        continue;
      }
      expect(value, `get(${o})`).toBe(RECORDS[o]!.value.toString());
    }
    await log.close();
    expect(fs.statSync(file).size, 'the damaged file was not cut').toBe(sizeBefore);
  }

  /**
   * Whether a batch after `damaged` (format v2 durableDelta, docs/format.md) claims that the damaged
   * batch's first offset had been fsynced when it was written.
   */
  function provenDurable(layout: SegmentLayout[], damaged: ParsedBatch): boolean {
    let after = false;
    for (const seg of layout) {
      for (const b of seg.batches) {
        if (after && b.durableDelta > 0 && b.baseOffset - (b.durableDelta - 1) > damaged.baseOffset) return true;
        if (b === damaged) after = true;
      }
    }
    return false;
  }

  /**
   * Damage past the durable end with valid data after it (no completed fsync covered it): openLog
   * cuts the topic at the damaged batch and keeps every byte from there on in `.cut` files.
   */
  async function expectCutAside(dir: string, segment: SegmentLayout, batch: ParsedBatch): Promise<void> {
    const file = segment.logPath.replace(templateRootOf(segment.logPath), dir);
    const original = fs.readFileSync(file);
    const laterBytes = layouts.crash.filter((s) => s.base > segment.base).reduce((n, s) => n + s.logBytes, 0);
    await expectRecords(dir, batch.baseOffset, false);
    const cutFiles = fs.readdirSync(path.join(dir, TOPIC)).filter((f) => f.endsWith('.cut'));
    const cutBytes = cutFiles.reduce((n, f) => n + fs.statSync(path.join(dir, TOPIC, f)).size, 0);
    expect(cutBytes, `bytes kept aside in ${cutFiles.join(', ')}`).toBe(original.length - batch.position + laterBytes);
    expect(fs.readFileSync(`${file}.cut`).equals(original.subarray(batch.position)), 'the cut tail is kept byte for byte').toBe(true);
  }

  function templateRootOf(file: string): string {
    return file.startsWith(templates.clean) ? templates.clean : templates.crash;
  }

  const lastBatchOf = (kind: 'clean' | 'crash') => {
    const active = layouts[kind].at(-1)!;
    return { active, batch: active.batches.at(-1)! };
  };

  describe.each(['clean', 'crash'] as const)('after a %s shutdown', (kind) => {
    test('a tail truncated at any byte of the last batch is cut back to the last whole batch; appends continue', async () => {
      const { active, batch } = lastBatchOf(kind);
      const kept = batch.baseOffset; // records in whole batches
      // Every byte of the batch header (its first 64 bytes), then every CUT_STRIDE-th byte and
      // the last one (SEGLOG_CORRUPTION_EVERY_BYTE=1: every byte, as the matrix once did by default).
      for (let cut = batch.position; cut < active.logBytes; cut += cut < batch.position + 64 || cut === active.logBytes - 1 ? 1 : Math.min(CUT_STRIDE, active.logBytes - 1 - cut)) {
        const dir = copyOf(kind);
        fs.truncateSync(fileIn(dir, active.base, 'log'), cut);
        await expectRecords(dir, kept, cut % 16 === 0 || cut === active.logBytes - 1);
      }
    });

    test('garbage appended after the last batch is cut', async () => {
      const rng = new Rng(7);
      const { active } = lastBatchOf(kind);
      const headerLike = Buffer.alloc(60);
      headerLike.writeUInt32LE(60, 0); // a plausible batchBytes, but a wrong checksum
      headerLike[8] = 1;
      for (const garbage of [rng.bytes(1), rng.bytes(43), rng.bytes(44), rng.bytes(700), headerLike, Buffer.from([0xff, 0xff, 0xff, 0x7f])]) {
        const dir = copyOf(kind);
        fs.appendFileSync(fileIn(dir, active.base, 'log'), garbage);
        await expectRecords(dir, RECORDS.length);
      }
    });

    test('a zero-filled tail is cut', async () => {
      const { active } = lastBatchOf(kind);
      for (const zeros of [1, 44, 4096]) {
        const dir = copyOf(kind);
        fs.appendFileSync(fileIn(dir, active.base, 'log'), Buffer.alloc(zeros));
        await expectRecords(dir, RECORDS.length);
      }
    });

    test(
      kind === 'crash'
        ? 'a last batch zeroed in place (allocated but never written before the crash) is cut'
        : 'a last batch zeroed in place after a clean close is damage in flushed data: ERR_CORRUPT, not a cut',
      async () => {
        const { active, batch } = lastBatchOf(kind);
        const dir = copyOf(kind);
        const fd = fs.openSync(fileIn(dir, active.base, 'log'), 'r+');
        fs.writeSync(fd, Buffer.alloc(batch.batchBytes), 0, batch.batchBytes, batch.position);
        fs.closeSync(fd);
        if (kind === 'crash') await expectRecords(dir, batch.baseOffset);
        else await expectCorruptionReported(dir, { segment: active, batch, flipped: batch.position }, false);
      },
    );

    test(
      kind === 'crash'
        ? 'a flipped byte in the last batch after a crash is a torn tail: cut back to the batch before it'
        : 'a flipped byte in the last batch after a clean close is damage in flushed data: ERR_CORRUPT, not a cut',
      async () => {
        const { active, batch } = lastBatchOf(kind);
        const failures: string[] = [];
        for (const rel of [4, 16, 44, batch.batchBytes - 1]) {
          const dir = copyOf(kind);
          flipByte(fileIn(dir, active.base, 'log'), batch.position + rel);
          const check =
            kind === 'crash'
              ? expectRecords(dir, batch.baseOffset, false)
              : expectCorruptionReported(dir, { segment: active, batch, flipped: batch.position + rel }, false);
          await check.catch((e: Error) => failures.push(`byte ${rel}: ${e.message.split('\n')[0]}`));
        }
        expect(failures).toEqual([]);
      },
    );

    test('a flipped byte in an earlier batch of a closed segment is ERR_CORRUPT naming the file and position (after a crash: if a later batch shows it was fsynced, else it is cut and kept aside)', async () => {
      const seg = layouts[kind][0]!;
      const batch = seg.batches[Math.floor(seg.batches.length / 2)]!;
      const failures: string[] = [];
      for (const rel of [0, 1, 4, 8, 12, 16, 24, 28, 36, 44, 46, batch.batchBytes - 1]) {
        const dir = copyOf(kind);
        flipByte(fileIn(dir, seg.base, 'log'), batch.position + rel);
        const check = kind === 'crash' && !provenDurable(layouts.crash, batch)
          ? expectCutAside(dir, seg, batch)
          : expectCorruptionReported(dir, { segment: seg, batch, flipped: batch.position + rel }, kind === 'crash');
        await check.catch((e: Error) =>
          failures.push(`byte ${rel} of the batch at ${batch.position}: ${e.message.split('\n')[0]}`),
        );
      }
      expect(failures).toEqual([]);
    });

    test('a flipped byte in a batch of the active segment that is followed by valid batches is ERR_CORRUPT (after a crash: if a later batch shows it was fsynced, else it is cut and kept aside)', async () => {
      const { active } = lastBatchOf(kind);
      const batch = active.batches[active.batches.length - 2]!;
      const failures: string[] = [];
      for (const rel of [0, 1, 4, 8, 12, 16, 28, 44, batch.batchBytes - 1]) {
        const dir = copyOf(kind);
        flipByte(fileIn(dir, active.base, 'log'), batch.position + rel);
        // after a crash the active segment lies past the recovery point: the scan at open must find it
        const check = kind === 'crash' && !provenDurable(layouts.crash, batch)
          ? expectCutAside(dir, active, batch)
          : expectCorruptionReported(dir, { segment: active, batch, flipped: batch.position + rel }, kind === 'crash');
        await check.catch((e: Error) =>
          failures.push(`byte ${rel} of the batch at ${batch.position}: ${e.message.split('\n')[0]}`),
        );
      }
      expect(failures).toEqual([]);
    });

    test('an extra empty next segment left by an interrupted roll does not change the log', async () => {
      for (const withIndexes of [true, false]) {
        const dir = copyOf(kind);
        const base = RECORDS.length;
        fs.writeFileSync(fileIn(dir, base, 'log'), '');
        if (withIndexes) {
          fs.writeFileSync(fileIn(dir, base, 'index'), '');
          fs.writeFileSync(fileIn(dir, base, 'timeindex'), '');
        }
        await expectRecords(dir, RECORDS.length);
      }
    });

    test('leftover *.tmp files of an interrupted operation are removed at open and change nothing', async () => {
      const dir = copyOf(kind);
      const tmpFiles = [`${pad20(0)}.log.tmp`, `${pad20(RECORDS.length)}.index.tmp`, `${pad20(3)}.timeindex.tmp`];
      for (const f of tmpFiles) fs.writeFileSync(path.join(dir, TOPIC, f), new Rng(1).bytes(100));
      await expectRecords(dir, RECORDS.length, false);
      for (const f of tmpFiles) expect(fs.existsSync(path.join(dir, TOPIC, f)), f).toBe(false);
    });

    describe('damaged indexes are rebuilt from the log', () => {
      type Damage = [string, (file: string, logBytes: number) => void];
      const indexDamage: Damage[] = [
        ['.index missing', (f) => fs.rmSync(f, { force: true })],
        ['.index empty', (f) => fs.writeFileSync(f, '')],
        ['.index truncated to a non-multiple of 8', (f) => {
          const size = fs.existsSync(f) ? fs.statSync(f).size : 0;
          if (size >= 8) fs.truncateSync(f, size - 3);
          else fs.writeFileSync(f, Buffer.alloc(5, 1));
        }],
        ['.index too long (extra entries past the log)', (f) => {
          const extra = Buffer.alloc(24);
          for (let i = 0; i < 3; i++) {
            extra.writeUInt32LE(0x7fff_0000 + i, i * 8);
            extra.writeUInt32LE(0x7fff_0000 + i, i * 8 + 4);
          }
          fs.appendFileSync(f, extra);
        }],
        ['.index entry pointing past the log', (f, logBytes) => {
          const data = fs.existsSync(f) ? fs.readFileSync(f) : Buffer.alloc(0);
          const entry = Buffer.alloc(8);
          const lastRel = data.length >= 8 ? data.readUInt32LE(data.length - 8) : 0;
          entry.writeUInt32LE(lastRel + 1, 0);
          entry.writeUInt32LE(logBytes + 1000, 4);
          fs.writeFileSync(f, Buffer.concat([data, entry]));
        }],
        ['.index entries not increasing', (f) => {
          const data = fs.existsSync(f) ? fs.readFileSync(f) : Buffer.alloc(0);
          fs.writeFileSync(f, Buffer.concat([data, data]));
        }],
        ['.index random garbage', (f) => fs.writeFileSync(f, new Rng(11).bytes(64))],
      ];
      const timeIndexDamage: Damage[] = [
        ['.timeindex missing', (f) => fs.rmSync(f, { force: true })],
        ['.timeindex garbage of a non-multiple of 12', (f) => fs.writeFileSync(f, new Rng(5).bytes(30))],
        ['.timeindex random garbage of a multiple of 12', (f) => fs.writeFileSync(f, new Rng(6).bytes(48))],
        ['.timeindex too long (entries past the segment)', (f) => {
          const extra = Buffer.alloc(24);
          for (let i = 0; i < 2; i++) {
            extra.writeBigUInt64LE(BigInt(2_000_000_000_000 + i), i * 12);
            extra.writeUInt32LE(0x7fff_0000 + i, i * 12 + 8);
          }
          fs.appendFileSync(f, extra);
        }],
      ];
      const cases: Array<[string, 'index' | 'timeindex', Damage[1]]> = [
        ...indexDamage.map(([n, d]) => [n, 'index', d] as [string, 'index', Damage[1]]),
        ...timeIndexDamage.map(([n, d]) => [n, 'timeindex', d] as [string, 'timeindex', Damage[1]]),
      ];

      test.each(cases)('%s: reads and offsetForTime stay correct (every segment)', async (_name, ext, damage) => {
        const dir = copyOf(kind);
        for (const seg of layouts[kind]) damage(fileIn(dir, seg.base, ext), seg.logBytes);
        await expectRecords(dir, RECORDS.length);
      });

      test.each(cases)('%s: reads and offsetForTime stay correct (first closed segment only)', async (_name, ext, damage) => {
        const dir = copyOf(kind);
        const seg = layouts[kind][0]!;
        damage(fileIn(dir, seg.base, ext), seg.logBytes);
        await expectRecords(dir, RECORDS.length);
      });

      test('both index files of every segment missing: everything is rebuilt', async () => {
        const dir = copyOf(kind);
        for (const seg of layouts[kind]) {
          fs.rmSync(fileIn(dir, seg.base, 'index'));
          fs.rmSync(fileIn(dir, seg.base, 'timeindex'));
        }
        await expectRecords(dir, RECORDS.length);
      });

      test('an .index entry pointing into the middle of a batch never makes reads return wrong data', async () => {
        // format.md's list of checks does not name this case; the floor applies: right data or a SeglogError
        const dir = copyOf(kind);
        const seg = layouts[kind][0]!;
        const f = fileIn(dir, seg.base, 'index');
        const data = fs.readFileSync(f);
        expect(data.length).toBeGreaterThanOrEqual(16);
        data.writeUInt32LE(data.readUInt32LE(12) + 1, 12); // second entry's position, one byte late
        fs.writeFileSync(f, data);
        const log = await h.open(dir);
        const t = log.topic(TOPIC);
        for (let o = 0; o < RECORDS.length; o++) {
          try {
            expect(t.get(o)!.valueBytes!.toString()).toBe(RECORDS[o]!.value.toString());
          } catch (e) {
            expect(e).toBeInstanceOf(h.mod.SeglogError);
          }
        }
      });
    });
  });

  test('a .log deleted from the middle of the log is ERR_CORRUPT, or its offsets are never served wrong and nothing after it is dropped', async () => {
    // SPEC.md is silent on a missing segment; "never a silent drop of the good data after it" applies.
    const dir = copyOf('clean');
    const layout = layouts.clean;
    const victim = layout[1]!;
    const missing = { first: victim.base, last: layout[2]!.base - 1 };
    fs.rmSync(fileIn(dir, victim.base, 'log'));
    // verify agrees: an error about the missing offsets
    const report = await h.mod.verify(dir);
    expect(report.ok, 'verify reports the hole as an error').toBe(false);
    expect(report.topics.flatMap((t) => t.problems).some((p) => p.severity === 'error' && p.message.includes(`${victim.base} to ${layout[2]!.base - 1}`))).toBe(true);
    let log: Awaited<ReturnType<typeof h.mod.openLog>>;
    try {
      log = await h.open(dir);
    } catch (e) {
      expect(e).toBeInstanceOf(h.mod.SeglogError);
      expect((e as { code: string }).code).toBe('ERR_CORRUPT');
      expect((e as Error).message).toContain(pad20(victim.base));
      // the rest of the log was not touched
      for (const seg of layout) if (seg !== victim) expect(fs.statSync(fileIn(dir, seg.base, 'log')).size).toBe(seg.logBytes);
      return;
    }
    const t = log.topic(TOPIC);
    expect(t.endOffset).toBe(RECORDS.length);
    // a full read may not skip the hole silently: it fails, or yields dense offsets (it cannot)
    let offsets: number[] | undefined;
    try {
      offsets = collect(t.read()).map((r) => r.offset);
    } catch (e) {
      expect(e).toBeInstanceOf(h.mod.SeglogError);
      expect((e as { code: string }).code).toBe('ERR_CORRUPT');
    }
    if (offsets !== undefined) expect(offsets, 'read() skipped the missing segment silently').toEqual([...Array(RECORDS.length).keys()]);
    for (let o = 0; o < RECORDS.length; o++) {
      if (o >= missing.first && o <= missing.last) {
        await expectSeglogError(h.mod, () => t.get(o), 'ERR_CORRUPT');
      } else {
        expect(t.get(o)!.valueBytes!.toString()).toBe(RECORDS[o]!.value.toString());
      }
    }
  });
});
