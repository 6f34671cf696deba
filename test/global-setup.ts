// Builds dist/ once before the suite, as `npm run build` does: crash tests run the library in child
// Node processes, which load the compiled JavaScript (dist/src, dist/native-free), and the CommonJS
// and package tests require the CommonJS build (dist/cjs, with its package.json written by
// scripts/cjs-package.mjs), so all of it must match the sources under test.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  // (emptied first, as `npm run build` does: a file left by a source since removed would be packed
  // and tested as if it were still there)
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  for (const args of [[tsc, '-p', 'tsconfig.build.json'], [tsc, '-p', 'tsconfig.cjs.json'], [path.join(root, 'scripts/cjs-package.mjs')]]) {
    execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  }
}
