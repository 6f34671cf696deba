// The indexing rule of docs/format.md ("Offset index", "Time index"): which batches get an offset-index entry and
// which a time-index entry. One function, applied alike by the append path (the writer's sealBatch),
// recovery and index rebuilds (which must reproduce exactly the entries the writer made: a rebuilt
// index equals the lost one), compaction's output and a read-only refresh. In memory only: the
// entries reach the index files at the segment's next persist.
import type { Segment } from './segment.js';

/**
 * Adds index entries for the batch at `position` of `seg` whose first offset is `baseOffset`: an
 * offset-index entry for the segment's first batch and then for each batch that starts at least
 * `indexIntervalBytes` after the last entry; with it, a time-index entry when the running maximum
 * timestamp of everything before the batch (`maxTimestampBefore`) grew (the first one always).
 */
export function indexBatch(seg: Segment, indexIntervalBytes: number, baseOffset: number, position: number, maxTimestampBefore: number): void {
  const index = seg.index!;
  if (index.count !== 0 && position - index.lastPosition() < indexIntervalBytes) return;
  const rel = baseOffset - seg.baseOffset;
  index.append(rel, position);
  const timeIndex = seg.timeIndex!;
  if (timeIndex.count === 0) timeIndex.append(Math.max(0, maxTimestampBefore), rel);
  else if (maxTimestampBefore > timeIndex.lastTimestamp()) timeIndex.append(maxTimestampBefore, rel);
}
