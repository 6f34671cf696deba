// Shared helpers for the benchmark workloads: argument parsing, timing, statistics,
// temporary directories, test data, and loading the library from dist/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
/** `--native-free` benchmarks the seglog/native-free entry point instead of the default one. */
export const NATIVE_FREE = process.argv.includes('--native-free');
export const DIST_INDEX = NATIVE_FREE
  ? path.join(ROOT_DIR, 'dist', 'native-free', 'index.js')
  : path.join(ROOT_DIR, 'dist', 'src', 'index.js');

export const IMPLS = ['seglog', 'lmdb', 'raw'];

/** The topic every seglog workload writes to and reads from. */
export const TOPIC = 'bench';

// ---------------------------------------------------------------------------------------------
// Arguments

/**
 * Parses the command line. Every workload reads its sizes from the returned config, so a
 * workload file can also be run on its own with the same flags.
 */
export function parseArgs(argv = process.argv.slice(2)) {
  const quick = argv.includes('--quick');
  const full = argv.includes('--full');
  const cfg = {
    quick,
    full,
    rounds: quick ? 2 : 5,
    records: quick ? 200_000 : 1_000_000, // W1, W2, W3
    valueBytes: 100,
    batchSize: 1000,
    gets: quick ? 50_000 : 200_000, // W4
    durableMs: quick ? 1000 : 2000, // W-durable duration per round
    durableMaxRecords: 2_000_000, // W-durable cap per round
    producers: 64,
    reopenMB: full ? 1024 : quick ? 64 : 256,
    reopenValueBytes: 1024,
    topics: quick ? 2000 : 10_000, // many-topics workload
    kafkaRssMB: full ? 1024 : quick ? 64 : 256, // kafka-rss: the consumer's lag in MB
    microMaxTime: quick ? 0.25 : 1, // seconds per benchmark.js case
    impls: [...IMPLS],
    workloads: null, // null = all
    nativeFree: NATIVE_FREE,
    json: path.join(BENCH_DIR, NATIVE_FREE ? 'results-native-free.json' : 'results.json'),
    keep: false, // keep temp dirs (debugging)
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`missing value after ${a}`);
      return v;
    };
    switch (a) {
      case '--quick':
      case '--full':
      case '--native-free':
        break;
      case '--rounds': cfg.rounds = posInt(a, next()); break;
      case '--records': cfg.records = posInt(a, next()); break;
      case '--gets': cfg.gets = posInt(a, next()); break;
      case '--duration': cfg.durableMs = posInt(a, next()); break;
      case '--producers': cfg.producers = posInt(a, next()); break;
      case '--reopen-mb': cfg.reopenMB = posInt(a, next()); break;
      case '--topics': cfg.topics = posInt(a, next()); break;
      case '--kafka-rss-mb': cfg.kafkaRssMB = posInt(a, next()); break;
      case '--only': cfg.impls = list(next(), IMPLS, a); break;
      case '--workloads': cfg.workloads = next().split(',').map((s) => s.trim().toLowerCase()).filter(Boolean); break;
      case '--json': cfg.json = path.resolve(next()); break;
      case '--no-json': cfg.json = null; break;
      case '--keep': cfg.keep = true; break;
      case '--help':
      case '-h':
        cfg.help = true;
        break;
      default:
        throw new Error(`unknown argument ${a} (try --help)`);
    }
  }
  return cfg;
}

export const USAGE = `usage: node bench/run.js [options]      (npm run bench -- [options])
  --quick              2 rounds, 200k records, 64 MB reopen log (a smoke run)
  --full               reopen/RSS on a 1 GB log (default 256 MB)
  --rounds N           rounds per workload (default 5); the median is reported
  --records N          records for W1/W2/W3 (default 1,000,000)
  --gets N             random gets for W4 (default 200,000)
  --duration MS        W-durable and W5 run time per round (default 2000)
  --producers N        W-durable concurrent producers (default 64)
  --reopen-mb N        size of the reopen/RSS log in MB
  --topics N           topics of the many-topics workload (default 10,000; --quick 2,000)
  --native-free        measure seglog/native-free (metadata in files, no native addon) instead of
                       the default entry; results go to bench/results-native-free.json
  --only a,b           implementations: seglog,lmdb,raw (default all)
  --workloads a,b      w1,w2,w3,w4,w5,w6,w7,w7m,w8,w9,durable,follow,reopen,topics,micro
                       (default all of these), kafka, kafka-rss (opt-in: they need kcat; Kafka
                       clients against seglog serve and librdkafka's mock cluster)
  --kafka-rss-mb N     kafka-rss: how far behind its consumer starts (default 256; --full 1024)
  --json PATH          where to write results (default bench/results.json); --no-json to skip
  --keep               keep the temporary directories`;

