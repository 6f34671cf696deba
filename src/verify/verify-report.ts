// The shape of what verify() reports: the public report types (re-exported by verify.ts, which
// the rest of the library and the tests import them from), the progress counter the walk advances,
// and the helper that words a leftover-file warning. Types and one pure function: no I/O, nothing
// imported, so every other verify file can import it without a cycle.

/**
 * - `corrupt-batch` (error): an invalid batch that is followed by valid data; openLog refuses it.
 * - `torn-tail` (warning): an invalid batch with nothing valid after it, at the end of a topic.
 * - `offsets` (error): a batch or segment that does not start where the one before ended.
 * - `index` / `timeindex` (warning): an index file that is missing or disagrees with the log.
 * - `leftover` (warning): a file or folder left by an interrupted operation (`*.tmp`, an index
 *   file without its `.log`, an empty segment before the last one, a `<topic>~deleted` folder).
 * - `io` (error): a file that could not be read.
 * - `metadata` (error): a damaged metadata file (`~meta.lmdb`, `~meta.json`); openLog refuses it.
 * - `cut` (warning): a `<segment>.log.cut` file: bytes openLog cut after a power cut (never
 *   fsynced, with valid batches after the damage) and kept aside; the library never reads or
 *   removes them.
 */
export type VerifyProblemKind = 'corrupt-batch' | 'torn-tail' | 'offsets' | 'index' | 'timeindex' | 'leftover' | 'io' | 'metadata' | 'cut';

export interface VerifyProblem {
  /** Absolute path of the file (or folder) concerned. */
  file: string;
  /** Byte position in that file (0 for a problem with the file as a whole). */
  position: number;
  kind: VerifyProblemKind;
  /** 'error': data damage that openLog refuses or cannot undo; 'warning': what openLog repairs by itself. */
  severity: 'error' | 'warning';
  message: string;
}

export interface VerifyTopicReport {
  topic: string;
  segments: number;
  /** Valid batches and the records in them. */
  batches: number;
  records: number;
  /** Sum of the sizes of the topic's `.log` files. */
  bytes: number;
  /** First offset found on disk (the base of the first segment). truncateBefore may have raised the topic's startOffset further. */
  startOffset: number;
  /** The offset after the last valid batch: what openLog's endOffset will be. */
  endOffset: number;
  problems: VerifyProblem[];
}

export interface VerifyReport {
  dir: string;
  /** true when no problem of severity 'error' was found (warnings may be listed). */
  ok: boolean;
  topics: VerifyTopicReport[];
  /** Problems of the directory itself (e.g. a `<topic>~deleted` folder). */
  problems: VerifyProblem[];
}

export interface VerifyProgress {
  topic: string;
  /** The `.log` file being checked. */
  file: string;
  /** `.log` bytes checked so far, out of bytesTotal (all topics verified). */
  bytesDone: number;
  bytesTotal: number;
}

export interface VerifyOptions {
  /** Called as the walk advances (at least once per segment and per MiB read) and once at the end. */
  onProgress?: (progress: VerifyProgress) => void;
  /** Only these topics (each must exist); default every topic in the directory. */
  topics?: string[];
  /** Aborts the walk (checked per segment and per MiB read): verify rejects with ERR_ABORTED. */
  signal?: AbortSignal;
}

export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  onProgress: ((p: VerifyProgress) => void) | undefined;
  signal: AbortSignal | undefined;
  /** The operation named in ERR_ABORTED ("verify of <dir>"). */
  what: string;
}

export function leftover(file: string, what: string): VerifyProblem {
  return { file, position: 0, kind: 'leftover', severity: 'warning', message: `${file} is ${what}` };
}
