// Loads the mapped-reads addon (native/seglog_mmap.c, built at install by node-gyp, or a prebuild of
// `npm run prebuilds`) once per process, in one place behind try/catch, as msgpackr loads its
// native part: when it is missing (no compiler at install), fails to load (`node --no-addons`, the
// permission model, another ABI) or the runtime refuses external array buffers (Electron >= 21),
// the answer is no Mapper and the reason, and the log reads with positional reads (mapper.ts).
// Only the default entry point (src/index.ts) loads the addon through this file; seglog/native-free
// never does. The same addon carries a hardware CRC32C (native/seglog_crc32c.c) that the Kafka
// server takes from here (loadedCrc32c) only once the process-wide load gave mapped reads, and, on the
// same terms, TCP_QUICKACK for the server's sockets (native/seglog_socket.c, loadedSocketOptions);
// and the batch checksum xxHash32 (native/seglog_xxh32.c), which format/checksum.ts takes from the
// process-wide load (useNativeXxh32): it hashes a mapping's bytes in place; that load also installs
// the check of a run of batches for the forward walks (format/checksum.ts useBatchVerifier).
//
// Crash: nothing here is on disk.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Mapper, ReadPathChoice } from './mapper.js';
import { useBatchVerifier, useNativeXxh32, type BatchVerifier, type Xxh32Range } from '../format/checksum.js';

interface Binding {
  map(fd: number, length: number): ArrayBuffer;
  advise(mapping: ArrayBuffer): void;
  live(): [number, number];
  externalAllowed(): boolean;
  pageBytes: number;
  /** CRC32C with the CPU's instruction (native/seglog_crc32c.c); absent where the CPU has none. */
  crc32c?: Crc32cFunction;
  /** setsockopt TCP_QUICKACK (native/seglog_socket.c): false off Linux or when the call failed. Absent in an older build. */
  setTcpQuickAck?(fd: number, on: boolean): boolean;
  /** getsockopt TCP_QUICKACK, or null off Linux or when the call failed. */
  getTcpQuickAck?(fd: number): boolean | null;
  /** xxHash32 (seed 0) of buf[start, end) in place (native/seglog_xxh32.c): the batch checksum. */
  xxh32?: Xxh32Range;
  /** The run of whole batches from start whose checksums match (native/seglog_xxh32.c); absent in an older build. */
  verifyBatches?: BatchVerifier;
}

/** The socket calls of the addon (native/seglog_socket.c). */
export interface SocketOptions {
  /** Sets TCP_QUICKACK on the socket `fd` (sends a pending ACK now); false off Linux or when it failed. */
  setTcpQuickAck(fd: number, on: boolean): boolean;
  /** TCP_QUICKACK read back (Linux: the socket is outside delayed-ACK mode), or null. */
  getTcpQuickAck(fd: number): boolean | null;
}

/** CRC32C of `buf[start, end)` continuing `crc` (0 to begin), as an unsigned 32-bit number. */
export type Crc32cFunction = (buf: Uint8Array, start: number, end: number, crc: number) => number;

let loaded: ReadPathChoice | undefined;
/** The addon's hardware CRC32C, once the process-wide load gave mapped reads (see loadedCrc32c). */
let loadedCrc: Crc32cFunction | undefined;
/** The addon's socket calls, on the same terms (see loadedSocketOptions). */
let loadedSockets: SocketOptions | undefined;

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
  const choice = tryLoad(root ?? packageRoot(), root === undefined);
  if (root === undefined) loaded = choice;
  return choice;
}

/**
 * The addon's hardware CRC32C, only when this process already loaded the addon for a log's mapped
 * reads (a log of the default entry point): a seglog/native-free process never loads it through
 * here. Undefined where the CPU has no CRC32C instruction (the Kafka server then computes it in
 * JavaScript, src/kafka/records/crc32c.ts).
 */
export function loadedCrc32c(): Crc32cFunction | undefined {
  return loaded?.mapper !== undefined ? loadedCrc : undefined;
}

/**
 * The addon's socket calls (TCP_QUICKACK), on the terms of loadedCrc32c: only when this process
 * already loaded the addon for a log's mapped reads, so that seglog/native-free never loads it
 * through here. The Kafka server sets TCP_QUICKACK after each read with it (docs/kafka.md).
 */
export function loadedSocketOptions(): SocketOptions | undefined {
  return loaded?.mapper !== undefined ? loadedSockets : undefined;
}

/** The xxHash32 of the addon built in `root` (tests compare it with the JavaScript ones). */
export function addonXxh32(root: string): Xxh32Range | undefined {
  return addonIn(root)?.xxh32;
}

/** The hardware CRC32C of the addon built in `root` (tests compare it with the JavaScript one). */
export function addonCrc32c(root: string): Crc32cFunction | undefined {
  return addonIn(root)?.crc32c;
}

/** The socket calls of the addon built in `root` (tests). */
export function addonSocketOptions(root: string): SocketOptions | undefined {
  return socketOptionsOf(addonIn(root));
}

function addonIn(root: string): Binding | undefined {
  try {
    const require = createRequire(thisFile());
    return (require('node-gyp-build') as (dir: string) => Binding)(root);
  } catch {
    return undefined;
  }
}

function socketOptionsOf(binding: Binding | undefined): SocketOptions | undefined {
  const set = binding?.setTcpQuickAck;
  const get = binding?.getTcpQuickAck;
  if (typeof set !== 'function' || typeof get !== 'function') return undefined;
  return { setTcpQuickAck: set, getTcpQuickAck: get };
}

/** The batch checksum functions of the addon built in `root` (tests compare them with the JavaScript ones). */
export function addonChecksums(root: string): Pick<Binding, 'verifyBatches' | 'xxh32'> | undefined {
  const binding = addonIn(root);
  return binding === undefined ? undefined : { verifyBatches: binding.verifyBatches, xxh32: binding.xxh32 };
}

function tryLoad(root: string, processWide: boolean): ReadPathChoice {
  if (process.platform === 'win32') return { mapper: undefined, io: 'pread', reason: 'memory mapping is not built on Windows' };
  let binding: Binding;
  try {
    const require = createRequire(thisFile());
    const load = require('node-gyp-build') as (dir: string) => Binding;
    binding = load(root);
  } catch (err) {
    return { mapper: undefined, io: 'pread', reason: `the mapped-reads addon did not load (${firstLine(err)})` };
  }
  // The checksum needs no external buffers: it serves wherever the addon loads (the same numbers).
  if (processWide && typeof binding.xxh32 === 'function') useNativeXxh32(binding.xxh32);
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
  if (processWide && typeof binding.crc32c === 'function') loadedCrc = binding.crc32c;
  if (processWide) loadedSockets = socketOptionsOf(binding);
  if (processWide && typeof binding.verifyBatches === 'function') useBatchVerifier(binding.verifyBatches);
  return { mapper, io: 'mmap', reason: 'closed segments are read through memory mappings (native/seglog_mmap.c)' };
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.slice(0, 200);
}
