// Delivery counts survive restarts (issue 12): a record whose handler kills the process (a poison
// record) is counted as delivered and not finished after each restart, so that after
// maxDeliveries runs it is in the dead-letter topic and the group is past it, instead of being
// redelivered forever. A child (test/fixtures/poison-consumer.mjs) is killed with SIGKILL (or
// exits) while handling the same record each run; both entry points, records and batches().
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness, spawnFixture } from './helpers.js';

const POISON = 5;
const RECORDS = 12;

describe.each(entries)('$name: delivery counts across restarts', (entry) => {
  const h = harness(entry);

  async function fill(dir: string): Promise<void> {
    const log = await h.open(dir);
    const t = log.topic<string>('jobs', { codec: 'string' });
    for (let i = 0; i < RECORDS; i++) t.appendSync(i === POISON ? 'poison' : `job ${i}`);
    log.topic('jobs.dead', { codec: 'string' });
    await log.close();
  }

  test.each([
    { batches: false, exit: false },
    { batches: true, exit: false },
    { batches: false, exit: true },
  ])('$batches batches, exit $exit: a record that kills its process each time ends in the dead-letter topic after maxDeliveries runs', async ({ batches, exit }) => {
    const dir = h.tmp();
    await fill(dir);
    const maxDeliveries = 3;
    const counts: number[] = [];
    let ended = false;
    for (let run = 0; run < maxDeliveries + 1 && !ended; run++) {
      const child = spawnFixture(h, 'poison-consumer.mjs', [entry.dist, dir, JSON.stringify({ maxDeliveries, batches, exit })]);
      await child.exit();
      for (const l of child.lines) {
        const [what, offset, n] = l.split(' ');
        if (what === 'got' && Number(offset) === POISON) counts.push(Number(n));
        if (what === 'end') ended = true;
      }
      if (!ended) expect(child.child.signalCode ?? child.child.exitCode, child.stderr).toBe(exit ? 1 : 'SIGKILL');
    }
    // delivered maxDeliveries times, counted 1, 2, 3 across the restarts; the next run dead-letters it
    expect(counts).toEqual([1, 2, 3]);
    expect(ended).toBe(true);
    const log = await h.open(dir);
    const dead = [...log.topic<string>('jobs.dead', { codec: 'string' }).read()];
    expect(dead.map((r) => r.value)).toEqual(['poison']);
    expect(dead[0]!.headers['seglog-dead-letter']!.toString()).toBe(`jobs/${POISON}/w/${maxDeliveries}`);
    expect(log.topic('jobs').groups().find((g) => g.group === 'w')?.position).toBe(RECORDS);
  });

  test('deliveryCount after a restart: the records a killed member had in hand come back counted, the rest not', async () => {
    const dir = h.tmp();
    await fill(dir);
    const child = spawnFixture(h, 'poison-consumer.mjs', [entry.dist, dir, JSON.stringify({ maxDeliveries: 10, batches: true })]);
    await child.exit();
    // it was given 4..7 in one batch (maxBuffered 4) and died on 5: 4 was handled, but not finished
    const given = child.lines.filter((l) => l.startsWith('got ')).map((l) => Number(l.split(' ')[1]));
    expect(given).toEqual([0, 1, 2, 3, 4, 5]);
    const log = await h.open(dir);
    const sub = log.topic<string>('jobs', { codec: 'string' }).subscribe({ group: 'w' });
    const seen: Array<[number, number]> = [];
    for await (const r of sub) {
      seen.push([r.offset, r.deliveryCount]);
      if (r.offset === 9) break;
    }
    expect(seen).toEqual([[4, 2], [5, 2], [6, 2], [7, 2], [8, 1], [9, 1]]);
  });

  test('a clean close keeps nothing in flight once everything was finished; old stores without counts open as before', async () => {
    const dir = h.tmp();
    await fill(dir);
    let log = await h.open(dir);
    let sub = log.topic<string>('jobs', { codec: 'string' }).subscribe({ group: 'w' });
    for await (const r of sub) if (r.offset === 3) { await sub.commit(); break; }
    await log.close();
    log = await h.open(dir);
    sub = log.topic<string>('jobs', { codec: 'string' }).subscribe({ group: 'w' });
    const first = (await sub.next()).value!;
    expect([first.offset, first.deliveryCount]).toEqual([4, 1]);
    await log.close();
  });
});
