// Many topics (issue 17 item 4): <topics> topics × <records> records each in one log, in fresh
// Node processes limited to 256 descriptors (`ulimit -n 256`, macOS's default):
//   create: openLog, log.topic() + appendBatch for every topic (250 topics' appends in flight at
//           once), log.close(); create time is openLog to the last append settled, close apart.
//   open:   openLog (clean close: nothing is scanned), then log.topic() of every topic, then every
//           topic read from its start (records checked), log.close(). Open time is openLog +
//           log.topic() of every topic; RSS is the largest process.memoryUsage().rss seen, after
//           the reads. Both report the most descriptors the process had open (/proc/self/fd).
// Targets: open ≤ 1 s, RSS ≤ 300 MB. Before this change the create child fails with EMFILE at
// about the 80th topic (three descriptors per active segment).
//   node bench/run.js --workloads topics [--topics N]     (or alone, after npm run build:)
//   node bench/topics.js [--topics N] [--durability fsync|os|none] [--native-free]
// Child: node bench/topics.js --child create|open <dir> <topics> <records> <durability>
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DIST_INDEX, fmtNum, loadSeglog, now, rmrf, tmpDir } from './common.js';

const SELF = fileURLToPath(import.meta.url);
const MB = 1 << 20;
/** The children's descriptor limit (SEGLOG_BENCH_FDS overrides it, e.g. to measure a version that needs more). */
const FDS_LIMIT = Number(process.env.SEGLOG_BENCH_FDS ?? 256);

const name = (i) => `t${String(i).padStart(5, '0')}`;
const value = (i, r) => Buffer.from(`${name(i)}:${r}`);

function openFds() {
  try { return fs.readdirSync('/proc/self/fd').length; } catch { return -1; }
}

async function child(mode, dir, topics, records, durability) {
  const mod = await loadSeglog({ quiet: true });
  if (!mod) process.exit(2);
  let fdsMax = 0;
  const fds = () => { fdsMax = Math.max(fdsMax, openFds()); };
  if (mode === 'create') {
    const t0 = now();
    const log = await mod.openLog(dir, { durability });
    for (let i = 0; i < topics; i += 250) {
      const pending = [];
      for (let j = i; j < Math.min(topics, i + 250); j++) {
        pending.push(log.topic(name(j)).appendBatch(Array.from({ length: records }, (_, r) => ({ value: value(j, r) }))));
      }
      await Promise.all(pending);
      fds();
    }
    const t1 = now();
    await log.close();
    const t2 = now();
    fds();
    process.stdout.write(`${JSON.stringify({ createMs: t1 - t0, closeMs: t2 - t1, fdsMax, rssMB: process.memoryUsage.rss() / MB })}\n`);
    return;
  }
  if (mode === 'open') {
    const rss = process.memoryUsage.rss;
    const t0 = now();
    const log = await mod.openLog(dir, { durability });
    const t1 = now();
    const handles = [];
    for (let i = 0; i < topics; i++) handles.push(log.topic(name(i)));
    const t2 = now();
    fds();
    const openRssMB = rss() / MB;
    let read = 0;
    for (let i = 0; i < topics; i++) {
      let r = 0;
      for (const rec of handles[i].read({ from: 0 })) {
        if (!rec.valueBytes.equals(value(i, r))) throw new Error(`${name(i)}: record ${r} differs`);
        r++;
      }
      if (r !== records) throw new Error(`${name(i)}: ${r} records, expected ${records}`);
      read += r;
      if ((i & 255) === 0) fds();
    }
    const t3 = now();
    const maxRssMB = rss() / MB;
    fds();
    await log.close();
    const t4 = now();
    process.stdout.write(`${JSON.stringify({ openLogMs: t1 - t0, topicsMs: t2 - t1, openMs: t2 - t0, readMs: t3 - t2, closeMs: t4 - t3, read, openRssMB, maxRssMB, fdsMax })}\n`);
    return;
  }
  throw new Error(`unknown child mode ${mode}`);
}

