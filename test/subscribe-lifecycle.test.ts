// How subscriptions end: close(), break, the signal, await using, log.close() and deleteTopic(),
// each in every state (before the first next(), waiting at the tail, with records still to read,
// after the end). Pending next() calls settle with done, later ones too, and nothing is left behind:
// a process whose subscriptions are closed exits by itself, one with a subscription waiting at the
// tail stays alive (SPEC.md), shown with child processes.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { expectSeglogErrorSync, harness, spawnFixture, type Log, type Topic } from './helpers.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type State = 'fresh' | 'waiting' | 'mid-stream' | 'ended';
const STATES: State[] = ['fresh', 'waiting', 'mid-stream', 'ended'];
type Ender = 'close' | 'return' | 'abort' | 'log.close' | 'deleteTopic' | 'asyncDispose';
const ENDERS: Ender[] = ['close', 'return', 'abort', 'log.close', 'deleteTopic', 'asyncDispose'];

describe.each(entries)('$name: subscription lifecycle', (entry) => {
  const h = harness(entry);

  async function setup(): Promise<{ log: Log; t: Topic<Buffer>; dir: string }> {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t');
    for (let i = 0; i < 10; i++) t.appendSync(Buffer.from(`r${i}`));
    await turn();
    return { log, t, dir };
  }

  for (const state of STATES) {
    test.each(ENDERS)(`%s ends a subscription that is ${state}: pending and later next() settle with done`, async (ender) => {
      const { log, t } = await setup();
      const ac = new AbortController();
      const sub = t.subscribe({ group: 'g', signal: ac.signal });
      let pending: Promise<IteratorResult<unknown>> | undefined;
      if (state === 'waiting') {
        for (let i = 0; i < 10; i++) await sub.next();
        pending = sub.next();
        await turn();
      } else if (state === 'mid-stream') {
        for (let i = 0; i < 4; i++) await sub.next();
      } else if (state === 'ended') {
        await sub.close();
      }
      const positionBefore = sub.position;
      switch (ender) {
        case 'close': await sub.close(); break;
        case 'return': await sub.return!(); break;
        case 'abort': ac.abort(); break;
        case 'log.close': await log.close(); break;
        case 'deleteTopic': await log.deleteTopic('t'); break;
        case 'asyncDispose': await sub[Symbol.asyncDispose](); break;
      }
      if (pending !== undefined) expect(await pending).toEqual({ done: true, value: undefined });
      expect(await sub.next()).toEqual({ done: true, value: undefined });
      expect(await sub.batches().next()).toEqual({ done: true, value: undefined });
      expect(sub.position).toBe(positionBefore);
      // a second close is harmless
      await sub.close();
      if (ender === 'log.close') {
        expectSeglogErrorSync(h.mod, () => t.subscribe(), 'ERR_CLOSED');
        return;
      }
      if (ender === 'deleteTopic') return;
      // What the group committed: close/return/dispose/the signal commit only what came before the
      // record in hand (offset 3 here), and a next() after the end commits nothing more (SPEC).
      const committed = log.stats().topics.t!.groups.g?.position;
      if (state === 'mid-stream') expect(committed).toBe(3);
      if (state === 'waiting') expect(committed).toBe(10);
      if (state === 'fresh') expect(committed).toBe(0);
      // the topic goes on, and a new subscription sees records appended after the end
      t.appendSync(Buffer.from('after'));
      const again = t.subscribe({ from: 10 });
      expect((await again.next()).value!.offset).toBe(10);
      await again.close();
    });
  }

  test('an already aborted signal gives a subscription that yields nothing', async () => {
    const { t } = await setup();
    const sub = t.subscribe({ signal: AbortSignal.abort() });
    expect(await sub.next()).toEqual({ done: true, value: undefined });
  });

  test('await using closes the subscription at the end of the block', async () => {
    const { t } = await setup();
    let outside: { next(): Promise<IteratorResult<unknown>> } | undefined;
    {
      await using sub = t.subscribe();
      outside = sub;
      expect((await sub.next()).value).toBeDefined();
    }
    expect(await outside!.next()).toEqual({ done: true, value: undefined });
  });

  test('concurrent next() calls are served in turn, each record once', async () => {
    const { t } = await setup();
    const sub = t.subscribe({ from: 5 });
    const calls = Array.from({ length: 8 }, () => sub.next());
    t.appendSync(Buffer.from('r10'));
    t.appendSync(Buffer.from('r11'));
    t.appendSync(Buffer.from('r12'));
    const results = await Promise.all(calls);
    expect(results.map((r) => r.value!.offset)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    await sub.close();
  });

  test('a subscription waiting at the tail keeps the process alive; once it is closed the process exits by itself', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t');
    for (let i = 0; i < 3; i++) t.appendSync(Buffer.from(`r${i}`));
    await log.close();
    const alive = spawnFixture(h, 'subscribe-alive.mjs', [h.entry.dist, dir, 'wait']);
    await alive.waitFor((l) => l === 'waiting');
    // printed by an unref'd timer: a process kept alive by nothing but it would have exited first
    await alive.waitFor((l) => l === 'still waiting');
    expect(alive.exited, `the process exited while a subscription waited: ${alive.stderr}`).toBe(false);
    alive.child.kill('SIGKILL');
    await alive.exit();
    for (const mode of ['close-sub', 'close-log', 'abort', 'break']) {
      const child = spawnFixture(h, 'subscribe-alive.mjs', [h.entry.dist, dir, mode]);
      await child.exit();
      expect(child.stderr, mode).toBe('');
      expect(child.child.exitCode, `${mode} exits by itself`).toBe(0);
      expect(child.lines.some((l) => l.startsWith('ended')), mode).toBe(true);
    }
  });
});
