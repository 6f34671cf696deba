// kill -9 of a writer: a child process appends and reports each acknowledgement; the parent kills
// it with SIGKILL at a random moment, reopens the directory and checks that every acknowledged
// record is there and intact, offsets are dense, and appends continue at endOffset.
// SPEC.md: "Anything whose append() resolved under durability: 'fsync' survives kill -9 and a power
// cut. Under 'os' it survives kill -9."
import { describe, expect, test } from 'vitest';
import { readPathEntries } from './entry.js';
import { collect, harness, killHard, Rng, sleep, spawnFixture, type Harness } from './helpers.js';

/** The value the crash writer stores at `offset` (same function as in fixtures/crash-writer.mjs). */
function valueFor(offset: number): string {
  return `${offset}|${String.fromCharCode(97 + (offset % 26)).repeat((offset * 7919) % 300)}`;
}

interface RunConfig {
  durability: 'fsync' | 'os';
  seed: number;
  segmentBytes?: number;
  inFlight?: number;
  readBack?: boolean;
}

/** Runs the writer until `killAfterMs` after its first acks, kills it; returns the acknowledged offsets. */
async function runAndKill(h: Harness, dir: string, config: RunConfig, killAfterMs: number, waitFor = 'ack'): Promise<number[]> {
  const child = spawnFixture(h, 'crash-writer.mjs', [h.entry.dist, dir, JSON.stringify(config)]);
  await child.waitFor((l) => l.startsWith('ready'));
  await child.waitFor((l) => l.startsWith(waitFor));
  await sleep(killAfterMs);
  expect(child.exited, `the writer died by itself: ${child.stderr}`).toBe(false);
  await killHard(child);
  expect(child.child.signalCode).toBe('SIGKILL');
  expect(child.stderr).toBe('');
  lastIo = child.lines.filter((l) => l.startsWith('io ')).pop();
  return child.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
}

/** The writer's last "io <path> <mapped reads>" line (readBack runs). */
let lastIo: string | undefined;

async function checkRecovered(h: Harness, dir: string, acked: number[]): Promise<number> {
  const maxAcked = Math.max(...acked);
  const log = await h.open(dir);
  const t = log.topic('c');
  const end = t.endOffset;
  expect(end, 'every acknowledged offset is below endOffset').toBeGreaterThan(maxAcked);
  expect(t.startOffset).toBe(0);
  // dense and intact: the record at offset o is valueFor(o), for every offset, acknowledged or not
  const all = collect(t.read());
  expect(all.length).toBe(end);
  for (let o = 0; o < end; o++) {
    expect(all[o]!.offset).toBe(o);
    expect(all[o]!.valueBytes!.toString(), `record ${o}`).toBe(valueFor(o));
  }
  for (const o of acked) expect(t.get(o)!.valueBytes!.toString()).toBe(valueFor(o));
  // appends continue at endOffset
  expect(t.appendSync(Buffer.from(valueFor(end)))).toBe(end);
  expect(await t.append(Buffer.from(valueFor(end + 1)))).toBe(end + 1);
  await log.close();
  const log2 = await h.open(dir);
  const again = log2.topic('c');
  expect(again.endOffset).toBe(end + 2);
  expect(again.get(end + 1)!.valueBytes!.toString()).toBe(valueFor(end + 1));
  await log2.close();
  return end + 2;
}

describe.each(readPathEntries)('$name: kill -9 of a writing process', (entry) => {
  const h = harness(entry);
  const rng = new Rng(0xc4a54);
  const delays = [0, 40, 120, 250, 500].map((d) => d + rng.int(0, 40));

  test.each(delays.map((d, i) => [d, i] as const))(
    "durability 'fsync': every acknowledged append survives SIGKILL after %i ms (run %i)",
    async (delay, run) => {
      const dir = h.tmp();
      const config: RunConfig = { durability: 'fsync', seed: 1000 + run, ...(run % 2 === 1 ? { segmentBytes: 16 * 1024 } : {}) };
      const acked = await runAndKill(h, dir, config, delay);
      expect(acked.length).toBeGreaterThan(0);
      await checkRecovered(h, dir, acked);
    },
  );

  test("durability 'fsync': a log killed twice in a row, with a restart in between, keeps everything acknowledged", async () => {
    const dir = h.tmp();
    const first = await runAndKill(h, dir, { durability: 'fsync', seed: 77, segmentBytes: 8192 }, 100);
    const end = await checkRecovered(h, dir, first);
    const second = await runAndKill(h, dir, { durability: 'fsync', seed: 78, segmentBytes: 8192 }, 100);
    expect(Math.min(...second)).toBeGreaterThanOrEqual(end);
    await checkRecovered(h, dir, [...first, ...second]);
  });

  test("a writer reading its closed segments back (through mappings in the default entry) while appending survives SIGKILL", async () => {
    const dir = h.tmp();
    const acked = await runAndKill(h, dir, { durability: 'fsync', seed: 4242, segmentBytes: 8192, readBack: true }, 150, 'io ');
    const [, io, reads] = lastIo!.split(' ');
    expect(io).toBe(h.entry.name === 'seglog' ? 'mmap' : 'pread');
    if (io === 'mmap') expect(Number(reads)).toBeGreaterThan(0);
    await checkRecovered(h, dir, acked);
  });

  test.each([
    [60, 1],
    [200, 2],
  ])("durability 'os': a writer killed with many appends in flight loses nothing acknowledged (after %i ms, run %i)", async (delay, run) => {
    const dir = h.tmp();
    const acked = await runAndKill(h, dir, { durability: 'os', seed: 2000 + run, inFlight: 200, segmentBytes: 32 * 1024 }, delay);
    expect(acked.length).toBeGreaterThan(0);
    await checkRecovered(h, dir, acked);
  });
});
