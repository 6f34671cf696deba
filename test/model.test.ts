// The oracle model: random sequences of appends, range reads (forwards and backwards, bounded by
// offsets or times), time lookups and reopenings, each checked against a plain array of what was
// appended. A failure names the seed and the operation; rerun one seed with SEGLOG_MODEL_SEED=<seed>
// (and SEGLOG_MODEL_OPS=<n> for a longer run).
import { describe, expect, test } from 'vitest';
import { readPathEntries } from './entry.js';
import { collect, harness, Rng, segmentBases, type Log, type LogOptions, type LogRecord, type Topic } from './helpers.js';

interface Expected {
  value: Buffer | null;
  key: Buffer | undefined;
  headers: Record<string, Buffer>;
  /** exact once known; an explicit timestamp is known at once, a default one after the append */
  timestamp: number;
  /** bounds of a default timestamp (Date.now() during the append call) */
  tsLow?: number;
  tsHigh?: number;
}

interface Input {
  value: Buffer;
  meta: { key?: string | Uint8Array; headers?: Record<string, string | Uint8Array>; timestamp?: number };
  expected: Expected;
}

// (4 seeds per entry point keep npm test within its budget; SEGLOG_MODEL_SEEDS=<n> runs more)
const SEED_COUNT = Number(process.env.SEGLOG_MODEL_SEEDS ?? 4);
const OPS = Number(process.env.SEGLOG_MODEL_OPS ?? 350);
const seeds = process.env.SEGLOG_MODEL_SEED
  ? [Number(process.env.SEGLOG_MODEL_SEED)]
  : Array.from({ length: SEED_COUNT }, (_, i) => 0x5e6106 + i * 7919);

const hex = (b: Buffer | null | undefined): string | null | undefined => (b == null ? b : b.toString('hex'));

function genInput(rng: Rng, clock: { now: number }): Input {
  const r = rng.next();
  // small, medium, around the batch limit (BATCH_BYTES_MAX), and far past it
  const size = r < 0.6 ? rng.int(0, 200) : r < 0.9 ? rng.int(200, 3500) : r < 0.95 ? rng.int(3500, 6000) : rng.int(16 * 1024 + 1, 40 * 1024);
  const value = rng.bytes(size);
  const meta: Input['meta'] = {};
  let key: Buffer | undefined;
  const k = rng.next();
  if (k < 0.3) {
    const s = `key-${rng.int(0, 50)}${rng.bool(0.1) ? 'é✓' : ''}`;
    meta.key = s;
    key = Buffer.from(s, 'utf8');
  } else if (k < 0.6) {
    const b = rng.bytes(rng.int(0, 40));
    meta.key = rng.bool() ? new Uint8Array(b) : b;
    key = Buffer.from(b);
  }
  const headers: Record<string, Buffer> = {};
  if (rng.bool(0.4)) {
    meta.headers = {};
    const n = rng.int(1, 3);
    for (let i = 0; i < n; i++) {
      const name = rng.pick(['trace', 'content-type', 'h', 'ü-name', `x${i}`]);
      if (rng.bool()) {
        const v = `v${rng.int(0, 1e6)}`;
        meta.headers[name] = v;
        headers[name] = Buffer.from(v, 'utf8');
      } else {
        const v = rng.bytes(rng.int(0, 30));
        meta.headers[name] = v;
        headers[name] = v;
      }
    }
  }
  let timestamp = -1;
  if (rng.bool(0.6)) {
    clock.now += rng.int(0, 50);
    const t = rng.next();
    timestamp = t < 0.15 ? Math.max(0, clock.now - rng.int(1, 100_000)) : t < 0.2 ? clock.now + rng.int(1, 100_000) : clock.now;
    meta.timestamp = timestamp;
  }
  return { value, meta, expected: { value, key, headers, timestamp } };
}

