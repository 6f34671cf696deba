// The kill -9 soak: a child writer (durability 'fsync'; mixed append, appendBatch, appendSync +
// flush; a keyed compacted topic; a group subscriber committing positions and periodic compaction
// once those features exist) is killed with SIGKILL at a random moment, again and again on the
// same directory. After each kill: verify() finds no damage; the log reopens; every acknowledged
// record is there and intact, offsets are dense; every key's newest record is at least its newest
// acknowledged one; the group's committed position never went backwards.
// Default: 10 kills per entry point (CI). SEGLOG_SOAK=long: 60 kills per entry point with longer runs.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, killHard, Rng, sleep, spawnFixture, HANG_MS } from './helpers.js';

const LONG = process.env.SEGLOG_SOAK === 'long';
const KILLS = Number(process.env.SEGLOG_SOAK_KILLS ?? (LONG ? 60 : 10));
const MAX_RUN_MS = LONG ? 1500 : 250;

function valueFor(offset: number): string {
  return `${offset}|${String.fromCharCode(97 + (offset % 26)).repeat((offset * 7919) % 300)}`;
}

describe.each(entries)('$name: kill -9 soak', (entry) => {
  const h = harness(entry);

  test(`a writer killed ${KILLS} times at random moments loses nothing it acknowledged`, { timeout: LONG ? 1_800_000 : HANG_MS }, async () => {
    const dir = h.tmp();
    const rng = new Rng(0x50a6 + (entry.name.length << 8));
    let maxAcked = -1; // highest offset acknowledged so far (everything below it must be there too)
    let ackedCount = 0;
    const kvAcked = new Map<string, number>(); // key → newest acknowledged seq
    let committedMax = -1; // highest position a commit was acknowledged for
    let resumedMax = -1; // highest position the group resumed at after a reopen
    const absent = new Set<string>();
    let compactions = 0;
    for (let run = 1; run <= KILLS; run++) {
      const child = spawnFixture(h, 'soak-writer.mjs', [entry.dist, dir, JSON.stringify({ seed: run })]);
      await child.waitFor((l) => l.startsWith('ready') || l.startsWith('error'));
      // the kill moments are random; that the soak covers acknowledged appends, a group commit and
      // a compaction is made true here: the first run is killed only after it reported each
      if (run === 1) {
        for (const word of ['ack', 'committed', 'compacted']) await child.waitFor((l) => l.split(' ')[0] === word || l.startsWith('error') || l.startsWith('absent'));
      }
      await sleep(rng.int(0, MAX_RUN_MS));
      await killHard(child);
      const errors = child.lines.filter((l) => l.startsWith('error'));
      expect(errors, `run ${run}: the writer failed by itself`).toEqual([]);
      expect(child.child.signalCode, `run ${run}: ${child.stderr}`).toBe('SIGKILL');
      for (const l of child.lines) {
        const [word, a, b] = l.split(' ');
        if (word === 'ack') { maxAcked = Math.max(maxAcked, Number(a)); ackedCount++; }
        else if (word === 'kvack') kvAcked.set(a!, Math.max(kvAcked.get(a!) ?? -1, Number(b)));
        else if (word === 'committed') committedMax = Math.max(committedMax, Number(a));
        else if (word === 'absent') absent.add(a!);
        else if (word === 'compacted') compactions++;
      }

      // The crashed directory, before anything repairs it: no damage, at most a torn tail.
      const report = await h.mod.verify(dir);
      expect(report.ok, `run ${run}: verify after kill -9: ${JSON.stringify(report.topics.flatMap((t) => t.problems))}`).toBe(true);

      const log = await h.open(dir);
      const c = log.topic('c');
      const end = c.endOffset;
      expect(end, `run ${run}: endOffset`).toBeGreaterThan(maxAcked);
      let o = 0;
      for (const rec of c.read()) {
        expect(rec.offset, `run ${run}: dense`).toBe(o);
        expect(rec.valueBytes!.toString(), `run ${run}: record ${o}`).toBe(valueFor(o));
        o++;
      }
      expect(o, `run ${run}: records read`).toBe(end);
      // records written but not acknowledged before the kill belong to the log now: the next run
      // starts at endOffset, and every later check covers them too (dense offsets from 0)
      maxAcked = Math.max(maxAcked, end - 1);

      const kv = log.topic<string>('kv', { codec: 'string' });
      const newest = new Map<string, number>();
      for (const rec of kv.read()) {
        const [key, seq] = (rec.value as string).split(':');
        expect(rec.key?.toString(), `run ${run}: kv record ${rec.offset}`).toBe(key);
        newest.set(key!, Math.max(newest.get(key!) ?? -1, Number(seq)));
      }
      for (const [key, seq] of kvAcked) {
        expect(newest.get(key) ?? -1, `run ${run}: newest record of ${key}`).toBeGreaterThanOrEqual(seq);
        let latest: { value: string | null } | undefined;
        try {
          latest = kv.latest(key);
        } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_NOT_SUPPORTED') throw err;
          absent.add('latest');
        }
        if (latest !== undefined) expect(Number(String(latest.value).split(':')[1]), `run ${run}: latest(${key})`).toBe(newest.get(key));
      }

      // The group's committed position (when subscriptions exist) never goes backwards.
      try {
        const sub = c.subscribe({ group: 'g', autoCommit: false });
        const position = sub.position;
        await sub.close();
        expect(position, `run ${run}: the group resumed below a commit that was acknowledged`).toBeGreaterThanOrEqual(committedMax);
        expect(position, `run ${run}: the group's position went backwards across a reopen`).toBeGreaterThanOrEqual(resumedMax);
        resumedMax = position;
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_NOT_SUPPORTED') throw err;
        absent.add('subscribe');
      }
      await log.close();
    }
    expect(ackedCount, 'the writers acknowledged something').toBeGreaterThan(0);
    expect(committedMax, 'a group commit resolved before some kill').toBeGreaterThan(0);
    expect(compactions, 'a compaction finished before some kill').toBeGreaterThan(0);
    expect([...absent], 'the group subscriber and compaction ran in the soak').toEqual([]);
  });
});
