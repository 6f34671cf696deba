// Helpers of test/package.test.ts: pack the package (`npm pack`, from the dist/ that
// test/global-setup.ts built), and install the tarball into a new project offline. npm's cache
// here holds the dependencies' tarballs (from `npm ci` of this repository) but not always their
// registry documents, so `npm install <tarball> --offline` cannot resolve versions; the probe
// project gets a lock file instead: seglog's runtime dependencies, closed over, copied from this
// repository's package-lock.json (same versions, same integrity hashes), plus the tarball, and
// `npm ci --offline` takes every package from the cache by its integrity.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { withinHangBound } from './helpers.js';

export interface RunResult { code: number | null; stdout: string; stderr: string }

/** The environment for child npm and node runs: npm's per-script variables of the parent removed. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_(package|lifecycle)_/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): Promise<RunResult> {
  return withinHangBound(new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: childEnv(extra), stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  }), `${cmd} ${args.join(' ')}`);
}

export function mustSucceed(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

interface LockEntry { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; [k: string]: unknown }

/** `name` as node would find it from the package at `from` (a lock-file path; '' for the root). */
function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const key = `${base === '' ? '' : base + '/'}node_modules/${name}`;
    if (packages[key] !== undefined) return key;
    if (base === '') return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/** Writes package.json and package-lock.json of a project `dir` that depends on `tarball` (a file in `dir`). */
export function writeProbeProject(repo: string, dir: string, tarball: string): void {
  const lock = JSON.parse(fs.readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as LockEntry & { version: string; license: string; bin: unknown; engines: unknown };
  const depsOf = (e: LockEntry) => Object.keys({ ...e.dependencies, ...e.optionalDependencies });
  const out: Record<string, LockEntry> = {};
  const queue: Array<[string, string]> = depsOf(pkg).map((name) => ['', name]);
  while (queue.length > 0) {
    const [from, name] = queue.shift()!;
    const key = resolveInLock(lock.packages, from, name);
    if (key === undefined || out[key] !== undefined) continue; // an optional dependency of another platform, or done
    const entry = { ...lock.packages[key] };
    delete entry.dev;
    delete entry.devOptional;
    delete entry.peer;
    out[key] = entry;
    for (const d of depsOf(entry)) queue.push([key, d]);
  }
  const integrity = 'sha512-' + crypto.createHash('sha512').update(fs.readFileSync(path.join(dir, tarball))).digest('base64');
  out['node_modules/seglog'] = { version: pkg.version, resolved: `file:${tarball}`, integrity, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines };
  const root = { name: 'seglog-probe', version: '1.0.0', private: true, dependencies: { seglog: `file:${tarball}` } };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(root, null, 2) + '\n');
  const probeLock = { name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages: { '': root, ...out } };
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(probeLock, null, 2) + '\n');
}

/** Every file under `dir`, as paths relative to it with '/' separators. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out;
}

/** Relative link targets of a markdown text (no URLs, no pure anchors), without their #anchor. */
export function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  for (const m of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const t = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(t) || t.startsWith('#')) continue;
    targets.push(t.split('#')[0]!);
  }
  return targets;
}
