// Loads the mapped-reads addon (native/seglog_mmap.c, built at install by node-gyp, or a prebuild of
// `npm run prebuilds`) once per process, in one place behind try/catch, as msgpackr loads its
// native part: when it is missing (no compiler at install), fails to load (`node --no-addons`, the
// permission model, another ABI) or the runtime refuses external array buffers (Electron >= 21),
// the answer is no Mapper and the reason, and the log reads with positional reads (mapper.ts).
// Only the default entry point (src/index.ts) imports this file; seglog/native-free never does.
//
// Crash: nothing here is on disk.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Mapper, ReadPathChoice } from './mapper.js';

interface Binding {
  map(fd: number, length: number): ArrayBuffer;
  advise(mapping: ArrayBuffer): void;
  live(): [number, number];
  externalAllowed(): boolean;
  pageBytes: number;
}

let loaded: ReadPathChoice | undefined;

/**
 * This file's path, in the ES module build and the CommonJS one alike (`import.meta` does not
 * compile to CommonJS and `__filename` does not exist in an ES module): the first frame of a stack
 * trace is this function, in this file.
 */
function thisFile(): string {
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_err, frames) => frames;
    const frames = new Error().stack as unknown as NodeJS.CallSite[];
    const name = frames[0]?.getFileName() ?? '';
    return name.startsWith('file:') ? fileURLToPath(name) : name;
  } finally {
    Error.prepareStackTrace = saved;
  }
}

/** The package's root (where binding.gyp, build/ and prebuilds/ are), from src/io, dist/src/io or dist/cjs/src/io. */
function packageRoot(): string {
  const here = path.dirname(thisFile());
  let dir = here;
  for (let i = 0; i < 5; i++) {
    dir = path.dirname(dir);
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
  }
  return path.resolve(here, '..', '..');
}

/**
 * The addon's Mapper, or none and why. `root` (tests) loads from another folder: one without a
 * build shows the fallback. The process-wide answer (no `root`) is computed once.
 */
export function loadMmapAddon(root?: string): ReadPathChoice {
  if (root === undefined && loaded !== undefined) return loaded;
  const choice = tryLoad(root ?? packageRoot());
  if (root === undefined) loaded = choice;
  return choice;
}

function tryLoad(root: string): ReadPathChoice {
  if (process.platform === 'win32') return { mapper: undefined, io: 'pread', reason: 'memory mapping is not built on Windows' };
  let binding: Binding;
  try {
    const require = createRequire(thisFile());
    const load = require('node-gyp-build') as (dir: string) => Binding;
    binding = load(root);
  } catch (err) {
    return { mapper: undefined, io: 'pread', reason: `the mapped-reads addon did not load (${firstLine(err)})` };
  }
  try {
    if (!binding.externalAllowed()) return { mapper: undefined, io: 'pread', reason: 'this runtime refuses external array buffers' };
  } catch (err) {
    return { mapper: undefined, io: 'pread', reason: `the mapped-reads addon failed its probe (${firstLine(err)})` };
  }
  const mapper: Mapper = {
    map: (fd, length) => binding.map(fd, length),
    advise: (mapping) => binding.advise(mapping),
    liveMappings: () => binding.live()[0],
  };
  return { mapper, io: 'mmap', reason: 'closed segments are read through memory mappings (native/seglog_mmap.c)' };
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.slice(0, 200);
}
