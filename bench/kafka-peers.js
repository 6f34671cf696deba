// What the Kafka workloads (kafka.js, kafka-rss.js) share: the two servers they compare, each in
// its own process — `seglog serve` (dist/src/cli/main.js over a temp directory) and librdkafka's
// in-memory mock cluster (a `kcat -P -X test.mock.num.brokers=1` whose stdin stays open) — and
// kcat as the librdkafka client: produce a file of lines, consume to the end counting records.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT_DIR, now } from './common.js';

export const KCAT = process.env.KCAT ?? 'kcat';
export const CLI = path.join(ROOT_DIR, 'dist', 'src', 'cli', 'main.js');

/** Resolves with the first capture of `re` in the child's stderr; rejects if it exits first. */
function addressFrom(child, re, what) {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const lines = readline.createInterface({ input: child.stderr });
    lines.on('line', (l) => {
      stderr += `${l}\n`;
      const m = re.exec(l);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before printing its address: ${stderr}`)));
  });
}

function stopper(child, signal, before) {
  let done;
  return () => (done ??= new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    before?.();
    child.kill(signal);
  }));
}

/** `seglog serve <dir> --port 0` in a child process. */
export async function startSeglog(dir, extraArgs = []) {
  if (!fs.existsSync(CLI)) throw new Error(`${path.relative(ROOT_DIR, CLI)} not found (npm run build)`);
  const child = spawn(process.execPath, [CLI, 'serve', dir, '--host', '127.0.0.1', '--port', '0', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  const brokers = await addressFrom(child, /serving Kafka on (\S+)/, 'seglog serve');
  return { name: 'seglog', brokers, pid: child.pid, stop: stopper(child, 'SIGTERM') };
}

/** librdkafka's mock cluster (one broker; 4 partitions per auto-created topic; 5 MiB kept per partition). */
export async function startMock() {
  const child = spawn(KCAT, ['-b', 'unused:9092', '-X', 'test.mock.num.brokers=1', '-P', '-t', 'mock-keepalive'], { stdio: ['pipe', 'ignore', 'pipe'] });
  const brokers = await addressFrom(child, /replaced with (\S+)/, 'kcat mock cluster');
  return { name: 'mock', brokers, pid: child.pid, stop: stopper(child, 'SIGTERM', () => child.stdin.end()) };
}

/** The server's resident set from /proc (bytes): total, anonymous, file-backed, and the peak. */
export function rssOf(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') };
}

/** `count` lines of `valueBytes - 1` printable bytes (+ newline): kcat -P's input. */
export function writeLines(file, count, valueBytes) {
  const fd = fs.openSync(file, 'w');
  const chunkLines = 10_000;
  const chunk = Buffer.alloc(chunkLines * valueBytes);
  for (let i = 0; i < chunkLines; i++) {
    const line = chunk.subarray(i * valueBytes, (i + 1) * valueBytes);
    line.fill(97 + (i % 26));
    line.write(String(i).padStart(8, '0'), 0);
    line[valueBytes - 1] = 10;
  }
  for (let n = 0; n < count; n += chunkLines) fs.writeSync(fd, chunk, 0, Math.min(chunkLines, count - n) * valueBytes);
  fs.closeSync(fd);
}

function run(args, { stdinFile, onStdout } = {}) {
  return new Promise((resolve, reject) => {
    const stdin = stdinFile ? fs.openSync(stdinFile, 'r') : 'ignore';
    const child = spawn(KCAT, args, { stdio: [stdin, onStdout ? 'pipe' : 'ignore', 'pipe'] });
    if (stdinFile) fs.closeSync(stdin);
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    if (onStdout) child.stdout.on('data', onStdout);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

/**
 * kcat -P of every line of `file` into `topic` (partition `partition`, -1 = librdkafka's
 * partitioner); resolves with the wall time in ms (process start to exit, every record acked).
 */
export async function kcatProduce(brokers, topic, file, { partition = 0, lingerMs = 5, extra = [] } = {}) {
  const t0 = now();
  await run(['-b', brokers, '-P', '-t', topic, '-p', String(partition), '-q', '-X', `linger.ms=${lingerMs}`,
    '-X', 'batch.num.messages=10000', '-X', 'queue.buffering.max.messages=1000000', ...extra], { stdinFile: file });
  return now() - t0;
}

/**
 * kcat -C -o beginning -e of `topic` (all partitions, or one): counts the records (one line each);
 * resolves with { records, wallMs, readMs }: wallMs from process start, readMs from the first
 * record to the end (without kcat's start-up, metadata and first fetch). kcat prints one newline
 * per record (`-f '\n'`) unless `values`: then each value and a newline, 101 MB for 1M records
 * through this process's pipe, which measured as the read's bottleneck (2026-12-04, 1M × 100 B
 * from seglog serve: 447k–675k/s printing values into the pipe against 2.1M–2.3M/s with one newline
 * per record; kcat alone printing values to /dev/null: 0.36 s wall). librdkafka fetches, parses
 * and hands kcat every record either way.
 */
export async function kcatConsume(brokers, topic, { partition, extra = [], values = false } = {}) {
  let records = 0;
  let first = 0;
  const t0 = now();
  const args = ['-b', brokers, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', ...(values ? ['-D', '\n'] : ['-f', '\\n']), ...extra];
  if (partition !== undefined) args.push('-p', String(partition));
  await run(args, {
    onStdout: (d) => {
      if (first === 0) first = now();
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) records++;
    },
  });
  const t1 = now();
  return { records, wallMs: t1 - t0, readMs: t1 - first };
}
