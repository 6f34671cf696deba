// verify(dir): a read-only check of a whole log directory, as `kafka-dump-log --verify` would do it.
// It walks every topic's segments in offset order and checks every batch completely (structure
// and checksum, with segment.ts's checkBatch: the same test recovery and reads apply), that
// offsets run dense and increasing across batches and segments, and that every `.index` and
// `.timeindex` entry agrees with the log. It reports what it found; it changes nothing: every file
// is opened 'r', no lock is taken and no metadata is read or written, so it can run next to a
// writer (it then may report the writer's unfinished tail as a torn tail) or on a copy.
//
// It judges damage as openLog's recovery does (recovery.ts, recovery-cut.ts), so that it reports an
// error exactly where openLog, or a read, refuses: the log's neutral metadata file `~meta.json`
// (plain JSON, docs/format.md: present after any clean close, and kept by native-free while it
// writes) gives the recovery point. An invalid batch before it is 'corrupt-batch' (an error). Past
// it, an invalid batch with nothing valid after it is a 'torn-tail' (a warning: openLog cuts it),
// and one with valid data after it (or a gap between segments) is a warning too unless a later
// batch claims (format v2 durableDelta) that a completed fsync covered it: openLog cuts there
// after a power cut and keeps the bytes aside. Crash: nothing to leave.
//
// This file owns the entry points (verify, verifyWith), the options check and the walk over the
// directory's topics; it re-exports the report types (verify-report.ts), which the rest of the
// library imports from here. The work is split below it: verify-plan.ts (a topic's segments and
// recovery point), verify-topic.ts (one topic), verify-segment.ts (one `.log`), verify-indexes.ts
// (its index files), verify-claims.ts (durable claims past damage), verify-meta.ts (metadata files).
import path from 'node:path';
import { SeglogError, asSeglogError, invalidArgument, ioError } from '../base/errors.js';
import { checkSignal, throwIfAborted } from '../base/abort.js';
import type { FileIO } from '../io/file-io.js';
import { nodeFileIO } from '../io/node-fs.js';
import { DELETED_SUFFIX } from '../format/batch.js';
import { checkTopicName } from '../format/options.js';
import { checksumReady } from '../format/checksum.js';
import { metadataProblems } from './verify-meta.js';
import { flushedBounds, planTopic } from './verify-plan.js';
import type { VerifyOptions, VerifyReport } from './verify-report.js';
import { verifyTopic } from './verify-topic.js';
import { claimDirectory } from '../store/marker.js';

export type { VerifyProblemKind, VerifyProblem, VerifyTopicReport, VerifyReport, VerifyProgress, VerifyOptions } from './verify-report.js';

const KNOWN_OPTIONS = new Set(['onProgress', 'topics', 'signal']);

/** Checks every segment and index file of the log in `dir` without changing anything. */
export function verify(dir: string, options?: VerifyOptions): Promise<VerifyReport> {
  return verifyWith(nodeFileIO, dir, options);
}

/** verify() through a given file layer (tests pass one that refuses every change). */
export async function verifyWith(io: FileIO, dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  try {
    await checksumReady();
    return await verifyDirectory(io, dir, options);
  } catch (err) {
    throw asSeglogError(err, 'verify', typeof dir === 'string' ? path.resolve(dir) : String(dir));
  }
}

async function verifyDirectory(io: FileIO, dir: string, options: VerifyOptions): Promise<VerifyReport> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('directory', dir, 'a non-empty path');
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidArgument('verify options', options, 'an object { onProgress?, topics?, signal? }');
  for (const k of Object.keys(options)) if (!KNOWN_OPTIONS.has(k)) throw invalidArgument('verify option', k, [...KNOWN_OPTIONS].join(' or '));
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalidArgument('option onProgress', options.onProgress, 'a function');
  if (options.topics !== undefined && !Array.isArray(options.topics)) throw invalidArgument('option topics', options.topics, 'an array of topic names');
  const signal = checkSignal(options.signal);
  const root = path.resolve(dir);
  const what = `verify of ${root}`;
  throwIfAborted(signal, what);
  const st = io.stat(root);
  if (st === undefined) throw new SeglogError('ERR_INVALID_ARGUMENT', `cannot verify ${root}: no such directory`, { value: dir });
  if (!st.isDirectory) throw new SeglogError('ERR_INVALID_ARGUMENT', `cannot verify ${root}: it is a file, not a directory (ENOTDIR)`, { value: dir, file: root });
  // a directory openLog refuses as not the library's (no marker, other things in it) is refused
  // the same way (ERR_INVALID_ARGUMENT, before anything else is read; nothing is written)
  claimDirectory(io, root, true);

  let entries: string[];
  try { entries = io.readdir(root).sort(); } catch (err) { throw ioError('readdir', root, err); }
  const report: VerifyReport = { dir: root, ok: true, topics: [], problems: [] };
  const names: string[] = [];
  for (const e of entries) {
    const full = path.join(root, e);
    if (e.endsWith(DELETED_SUFFIX)) {
      report.problems.push({ file: full, position: 0, kind: 'leftover', severity: 'warning', message: `${full} is a topic whose deletion was interrupted (openLog finishes it)` });
      continue;
    }
    try { checkTopicName(e); } catch { continue; }
    if (io.stat(full)?.isDirectory === true) names.push(e);
  }
  let selected = names;
  if (options.topics !== undefined) {
    for (const t of options.topics) {
      checkTopicName(t);
      if (!names.includes(t)) throw new SeglogError('ERR_INVALID_ARGUMENT', `topic ${JSON.stringify(t)} does not exist in ${root}`, { value: t });
    }
    selected = names.filter((n) => options.topics!.includes(n));
  }

  report.problems.push(...metadataProblems(io, root));
  if (report.problems.some((p) => p.severity === 'error')) report.ok = false;
  const flushed = flushedBounds(io, root);
  const plans = selected.map((topic) => planTopic(io, root, topic, flushed[topic]));
  const progress = { bytesDone: 0, bytesTotal: plans.reduce((s, p) => s + p.logBytesTotal, 0), onProgress: options.onProgress, signal, what };
  for (const plan of plans) {
    const t = await verifyTopic(io, plan, progress);
    if (t.problems.some((p) => p.severity === 'error')) report.ok = false;
    report.topics.push(t);
  }
  progress.onProgress?.({ topic: plans.at(-1)?.topic ?? '', file: '', bytesDone: progress.bytesTotal, bytesTotal: progress.bytesTotal });
  return report;
}
