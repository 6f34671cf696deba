// Resource bounds: the descriptors a log keeps open stay bounded however many segments a topic
// has — while a burst of appends rolls hundreds of segments in one synchronous run, after it, while
// they are scanned and read at random, and in a process whose descriptor limit is low.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { ChildLines, FIXTURES, harness } from './helpers.js';
import { OPEN_SEGMENTS_MAX } from '../src/segment/fd-pool.js';

/** Descriptors open in this process (Linux). */
function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/**
 * What a log may hold over the process's baseline: the pool's bound on segment descriptors, plus
 * the active segment's files, rolled segments whose fsync is still running (up to 8, three files
 * each), the metadata store, and some slack. (Measured: about OPEN_SEGMENTS_MAX + 30.)
 */
const FDS_BOUND = OPEN_SEGMENTS_MAX + 64;
/** Enough segments that one descriptor per segment (let alone three) would be far past the bound. */
const SEGMENTS = 400;

describe.each(entries)('$name: descriptor bounds', (entry) => {
  const h = harness(entry);

  test(`writing ${SEGMENTS} small segments in one synchronous burst, then scanning and reading them, keeps open descriptors bounded`, async () => {
    expect(SEGMENTS).toBeGreaterThan(FDS_BOUND);
    const dir = h.tmp();
    const baseline = openFds();
    const log = await h.open(dir, { durability: 'os' });
    const t = log.topic('t', { segmentBytes: 1024 });
    let peak = 0;
    for (let i = 0; i < SEGMENTS; i++) {
      t.appendSync(Buffer.alloc(900, i % 251)); // one record per segment: every append rolls
      if (i % 50 === 0) peak = Math.max(peak, openFds() - baseline);
    }
    peak = Math.max(peak, openFds() - baseline);
    expect(log.stats().topics.t!.segments).toBeGreaterThanOrEqual(SEGMENTS);
    expect(peak, 'during the burst').toBeLessThanOrEqual(FDS_BOUND);
    await log.flush();
    expect(openFds() - baseline, 'after flush').toBeLessThanOrEqual(FDS_BOUND);
    // reads within the same process reach every segment (get() opens segment files on demand)
    for (let o = 0; o < SEGMENTS; o += 3) expect(t.get(o)!.valueBytes![0]).toBe(o % 251);
    expect(openFds() - baseline, 'after reading in the writing process').toBeLessThanOrEqual(FDS_BOUND);
    await log.close();

    const again = await h.open(dir);
    const t2 = again.topic('t');
    let n = 0;
    for (const r of t2.read()) {
      expect(r.valueBytes![0]).toBe(n % 251);
      n++;
      if (n % 100 === 0) peak = Math.max(peak, openFds() - baseline);
    }
    expect(n).toBe(SEGMENTS);
    expect(peak, 'during a full scan').toBeLessThanOrEqual(FDS_BOUND);
    for (let o = SEGMENTS - 1; o >= 0; o -= 7) expect(t2.get(o)!.offset).toBe(o);
    expect(openFds() - baseline, 'after random gets').toBeLessThanOrEqual(FDS_BOUND);
    await again.close();
    expect(openFds() - baseline, 'after close').toBeLessThanOrEqual(2);
  });

  test(`a process limited to 256 descriptors appends (awaited, durability fsync) into ${SEGMENTS} segments and reads them all back`, async () => {
    const dir = h.tmp();
    const child = spawn('bash', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, path.join(FIXTURES, 'many-segments.mjs'), entry.dist, dir, String(SEGMENTS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    h.track(child);
    const lines = new ChildLines(child);
    const line = await lines.waitFor((l) => l.startsWith('ok') || l.startsWith('error'), 9000);
    expect(line).toBe(`ok ${SEGMENTS} ${SEGMENTS}`);
    await lines.exit();
  });
});
