// The shape of the code (issue 13): dependency-cruiser with .dependency-cruiser.cjs finds no import
// cycle (type-only imports count), no import against the layer order and no src/ module but the
// CLI importing native-free/. A probe tree with a cycle and an upward import shows the rules bite.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const depcruise = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function cruise(cwd: string, config: string, paths: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [depcruise, '--config', config, '--output-type', 'err', ...paths], { cwd, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('architecture', () => {
  test('src/ and native-free/ keep the layer order and have no import cycle', () => {
    const r = cruise(root, '.dependency-cruiser.cjs', ['src', 'native-free']);
    expect(r.out).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  test('the rules catch a cycle, an upward import and src/ importing native-free/', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-arch-'));
    try {
      const write = (f: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), text);
      };
      write('src/base/a.ts', "import { b } from '../log/b.js';\nexport const a = () => b;\n");
      write('src/log/b.ts', "import { a } from '../base/a.js';\nexport const b = () => a;\n");
      write('src/format/c.ts', "import { n } from '../../native-free/n.js';\nexport const c = n;\n");
      write('native-free/n.ts', 'export const n = 1;\n');
      write('probe.cjs', `const c = require(${JSON.stringify(path.join(root, '.dependency-cruiser.cjs'))});\n`
        + 'module.exports = { ...c, options: { ...c.options, tsConfig: undefined } };\n');
      const r = cruise(dir, 'probe.cjs', ['src', 'native-free']);
      expect(r.status).not.toBe(0);
      expect(r.out).toContain('no-circular');
      expect(r.out).toContain('layer-base');
      expect(r.out).toContain('src-not-to-native-free');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
