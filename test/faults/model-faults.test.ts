// The oracle model under injected faults: random rounds of append / appendBatch / appendSync /
// flush, each round in one tick, through a FileIO that fails one operation (the Nth write, fsync,
// truncate, open, rename, unlink — once or from then on), fills the disk at a byte budget, or cuts
// the power at a random operation (powerCutIO: unsynced writes kept, dropped or torn). After every
// round and after the final reopen the log is checked against what was acknowledged:
//   - offsets are dense and every record is one that was appended at that offset;
//   - an append that rejected (before a power cut) never shows up, in process or after reopening;
//   - an append acknowledged under 'fsync', and everything before a flush() that resolved, survives
//     a reopen and a power cut; under 'os' acknowledged appends survive a reopen unless an fsync
//     failed (the log then cuts back to its last good fsync); under 'none' only flush() promises;
//   - every promise settles; the process never sees anything but SeglogErrors;
//   - the reopen never needs { repair: true }: also after a power cut (unsynced writes and directory
//     entries kept, dropped, torn or reordered), openLog opens without help.
// Default: a short run for CI, plus POWER_CUTS power cuts spread evenly over both entry points and
// the three durability modes (SEGLOG_POWER_CUTS=<n>, default 180; 2,000 for the issue's measure).
// SEGLOG_FAULTS=long (or SEGLOG_FAULT_RUNS=<n>) for thousands of mixed runs;
// SEGLOG_FAULT_SEED=<seed> reruns one; SEGLOG_FAULT_KINDS=power,fsync,... and
// SEGLOG_FAULT_DURABILITY=fsync,os,none narrow the runs;
// SEGLOG_FAULT_VERBOSE=1 prints each run's outcome, SEGLOG_FAULT_TRACE=1 every append's fate.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { openLogWith, type Log } from '../../src/log.js';
import { lmdbMetaStore } from '../../src/store/lmdb-store.js';
import { fileMetaStore } from '../../src/store/file-meta-store.js';
import type { MetaStoreFactory } from '../../src/store/meta-store.js';
import type { FileIO } from '../../src/io/file-io.js';
import { loadMmapAddon } from '../../src/io/mmap-addon.js';
import { SeglogError } from '../../src/index.js';
import type { Topic } from '../../src/topic-api.js';
import { Rng, withinHangBound } from '../helpers.js';
import { faultyIO, powerCutIO, type FaultPlan, type OpName } from './faulty-io.js';

const LONG = process.env.SEGLOG_FAULTS === 'long';
const RUNS = Number(process.env.SEGLOG_FAULT_RUNS ?? (LONG ? 2000 : 24));
const ROUNDS = LONG ? 60 : 30;
const seeds = process.env.SEGLOG_FAULT_SEED ? [Number(process.env.SEGLOG_FAULT_SEED)] : Array.from({ length: RUNS }, (_, i) => 0xfa17 + i * 104_729);
const POWER_CUTS = process.env.SEGLOG_FAULT_SEED ? 0 : Number(process.env.SEGLOG_POWER_CUTS ?? 180);
/** Power-cut runs: [seed, entry point, durability], every combination equally often. */
const powerCuts = Array.from({ length: POWER_CUTS }, (_, i) => [0x9c07 + i * 7_919, i % 2, ['fsync', 'os', 'none'][Math.floor(i / 2) % 3]] as const);

const wirings: Array<[string, MetaStoreFactory]> = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]];
const TOPIC_OPTIONS = { segmentBytes: 2048, indexIntervalBytes: 256 };

type Status = 'pending' | 'acked' | 'rejected' | 'unknown' | 'sync';
interface Attempt { offset: number; status: Status }

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-fault-model-'));
  dirs.push(d);
  return d;
}

type FaultKind = 'write' | 'fsync' | 'truncate' | 'open' | 'unlink' | 'budget' | 'power';

type Durability = 'fsync' | 'os' | 'none';

