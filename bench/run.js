// Benchmark runner: seglog vs lmdb-js used as a log vs the raw-fs ceiling, in one run.
//   npm run bench                  (builds, then node bench/run.js)
//   npm run bench -- --quick       (smoke run)   --help for all options
// Rounds of the implementations are interleaved (in a rotating order) so that machine noise
// hits all of them alike; the median of the rounds is reported. Results go to bench/results.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

// Re-run under --expose-gc so the runner can collect garbage between measurements.
if (typeof globalThis.gc !== 'function' && !process.env.SEGLOG_BENCH_NO_RESPAWN) {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, SELF, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, SEGLOG_BENCH_NO_RESPAWN: '1' },
  });
  process.exit(r.status ?? 1);
}

const common = await import('./common.js');
const { parseArgs, USAGE, loadSeglog, makeValues, machineInfo, median, settle, fmtRate, fmtRatio, fmtNum, setKeepTmp, cleanupTmp } = common;

let cfg;
try {
  cfg = parseArgs();
} catch (err) {
  console.error(err.message);
  console.error(USAGE);
  process.exit(2);
}
if (cfg.help) {
  console.log(USAGE);
  process.exit(0);
}
setKeepTmp(cfg.keep);

const ALL = [
  ['w1', './w1-append-batch.js'],
  ['w2', './w2-append-sync.js'],
  ['w3', './w3-scan.js'],
  ['w4', './w4-random-get.js'],
  ['w5', './w5-tail.js'],
  ['w6', './w6-fanout.js'],
  ['w7', './w7-commit.js'],
  ['w7m', './w7-members.js'],
  ['w8', './w8-compact.js'],
  ['w9', './w9-retention.js'],
  ['durable', './w-durable.js'],
  ['follow', './follow-latency.js'],
  ['reopen', './reopen.js'],
  ['topics', './topics.js'],
  ['micro', './micro.js'],
  // Opt-in (--workloads kafka / kafka-rss): they need kcat and take minutes.
  ['kafka', './kafka.js', { optIn: true }],
  ['kafka-rss', './kafka-rss.js', { optIn: true }],
];
if (cfg.workloads) {
  for (const w of cfg.workloads) {
    if (!ALL.some(([id]) => id === w)) {
      console.error(`--workloads: unknown '${w}' (allowed: ${ALL.map(([id]) => id).join(', ')})`);
      process.exit(2);
    }
  }
}
const selected = ALL.filter(([id, , opts]) => (cfg.workloads ? cfg.workloads.includes(id) : !opts?.optIn));

const seglog = cfg.impls.includes('seglog') ? await loadSeglog() : null;
const impls = cfg.impls.filter((i) => i !== 'seglog' || seglog);
const machine = machineInfo();

console.log(`seglog benchmark${cfg.nativeFree ? " (entry: seglog/native-free)" : ""} — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}`);
console.log(
  `rounds ${cfg.rounds}, ${cfg.records.toLocaleString('en-US')} records × ${cfg.valueBytes} B, ` +
    `implementations: ${impls.join(', ') || '(none)'}${cfg.quick ? ' (quick)' : ''}` +
    `${typeof globalThis.gc === 'function' ? '' : ' (no --expose-gc)'}`,
);

const ctx = {
  cfg,
  seglog,
  values: makeValues(cfg.valueBytes),
  datasets: {},
  datasetDirs: {},
};

const results = { machine, config: { ...cfg, impls, json: undefined }, workloads: {} };
const rows = [];
const notes = [];
let failures = 0;

for (const [id, file] of selected) {
  const wl = (await import(file)).default;
  const title = typeof wl.title === 'function' ? wl.title(cfg) : wl.title;
  console.log(`\n## ${title}`);
  try {
    if (wl.run) {
      if (wl.seglogOnly && !seglog) {
        console.log('  skipped (seglog not available)');
        continue;
      }
      settle();
      const out = await wl.run(ctx);
      results.workloads[id] = { title, ...out.details };
      if (out.details?.failed) failures += out.details.failed;
      rows.push(...(out.rows ?? []));
      notes.push(...(out.notes ?? []));
    } else {
      const out = await runRounds(wl, title);
      results.workloads[id] = out.json;
      rows.push(out.row);
      notes.push(...out.notes);
    }
  } catch (err) {
    failures++;
    console.log(`  FAILED: ${err?.stack ?? err}`);
    results.workloads[id] = { title, error: String(err?.message ?? err) };
  }
}
cleanupTmp();

// ---------------------------------------------------------------------------------------------
// Report

console.log('\n## Results (medians)\n');
const table = markdownTable(rows);
console.log(table);
if (notes.length) console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}`);
console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${cfg.rounds} rounds, ${machine.date}`);
results.table = table;
results.notes = notes;

