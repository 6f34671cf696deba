// The package as a user gets it: `npm pack` (of the dist/ test/global-setup.ts built, as
// `npm run build` does), installed offline into a new project (test/package-probe.ts), then used
// there — both entries imported and required (the native-free ones under `node --no-addons`),
// the type declarations of both conditions checked by tsc, the CLI run through npx, every source
// map's sources and every relative README/docs link resolved inside the installed package, and
// the `files` list shown to leave out a generated docs/api/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FIXTURES } from './helpers.js';
import { filesUnder, mustSucceed, relativeLinks, run, writeProbeProject } from './package-probe.js';

const root = path.resolve(FIXTURES, '../..');
const npm = 'npm';
let work: string;
let probe: string;
let installed: string;
let packedFiles: string[];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-package-'));
  probe = path.join(work, 'probe');
  fs.mkdirSync(probe);
  // --ignore-scripts: `prepare` would rebuild dist/ under the other suites' feet; it is fresh.
  const packed = mustSucceed(await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', probe], root), 'npm pack');
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packedFiles = info!.files.map((f) => f.path);
  writeProbeProject(root, probe, info!.filename);
  mustSucceed(await run(npm, ['ci', '--offline', '--no-audit', '--no-fund'], probe), 'npm ci --offline of the packed package');
  installed = path.join(probe, 'node_modules', 'seglog');
});

afterAll(() => {
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
});

function logDir(name: string): string {
  return path.join(work, name);
}

function okLine(r: { code: number | null; stdout: string; stderr: string }): Record<string, unknown> {
  expect(r.code, r.stderr).toBe(0);
  const line = r.stdout.split('\n').find((l) => l.startsWith('ok '));
  expect(line, r.stdout + r.stderr).toBeDefined();
  return JSON.parse(line!.slice(3)) as Record<string, unknown>;
}

