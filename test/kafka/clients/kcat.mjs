// kcat driver (kcat 1.7.1 on librdkafka 2.0.2, `kcat` on PATH or $KCAT): `node kcat.mjs` with a JSON
// request on stdin (see driver.mjs). kcat cannot create topics: it relies on auto-creation through
// Metadata. Ops: produce (`kcat -P -p <partition> -K '\t' -H name=value -z <codec>` per partition
// and header set; kcat cannot set timestamps, so the result gives the send window; values and keys
// must not hold a tab or a newline), consume (`kcat -C -o <offset> -e -J`: beginning, s@<ms>, ...),
// group (two `kcat -G` members, the second started once the first has printed part of the topic,
// while more records are produced; both stopped with SIGTERM once every record was seen, which
// commits their offsets), resume (`kcat -G -e`: a new member reads from the committed offsets to the
// end and exits), end (`kcat -Q -t topic:p:-1`: end offsets).
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { Seen, runDriver, until } from './driver.mjs';

const KCAT = process.env.KCAT ?? 'kcat';

const common = (req, role, quiet = true) => ['-b', req.brokers, '-X', `client.id=${req.clientId ?? 'kcat'}${role ? `-${role}` : ''}`, ...(quiet ? ['-q'] : [])];
const groupConf = (req) => [
  '-X', 'auto.offset.reset=earliest', '-X', 'auto.commit.interval.ms=100', '-X', `session.timeout.ms=${req.sessionTimeoutMs ?? 6000}`,
  '-X', 'heartbeat.interval.ms=200', '-X', 'fetch.wait.max.ms=100', '-X', 'topic.metadata.refresh.interval.ms=1000',
];

/** Runs kcat to completion: resolves { code, lines, stderr }; rejects if it runs past `limitMs`. */
function kcat(args, input, limitMs = 30_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(KCAT, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = [];
    let stderr = '';
    readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`kcat ${args.join(' ')}: still running after ${limitMs} ms; stderr ${stderr}`)); }, limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, lines, stderr }); });
    child.stdin.end(input ?? '');
  });
}

function fromJson(line) {
  const m = JSON.parse(line);
  const headers = {};
  for (let i = 0; i + 1 < (m.headers ?? []).length; i += 2) headers[m.headers[i]] = m.headers[i + 1];
  return { partition: m.partition, offset: m.offset, key: m.key, value: m.payload, headers, timestamp: m.ts };
}

async function produce(req, records, codec = 'none') {
  const groups = new Map();
  for (const r of records) {
    const id = JSON.stringify([r.partition, r.headers]);
    if (!groups.has(id)) groups.set(id, { partition: r.partition, headers: r.headers, lines: [] });
    groups.get(id).lines.push(r.key === null ? r.value : `${r.key}\t${r.value}`);
  }
  const t0 = Date.now();
  for (const g of groups.values()) {
    const args = [...common(req), '-P', '-t', req.topic, '-p', String(g.partition), '-K', '\t', '-z', codec, '-X', 'linger.ms=5'];
    for (const [k, v] of Object.entries(g.headers)) args.push('-H', `${k}=${v}`);
    const r = await kcat(args, `${g.lines.join('\n')}\n`);
    if (r.code !== 0) throw new Error(`kcat -P exited ${r.code}: ${r.stderr}`);
  }
  return { sentFromMs: t0, sentToMs: Date.now() };
}

/** A long-running `kcat -G` member; its JSON lines go to `seen`. */
function member(req, name, seen) {
  const child = spawn(KCAT, [...common(req, name, false), ...groupConf(req), '-G', req.group, '-J', '-u', req.topic], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const assignments = [];
  child.stderr.on('data', (d) => { stderr += d; });
  // Without -q kcat reports each rebalance on stderr: "% Group g rebalanced (memberid ...): assigned: t [0], t [1]".
  readline.createInterface({ input: child.stderr }).on('line', (l) => {
    const m = /rebalanced .*: (assigned|revoked): (.*)$/.exec(l);
    if (m) assignments.push({ event: m[1], partitions: [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1])) });
  });
  readline.createInterface({ input: child.stdout }).on('line', (l) => seen.add(fromJson(l)));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    get stderr() { return stderr; },
    assignments,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

await runDriver('kcat', {
  async produce(req) {
    return produce(req, req.records, req.codec);
  },

  async consume(req) {
    const args = [...common(req), '-C', '-t', req.topic, '-o', String(req.offset ?? 'beginning'), '-e', '-J'];
    if (req.partition !== undefined) args.push('-p', String(req.partition));
    for (const [k, v] of Object.entries(req.config ?? {})) args.push('-X', `${k}=${v}`);
    const r = await kcat(args);
    if (r.code !== 0) throw new Error(`kcat -C exited ${r.code}: ${r.stderr}`);
    return { records: r.lines.map(fromJson) };
  },

  async end(req) {
    const args = [...common(req), '-Q'];
    for (let p = 0; p < req.partitions; p++) args.push('-t', `${req.topic}:${p}:-1`);
    const r = await kcat(args);
    if (r.code !== 0) throw new Error(`kcat -Q exited ${r.code}: ${r.stderr}`);
    const end = {};
    for (const line of r.lines) {
      const m = /Partition (\d+).*Offset: (-?\d+)/.exec(line);
      if (m) end[m[1]] = Number(m[2]);
    }
    return { end, lines: r.lines };
  },

  async group(req) {
    const seenA = new Seen();
    const seenB = new Seen();
    const a = member(req, 'a', seenA);
    let b;
    const total = () => new Set([...seenA.count.keys(), ...seenB.count.keys()]).size;
    try {
      await until(() => seenA.distinct >= req.joinAfter, () => `member a consumed the first part (${seenA.distinct}); stderr ${a.stderr}`);
      b = member(req, 'b', seenB);
      // Half of the new records while the group rebalances, half once b has its partitions.
      const during = req.produceDuring ?? [];
      const half = during.length >> 1;
      const sent = [await produce(req, during.slice(0, half))];
      await until(() => b.assignments.some((x) => x.event === 'assigned' && x.partitions.length > 0), () => `member b assigned partitions; stderr b ${b.stderr}`);
      sent.push(await produce(req, during.slice(half)));
      await until(() => total() >= req.expected, () => `every record consumed (${total()} of ${req.expected}; a ${seenA.distinct}, b ${seenB.distinct}); stderr a ${a.stderr} b ${b.stderr}`);
      const [exitA, exitB] = await Promise.all([a.stop(), b.stop()]);
      return { sent, members: { a: seenA.records, b: seenB.records }, assignments: { a: a.assignments, b: b.assignments }, exits: { a: exitA, b: exitB } };
    } finally {
      await Promise.allSettled([a.stop(), b?.stop()]);
    }
  },

  async resume(req) {
    const r = await kcat([...common(req, 'c'), ...groupConf(req), '-G', req.group, '-e', '-J', req.topic]);
    if (r.code !== 0) throw new Error(`kcat -G -e exited ${r.code}: ${r.stderr}`);
    return { records: r.lines.map(fromJson) };
  },
});