function posInt(flag, s) {
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got ${s}`);
  return n;
}

function list(s, allowed, flag) {
  const items = s.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  for (const x of items) if (!allowed.includes(x)) throw new Error(`${flag}: unknown '${x}' (allowed: ${allowed.join(', ')})`);
  return items;
}

// ---------------------------------------------------------------------------------------------
// Library loading

let seglogModule;
/** Imports ../dist/src/index.js; returns null (and says why once) when it is not built. */
export async function loadSeglog({ quiet = false } = {}) {
  if (seglogModule !== undefined) return seglogModule;
  if (!fs.existsSync(DIST_INDEX)) {
    if (!quiet) console.log(`[bench] ${path.relative(ROOT_DIR, DIST_INDEX)} not found: seglog is skipped (run npm run build)`);
    return (seglogModule = null);
  }
  try {
    const mod = await import(pathToFileURL(DIST_INDEX).href);
    if (typeof mod.openLog !== 'function') {
      if (!quiet) console.log('[bench] dist/src/index.js has no openLog export: seglog is skipped');
      return (seglogModule = null);
    }
    return (seglogModule = mod);
  } catch (err) {
    if (!quiet) console.log(`[bench] could not import dist/src/index.js: ${err?.message ?? err}; seglog is skipped`);
    return (seglogModule = null);
  }
}

// ---------------------------------------------------------------------------------------------
// Timing and statistics

export const now = () => performance.now();

export function gc() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
}

/**
 * Before each measurement: write back dirty pages left by the previous one (so its writeback does
 * not land on the next implementation's clock) and collect garbage.
 */
let syncMissing = false;
export function settle() {
  if (!syncMissing) {
    const r = spawnSync('sync', [], { stdio: 'ignore' });
    if (r.error) syncMissing = true;
  }
  gc();
}

export function median(xs) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** p in [0, 100]; nearest-rank percentile of a (typed) array of samples (sorted in place). */
export function percentile(samples, p) {
  if (samples.length === 0) return NaN;
  const a = samples instanceof Float64Array ? samples.sort() : Float64Array.from(samples).sort();
  const rank = Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1));
  return a[rank];
}

/** Records (or operations) per second, formatted as 1.23M/s, 456k/s. */
export function fmtRate(x) {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(0)}k/s`;
  return `${x.toFixed(0)}/s`;
}

/** 1000000 -> '1M', 200000 -> '200k'. */
export function fmtCount(n) {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return n.toLocaleString('en-US');
}

export function fmtNum(x, digits = 1) {
  if (!Number.isFinite(x)) return '-';
  return x.toFixed(digits);
}

export function fmtRatio(x) {
  if (!Number.isFinite(x)) return '-';
  return x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
}

export function fmtBytes(n) {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

// ---------------------------------------------------------------------------------------------
// Temporary directories (all under one root in os.tmpdir(), removed at exit)

let tmpRoot = null;
let keepTmp = false;

export function setKeepTmp(v) {
  keepTmp = v;
}

export function tmpDir(label) {
  if (!tmpRoot) {
    tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-bench-'));
    process.once('exit', cleanupTmp);
    for (const sig of ['SIGINT', 'SIGTERM']) {
      process.once(sig, () => {
        cleanupTmp();
        process.exit(130);
      });
    }
  }
  return fs.mkdtempSync(path.join(tmpRoot, `${label}-`));
}

export function tmpFile(label) {
  return path.join(tmpDir(label), 'data.bin');
}

export function rmrf(p) {
  if (!p || keepTmp) return;
  try {
    fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    /* best effort */
  }
}

export function cleanupTmp() {
  if (!tmpRoot) return;
  if (keepTmp) {
    console.log(`[bench] temporary data kept in ${tmpRoot}`);
  } else {
    try {
      fs.rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* best effort */
    }
  }
  tmpRoot = null;
}

export function dirBytes(p) {
  let total = 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    const q = path.join(p, e.name);
    total += e.isDirectory() ? dirBytes(q) : fs.statSync(q).size;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Test data

/** Small deterministic PRNG (xorshift32), so every implementation sees the same sequence. */
export function rng(seed = 0x9e3779b9) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/**
 * A pool of `count` distinct values of `size` bytes each (views of one random buffer). Workloads
 * take value i as pool[i & (count - 1)]; count must be a power of two.
 */
export function makeValues(size, count = 1024) {
  const next = rng(12345);
  const backing = Buffer.allocUnsafe(size * count);
  for (let i = 0; i < backing.length; i += 4) backing.writeUInt32LE(next(), i);
  const pool = new Array(count);
  for (let i = 0; i < count; i++) pool[i] = backing.subarray(i * size, (i + 1) * size);
  return pool;
}

/** `n` random offsets in [0, max), deterministic. */
export function randomOffsets(n, max, seed = 777) {
  const next = rng(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = next() % max;
  return out;
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    totalMemMB: Math.round(os.totalmem() / (1 << 20)),
    date: new Date().toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Running one workload file on its own

/**
 * `node bench/<workload>.js [options]`: when the module at `metaUrl` is the script node was started
 * with, runs `workload` alone (after `npm run build`) and prints its rows and details.
 */
export async function runAlone(metaUrl, workload) {
  if (process.argv[1] !== fileURLToPath(metaUrl)) return;
  const cfg = parseArgs();
  const seglog = await loadSeglog();
  if (!seglog) process.exit(2);
  console.log(`## ${workload.title(cfg)}`);
  const res = await workload.run({ cfg, seglog, values: makeValues(cfg.valueBytes) });
  for (const row of res.rows) {
    const targets = (row.targets ?? []).map((t) => `${t.text} ${t.pass ? 'met' : 'NOT met'}`).join(', ');
    console.log(`  ${row.name}: ${row.cells.seglog ?? Object.values(row.cells)[0]}${targets ? ` (${targets})` : ''}`);
  }
  if (res.details) console.log(`  details: ${JSON.stringify(res.details)}`);
}
