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
  /** Environment of child processes that run this entry (spawnFixture). */
  env?: Record<string, string>;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const entries: Entry[] = [
  { name: 'seglog', load: () => import('../src/index.js'), dist: path.join(root, 'dist/src/index.js') },
  { name: 'seglog/native-free', load: () => import('../native-free/index.js'), dist: path.join(root, 'dist/native-free/index.js') },
];

/**
 * The default entry point with memory mapping off (`mmap: false` on every openLog; SEGLOG_MMAP=0 in
 * child processes): the positional-read path a process gets where the addon does not load. The
 * suites that cover reads, recovery and crashes run over `readPathEntries`; running the whole
 * behavioural suite this way is `SEGLOG_MMAP=0 npm test` (see README, Testing).
 */
export const mmapOff: Entry = {
  name: 'seglog (mmap off)',
  load: async () => {
    const m = await import('../src/index.js');
    const openLog: typeof m.openLog = (dir, options) =>
      m.openLog(dir, options === undefined || (typeof options === 'object' && options !== null && !('mmap' in options)) ? { ...options, mmap: false } : options);
    return { ...m, openLog };
  },
  dist: entries[0]!.dist,
  env: { SEGLOG_MMAP: '0' },
};

/** Every entry point, and the default one once more with mapping off (reads, recovery, crashes). */
export const readPathEntries: Entry[] = [...entries, mmapOff];
