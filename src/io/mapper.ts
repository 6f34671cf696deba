// The mapping seam, beside the FileIO seam (file-io.ts): read-only memory mappings of whole segment
// files. The default entry point gives the log a Mapper backed by the project's own N-API addon
// (mmap-addon.ts, native/seglog_mmap.c); seglog/native-free gives none, and then every read is a
// positional read through FileIO, as it is wherever a mapping is refused. Tests wrap a Mapper to
// inject failures (ENOMEM, EACCES) the same way they wrap FileIO.
//
// Invariants a Mapper keeps: a mapping is an ArrayBuffer over bytes [0, length) of the file as it
// was mapped; it is unmapped only when no view of it is reachable (its finalizer), never by a call,
// so bytes handed out stay valid for as long as anyone holds them; advise() only lets the pages
// leave RSS (they are read back from the page cache on the next touch). What a Mapper cannot keep
// is the file's length: the caller never truncates a mapped file (docs/guarantees.md).
//
// Crash: nothing here is on disk.

export interface Mapper {
  /** Maps bytes [0, length) of the file behind `fd` read-only and shared. Throws the system error (code ENOMEM, EACCES, ...). */
  map(fd: number, length: number): ArrayBuffer;
  /** madvise(MADV_DONTNEED) over a mapping made by map(): its pages leave RSS; its bytes stay readable. */
  advise(mapping: ArrayBuffer): void;
  /** Mappings made and not yet unmapped (held by a log or only by views), in the whole process. */
  liveMappings(): number;
}

/** Which path serves reads of closed segments: views into mappings, or positional reads into fresh buffers. */
export type ReadPath = 'mmap' | 'pread';

/** A log's choice of read path, and why (`log.stats().io`, `ioReason`). */
export interface ReadPathChoice {
  mapper: Mapper | undefined;
  io: ReadPath;
  reason: string;
}

/**
 * SEGLOG_MMAP=0 (also 'false', 'off', 'no') turns mapping off for every log the process opens,
 * as the `mmap: false` option does for one (CI runs suites both ways with it).
 */
export function mmapOffByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.SEGLOG_MMAP;
  return v !== undefined && ['0', 'false', 'off', 'no'].includes(v.trim().toLowerCase());
}

/** A log's read path: mapped when the option and the environment allow it and the entry point's loader gives a Mapper. */
export function chooseReadPath(mmapOption: boolean, load: (() => ReadPathChoice) | undefined): ReadPathChoice {
  if (!mmapOption) return { mapper: undefined, io: 'pread', reason: 'the log was opened with mmap: false' };
  if (mmapOffByEnv()) return { mapper: undefined, io: 'pread', reason: 'SEGLOG_MMAP=0 is set' };
  if (load === undefined) return { mapper: undefined, io: 'pread', reason: 'this entry point loads no native addon (seglog/native-free)' };
  return load();
}
