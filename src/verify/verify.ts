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
import path from 'node:path';
import { SeglogError, asSeglogError, invalidArgument, ioError } from '../base/errors.js';
import type { FileIO } from '../io/file-io.js';
import { nodeFileIO } from '../io/node-fs.js';
import {
  ATTR_COMPACTED, H_ATTRIBUTES,
  BATCH_HEADER_BYTES, DELETED_SUFFIX, knownVersion, H_BASE_OFFSET, H_BATCH_BYTES, H_LAST_OFFSET_DELTA,
  H_MAX_TIMESTAMP, H_RECORD_COUNT, H_VERSION, INDEX_ENTRY_BYTES, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_ENTRY_BYTES,
  TIME_INDEX_SUFFIX, TMP_SUFFIX, isCutFileName, parseSegmentFileName, readU32, readU64, segmentFileName,
} from '../format/batch.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';
import { checkTopicName } from '../format/options.js';
import { checkBatch } from '../segment/segment.js';
import { metadataProblems } from './verify-meta.js';
import { claimedAfter, readAt } from './verify-claims.js';
import { claimDirectory } from '../store/marker.js';

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
}

/** Problems listed per topic at most (a badly damaged file would otherwise flood the report). */
const PROBLEMS_PER_TOPIC_MAX = 100;
const KNOWN_OPTIONS = new Set(['onProgress', 'topics']);

/** Checks every segment and index file of the log in `dir` without changing anything. */
export function verify(dir: string, options?: VerifyOptions): Promise<VerifyReport> {
  return verifyWith(nodeFileIO, dir, options);
}

/** verify() through a given file layer (tests pass one that refuses every change). */
export async function verifyWith(io: FileIO, dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  try {
    return await verifyDirectory(io, dir, options);
  } catch (err) {
    throw asSeglogError(err, 'verify', typeof dir === 'string' ? path.resolve(dir) : String(dir));
  }
}

async function verifyDirectory(io: FileIO, dir: string, options: VerifyOptions): Promise<VerifyReport> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('directory', dir, 'a non-empty path');
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidArgument('verify options', options, 'an object { onProgress?, topics? }');
  for (const k of Object.keys(options)) if (!KNOWN_OPTIONS.has(k)) throw invalidArgument('verify option', k, [...KNOWN_OPTIONS].join(' or '));
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalidArgument('option onProgress', options.onProgress, 'a function');
  if (options.topics !== undefined && !Array.isArray(options.topics)) throw invalidArgument('option topics', options.topics, 'an array of topic names');
  const root = path.resolve(dir);
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
  const progress = { bytesDone: 0, bytesTotal: plans.reduce((s, p) => s + p.logBytesTotal, 0), onProgress: options.onProgress };
  for (const plan of plans) {
    const t = await verifyTopic(io, plan, progress);
    if (t.problems.some((p) => p.severity === 'error')) report.ok = false;
    report.topics.push(t);
  }
  progress.onProgress?.({ topic: plans.at(-1)?.topic ?? '', file: '', bytesDone: progress.bytesTotal, bytesTotal: progress.bytesTotal });
  return report;
}

interface TopicPlan {
  topic: string;
  dir: string;
  bases: number[];
  sizes: number[];
  logBytesTotal: number;
  leftovers: VerifyProblem[];
  /** Bytes of segment `base` known to be flushed (from `~meta.json`); 0 when unknown. */
  flushedBytes: (base: number) => number;
  /** Index of the segment holding the recovery point (where openLog's scan starts; 0 when unknown). */
  recoveryIndex: number;
}

/** Where each topic's data is known flushed: the recovery point (a clean close records the end there). */
interface FlushedBound {
  base: number;
  position: number;
  /** The offsets the state says the topic held (-1: not recorded). */
  startOffset: number;
  endOffset: number;
}

/**
 * Per topic, from `<root>/~meta.json` when it is there and readable (never an error: without it a
 * torn tail stays a warning). A clean state counts only if the segment still has its recorded
 * size (a writer may have opened the log and appended since).
 */
