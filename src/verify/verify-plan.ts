// verify()'s plan of one topic, made before any `.log` byte is read: its segments in offset order
// with their sizes, the leftover files of interrupted operations (`*.tmp`, an index without its
// `.log`, `.log.cut` files), and where the recovery point lies, read from `~meta.json` as openLog's
// recovery takes it (a missing or unreadable document is never an error: without it nothing counts
// as flushed). A compaction swap that committed before a crash (a `<base>.swap` marker) is planned
// as openLog will leave it once it has finished the swap (compaction-swap.ts swapSteps): the old
// files of the range are left out and the new segments are read under their `.cleaned` names until
// renamed. Read-only: files are listed and stat'ed, `~meta.json` and markers are opened 'r'.
import path from 'node:path';
import { ioError } from '../base/errors.js';
import type { FileIO } from '../io/file-io.js';
import {
  INDEX_SUFFIX, LOG_SUFFIX, SWAP_SUFFIX, TIME_INDEX_SUFFIX, TMP_SUFFIX, isCutFileName, parseSegmentFileName, segmentFileName,
} from '../format/batch.js';
import { readMarker, swapSteps } from '../segment/compaction-swap.js';
import { readAt } from './verify-claims.js';
import { leftover, type VerifyProblem } from './verify-report.js';

export interface TopicPlan {
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
  /** The path to read for the topic's file `name` (a segment file of an unfinished swap is still `name.cleaned`). */
  fileOf: (name: string) => string;
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
export function flushedBounds(io: FileIO, root: string): Record<string, FlushedBound> {
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

export function planTopic(io: FileIO, root: string, topic: string, bound: FlushedBound | undefined): TopicPlan {
  const dir = path.join(root, topic);
  let listed: string[];
  try { listed = io.readdir(dir); } catch (err) { throw ioError('readdir', dir, err); }
  const leftovers: VerifyProblem[] = [];
  const onDisk = afterSwaps(io, dir, listed, leftovers);
  const fileOf = (name: string): string => path.join(dir, onDisk.get(name) ?? name);
  const bases: number[] = [];
  const indexBases: Array<[number, string]> = [];
  for (const f of onDisk.keys()) {
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
  for (const [b, f] of indexBases) if (!known.has(b)) leftovers.push(leftover(fileOf(f), 'an index file without its .log (openLog removes it)'));
  const sizes = bases.map((b) => io.stat(fileOf(segmentFileName(b, LOG_SUFFIX)))?.size ?? 0);
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
  return { topic, dir, bases, sizes, logBytesTotal: sizes.reduce((s, n) => s + n, 0), leftovers, flushedBytes, recoveryIndex: usable ? boundIdx : 0, fileOf };
}

/**
 * The topic folder's names as openLog sees them once it has finished the compaction swaps that
 * committed before a crash (resolveInterruptedSwap), each mapped to the name the file has now. A kill
 * -9 inside a swap's renames leaves the new segments next to old ones they replace: read as they
 * are, they overlap (the soak's "starts at offset 185 but the previous one already reaches 231").
 * A marker that cannot be read is an error (openLog refuses the topic); one that can, a warning.
 */
function afterSwaps(io: FileIO, dir: string, listed: string[], leftovers: VerifyProblem[]): Map<string, string> {
  const onDisk = new Map(listed.map((f) => [f, f]));
  for (const m of listed) {
    if (parseSegmentFileName(m, SWAP_SUFFIX) < 0) continue;
    const file = path.join(dir, m);
    let marker;
    try {
      marker = readMarker(io, file);
    } catch (err) {
      leftovers.push({ file, position: 0, kind: 'metadata', severity: 'error', message: `${(err as Error).message}: openLog refuses the topic` });
      continue;
    }
    const { stale, renames } = swapSteps([...onDisk.keys()], marker);
    for (const f of stale) onDisk.delete(f);
    for (const [from, to] of renames) {
      const actual = onDisk.get(from)!;
      onDisk.delete(from);
      onDisk.set(to, actual);
    }
    leftovers.push(leftover(file, `the marker of a compaction swap that a crash interrupted after it committed (openLog finishes it: segments ${marker.base} to ${marker.end - 1} are the new ones)`));
  }
  return onDisk;
}
