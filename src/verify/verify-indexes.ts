// verify()'s check of a segment's `.index` and `.timeindex` files against what the walk of its
// `.log` found (verify-segment.ts): every entry where the log says it must be, in increasing order.
// A bad index file is a warning (openLog rebuilds it from the log), at most one per file; a file
// that cannot be read is an 'io' error. Files are opened 'r' and always closed.
import type { FileIO } from '../io/file-io.js';
import { INDEX_ENTRY_BYTES, INDEX_SUFFIX, TIME_INDEX_ENTRY_BYTES, TIME_INDEX_SUFFIX, readU32, readU64, segmentFileName } from '../format/batch.js';
import { readAt } from './verify-claims.js';
import type { VerifyProblem } from './verify-report.js';
import type { SegmentWalk } from './verify-segment.js';

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
export function checkIndexes(io: FileIO, fileOf: (name: string) => string, base: number, tsExact: boolean,
  nextBase: number | undefined, walk: SegmentWalk, batchStarts: Map<number, number>, add: (p: VerifyProblem) => void): void {
  const indexPath = fileOf(segmentFileName(base, INDEX_SUFFIX));
  const timeIndexPath = fileOf(segmentFileName(base, TIME_INDEX_SUFFIX));
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