function checkRecord(rec: LogRecord<Buffer> | undefined, exp: Expected, offset: number): void {
  expect(rec, `record ${offset} missing`).toBeDefined();
  const r = rec!;
  expect(r.offset).toBe(offset);
  if (exp.timestamp < 0) {
    expect(r.timestamp, `default timestamp of ${offset}`).toBeGreaterThanOrEqual(exp.tsLow!);
    expect(r.timestamp, `default timestamp of ${offset}`).toBeLessThanOrEqual(exp.tsHigh!);
    exp.timestamp = r.timestamp;
  } else {
    expect(r.timestamp, `timestamp of ${offset}`).toBe(exp.timestamp);
  }
  expect(hex(r.valueBytes), `value of ${offset}`).toBe(hex(exp.value));
  expect(hex(r.value as Buffer), `decoded value of ${offset}`).toBe(hex(exp.value));
  expect(hex(r.key), `key of ${offset}`).toBe(hex(exp.key));
  const got = r.headers;
  expect(Object.keys(got).sort(), `header names of ${offset}`).toEqual(Object.keys(exp.headers).sort());
  for (const name of Object.keys(exp.headers)) expect(hex(got[name]), `header ${name} of ${offset}`).toBe(hex(exp.headers[name]));
}

function oracleOffsetForTime(model: Expected[], time: number): number {
  let max = -Infinity;
  for (let i = 0; i < model.length; i++) {
    max = Math.max(max, model[i]!.timestamp);
    if (max >= time) return i;
  }
  return model.length;
}