async function runOnce(seed: number, fixed?: { wiring: number; durability: Durability }): Promise<string> {
  const rng = new Rng(seed);
  const pickedWiring = rng.pick(wirings);
  const [wiringName, meta] = fixed === undefined ? pickedWiring : wirings[fixed.wiring]!;
  const durabilities = (process.env.SEGLOG_FAULT_DURABILITY?.split(',') as Durability[] | undefined) ?? ['fsync', 'os', 'os', 'none'];
  const pickedDurability = rng.pick(durabilities);
  const durability = fixed?.durability ?? pickedDurability;
  const kinds = (process.env.SEGLOG_FAULT_KINDS?.split(',') as FaultKind[] | undefined) ?? ['write', 'fsync', 'truncate', 'open', 'unlink', 'budget', 'power', 'power', 'power'];
  const pickedKind = rng.pick<FaultKind>(kinds);
  const kind = fixed === undefined ? pickedKind : 'power';
  const dir = tmp();
  const imageDir = path.join(tmp(), 'image');
  const plan: FaultPlan = {};
  let io: FileIO;
  let power: ReturnType<typeof powerCutIO> | undefined;
  if (kind === 'power') {
    power = powerCutIO({ root: dir, imageDir, rng: rng.next, cutAtOp: rng.int(5, 400) });
    io = power;
  } else {
    if (kind === 'budget') plan.writeBudgetBytes = rng.int(0, 30_000);
    else {
      const op: OpName = kind;
      plan.failOp = { op, nth: rng.int(1, op === 'write' || op === 'fsync' ? 60 : 12), code: rng.pick(['EIO', 'ENOSPC']), persistent: rng.bool(0.4), logOnly: rng.bool(0.5) };
    }
    io = faultyIO(plan);
  }
  const desc = `seed ${seed} (SEGLOG_FAULT_SEED=${seed}): ${wiringName}, durability ${durability}, fault ${kind} ${JSON.stringify(plan.failOp ?? plan.writeBudgetBytes ?? power?.cutAtOp)}`;
  const trail: string[] = [];
  const attempts = new Map<string, Attempt>();
  /** Values at offsets [0, n) when a flush() resolved before any power cut: must survive everything. */
  let flushed: string[] = [];
  let fsyncFailed = false;
  let n = 0;
  const nextValue = (): string => `${seed}:${n++}:${'x'.repeat(rng.int(0, rng.bool(0.1) ? 1500 : 120))}`;
  const isDead = (): boolean => power?.dead === true;

  let log: Log | undefined;
  let topic!: Topic<string>;
  // The default entry's wiring maps closed segments (the addon): every cut a fault causes must miss
  // the sealed ones (Segment.truncateLog asserts it), and reads go through the mappings.
  const mapper = wiringName === 'seglog' ? { mapper: () => loadMmapAddon() } : {};
  const open = async (using: FileIO): Promise<Log> => openLogWith({ meta, io: using, ...mapper }, dir, { durability, fsyncIntervalMs: 50 });
  try {
    log = await open(io);
    topic = log.topic<string>('m', { codec: 'string', ...TOPIC_OPTIONS });
  } catch (err) {
    // the fault hit openLog itself: a SeglogError; what it left must still open (checked below)
    expect(err, desc).toBeInstanceOf(SeglogError);
    if (log !== undefined) await log.close().catch(() => undefined);
    log = undefined;
    trail.push(`open failed (${(err as SeglogError).code})`);
  }

  const settle = (value: string, p: Promise<number>, values: string[]): Promise<void> =>
    p.then(
      (offset) => {
        const a = attempts.get(values[0]!)!;
        if (isDead()) { for (const v of values) attempts.get(v)!.status = 'unknown'; return; }
        expect(offset, `${desc}: ${value} resolved at the offset it was given`).toBe(a.offset);
        for (const v of values) attempts.get(v)!.status = 'acked';
        if (process.env.SEGLOG_FAULT_TRACE) console.log(`acked ${values.length} at ${offset}: ${value.slice(0, 12)}`);
      },
      (err: unknown) => {
        if (process.env.SEGLOG_FAULT_TRACE) console.log(`rejected ${values.length} from ${attempts.get(values[0]!)!.offset} (${value.slice(0, 12)}): ${(err as Error).message}`);
        expect(err, `${desc}: rejection of ${value}`).toBeInstanceOf(SeglogError);
        for (const v of values) attempts.get(v)!.status = isDead() ? 'unknown' : 'rejected';
      },
    );

  /** Records in process: dense, each one appended at its offset, none rejected, every acked one there. */
  const checkInProcess = (where: string): void => {
    const records = [...topic.read()];
    expect(records.length, `${desc} ${where}: endOffset`).toBe(topic.endOffset);
    const present = new Set<string>();
    records.forEach((r, i) => {
      expect(r.offset, `${desc} ${where}: dense`).toBe(i);
      const a = attempts.get(r.value as string);
      expect(a, `${desc} ${where}: offset ${i} holds a value never appended`).toBeDefined();
      expect(a!.offset, `${desc} ${where}: offset ${i} holds a value appended at ${a!.offset}`).toBe(i);
      expect(a!.status, `${desc} ${where}: offset ${i} holds a rejected append`).not.toBe('rejected');
      present.add(r.value as string);
    });
    // under 'none' an append resolves before its write: a failed background write loses it (the
    // next append call reports that), so only flush() promises anything there
    if ((!fsyncFailed && durability === 'os') || durability === 'fsync') {
      for (const [v, a] of attempts) if (a.status === 'acked') expect(present.has(v), `${desc} ${where}: acked ${v.slice(0, 20)} at ${a.offset} missing`).toBe(true);
    }
    flushed.forEach((v, i) => expect(records[i]?.value, `${desc} ${where}: flushed offset ${i}`).toBe(v));
  };

  for (let round = 0; round < ROUNDS && !isDead() && log !== undefined; round++) {
    if ((log as unknown as { failure?: unknown }).failure !== undefined) {
      // a failed fsync: the log refuses writes until reopened; reopen without the fault
      fsyncFailed = true;
      trail.push('reopen after a failed fsync');
      await withinHangBound(log.close().catch(() => undefined), 'close');
      plan.failOp = undefined;
      log = await open(io);
      topic = log.topic<string>('m', { codec: 'string' });
      checkInProcess('after reopening');
    }
    const pending: Array<Promise<void>> = [];
    const ops = rng.int(1, 4);
    for (let k = 0; k < ops; k++) {
      const r = rng.next();
      const offset = topic.endOffset;
      if (r < 0.45) {
        const v = nextValue();
        attempts.set(v, { offset, status: 'pending' });
        trail.push(`append@${offset}`);
        pending.push(settle(v, topic.append(v), [v]));
      } else if (r < 0.8) {
        const vs = Array.from({ length: rng.int(2, 6) }, nextValue);
        vs.forEach((v, i) => attempts.set(v, { offset: offset + i, status: 'pending' }));
        trail.push(`appendBatch(${vs.length})@${offset}`);
        pending.push(settle(vs[0]!, topic.appendBatch(vs.map((value) => ({ value }))), vs));
      } else {
        const v = nextValue();
        trail.push(`appendSync@${offset}`);
        try {
          const o = topic.appendSync(v);
          expect(o, desc).toBe(offset);
          attempts.set(v, { offset, status: 'sync' });
          if (process.env.SEGLOG_FAULT_TRACE) console.log(`sync at ${offset}: ${v.slice(0, 12)}`);
        } catch (err) {
          expect(err, desc).toBeInstanceOf(SeglogError);
        }
      }
    }
    await withinHangBound(Promise.all(pending), `${desc}: appends of round ${round}`);
    if (isDead()) break;
    checkInProcess(`round ${round} (${trail.slice(-4).join(' ')})`);
    if (rng.bool(0.15)) {
      trail.push('flush');
      const snapshot = [...topic.read()].map((r) => r.value as string);
      try {
        await withinHangBound(log.flush(), `${desc}: flush`);
        if (!isDead()) flushed = snapshot;
      } catch (err) {
        expect(err, desc).toBeInstanceOf(SeglogError);
      }
    }
  }

  // The end: a power cut (now, if it has not happened yet), or a plain close.
  let target = dir;
  if (power !== undefined) {
    power.cut();
    target = imageDir;
  }
  if (log !== undefined) {
    const closed = await withinHangBound(log.close().then(() => true, () => false), 'close');
    if (!closed && power === undefined) {
      // close() closes nothing while records whose offsets appendSync returned cannot be written
      // (docs/guarantees.md, "Returned offsets are kept"): the disk heals, and close() writes them
      trail.push('close refused, disk healed');
      plan.failOp = undefined;
      plan.writeBudgetBytes = undefined;
      await withinHangBound(log.close().catch(() => undefined), 'close after healing');
    }
  }
  // Reopen with a healthy disk.
  let reopened!: Log;
  const outcome = 'reopened';
  try {
    if (!fs.existsSync(target)) fs.mkdirSync(target); // the power went before the directory was made
    reopened = await openLogWith({ meta }, target, { durability });
  } catch (err) {
    // never, also not after a power cut: recovery needs no repair option (docs/guarantees.md)
    expect.fail(`${desc}: reopen failed without repair${power !== undefined ? ` after a power cut (fates ${JSON.stringify(power.fates)}, entries ${JSON.stringify(power.entryFates)})` : ''}: ${(err as Error).message}`);
  }
  try {
    topic = reopened.topic<string>('m', { codec: 'string' });
    const records = [...topic.read()];
    const present = new Set<string>();
    records.forEach((r, i) => {
      expect(r.offset, `${desc}: dense after reopen`).toBe(i);
      const a = attempts.get(r.value as string);
      expect(a, `${desc}: after reopen offset ${i} holds a value never appended`).toBeDefined();
      expect(a!.offset, `${desc}: after reopen offset ${i} holds a value appended at ${a!.offset}`).toBe(i);
      expect(a!.status, `${desc}: after reopen offset ${i} holds an append rejected before the crash`).not.toBe('rejected');
      present.add(r.value as string);
    });
    flushed.forEach((v, i) => expect(records[i]?.value, `${desc}: flushed offset ${i} after reopen`).toBe(v));
    const mustSurvive = durability === 'fsync' || (durability === 'os' && power === undefined && !fsyncFailed);
    if (mustSurvive) {
      for (const [v, a] of attempts) if (a.status === 'acked') expect(present.has(v), `${desc}: acked record at ${a.offset} lost (${outcome})`).toBe(true);
    }
    // the log takes appends again, at its end
    expect(await topic.append('after')).toBe(records.length);
  } finally {
    await reopened.close();
  }
  return `${desc}: ${outcome}${trail[0]?.startsWith('open failed') ? ` after ${trail[0]}` : ''}, ${attempts.size} appends, fates ${JSON.stringify(power?.fates ?? {})}, entries ${JSON.stringify(power?.entryFates ?? {})}`;
}

describe.skipIf(seeds.length === 0)('the model under injected faults', () => {
  test.each(seeds.length > 0 ? seeds : [0])('seed %i', async (seed) => {
    const summary = await runOnce(seed);
    if (process.env.SEGLOG_FAULT_VERBOSE) console.log(summary);
  });
});

describe.skipIf(powerCuts.length === 0)('power cuts: the reopen never needs repair, nothing acknowledged or flushed is lost', () => {
  test.each(powerCuts.length > 0 ? powerCuts : [[0, 0, 'fsync'] as const])('seed %i, entry point %i, durability %s', async (seed, wiring, durability) => {
    const summary = await runOnce(seed, { wiring, durability: durability as Durability });
    if (process.env.SEGLOG_FAULT_VERBOSE) console.log(summary);
  });
});