function flushedBounds(io: FileIO, root: string): Record<string, FlushedBound> {
  const file = path.join(root, '~meta.json');
  const out: Record<string, FlushedBound> = {};
  let text: string;
  try {
    const st = io.stat(file);
    if (st === undefined || st.size > 64 << 20) return out;
    const fd = io.open(file, 'r');
    try { text = readAt(io, fd, 0, st.size).toString('utf8'); } finally { io.close(fd); }
  } catch {
    return out;
  }
  let doc: { state?: Record<string, Record<string, unknown>> };
  try { doc = JSON.parse(text) as typeof doc; } catch { return out; }
  if (doc === null || typeof doc !== 'object' || doc.state === null || typeof doc.state !== 'object') return out;
  for (const [topic, s] of Object.entries(doc.state)) {
    if (s === null || typeof s !== 'object') continue;
    const num = (v: unknown): number => (Number.isSafeInteger(v) && (v as number) >= 0 ? v as number : -1);
    if (num(s.recoveryBase) >= 0 && num(s.recoveryPosition) >= 0) {
      out[topic] = { base: num(s.recoveryBase), position: num(s.recoveryPosition), startOffset: num(s.startOffset), endOffset: num(s.endOffset) };
    }
  }
  return out;
}

interface Progress {
  bytesDone: number;
  bytesTotal: number;
  onProgress: ((p: VerifyProgress) => void) | undefined;
}