/** Runs a child under `ulimit -n 256`; its JSON line, or { error } with the last line of its stderr. */
function spawnChild(args, nativeFree) {
  const node = [process.execPath, SELF, '--child', ...args, ...(nativeFree ? ['--native-free'] : [])];
  try {
    const out = execFileSync('bash', ['-c', `ulimit -n ${FDS_LIMIT} && exec "$0" "$@"`, ...node], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
    return JSON.parse(out.trim().split('\n').pop());
  } catch (err) {
    const lines = String(err.stderr ?? err.message).split('\n').filter((l) => /Error|EMFILE/.test(l));
    return { error: lines[0] ?? String(err.message).split('\n')[0] };
  }
}

export async function measure({ topics, records = 10, durability = 'os', nativeFree = false, log = console.log }) {
  const dir = tmpDir('topics');
  try {
    log(`  creating ${topics.toLocaleString('en-US')} topics × ${records} records (durability '${durability}') under ulimit -n ${FDS_LIMIT}...`);
    const created = spawnChild(['create', dir, String(topics), String(records), durability], nativeFree);
    if (created.error) return { created };
    log(`  created in ${fmtNum(created.createMs / 1000, 2)} s, closed in ${fmtNum(created.closeMs / 1000, 2)} s, ≤ ${created.fdsMax} descriptors, RSS ${fmtNum(created.rssMB, 0)} MB`);
    const opened = spawnChild(['open', dir, String(topics), String(records), durability], nativeFree);
    if (opened.error) return { created, opened };
    log(`  opened in ${fmtNum(opened.openMs, 0)} ms (openLog ${fmtNum(opened.openLogMs, 0)} ms, log.topic() × ${topics} ${fmtNum(opened.topicsMs, 0)} ms), ` +
      `read ${opened.read.toLocaleString('en-US')} records in ${fmtNum(opened.readMs, 0)} ms, RSS ${fmtNum(opened.maxRssMB, 0)} MB (after open ${fmtNum(opened.openRssMB, 0)}), ≤ ${opened.fdsMax} descriptors`);
    return { created, opened };
  } finally {
    rmrf(dir);
  }
}

export default {
  id: 'topics',
  title: (cfg) => `Many topics (${cfg.topics.toLocaleString('en-US')} topics × 10 records, ulimit -n ${FDS_LIMIT})`,
  seglogOnly: true,
  async run(ctx) {
    const { cfg } = ctx;
    const res = await measure({ topics: cfg.topics, nativeFree: cfg.nativeFree });
    const failed = res.created?.error ?? res.opened?.error;
    if (failed) {
      console.log(`  FAILED: ${failed}`);
      return { rows: [{ name: `${cfg.topics} topics under ulimit -n ${FDS_LIMIT}`, cells: { seglog: 'failed' }, targets: [{ text: 'runs', pass: false }] }], details: { ...res, failed: 1 } };
    }
    const { created, opened } = res;
    return {
      rows: [
        { name: `Create ${cfg.topics} topics × 10 records`, cells: { seglog: `${fmtNum(created.createMs / 1000, 2)} s` }, targets: [] },
        { name: `Open ${cfg.topics} topics (openLog + topic())`, cells: { seglog: `${fmtNum(opened.openMs, 0)} ms` }, targets: [{ text: '≤ 1 s', pass: opened.openMs <= 1000 }] },
        { name: `Max RSS reading ${cfg.topics} topics`, cells: { seglog: `${fmtNum(opened.maxRssMB, 0)} MB` }, targets: [{ text: '≤ 300 MB', pass: opened.maxRssMB <= 300 }] },
      ],
      details: res,
    };
  },
};

if (process.argv[2] === '--child') {
  const [mode, dir, topics, records, durability] = process.argv.slice(3);
  child(mode, dir, Number(topics), Number(records), durability).catch((err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  });
} else if (process.argv[1] === SELF) {
  const arg = (flag, dflt) => { const i = process.argv.indexOf(flag); return i < 0 ? dflt : process.argv[i + 1]; };
  if (!fs.existsSync(DIST_INDEX)) { console.error(`${DIST_INDEX} not found: run npm run build`); process.exit(2); }
  const res = await measure({ topics: Number(arg('--topics', '10000')), durability: arg('--durability', 'os'), nativeFree: process.argv.includes('--native-free') });
  console.log(JSON.stringify(res));
  if (res.created?.error || res.opened?.error) process.exit(1);
}