describe.each(readPathEntries)('$name: oracle model', (entry) => {
  const h = harness(entry);

  test.each(seeds)('random appends, reads, time lookups and reopenings agree with a plain array (seed %i)', async (seed) => {
    const rng = new Rng(seed);
    const dir = h.tmp();
    const clock = { now: 1_700_000_000_000 };
    const model: Expected[] = [];
    const trail: string[] = [];
    const topicOptions = () => ({
      segmentBytes: rng.pick([4096, 8192, 16384, 65536]),
      indexIntervalBytes: rng.pick([64, 300, 1024, 4096]),
    });
    const logOptions = (): LogOptions => ({ durability: rng.pick(['fsync', 'os', 'none'] as const), fsyncIntervalMs: 50 });
    let log: Log = await h.open(dir, logOptions());
    let topic: Topic<Buffer> = log.topic('m', topicOptions());

    /** Runs one append-like call and checks the offsets it returns and that get sees it at once. */
    const appendOne = (input: Input, kind: 'sync' | 'async'): number | Promise<number> => {
      const lo = Date.now();
      const first = model.length;
      const result = kind === 'sync' ? topic.appendSync(input.value, input.meta) : topic.append(input.value, input.meta);
      const hi = Date.now();
      if (input.expected.timestamp < 0) Object.assign(input.expected, { tsLow: lo, tsHigh: hi });
      model.push(input.expected);
      expect(topic.endOffset).toBe(first + 1);
      checkRecord(topic.get(first), input.expected, first); // read-your-writes
      if (kind === 'sync') expect(result).toBe(first);
      return result;
    };

    const checkAll = () => {
      const all = collect(topic.read());
      expect(all.length, 'records in a full read').toBe(model.length);
      all.forEach((r, i) => checkRecord(r, model[i]!, i));
    };

    try {
      for (let op = 0; op < OPS; op++) {
        const r = rng.next();
        if (r < 0.22) {
          trail.push(`appendSync@${model.length}`);
          appendOne(genInput(rng, clock), 'sync');
        } else if (r < 0.34) {
          trail.push(`append@${model.length}`);
          const first = model.length;
          expect(await appendOne(genInput(rng, clock), 'async')).toBe(first);
        } else if (r < 0.42) {
          // several calls in one tick, awaited together
          const first = model.length;
          const n = rng.int(2, 12);
          trail.push(`burst(${n})@${first}`);
          const pending: Array<Promise<number>> = [];
          for (let i = 0; i < n; i++) {
            const res = appendOne(genInput(rng, clock), rng.bool(0.3) ? 'sync' : 'async');
            if (typeof res !== 'number') pending.push(res.then((o) => (expect(o).toBe(first + i), o)));
          }
          await Promise.all(pending);
        } else if (r < 0.52) {
          const first = model.length;
          const n = rng.int(1, rng.bool(0.2) ? 120 : 15);
          trail.push(`appendBatch(${n})@${first}`);
          const inputs = Array.from({ length: n }, () => genInput(rng, clock));
          const lo = Date.now();
          const pending = topic.appendBatch(inputs.map((i) => ({ value: i.value, ...i.meta })));
          const hi = Date.now();
          for (const i of inputs) {
            if (i.expected.timestamp < 0) Object.assign(i.expected, { tsLow: lo, tsHigh: hi });
            model.push(i.expected);
          }
          expect(topic.endOffset).toBe(first + n);
          checkRecord(topic.get(first + n - 1), model[first + n - 1]!, first + n - 1);
          expect(await pending).toBe(first);
        } else if (r < 0.67) {
          const o = rng.int(0, model.length + 2);
          trail.push(`get(${o})`);
          if (o < model.length) checkRecord(topic.get(o), model[o]!, o);
          else expect(topic.get(o)).toBeUndefined();
        } else if (r < 0.8) {
          // a range read: from, to (an offset, possibly before from or past the end, or a Date
          // resolved by the oracle's time lookup), forwards or backwards, bounded or not
          const from = rng.int(0, model.length + 2);
          const maxRecords = rng.bool(0.2) ? undefined : rng.int(0, 60);
          const reverse = rng.bool(0.4);
          const toKind = rng.pick(['none', 'offset', 'date'] as const);
          const options: { from: number; to?: number | Date; reverse?: boolean; maxRecords?: number } = { from };
          if (maxRecords !== undefined) options.maxRecords = maxRecords;
          if (reverse || rng.bool(0.3)) options.reverse = reverse;
          let to = model.length;
          if (toKind === 'offset') {
            options.to = rng.bool(0.7) ? rng.int(from, model.length + 3) : rng.int(0, model.length + 3);
            to = Math.min(options.to, model.length);
          } else if (toKind === 'date') {
            // default timestamps become exact once a read has seen them
            for (let i = 0; i < model.length; i++) if (model[i]!.timestamp < 0) checkRecord(topic.get(i), model[i]!, i);
            const known = model.filter((m) => m.timestamp >= 0);
            const t = known.length > 0 && rng.bool(0.8) ? rng.pick(known).timestamp + rng.int(-1, 1) : rng.int(0, clock.now + 200_000);
            options.to = new Date(t);
            to = oracleOffsetForTime(model, t);
          }
          trail.push(`read(${JSON.stringify(options)})`);
          const got = collect(topic.read(options));
          const inRange = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
          if (reverse) inRange.reverse();
          const want = maxRecords === undefined ? inRange : inRange.slice(0, maxRecords);
          expect(got.map((rec) => rec.offset), `offsets read with ${JSON.stringify(options)}`).toEqual(want);
          got.forEach((rec, i) => checkRecord(rec, model[want[i]!]!, want[i]!));
        } else if (r < 0.9) {
          const known = model.filter((m) => m.timestamp >= 0);
          const t = known.length > 0 && rng.bool(0.8) ? rng.pick(known).timestamp + rng.int(-1, 1) : rng.int(0, clock.now + 200_000);
          trail.push(`offsetForTime(${t})`);
          // default timestamps become exact once a read has seen them
          for (let i = 0; i < model.length; i++) if (model[i]!.timestamp < 0) checkRecord(topic.get(i), model[i]!, i);
          expect(topic.offsetForTime(t), `offsetForTime(${t})`).toBe(oracleOffsetForTime(model, t));
          expect(topic.offsetForTime(new Date(t))).toBe(oracleOffsetForTime(model, t));
        } else if (r < 0.95) {
          trail.push('flush');
          await log.flush();
        } else {
          const withOptions = rng.bool(0.5);
          trail.push(`reopen(${withOptions ? 'new options' : 'stored options'})`);
          await log.close();
          log = await h.open(dir, logOptions());
          topic = withOptions ? log.topic('m', topicOptions()) : log.topic('m');
          expect(topic.endOffset).toBe(model.length);
          expect(topic.startOffset).toBe(0);
          checkAll();
        }
        expect(topic.endOffset, 'endOffset').toBe(model.length);
      }
      checkAll();
      await log.close();
      log = await h.open(dir);
      topic = log.topic('m');
      checkAll();
      for (let i = 0; i < 30; i++) {
        const t = rng.pick(model).timestamp + rng.int(-1, 1);
        expect(topic.offsetForTime(t), `offsetForTime(${t}) after the final reopen`).toBe(oracleOffsetForTime(model, t));
      }
      expect(segmentBases(dir, 'm').length).toBeGreaterThan(1);
    } catch (err) {
      const e = err as Error;
      e.message = `seed ${seed} (rerun: SEGLOG_MODEL_SEED=${seed}), after ${trail.length} ops, last: ${trail.slice(-6).join(' → ')}\n${e.message}`;
      throw e;
    }
  });
});
