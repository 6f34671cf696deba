// kill -9 of a process whose three members share a group (test/fixtures/group-members-consumer.mjs:
// handlers that throw on first deliveries, members joining again): after each kill the group's
// stored position never passes a record that was not finished (a "done" line written before the
// member asked for more), never goes backwards, and in the end a last member finishes everything
// that was left, so no record is ever skipped.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, killHard, Rng, spawnFixture } from './helpers.js';

const JOBS = 3000;

describe.each(entries)('$name: kill -9 of group members', (entry) => {
  const h = harness(entry);

  test.each([false, true])('batches: %s — the position never passes an unfinished record, and nothing is skipped', async (batches) => {
    const dir = h.tmp();
    let log = await h.open(dir);
    const t = log.topic('jobs');
    for (let i = 0; i < JOBS; i++) t.appendSync(Buffer.from(`job ${i}`));
    await log.close();
    const rng = new Rng(batches ? 17 : 29);
    const done = new Set<number>();
    let last = 0;
    for (let run = 0; run < 3; run++) {
      const child = spawnFixture(h, 'group-members-consumer.mjs', [entry.dist, dir, JSON.stringify({ batches })]);
      await child.waitFor((l) => l === 'ready');
      const target = Math.min(done.size + rng.int(50, 600), JOBS - 300);
      await child.waitFor(() => child.lines.filter((l) => l.startsWith('done ')).length + done.size >= target || child.lines.filter((l) => l.startsWith('done ')).length > JOBS);
      await killHard(child);
      for (const l of child.lines) if (l.startsWith('done ')) done.add(Number(l.slice(5)));
      log = await h.open(dir);
      const position = log.topic('jobs').groups().find((g) => g.group === 'w')?.position ?? 0;
      await log.close();
      expect(position, `run ${run}: never backwards`).toBeGreaterThanOrEqual(last);
      last = position;
      for (let o = 0; o < position; o++) if (!done.has(o)) throw new Error(`run ${run}: position ${position} passes ${o}, which was never finished`);
    }
    expect(last, 'some run made durable progress before its kill').toBeGreaterThan(0);
    // a last member finishes what is left
    log = await h.open(dir);
    const sub = log.topic('jobs').subscribe({ group: 'w' });
    for (;;) {
      const tt = log.topic('jobs');
      if ((tt.groups()[0]?.position ?? 0) >= JOBS) break;
      const r = await sub.next();
      done.add(r.value!.offset);
      await sub.commit(); // finished (records above that others finished before are skipped)
    }
    await sub.close();
    const missing: number[] = [];
    for (let o = 0; o < JOBS; o++) if (!done.has(o)) missing.push(o);
    expect(missing).toEqual([]);
    expect(log.topic('jobs').groups()[0]!.position).toBe(JOBS);
  });
});
