// kill -9 of a consumer: a child process follows a topic as a consumer group with autoCommit
// (and appends to it at the same time); the parent kills it with SIGKILL at random moments, and
// after each kill checks that the group's committed position is at most one past the last record
// the child was handed (it resumes at the record it was processing, never past it), that it never
// went backwards, and that the next run starts exactly there — so, over all runs, no record is
// skipped. SPEC.md: "after a kill -9 a group resumes at most at the record it was processing".
// The kill moments are random; that some run made durable progress before its kill is made true by
// the test itself: every other run is killed only after the child reported a commit that resolved
// (and then the group must resume at or past it).
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, killHard, Rng, sleep, spawnFixture, type Harness } from './helpers.js';

function valueFor(offset: number): string {
  return `${offset}|${'v'.repeat(offset % 97)}`;
}

const PREFILLED = 20_000;
const APPEND_UP_TO = 60_000;

async function committedPosition(h: Harness, dir: string): Promise<number | undefined> {
  const log = await h.open(dir);
  const position = log.stats().topics.c?.groups.crash?.position;
  await log.close();
  return position;
}

describe.each(entries)('$name: kill -9 of a consumer group', (entry) => {
  const h = harness(entry);

  test.each([
    ['os', false],
    ['fsync', true],
    ['none', false],
  ] as const)("durability '%s' (batches: %s): after each kill the group resumes at most at the record in hand, and no record is ever skipped", async (durability, batches) => {
    const dir = h.tmp();
    const log = await h.open(dir, { durability });
    const t = log.topic('c');
    for (let o = 0; o < PREFILLED; o++) t.appendSync(Buffer.from(valueFor(o)));
    await log.close();

    const rng = new Rng(durability.length * 7919 + (batches ? 1 : 0));
    const seen = new Set<number>();
    let committed = 0;
    for (let run = 0; run < 4; run++) {
      const child = spawnFixture(h, 'group-consumer.mjs', [h.entry.dist, dir, JSON.stringify({ durability, batches, appendUpTo: APPEND_UP_TO, commitAfter: 50 })]);
      const ready = await child.waitFor((l) => l.startsWith('ready'));
      expect(Number(ready.slice(6)), `run ${run} starts at the committed position`).toBe(committed);
      await child.waitFor((l) => l.startsWith('got'));
      const waitsForCommit = run % 2 === 0;
      const reported = waitsForCommit ? Number((await child.waitFor((l) => l.startsWith('committed '))).slice(10)) : undefined;
      await sleep(rng.int(5, 150));
      await killHard(child);
      expect(child.stderr).toBe('');
      expect(child.lines.filter((l) => l.startsWith('bad')), 'records with wrong values').toEqual([]);
      const got = child.lines.filter((l) => l.startsWith('got ')).map((l) => Number(l.slice(4)));
      expect(got.length).toBeGreaterThan(0);
      // in order and dense within the run, starting where the group stood
      expect(got[0]).toBe(committed);
      for (let i = 1; i < got.length; i++) expect(got[i], `run ${run} record ${i}`).toBe(got[i - 1]! + 1);
      for (const o of got) seen.add(o);
      const last = got[got.length - 1]!;
      // (a kill before the group's first position reached the store leaves none: it starts at
      // 'earliest' again, which is offset 0 here)
      const now = (await committedPosition(h, dir)) ?? 0;
      expect(now, 'never past the record in hand').toBeLessThanOrEqual(last + 1);
      expect(now, 'never backwards').toBeGreaterThanOrEqual(committed);
      if (reported !== undefined) expect(now, `run ${run}: at or past the commit that resolved before the kill`).toBeGreaterThanOrEqual(reported);
      committed = now;
    }
    expect(committed, 'some run committed progress before its kill').toBeGreaterThan(0);
    // finish in-process: from the committed position to the end, every record, none skipped
    const final = await h.open(dir);
    const ft = final.topic('c');
    const sub = ft.subscribe({ group: 'crash' });
    expect(sub.position).toBe(committed);
    const end = ft.endOffset;
    if (committed < end) {
      for await (const r of sub) {
        expect(r.valueBytes!.toString()).toBe(valueFor(r.offset));
        seen.add(r.offset);
        if (r.offset === end - 1) {
          await sub.commit(); // the last record is finished (break alone leaves it in hand)
          break;
        }
      }
    }
    for (let o = 0; o < end; o++) if (!seen.has(o)) throw new Error(`offset ${o} was never delivered to the group`);
    expect(final.stats().topics.c!.groups.crash!.position).toBe(end);
  });
});
