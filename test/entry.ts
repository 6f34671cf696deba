// The entry points every behavioural suite runs against. Suites use `describe.each(entries)`, so
// adding an entry point (e.g. `seglog/native-free`) is one line here.
//
// `load` imports the TypeScript sources (what vitest runs in-process); `dist` is the compiled module
// that child processes (lock and crash tests) import by absolute path. test/global-setup.ts builds
// dist/ before the suite starts, so both are the same code.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type SeglogModule = typeof import('../src/index.js');

export interface Entry {
  name: string;
  load: () => Promise<SeglogModule>;
  dist: string;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const entries: Entry[] = [
  { name: 'seglog', load: () => import('../src/index.js'), dist: path.join(root, 'dist/src/index.js') },
  { name: 'seglog/native-free', load: () => import('../native-free/index.js'), dist: path.join(root, 'dist/native-free/index.js') },
];
