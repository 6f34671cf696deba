// Micro-benchmarks (benchmark.js) of seglog's hot inner pieces, imported from dist/src/*.js:
//   batch encode    one full batch (BATCH_BYTES_MAX) of 100-byte records (header, varints, copies, checksum)
//   record decode   decodeRecord() over every record of a real batch read from a .log file
//   index lookup    OffsetIndex.floor() on a full-segment sparse index
//   checksum        xxHash32 of 16 KiB
//   appendSync path the whole public append path, 1,000 appendSync per tick, durability 'none'
// Internal names are looked up at run time; a case whose function is not found is skipped with a
// message, so this file keeps working while src/ changes.
//   node bench/micro.js [--quick]        or as part of npm run bench
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Benchmark from 'benchmark';
import { ROOT_DIR, TOPIC, fmtNum, loadSeglog, makeValues, parseArgs, rmrf, tmpDir, cleanupTmp } from './common.js';

const DIST_SRC = path.join(ROOT_DIR, 'dist', 'src');

async function importDist(name) {
  const file = path.join(DIST_SRC, name);
  if (!fs.existsSync(file)) return null;
  try {
    return await import(pathToFileURL(file).href);
  } catch (err) {
    console.log(`  [micro] could not import dist/src/${name}: ${err?.message ?? err}`);
    return null;
  }
}

/** Every dist/src module (for looking up an export whose home is not known). */
async function importAllDist() {
  const out = {};
  if (!fs.existsSync(DIST_SRC)) return out;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'cli') walk(p); // the CLI's main module runs the command line when imported
      }
      else if (e.name.endsWith('.js')) out[path.relative(DIST_SRC, p)] = null;
    }
  };
  walk(DIST_SRC);
  for (const name of Object.keys(out)) out[name] = await importDist(name);
  return out;
}

function findExport(mods, names) {
  for (const [file, mod] of Object.entries(mods)) {
    if (!mod) continue;
    for (const n of names) if (typeof mod[n] === 'function') return { file, name: n, fn: mod[n], mod };
  }
  return null;
}

/** A real batch of `count`-ish 100-byte records: written through the public API, read from disk. */
async function realBatch(seglog, values) {
  const dir = tmpDir('micro-batch');
  try {
    const log = await seglog.openLog(dir, { durability: 'os' });
    const topic = log.topic(TOPIC);
    const batch = [];
    for (let i = 0; i < 1000; i++) batch.push({ value: values[i & (values.length - 1)] });
    await topic.appendBatch(batch);
    await log.close();
    const tdir = path.join(dir, TOPIC);
    const logFile = fs.readdirSync(tdir).find((f) => f.endsWith('.log'));
    const bytes = fs.readFileSync(path.join(tdir, logFile));
    const batchBytes = bytes.readUInt32LE(0);
    return Buffer.from(bytes.subarray(0, batchBytes)); // first batch only
  } finally {
    rmrf(dir);
  }
}

function runSuite(name, cases, maxTime) {
  const rows = [];
  if (cases.length === 0) return rows;
  const suite = new Benchmark.Suite(name);
  for (const c of cases) {
    const opts = { maxTime, minSamples: 5 };
    if (c.defer) {
      suite.add(c.name, { defer: true, fn: c.fn, ...opts });
    } else {
      suite.add(c.name, c.fn, opts);
    }
  }
  return new Promise((resolve) => {
    suite.on('cycle', (e) => {
      const b = e.target;
      const c = cases.find((x) => x.name === b.name);
      if (b.error) {
        console.log(`  ${b.name}: ERROR ${b.error?.message ?? b.error}`);
        rows.push({ name: b.name, error: String(b.error?.message ?? b.error) });
        return;
      }
      const perOp = c.perOp ?? 1;
      const itemsPerSec = b.hz * perOp;
      const nsPerItem = 1e9 / itemsPerSec;
      let per;
      if (c.item === 'bytes') per = ` = ${fmtNum(itemsPerSec / 1e9, 2)} GB/s`;
      else if (perOp !== 1) per = ` = ${fmtNum(itemsPerSec / 1e6, 2)}M ${c.item ?? 'items'}/s (${fmtNum(nsPerItem, 1)} ns each)`;
      else per = ` (${fmtNum(nsPerItem, 1)} ns)`;
      console.log(`  ${b.name}: ${fmtNum(b.hz, b.hz < 100 ? 1 : 0)} ops/s ±${fmtNum(b.stats.rme, 1)}%${per}${c.note ? `  [${c.note}]` : ''}`);
      rows.push({ name: b.name, opsPerSec: b.hz, rme: b.stats.rme, samples: b.stats.sample.length, perOp, itemsPerSec, nsPerItem, note: c.note });
    });
    suite.on('complete', () => resolve(rows));
    suite.run({ async: true });
  });
}