describe('the packed package, installed offline into a new project', () => {
  test('holds the builds, the sources, LICENSE, README and docs — and no tests', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json', 'docs/api.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/native-free/index.js',
      'dist/cjs/package.json', 'dist/cjs/src/index.js', 'dist/cjs/src/index.d.ts', 'dist/cjs/native-free/index.js', 'dist/src/cli/main.js', 'src/index.ts', 'native-free/index.ts']) {
      expect(packedFiles, f).toContain(f);
    }
    expect(packedFiles.filter((f) => /^(test|bench|demo|dist\/test|dist\/bench|docs\/api)\//.test(f))).toEqual([]);
    expect(fs.readFileSync(path.join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  test("require('seglog') runs the scenario (the CommonJS build, LMDB loaded)", async () => {
    const r = okLine(await run(process.execPath, [path.join(FIXTURES, 'cjs-scenario.cjs'), 'seglog', logDir('cjs-default')], probe));
    expect(r).toEqual({ resolved: path.join(installed, 'dist/cjs/src/index.js'), ok: true, nativeLoaded: true });
  });

  test("require('seglog/native-free') runs the scenario under node --no-addons", async () => {
    const r = okLine(await run(process.execPath, ['--no-addons', path.join(FIXTURES, 'cjs-scenario.cjs'), 'seglog/native-free', logDir('cjs-free')], probe));
    expect(r).toEqual({ resolved: path.join(installed, 'dist/cjs/native-free/index.js'), ok: true, nativeLoaded: false });
  });

  test("import 'seglog' and 'seglog/native-free' resolve to the ES module build; native-free's full scenario runs with native loading disabled", async () => {
    const script = "const a = await import('seglog'), b = await import('seglog/native-free'); console.log('ok ' + JSON.stringify([import.meta.resolve('seglog'), import.meta.resolve('seglog/native-free'), typeof a.openLog, typeof b.openLog]))";
    const r = await run(process.execPath, ['--input-type=module', '-e', script], probe);
    expect(okLine(r)).toEqual([
      'file://' + path.join(installed, 'dist/src/index.js'), 'file://' + path.join(installed, 'dist/native-free/index.js'), 'function', 'function',
    ]);
    const free = okLine(await run(process.execPath, [path.join(FIXTURES, 'no-native.mjs'), path.join(installed, 'dist/native-free/index.js'), logDir('esm-free')], probe));
    expect(free.dlopenCalls).toEqual([]);
  });

  test('the CLI runs through npx: --help, and verify of a log the library wrote', async () => {
    const help = await run(npm, ['exec', '--offline', '--', 'seglog', '--help'], probe);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: seglog <command>/m);
    okLine(await run(process.execPath, [path.join(FIXTURES, 'cjs-scenario.cjs'), 'seglog', logDir('for-cli')], probe));
    const verified = await run(npm, ['exec', '--offline', '--', 'seglog', 'verify', logDir('for-cli'), '--json'], probe);
    expect(verified.code, verified.stderr).toBe(0);
    expect((JSON.parse(verified.stdout) as { ok: boolean }).ok).toBe(true);
  });

  test('the type declarations of both conditions check under tsc --strict (import in .mts, require in .cts), and a misuse is caught', async () => {
    fs.writeFileSync(path.join(probe, 'esm.mts'), [
      "import { openLog, SeglogError, type Log } from 'seglog';",
      "import { openLog as openFree } from 'seglog/native-free';",
      "const log: Log = await openLog('d'); const free: Log = await openFree('e');",
      "const n: number = log.topic('t').endOffset + free.topics().length; console.log(n, SeglogError.name);",
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(probe, 'cjs.cts'), [
      "import seglog = require('seglog');",
      "import free = require('seglog/native-free');",
      "async function main(): Promise<number> { const log: seglog.Log = await seglog.openLog('d'); await free.openLog('e'); return log.topic('t').endOffset; }",
      'void main();',
      '',
    ].join('\n'));
    // and one file that misuses the API: its error, and only its, shows the types are really read
    fs.writeFileSync(path.join(probe, 'wrong.cts'), "import seglog = require('seglog');\nexport const x: string = seglog.openLog('d');\n");
    const args = [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck',
      '--typeRoots', path.join(root, 'node_modules/@types'), '--types', 'node', 'esm.mts', 'cjs.cts', 'wrong.cts'];
    const r = await run(process.execPath, args, probe);
    const errors = (r.stdout + r.stderr).split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^wrong\.cts\(2,14\): error TS2322: Type 'Promise<Log>' is not assignable to type 'string'/);
  });

  test("every source map's sources resolve to a file shipped in the package", () => {
    const maps = filesUnder(installed).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(100);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(fs.readFileSync(path.join(installed, map), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const s of sources) {
        const file = path.resolve(installed, path.dirname(map), sourceRoot, s);
        if (!file.startsWith(installed + path.sep) || !fs.existsSync(file)) missing.push(`${map} -> ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('every relative link in README.md and docs/*.md resolves inside the installed package', () => {
    const docs = ['README.md', ...fs.readdirSync(path.join(installed, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    let links = 0;
    for (const doc of docs) {
      for (const target of relativeLinks(fs.readFileSync(path.join(installed, doc), 'utf8'))) {
        links++;
        const file = path.resolve(installed, path.dirname(doc), decodeURIComponent(target));
        if (!file.startsWith(installed + path.sep) || !fs.existsSync(file)) broken.push(`${doc} -> ${target}`);
      }
    }
    expect(links).toBeGreaterThan(5);
    expect(broken).toEqual([]);
  });

  test('"files" leaves out a generated docs/api/ (TypeDoc output) while taking docs/*.md', async () => {
    const stage = path.join(work, 'stage');
    for (const f of ['dist/src/index.js', 'docs/api.md', 'docs/api/index.html', 'docs/api/modules.md', 'docs/api/assets/style.css']) {
      fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
      fs.writeFileSync(path.join(stage, f), 'x');
    }
    for (const f of ['package.json', 'README.md', 'LICENSE']) fs.copyFileSync(path.join(root, f), path.join(stage, f));
    const r = mustSucceed(await run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], stage), 'npm pack --dry-run');
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path).sort();
    expect(files).toEqual(['LICENSE', 'README.md', 'dist/src/index.js', 'docs/api.md', 'package.json']);
  });
});
