// A group position between a topic's recovery point and the end recovery keeps must survive the
// reopen unchanged. Recovery makes the topic at its recovery point first and scans on from there;
// group positions were once loaded (and clamped) in that first step, so a position past the
// recovery point was cut back to it and written: the group moved backwards and redid records
// (found by test/subscribe-crash.test.ts failing about one run in two, native-free, 'fsync').
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { harness } from './helpers.js';

describe.each(entries)('$name: a group position past the recovery point', (entry) => {
  const h = harness(entry);

  test('is kept by recovery after a crash (not cut back to the recovery point)', async () => {
    const dir = h.tmp();
    // the child: 100 records made durable (the recovery point), 100 more handed to the OS only,
    // a group that consumed and committed 150, then an exit without close (a crash for the log)
    const script = `
      const { openLog } = await import(${JSON.stringify(entry.dist)});
      const log = await openLog(${JSON.stringify(dir)}, { durability: 'os' });
      const t = log.topic('jobs');
      for (let i = 0; i < 100; i++) t.appendSync(Buffer.from('a' + i));
      await log.flush();
      for (let i = 100; i < 200; i++) t.appendSync(Buffer.from('b' + i));
      const sub = t.subscribe({ group: 'g' });
      for (let i = 0; i < 150; i++) await sub.next();
      await sub.commit(150);
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (let round = 0; round < 2; round++) {
      const log = await h.open(dir);
      const t = log.topic('jobs');
      expect(t.endOffset).toBe(200);
      expect(log.stats().topics.jobs!.groups.g!.position, `open ${round + 1}`).toBe(150);
      const sub = t.subscribe({ group: 'g' });
      expect(sub.position).toBe(150);
      await sub.close();
      await log.close();
    }
  });
});