function planTopic(io: FileIO, root: string, topic: string, bound: FlushedBound | undefined): TopicPlan {
  const dir = path.join(root, topic);
  let files: string[];
  try { files = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  const bases: number[] = [];
  const indexBases: Array<[number, string]> = [];
  const leftovers: VerifyProblem[] = [];
  for (const f of files) {
    const base = parseSegmentFileName(f, LOG_SUFFIX);
    if (base >= 0) { bases.push(base); continue; }
    const ib = Math.max(parseSegmentFileName(f, INDEX_SUFFIX), parseSegmentFileName(f, TIME_INDEX_SUFFIX));
    if (ib >= 0) indexBases.push([ib, f]);
    else if (f.endsWith(TMP_SUFFIX)) leftovers.push(leftover(path.join(dir, f), 'a temporary file of an interrupted operation (openLog removes it)'));
    else if (isCutFileName(f)) {
      const file = path.join(dir, f);
      leftovers.push({ file, position: 0, kind: 'cut', severity: 'warning', message: `${file} holds ${io.stat(file)?.size ?? 0} bytes that openLog cut after a power cut (never fsynced) and kept aside; seglog never reads or removes it` });
    }
  }
  bases.sort((a, b) => a - b);
  const known = new Set(bases);
  for (const [b, f] of indexBases) if (!known.has(b)) leftovers.push(leftover(path.join(dir, f), 'an index file without its .log (openLog removes it)'));
  const sizes = bases.map((b) => io.stat(path.join(dir, segmentFileName(b, LOG_SUFFIX)))?.size ?? 0);
  // As openLog: the recovery point counts when its segment is there (one below the first segment
  // was removed by retention: everything is scanned); its segment missing is ERR_CORRUPT, and so are
  // no segments at all for a topic that held offsets. A `.log` shorter than the recovery point was
  // cut from outside: treated like a torn tail.
  const boundIdx = bound === undefined ? -1 : bases.indexOf(bound.base);
  if (bound !== undefined && bases.length > 0 && bound.base >= bases[0]! && boundIdx < 0) {
    leftovers.push({ file: dir, position: 0, kind: 'offsets', severity: 'error', message: `segment ${bound.base} of topic ${topic} is missing from ${dir} (it holds the recovery point): openLog refuses the topic` });
  }
  if (bound !== undefined && bases.length === 0 && bound.endOffset > bound.startOffset && bound.startOffset >= 0) {
    leftovers.push({ file: dir, position: 0, kind: 'offsets', severity: 'error', message: `topic ${topic} has no segment files in ${dir} but held offsets ${bound.startOffset} to ${bound.endOffset}: openLog refuses the topic` });
  }
  const usable = bound !== undefined && boundIdx >= 0;
  const flushedBytes = (base: number): number => {
    if (!usable) return 0;
    if (base < bound.base) return Infinity;
    return base === bound.base && bound.position <= sizes[boundIdx]! ? bound.position : 0;
  };
  return { topic, dir, bases, sizes, logBytesTotal: sizes.reduce((s, n) => s + n, 0), leftovers, flushedBytes, recoveryIndex: usable ? boundIdx : 0 };
}

function leftover(file: string, what: string): VerifyProblem {
  return { file, position: 0, kind: 'leftover', severity: 'warning', message: `${file} is ${what}` };
}

/** What the walk of one segment learned about its batch starts, for the index checks. */
interface SegmentWalk {
  /** Byte position after the last valid batch that the walk reached without a break. */
  validEnd: number;
  /** The walk met an invalid batch (index entries past validEnd are then part of that damage). */
  damaged: boolean;
  /** Running maximum timestamp of the topic before each indexed batch, by relative offset. */
  maxBefore: Map<number, number>;
}

async function verifyTopic(io: FileIO, plan: TopicPlan, progress: Progress): Promise<VerifyTopicReport> {
  const report: VerifyTopicReport = {
    topic: plan.topic, segments: plan.bases.length, batches: 0, records: 0, bytes: plan.logBytesTotal,
    startOffset: plan.bases[0] ?? 0, endOffset: plan.bases[0] ?? 0, problems: [...plan.leftovers],
  };
  const add = (p: VerifyProblem): void => {
    if (report.problems.length < PROBLEMS_PER_TOPIC_MAX) report.problems.push(p);
  };
  // The last segment holding data: an invalid batch there with nothing valid after it is a torn tail.
  let lastWithData = -1;
  for (let i = 0; i < plan.sizes.length; i++) if (plan.sizes[i]! > 0) lastWithData = i;
  let expected = -1; // offset the next batch must start at (-1: anything, after damage)
  let prevCompacted = false; // the last batch was written by compaction
  let runningMaxTs = -1;
  // The running maximum timestamp is known exactly only while nothing before is missing: not when
  // retention removed the first segments (the topic does not start at 0), nor after damage or a gap.
  let tsExact = plan.bases[0] === 0;
  let prevLogPath = ''; // the segment whose end `expected` is
  for (let si = 0; si < plan.bases.length; si++) {
    const base = plan.bases[si]!;
    const size = plan.sizes[si]!;
    const logPath = path.join(plan.dir, segmentFileName(base, LOG_SUFFIX));
    progress.onProgress?.({ topic: plan.topic, file: logPath, bytesDone: progress.bytesDone, bytesTotal: progress.bytesTotal });
    if (size === 0) {
      if (si < plan.bases.length - 1) add(leftover(logPath, 'an empty segment before the last one (an interrupted roll)'));
      if (si === plan.bases.length - 1 && expected >= 0 && base !== expected) {
        add(leftover(logPath, `an empty last segment named for offset ${base} while the log ends at ${expected} (an interrupted roll; openLog removes it)`));
      }
      if (si === 0 && expected < 0) { expected = base; prevLogPath = logPath; } // the log starts here, with nothing in it
      continue;
    }
    if (expected >= 0 && base !== expected && !(base > expected && prevCompacted) && si > plan.recoveryIndex
      && claimedAfter(io, plan.dir, plan.bases, plan.sizes, si, 0) <= expected) {
      // past the recovery point and no later batch vouches for the missing offsets: openLog cuts
      // before this segment and keeps it and the later ones aside (a power cut lost the unsynced end
      // of the segment before)
      add({
        file: logPath, position: 0, kind: 'torn-tail', severity: 'warning',
        message: `segment ${logPath} starts at offset ${base} but the previous one ends at ${expected}, past the recovery point and with no later batch showing it was fsynced: openLog cuts the log there and keeps this and the later segments aside as .cut files`,
      });
      break;
    }
    if (expected >= 0 && base !== expected && !(base > expected && prevCompacted)) {
      tsExact = false;
      add({
        file: logPath, position: 0, kind: 'offsets', severity: 'error',
        message: base > expected
          ? `segment ${logPath} starts at offset ${base} but the previous one (${prevLogPath}) ends at ${expected}: offsets ${expected} to ${base - 1} are missing`
          : `segment ${logPath} starts at offset ${base} but the previous one already reaches ${expected - 1}`,
      });
    }
    expected = base;
    prevLogPath = logPath;
    const walkState: WalkState = {
      expected, prevCompacted, runningMaxTs, report, add, progress, topic: plan.topic, flushedBytes: plan.flushedBytes(base),
      claimedAfter: (from) => claimedAfter(io, plan.dir, plan.bases, plan.sizes, si, from), cut: false,
    };
    const walk = await walkSegment(io, logPath, base, size, si === lastWithData, walkState);
    expected = walk.expected;
    prevCompacted = walk.prevCompacted;
    runningMaxTs = walk.runningMaxTs;
    let nextBase: number | undefined;
    for (let k = si + 1; k < plan.bases.length && nextBase === undefined; k++) if (plan.sizes[k]! > 0) nextBase = plan.bases[k];
    checkIndexes(io, plan.dir, base, tsExact, nextBase, walk.segment, walk.batchStarts, add);
    if (walk.segment.damaged) tsExact = false;
    if (walkState.cut) break; // openLog cuts the topic here: what follows is kept aside, not read
  }
  if (expected >= 0) report.endOffset = expected;
  return report;
}

interface WalkState {
  expected: number;
  /** The batch before was written by compaction: offsets may be missing after it (compacted away). */
  prevCompacted: boolean;
  runningMaxTs: number;
  report: VerifyTopicReport;
  add: (p: VerifyProblem) => void;
  progress: Progress;
  topic: string;
  /** Bytes of this segment known flushed (an invalid batch before it is damage, never a torn tail). */
  flushedBytes: number;
  /** The largest durable end claimed by valid batches from this position of the segment on (and in later segments). */
  claimedAfter: (from: number) => number;
  /** Set by the walk: openLog cuts the topic in this segment (a torn tail, or power-cut damage): nothing after it is judged. */
  cut: boolean;
}

/**
 * Walks the batches of one `.log` in 1 MiB windows. Returns the offset expected next, the running
 * maximum timestamp, and the batch starts (position → base offset) for the index checks.
 */
async function walkSegment(io: FileIO, logPath: string, segBase: number, size: number, isLastWithData: boolean, s: WalkState):
  Promise<{ expected: number; runningMaxTs: number; prevCompacted: boolean; segment: SegmentWalk; batchStarts: Map<number, number> }> {
  const segment: SegmentWalk = { validEnd: 0, damaged: false, maxBefore: new Map() };
  const batchStarts = new Map<number, number>(); // position → base offset
  let fd: number;
  try {
    fd = io.open(logPath, 'r');
  } catch (err) {
    s.add({ file: logPath, position: 0, kind: 'io', severity: 'error', message: `cannot open ${logPath}: ${(err as Error).message}` });
    s.progress.bytesDone += size;
    return { expected: -1, runningMaxTs: s.runningMaxTs, prevCompacted: false, segment, batchStarts };
  }
  let expected = s.expected;
  let prevCompacted = s.prevCompacted;
  let runningMaxTs = s.runningMaxTs;
  let progressAt = s.progress.bytesDone;
  try {
    let buf: Buffer = Buffer.alloc(0);
    let bufPos = 0;
    let pos = 0;
    let intact = true; // no damage met yet in this segment
    while (pos < size) {
      let p = pos - bufPos;
      if (p < 0 || p + BATCH_HEADER_BYTES > buf.length) {
        buf = readAt(io, fd, pos, Math.min(READ_CHUNK_BYTES, size - pos));
        bufPos = pos;
        p = 0;
        s.progress.bytesDone = progressAt + pos;
        s.progress.onProgress?.({ topic: s.topic, file: logPath, bytesDone: s.progress.bytesDone, bytesTotal: s.progress.bytesTotal });
        await new Promise<void>((resolve) => setImmediate(resolve)); // let a progress bar draw
      }
      const batchBytes = buf.length - p >= 4 ? readU32(buf, p + H_BATCH_BYTES) : 0;
      if (batchBytes >= BATCH_HEADER_BYTES && p + batchBytes > buf.length && pos + batchBytes <= size) {
        buf = readAt(io, fd, pos, batchBytes);
        bufPos = pos;
        p = 0;
      }
      const reason = checkBatch(buf, p, Math.min(buf.length - p, size - pos), -1);
      if (reason !== null) {
        const resume = nextValidBatch(io, fd, pos + 1, size);
        const pastDurable = pos >= s.flushedBytes;
        const claim = pastDurable && expected >= 0 && (resume >= 0 || !isLastWithData) ? s.claimedAfter(pos + 1) : -1;
        if (resume < 0 && isLastWithData && pastDurable) {
          s.add({
            file: logPath, position: pos, kind: 'torn-tail', severity: 'warning',
            message: `invalid batch in ${logPath} at position ${pos} (${reason}) with nothing valid after it: a torn tail of ${size - pos} bytes that openLog cuts after a crash (ERR_CORRUPT if it was flushed)`,
          });
          s.cut = true;
        } else if (pastDurable && expected >= 0 && claim <= expected) {
          s.add({
            file: logPath, position: pos, kind: 'torn-tail', severity: 'warning',
            message: `invalid batch in ${logPath} at position ${pos} (${reason}) past the recovery point, with data after it that no completed fsync covered (a power cut): openLog cuts the log there and keeps the ${size - pos} bytes from there on (and any later segments) aside as .cut files`,
          });
          s.cut = true;
        } else {
          s.add({
            file: logPath, position: pos, kind: 'corrupt-batch', severity: 'error',
            message: `corrupt batch in ${logPath} at position ${pos}: ${reason}; ${claim > expected && expected >= 0 ? `a later batch shows offsets up to ${claim - 1} had been fsynced; ` : ''}${resume < 0 ? (isLastWithData ? `the rest of the segment (${size - pos} bytes) is unreadable, and the log had flushed it (closed cleanly, or before its recovery point)` : `the rest of the segment (${size - pos} bytes) is unreadable and later segments hold data`) : `bytes ${pos} to ${resume - 1} are unreadable, valid batches resume at ${resume}`}`,
          });
        }
        if (intact) segment.validEnd = pos;
        intact = false;
        segment.damaged = true;
        if (resume < 0 || s.cut) break;
        pos = resume;
        expected = -1; // what the damage hid cannot be known: resynchronise on the next batch
        continue;
      }
      const baseOffset = readU64(buf, p + H_BASE_OFFSET);
      const lastOffset = baseOffset + readU32(buf, p + H_LAST_OFFSET_DELTA);
      const compacted = (buf[p + H_ATTRIBUTES]! & ATTR_COMPACTED) !== 0;
      // Compaction removes records but keeps offsets: a batch it wrote, or the one after it, may
      // start past the offset expected.
      const gapAllowed = baseOffset > expected && (compacted || prevCompacted);
      prevCompacted = compacted;
      if (expected >= 0 && baseOffset !== expected && !gapAllowed && pos >= s.flushedBytes && s.claimedAfter(pos + 1) <= expected) {
        // openLog's scan takes a batch at the wrong offset for an invalid one (stale bytes a power
        // cut left): past the recovery point, with no later batch vouching for it, it cuts there
        s.add({
          file: logPath, position: pos, kind: 'torn-tail', severity: 'warning',
          message: `batch in ${logPath} at position ${pos} starts at offset ${baseOffset} but ${expected} was expected, past the recovery point and with nothing after it that a completed fsync covered (stale bytes of a power cut): openLog cuts the log there and keeps the ${size - pos} bytes from there on (and any later segments) aside as .cut files`,
        });
        if (intact) segment.validEnd = pos;
        segment.damaged = true;
        s.cut = true;
        break;
      }
      if (expected >= 0 && baseOffset !== expected && !gapAllowed) {
        s.add({
          file: logPath, position: pos, kind: 'offsets', severity: 'error',
          message: baseOffset > expected
            ? `batch in ${logPath} at position ${pos} starts at offset ${baseOffset} but ${expected} was expected: offsets ${expected} to ${baseOffset - 1} are missing`
            : `batch in ${logPath} at position ${pos} starts at offset ${baseOffset} but offsets up to ${expected - 1} came before it`,
        });
      }
      if (baseOffset < segBase) {
        s.add({ file: logPath, position: pos, kind: 'offsets', severity: 'error', message: `batch in ${logPath} at position ${pos} holds offset ${baseOffset}, below the segment's base offset ${segBase}` });
      }
      if (intact) {
        batchStarts.set(pos, baseOffset);
        segment.maxBefore.set(baseOffset - segBase, runningMaxTs);
      }
      s.report.batches++;
      s.report.records += readU32(buf, p + H_RECORD_COUNT);
      const maxTs = readU64(buf, p + H_MAX_TIMESTAMP);
      if (maxTs > runningMaxTs) runningMaxTs = maxTs;
      expected = lastOffset + 1;
      pos += readU32(buf, p + H_BATCH_BYTES);
      if (intact) segment.validEnd = pos;
    }
  } catch (err) {
    s.add({ file: logPath, position: 0, kind: 'io', severity: 'error', message: `cannot read ${logPath}: ${(err as Error).message}` });
  } finally {
    try { io.close(fd); } catch { /* nothing to do */ }
    s.progress.bytesDone = progressAt + size;
  }
  return { expected, runningMaxTs, prevCompacted, segment, batchStarts };
}

/** Position of the first valid batch at or after `from`, or -1 (tries every position: damage only). */
function nextValidBatch(io: FileIO, fd: number, from: number, size: number): number {
  for (let winPos = from; winPos + BATCH_HEADER_BYTES <= size; winPos += READ_CHUNK_BYTES) {
    const win = readAt(io, fd, winPos, Math.min(READ_CHUNK_BYTES + BATCH_HEADER_BYTES, size - winPos));
    const stop = Math.min(READ_CHUNK_BYTES, win.length - BATCH_HEADER_BYTES + 1);
    for (let p = 0; p < stop; p++) {
      if (!knownVersion(win[p + H_VERSION])) continue;
      const len = readU32(win, p + H_BATCH_BYTES);
      if (len < BATCH_HEADER_BYTES || winPos + p + len > size) continue;
      const batch = p + len <= win.length ? win.subarray(p, p + len) : readAt(io, fd, winPos + p, len);
      if (checkBatch(batch, 0, len, -1) === null) return winPos + p;
    }
  }
  return -1;
}

function readWhole(io: FileIO, file: string): Buffer | undefined {
  const st = io.stat(file);
  if (st === undefined) return undefined;
  const fd = io.open(file, 'r');
  try {
    return readAt(io, fd, 0, st.size);
  } finally {
    io.close(fd);
  }
}

/**
 * Checks both index files of a segment against its walk: every `.index` entry at a batch start with
 * the right relative offset, in increasing order, first at (0, 0); every `.timeindex` entry on an
 * offset-index point, increasing, with the running-maximum timestamp the log gives. One problem per
 * file at most (openLog rebuilds a file it cannot trust as a whole).
 */
function checkIndexes(io: FileIO, dir: string, base: number, tsExact: boolean,
  nextBase: number | undefined, walk: SegmentWalk, batchStarts: Map<number, number>, add: (p: VerifyProblem) => void): void {
  const indexPath = path.join(dir, segmentFileName(base, INDEX_SUFFIX));
  const timeIndexPath = path.join(dir, segmentFileName(base, TIME_INDEX_SUFFIX));
  const problem = (file: string, kind: 'index' | 'timeindex', position: number, what: string): void =>
    add({ file, position, kind, severity: 'warning', message: `${file}: ${what} (openLog rebuilds it from the log)` });
  let index: Buffer | undefined;
  let timeIndex: Buffer | undefined;
  try {
    index = readWhole(io, indexPath);
    timeIndex = readWhole(io, timeIndexPath);
  } catch (err) {
    add({ file: indexPath, position: 0, kind: 'io', severity: 'error', message: `cannot read the index files of segment ${base}: ${(err as Error).message}` });
    return;
  }
  const indexPoints = new Set<number>();
  let indexOk = false;
  if (index === undefined) {
    if (walk.validEnd > 0) problem(indexPath, 'index', 0, 'missing');
  } else {
    indexOk = checkOffsetIndex(index, base, walk, batchStarts, indexPoints, (pos, what) => problem(indexPath, 'index', pos, what));
  }
  if (timeIndex === undefined) {
    if (walk.validEnd > 0) problem(timeIndexPath, 'timeindex', 0, 'missing');
    return;
  }
  if (timeIndex.length % TIME_INDEX_ENTRY_BYTES !== 0) {
    problem(timeIndexPath, 'timeindex', 0, `size ${timeIndex.length} is not a multiple of ${TIME_INDEX_ENTRY_BYTES}`);
    return;
  }
  const relLimit = nextBase === undefined ? Infinity : nextBase - base;
  let prevTs = -1;
  let prevRel = -1;
  for (let k = 0; k < timeIndex.length / TIME_INDEX_ENTRY_BYTES; k++) {
    const at = k * TIME_INDEX_ENTRY_BYTES;
    const ts = readU64(timeIndex, at);
    const rel = readU32(timeIndex, at + 8);
    const bad = (what: string): void => problem(timeIndexPath, 'timeindex', at, `entry ${k} (timestamp ${ts}, relative offset ${rel}) ${what}`);
    if (ts < 0) return bad('has a timestamp out of range');
    const firstRel = (batchStarts.get(0) ?? base) - base; // not 0 when compaction removed the first records
    if (k === 0 && rel !== firstRel) return bad(`is the first entry but not at relative offset ${firstRel}`);
    if (k > 0 && (ts <= prevTs || rel <= prevRel)) return bad('does not increase on the one before it');
    if (rel >= relLimit) return bad(`lies in the next segment (${nextBase})`);
    const expectedTs = walk.maxBefore.get(rel);
    if (expectedTs === undefined && walk.damaged) return; // past the damage already reported
    if (indexOk && !indexPoints.has(rel)) return bad('is not on an offset-index point');
    if (expectedTs !== undefined) {
      // Without everything before (retention, damage) the log gives only a lower bound.
      const known = Math.max(expectedTs, 0);
      if (tsExact ? ts !== known : ts < known) return bad(`disagrees with the log: the largest timestamp before that offset is ${tsExact ? '' : 'at least '}${known}`);
    } else if (walk.validEnd > 0 && rel > 0) {
      return bad('points past the valid data of the segment');
    }
    prevTs = ts;
    prevRel = rel;
  }
}

/** Checks a `.index` file against the batch starts; true when it can be trusted. */
function checkOffsetIndex(index: Buffer, base: number, walk: SegmentWalk, batchStarts: Map<number, number>, points: Set<number>,
  bad: (position: number, what: string) => void): boolean {
  if (index.length % INDEX_ENTRY_BYTES !== 0) {
    bad(0, `size ${index.length} is not a multiple of ${INDEX_ENTRY_BYTES}`);
    return false;
  }
  let prevRel = -1;
  let prevPos = -1;
  const n = index.length / INDEX_ENTRY_BYTES;
  if (n === 0 && walk.validEnd > 0) {
    bad(0, 'is empty but the segment holds data');
    return false;
  }
  for (let i = 0; i < n; i++) {
    const rel = readU32(index, i * INDEX_ENTRY_BYTES);
    const pos = readU32(index, i * INDEX_ENTRY_BYTES + 4);
    const at = i * INDEX_ENTRY_BYTES;
    const what = `entry ${i} (relative offset ${rel}, position ${pos})`;
    // The first entry is the first batch (at relative offset 0, unless compaction removed its first records).
    const firstRel = (batchStarts.get(0) ?? base) - base;
    if (i === 0 && (rel !== firstRel || pos !== 0)) { bad(at, `${what} is the first entry but not (${firstRel}, 0)`); return false; }
    if (i > 0 && (rel <= prevRel || pos <= prevPos)) { bad(at, `${what} does not increase on the one before it`); return false; }
    if (pos >= walk.validEnd) {
      if (walk.damaged) return true; // entries past the damage already reported
      bad(at, `${what} points past the valid data of the segment (${walk.validEnd} bytes)`);
      return false;
    }
    const batchBase = batchStarts.get(pos);
    if (batchBase === undefined) { bad(at, `${what} does not point at the start of a batch`); return false; }
    if (batchBase - base !== rel) { bad(at, `${what} points at the batch of offset ${batchBase}, not ${base + rel}`); return false; }
    points.add(rel);
    prevRel = rel;
    prevPos = pos;
  }
  return true;
}