if (cfg.json) {
  const tmp = path.join(path.dirname(cfg.json), `${path.basename(cfg.json)}.tmp`);
  fs.writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
  fs.renameSync(tmp, cfg.json);
  console.log(`results written to ${path.relative(process.cwd(), cfg.json) || cfg.json}`);
}
if (failures) {
  console.log(`${failures} workload(s) or implementation(s) failed (see above)`);
  process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------

async function runRounds(wl, title) {
  const names = Object.keys(wl.impls).filter((k) => impls.includes(k.split(':')[0]));
  const perImpl = Object.fromEntries(names.map((n) => [n, []]));
  const failed = {};
  for (let round = 0; round < cfg.rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const parts = [];
    for (const name of order) {
      if (failed[name]) continue;
      settle();
      try {
        const r = await wl.impls[name](ctx, round);
        const rate = (r.ops / r.ms) * 1000;
        perImpl[name].push({ ...r, rate });
        let part = `${name} ${fmtRate(rate)}`;
        if (r.extra?.p50Ms !== undefined) part += ` (p50 ${fmtNum(r.extra.p50Ms, 2)} ms, p99 ${fmtNum(r.extra.p99Ms, 2)} ms)`;
        parts.push(part);
      } catch (err) {
        failed[name] = String(err?.message ?? err);
        failures++;
        console.log(`  ${name} FAILED: ${err?.stack ?? err}`);
      }
    }
    console.log(`  round ${round + 1}/${cfg.rounds}: ${parts.join(' | ')}`);
  }

  const med = {};
  const medExtra = {};
  for (const name of names) {
    const rs = perImpl[name];
    med[name] = median(rs.map((r) => r.rate));
    const keys = new Set(rs.flatMap((r) => Object.keys(r.extra ?? {})));
    medExtra[name] = Object.fromEntries([...keys].map((k) => [k, median(rs.map((r) => r.extra?.[k]))]));
  }
  const vsLmdb = med.seglog / med.lmdb;
  const vsRaw = med.seglog / med.raw;
  const targets = [];
  const t = wl.targets ?? {};
  const check = (x, min) => (Number.isFinite(x) ? x >= min : undefined);
  if (t.lmdb !== undefined) targets.push({ text: `≥ ${t.lmdb}× lmdb`, pass: check(vsLmdb, t.lmdb) });
  if (t.raw !== undefined) targets.push({ text: `≥ ${Math.round(t.raw * 100)}% raw`, pass: check(vsRaw, t.raw) });
  if (t.abs !== undefined) targets.push({ text: `≥ ${fmtRate(t.abs).replace('/s', '')} ${wl.unit}`, pass: check(med.seglog, t.abs) });

  const cell = (name) => {
    if (!(name in med)) return '-';
    if (failed[name] && !perImpl[name].length) return 'failed';
    let s = fmtRate(med[name]);
    const e = medExtra[name];
    if (e.p50Ms !== undefined) s += ` (p50 ${fmtNum(e.p50Ms, 2)}, p99 ${fmtNum(e.p99Ms, 2)} ms)`;
    return s;
  };
  const short = wl.short ? wl.short(cfg) : title;
  const row = {
    name: short,
    cells: { seglog: cell('seglog'), lmdb: cell('lmdb'), raw: cell('raw') },
    vsLmdb,
    vsRaw,
    targets,
  };

  const notes = [];
  if (wl.id === 'w2' && medExtra.seglog?.flushMs !== undefined) {
    notes.push(
      `W2 seglog: appendSync loop ${fmtNum(medExtra.seglog.loopMs, 0)} ms + flush ${fmtNum(medExtra.seglog.flushMs, 0)} ms; ` +
        `lmdb: put loop ${fmtNum(medExtra.lmdb?.loopMs, 0)} ms + commit/sync ${fmtNum(medExtra.lmdb?.flushMs, 0)} ms; raw includes one final fsync.`,
    );
  }
  if (wl.id === 'w3') {
    notes.push(
      `W3 open time (not in the rate): seglog ${fmtNum(medExtra.seglog?.openMs, 1)} ms, lmdb ${fmtNum(medExtra.lmdb?.openMs, 1)} ms.`,
    );
  }
  if (wl.id === 'durable') {
    if (med['lmdb:commit-ack'] !== undefined) {
      notes.push(
        `W-durable lmdb = await put + await db.flushed (durable ack); lmdb's own put promise (resolves at commit, before fsync): ` +
          `${fmtRate(med['lmdb:commit-ack'])} (p50 ${fmtNum(medExtra['lmdb:commit-ack'].p50Ms, 2)} ms).`,
      );
    }
    if (medExtra.raw?.commits !== undefined) notes.push(`W-durable raw = per-tick group commit (writeSync + fs.fsync), ${fmtNum(medExtra.raw.commits, 0)} fsyncs/round.`);
  }
  if (wl.rawLabel) row.rawLabel = wl.rawLabel;

  const json = {
    title,
    unit: wl.unit,
    medians: med,
    medianExtras: medExtra,
    ratios: { seglogOverLmdb: vsLmdb, seglogOverRaw: vsRaw },
    targets,
    rounds: Object.fromEntries(names.map((n) => [n, perImpl[n].map((r) => ({ rate: r.rate, ms: r.ms, ops: r.ops, ...r.extra }))])),
    failed,
  };
  return { row, json, notes };
}

function markdownTable(rs) {
  const header = ['Workload', 'seglog', 'lmdb', 'raw', 'seglog/lmdb', 'seglog/raw', 'Targets'];
  const lines = [header, header.map(() => '---')];
  for (const r of rs) {
    lines.push([
      r.name,
      r.cells.seglog ?? '-',
      r.cells.lmdb ?? '-',
      r.rawLabel && r.cells.raw && r.cells.raw !== '-' ? `${r.cells.raw} ¹` : (r.cells.raw ?? '-'),
      fmtRatio(r.vsLmdb),
      fmtRatio(r.vsRaw),
      (r.targets ?? []).map((t) => `${t.text} ${t.pass === undefined ? '?' : t.pass ? '✓' : '✗'}`).join(', ') || '-',
    ]);
  }
  let s = lines.map((l) => `| ${l.join(' | ')} |`).join('\n');
  if (rs.some((r) => r.rawLabel)) s += '\n\n¹ W4 raw: one 4 KiB pread per get at a known position (no index lookup).';
  return s;
}