export async function runMicro(cfg) {
  const seglog = await loadSeglog({ quiet: true });
  if (!seglog) {
    console.log('  skipped: dist/src/index.js not built (npm run build)');
    return { rows: [], details: { skipped: 'not built' } };
  }
  const mods = await importAllDist();
  const values = makeValues(100);
  const skipped = [];
  const cases = [];
  let sink = 0;

  // (the layered layout of issue 13: src/format/, src/segment/)
  const fmt = mods['format/batch.js'];
  const rec = mods['format/record.js'];
  const idx = mods['segment/offset-index.js'];
  const sum = mods['format/checksum.js'];
  const codecs = mods['format/codecs.js'];

  // ---- batch encode ---------------------------------------------------------------------------
  // A dedicated batch encoder, if src/ exports one, is preferred; otherwise the batch is built with
  // format/batch.js's own primitives (header, varints, copies, checksum: the writer's steps, not its
  // exact bytes). (format/append-input.js's encodeRecords encodes values, not a batch.)
  // (not kafka/: its encodeBatch writes Kafka's record batches, bench/kafka-records.js measures it)
  const encoder = findExport(Object.fromEntries(Object.entries(mods).filter(([file]) => !file.startsWith('kafka/'))), ['encodeBatch', 'buildBatch', 'writeBatch']);
  if (encoder) {
    const records = [];
    for (let i = 0; i < 150; i++) records.push({ value: values[i], timestamp: 1_700_000_000_000 + i });
    cases.push({
      name: `batch encode (${encoder.file} ${encoder.name}, 150 × 100 B)`,
      fn: () => {
        const b = encoder.fn(records, 0);
        sink += b?.length ?? 0;
      },
      perOp: 150,
      item: 'records',
    });
  } else if (fmt?.startBatchHeader && fmt?.writeVarint && fmt?.varintBytes && fmt?.zigzag && sum?.checksum) {
    const { startBatchHeader, writeVarint, varintBytes, zigzag, writeU32, BATCH_HEADER_BYTES, BATCH_BYTES_MAX, CHECKSUM_FROM, H_BATCH_BYTES, H_CHECKSUM, H_RECORD_COUNT, H_LAST_OFFSET_DELTA } = fmt;
    const checksum = sum.checksum;
    const ts0 = 1_700_000_000_000;
    const encodeBuf = Buffer.allocUnsafe(BATCH_BYTES_MAX);
    let n = 0;
    let size = BATCH_HEADER_BYTES;
    while (true) {
      const body = varintBytes(n) + varintBytes(zigzag(n)) + 1 + varintBytes(101) + 100 + 1;
      if (size + varintBytes(body) + body > BATCH_BYTES_MAX) break;
      size += varintBytes(body) + body;
      n++;
    }
    cases.push({
      name: `batch encode (format/batch.js primitives + checksum, ${n} × 100 B)`,
      note: 'no exported batch encoder: the writer\'s steps with format/batch.js primitives',
      fn: () => {
        const buf = encodeBuf; // the library encodes into large write chunks, not a buffer per batch
        startBatchHeader(buf, 0, 1000, ts0);
        let p = BATCH_HEADER_BYTES;
        for (let i = 0; i < n; i++) {
          const v = values[i & 1023];
          const body = varintBytes(i) + varintBytes(zigzag(i)) + 1 + varintBytes(v.length + 1) + v.length + 1;
          p = writeVarint(buf, p, body);
          p = writeVarint(buf, p, i);
          p = writeVarint(buf, p, zigzag(i));
          p = writeVarint(buf, p, 0);
          p = writeVarint(buf, p, v.length + 1);
          buf.set(v, p);
          p += v.length;
          p = writeVarint(buf, p, 0);
          writeU32(buf, H_BATCH_BYTES, p);
          writeU32(buf, H_RECORD_COUNT, i + 1);
          writeU32(buf, H_LAST_OFFSET_DELTA, i);
        }
        writeU32(buf, H_CHECKSUM, checksum(buf.subarray(CHECKSUM_FROM, p)));
        sink += p;
      },
      perOp: n,
      item: 'records',
    });
  } else {
    skipped.push('batch encode: no encodeBatch/buildBatch export and no format/batch.js primitives found');
  }

  // ---- record decode --------------------------------------------------------------------------
  const batch = await realBatch(seglog, values);
  const decodeRecord = rec?.decodeRecord;
  if (typeof decodeRecord === 'function' && fmt?.readU32 && fmt?.readU64) {
    const { readU32, readU64, BATCH_HEADER_BYTES, H_RECORD_COUNT, H_BASE_OFFSET, H_BASE_TIMESTAMP } = fmt;
    const codec = codecs?.binaryCodec ?? codecs?.resolveCodec?.('binary');
    const count = readU32(batch, H_RECORD_COUNT);
    const baseOffset = readU64(batch, H_BASE_OFFSET);
    const baseTs = readU64(batch, H_BASE_TIMESTAMP);
    const end = batch.length;
    cases.push({
      name: `record decode (format/record.js decodeRecord, ${count} records of a real batch, + valueBytes)`,
      fn: () => {
        let p = BATCH_HEADER_BYTES;
        for (let i = 0; i < count; i++) {
          const r = decodeRecord(batch, p, end, baseOffset, baseTs, codec);
          sink += r.valueBytes.length;
          p = rec.recordEnd;
        }
      },
      perOp: count,
      item: 'records',
    });
  } else {
    skipped.push('record decode: format/record.js decodeRecord (or format/batch.js readU32/readU64) not found');
  }

  // ---- index lookup ---------------------------------------------------------------------------
  const OffsetIndex = idx?.OffsetIndex;
  if (typeof OffsetIndex === 'function' && typeof OffsetIndex.prototype.floor === 'function') {
    // A full 64 MiB segment of 100-byte records with an entry every ~4 KiB: ~16k entries.
    const entries = 16384;
    const index = new OffsetIndex(entries);
    for (let i = 0; i < entries; i++) index.append(i * 37, i * 4200);
    const targets = new Uint32Array(1024);
    for (let i = 0; i < targets.length; i++) targets[i] = (i * 2654435761) % (entries * 37);
    cases.push({
      name: `index lookup (segment/offset-index.js OffsetIndex.floor, ${entries.toLocaleString('en-US')} entries)`,
      fn: () => {
        for (let i = 0; i < 1024; i++) sink += index.floor(targets[i]);
      },
      perOp: 1024,
      item: 'lookups',
    });
  } else {
    skipped.push('index lookup: segment/offset-index.js OffsetIndex.floor not found');
  }

  // ---- checksum -------------------------------------------------------------------------------
  if (typeof sum?.checksum === 'function') {
    const block = Buffer.allocUnsafe(16 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 255;
    cases.push({
      name: `checksum (format/checksum.js, xxHash32 of 16 KiB, ${sum.checksumImpl?.() ?? '?'})`,
      fn: () => {
        sink += sum.checksum(block);
      },
      perOp: 16 * 1024,
      item: 'bytes',
    });
  } else {
    skipped.push('checksum: format/checksum.js checksum not found');
  }

  // ---- the public append path -----------------------------------------------------------------
  const appendDir = tmpDir('micro-append');
  const appendLog = await seglog.openLog(appendDir, { durability: 'none' });
  const appendTopic = appendLog.topic(TOPIC, { segmentBytes: 16 * 1024 * 1024, retention: { maxBytes: 64 * 1024 * 1024 } });
  cases.push({
    name: "appendSync path (public API, 1,000 × 100 B per tick, durability 'none')",
    note: 'includes the write to the OS at the end of each tick',
    defer: true,
    fn: (deferred) => {
      for (let i = 0; i < 1000; i++) appendTopic.appendSync(values[i & 1023]);
      setImmediate(() => deferred.resolve());
    },
    perOp: 1000,
    item: 'records',
  });

  for (const s of skipped) console.log(`  skipped ${s}`);
  const rows = await runSuite('seglog micro', cases, cfg.microMaxTime);
  try {
    await appendTopic.enforceRetention?.();
  } catch {
    /* not important */
  }
  await appendLog.close();
  rmrf(appendDir);
  if (sink === 0.5) console.log(sink); // keep results alive
  return { rows, details: { cases: rows, skipped } };
}

export default {
  id: 'micro',
  title: 'Micro-benchmarks (benchmark.js, dist/src internals)',
  seglogOnly: true,
  async run(ctx) {
    const { details } = await runMicro(ctx.cfg);
    return { rows: [], details };
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runMicro(parseArgs())
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(cleanupTmp);
}
