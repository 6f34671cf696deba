// Compaction of a keyed topic (cleanup 'compact' or 'compact,delete'), after Kafka's Cleaner: the
// closed, durable segments are rewritten keeping, per key, only the record the key index points
// at; records without a key are kept; a tombstone is kept until tombstoneRetentionMs after the
// first pass that saw it, then dropped (with its key index entry). Offsets never change: cleaned
// batches keep their records' offsets and carry ATTR_COMPACTED (offsets may be missing before
// them). The survivors are packed into new segments of up to segmentBytes (small ones merge).
//
// One pass, in slices: the work yields to the event loop every few milliseconds, so appends go on
// (into the active segment, never compacted). A record is dropped when the index points at a newer
// record; the newer records so relied on are made durable (written if need be, one fsync) and
// checked to still be their keys' newest before the swap commits, so a crash can never leave a key
// with neither its old nor its new record. (Requiring them durable when the pass looks would keep
// every record of a key that is being appended to all the time.)
//
// Crash: the new segments are written as `.cleaned` files and fsynced, then the swap is committed
// by the `<base>.swap` marker (compaction-swap.ts): before it, open discards the `.cleaned` files
// (the old segments stand); after it, open finishes the swap (the new segments stand). The
// `.cleaned` files are written by compaction-output.ts; this file owns the pass and the swap.
// Abort: the signal is checked after every batch read, after the output is written and after the
// relied-on records are durable; an abort before the swap discards the `.cleaned` files (the old
// segments stand, unchanged). The swap itself is not abortable.
import { SeglogError, ioError } from '../base/errors.js';
import { throwIfAborted } from '../base/abort.js';
import {
  BATCH_HEADER_BYTES, H_BASE_OFFSET, H_BASE_TIMESTAMP, H_BATCH_BYTES, H_RECORD_COUNT, readU32, readU64, readVarint,
  unzigzag, varintEnd,
} from '../format/batch.js';
import { checksumMatches, type Segment } from '../segment/segment.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';
import { SwapIncomplete, commitSwap, type SwapMarker } from '../segment/compaction-swap.js';
import path from 'node:path';
import { publish, type RollReason } from '../base/diagnostics.js';
import type { CleanerState } from '../store/meta-store.js';
import type { MutableSegmentLog } from '../log/topic-log.js';
import type { KeyIndex } from './key-index.js';
import { CleanedWriter } from './compaction-output.js';

/** What compaction needs of a topic: its segment list, what is durable, and its key index. */
export interface CompactionLog extends MutableSegmentLog<any> {
  /** The topic's durability part (log/topic-durability.ts). */
  readonly durability: {
    /** Compaction stays below this segment (not yet durable, or a riding commit not stored: ridden.ts). */
    readonly durableBase: number;
    readonly durableOffset: number;
    /** Makes every record below `end` durable. */
    makeDurable(end: number): Promise<void>;
    /** Records the synced recovery point in the store, durably, now (before a swap removes segments below it). Throws ERR_IO. */
    recordRecoveryPointNow(): void;
  };
  /** The topic's writer (log/topic-writer.ts). */
  readonly writer: {
    /** Counts the times the writer took records back (a failed write): a pass that saw one starts over. */
    readonly takebacks: number;
    roll(reason: RollReason): void;
  };
  readonly keyIndex: KeyIndex | undefined;
  /** Throws if the topic closed or `group` is no longer in its segment list. */
  checkStillCompacting(group: Segment[]): void;
  /** The log can no longer be trusted (a failed fsync): it refuses writes until reopened. */
  failLog(err: SeglogError): void;
  /** Reports a failure of background work (an 'error' event). */
  reportError(err: SeglogError): void;
}

export interface CompactionResult {
  /** Records in the segments that were compacted, before and after. */
  recordsBefore: number;
  recordsAfter: number;
  bytesFreed: number;
}

/** Longest stretch of compaction work between two turns of the event loop. */
export const COMPACTION_SLICE_MS = 3;
/** Passes remembered for tombstone expiry; older ones are merged (tombstones then live longer, never shorter). */
const PASSES_MAX = 64;

/** Index of the first segment that compaction may not touch (active, not yet durable, fsync running). */
export function cleanableCount(topic: CompactionLog): number {
  const segs = topic.segments;
  const durableBase = topic.durability.durableBase;
  let k = 0;
  while (k < segs.length - 1 && segs[k]!.baseOffset < durableBase && segs[k]!.pins === 0) k++;
  return k;
}

/** Share of the cleanable bytes not yet covered by a compaction pass (triggers automatic compaction). */
export function dirtyRatio(topic: CompactionLog): number {
  const k = cleanableCount(topic);
  if (k === 0) return 0;
  const cleanedUpTo = topic.meta.getCleanerState(topic.name)?.cleanedUpTo ?? 0;
  let total = 0;
  let dirty = 0;
  for (let i = 0; i < k; i++) {
    const s = topic.segments[i]!;
    total += s.logBytes;
    if (s.baseOffset >= cleanedUpTo) dirty += s.logBytes;
  }
  return total === 0 ? 0 : dirty / total;
}

export async function compactTopic(topic: CompactionLog, now: number, signal?: AbortSignal): Promise<CompactionResult> {
  const t0 = performance.now();
  const what = `compact on topic ${topic.name}`;
  const k = cleanableCount(topic);
  if (k === 0 || topic.keyIndex === undefined) return { recordsBefore: 0, recordsAfter: 0, bytesFreed: 0 };
  const group = topic.segments.slice(0, k);
  const rangeEnd = topic.segments[k]!.baseOffset;
  const startOffset = topic.startOffset;
  // End of the newer records that dropped ones were superseded by, where those were not yet
  // durable when the pass looked (made durable before the swap).
  let reliedEnd = 0;
  const takebacks = topic.writer.takebacks; // a record taken back during the pass may be one relied on
  const cleaner: CleanerState = topic.meta.getCleanerState(topic.name) ?? { cleanedUpTo: 0, passes: [] };
  const retentionMs = topic.options.tombstoneRetentionMs;
  const keyIndex = topic.keyIndex;
  const latestOf = new Map<string, number>(); // per pass: one index lookup per key
  const droppedTombstones: Array<[string, number]> = [];
  const firstSeen = (offset: number): number => {
    for (const [end, time] of cleaner.passes) if (offset < end) return time;
    return now;
  };
  const out = new CleanedWriter(topic, group[0]!.baseOffset);
  let recordsBefore = 0;
  let recordsAfter = 0;
  let oldBytes = 0;
  let sliceStart = performance.now();
  let durable = topic.durability.durableOffset; // read again after each slice (it only grows)
  try {
    for (const seg of group) {
      oldBytes += seg.logBytes;
      let pos = 0;
      let buf: Buffer = Buffer.alloc(0);
      let bufPos = 0;
      while (pos < seg.logBytes) {
        let p = pos - bufPos;
        if (p + BATCH_HEADER_BYTES > buf.length) {
          buf = seg.readLog(pos, Math.min(READ_CHUNK_BYTES, seg.logBytes - pos));
          bufPos = pos;
          p = 0;
          if (buf.length < BATCH_HEADER_BYTES) throw seg.corrupt(pos, 'truncated batch header');
        }
        const batchBytes = readU32(buf, p + H_BATCH_BYTES);
        if (batchBytes < BATCH_HEADER_BYTES) throw seg.corrupt(pos, `bad batch length ${batchBytes}`);
        if (p + batchBytes > buf.length) {
          buf = seg.readLog(pos, Math.max(batchBytes, Math.min(READ_CHUNK_BYTES, seg.logBytes - pos)));
          bufPos = pos;
          p = 0;
          if (batchBytes > buf.length) throw seg.corrupt(pos, `batch of ${batchBytes} bytes runs past the end of the segment`);
        }
        if (!checksumMatches(buf, p, batchBytes)) throw seg.corrupt(pos, 'checksum mismatch');
        const base = readU64(buf, p + H_BASE_OFFSET);
        const baseTs = readU64(buf, p + H_BASE_TIMESTAMP);
        const count = readU32(buf, p + H_RECORD_COUNT);
        const end = p + batchBytes;
        let rp = p + BATCH_HEADER_BYTES;
        for (let i = 0; i < count; i++) {
          const len = readVarint(buf, rp, end);
          let q = varintEnd;
          const recEnd = q + len;
          const od = readVarint(buf, q, recEnd);
          q = varintEnd;
          const tz = readVarint(buf, q, recEnd);
          q = varintEnd;
          const restStart = q;
          const keyLen = readVarint(buf, q, recEnd) - 1;
          q = varintEnd;
          const keyPos = q;
          if (keyLen > 0) q += keyLen;
          const tombstone = readVarint(buf, q, recEnd) === 0;
          const offset = base + od;
          rp = recEnd;
          recordsBefore++;
          if (offset < startOffset) continue;
          if (keyLen >= 0) {
            const key = buf.toString('latin1', keyPos, keyPos + keyLen);
            let latest = latestOf.get(key);
            if (latest === undefined) {
              latest = keyIndex.lookup(key) ?? -1;
              latestOf.set(key, latest);
            }
            // Superseded by a newer record (made durable before the swap if it is not yet).
            if (latest > offset) {
              if (latest >= durable && latest >= reliedEnd) reliedEnd = latest + 1;
              continue;
            }
            if (tombstone && latest === offset && firstSeen(offset) + retentionMs <= now) {
              droppedTombstones.push([key, offset]);
              continue;
            }
          }
          out.add(buf, restStart, recEnd, offset, baseTs + unzigzag(tz));
          recordsAfter++;
        }
        pos += batchBytes;
        throwIfAborted(signal, what);
        if (performance.now() - sliceStart >= COMPACTION_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          topic.checkStillCompacting(group);
          durable = topic.durability.durableOffset;
          sliceStart = performance.now();
        }
      }
    }
    await out.finish();
    throwIfAborted(signal, what);
    if (reliedEnd > 0) {
      // The newer records the pass relied on become durable before the old ones go.
      const end = reliedEnd;
      await topic.durability.makeDurable(end);
      topic.checkStillCompacting(group);
      // Records taken back meanwhile (a failed write or fsync) may be ones the pass relied on, and
      // their offsets may now hold other keys' records: then the pass is abandoned.
      if (topic.writer.takebacks !== takebacks || topic.durability.durableOffset < end) {
        throw new SeglogError('ERR_IO', `compaction of topic ${topic.name} abandoned: records it relied on (below offset ${end}) were taken back by a failed write`, { value: end });
      }
      throwIfAborted(signal, what);
    }
    // The recovery point in the store must not name a segment the swap removes (open refuses a
    // topic whose recovery-point segment is missing): a checkpoint put may not be durable yet, and
    // compact()'s roll left the last one in the old active segment, now in the range. The synced
    // point lies past the range (cleanableCount), so it is recorded, durably, before the commit.
    topic.checkStillCompacting(group);
    topic.durability.recordRecoveryPointNow();
  } catch (err) {
    out.discard();
    throw err;
  }
  topic.checkStillCompacting(group);
  // The swap (synchronous: appends wait for it, a few ms at most).
  const outputs = out.outputs;
  const marker: SwapMarker = { version: 1, base: group[0]!.baseOffset, end: rangeEnd, outputs: outputs.map((s) => s.baseOffset) };
  try {
    await commitSwap(topic.io, topic.dir, marker, () => {
      if (!topic.closed) topic.spliceSegments(0, k, outputs);
    });
  } catch (err) {
    if (err instanceof SwapIncomplete) topic.failLog(err); // files and memory disagree until reopened
    else out.discard();
    throw err;
  }
  for (const [key, offset] of droppedTombstones) keyIndex.removeIf(key, offset);
  let newBytes = 0;
  for (const s of outputs) newBytes += s.logBytes;
  recordPass(topic, cleaner, rangeEnd, now, retentionMs);
  const result = { recordsBefore, recordsAfter, bytesFreed: Math.max(0, oldBytes - newBytes) };
  publish('compaction', { dir: path.dirname(topic.dir), topic: topic.name, ...result, ms: Math.round(performance.now() - t0) });
  return result;
}

/** Records the pass (for tombstone expiry and the dirty ratio); expired passes merge into one. */
function recordPass(topic: CompactionLog, cleaner: CleanerState, rangeEnd: number, now: number, retentionMs: number): void {
  let passes = cleaner.passes.slice();
  if (passes.length === 0 || rangeEnd > passes[passes.length - 1]![0]) passes.push([rangeEnd, now]);
  // Tombstones in the range of an expired pass were all dropped by this pass: one entry says so.
  let expired = 0;
  while (expired < passes.length && passes[expired]![1] + retentionMs <= now) expired++;
  if (expired > 1) passes = [[passes[expired - 1]![0], 0], ...passes.slice(expired)];
  while (passes.length > PASSES_MAX) passes.splice(0, 2, [passes[1]![0], passes[1]![1]]);
  try {
    topic.meta.putCleanerState(topic.name, { cleanedUpTo: Math.max(cleaner.cleanedUpTo, rangeEnd), passes });
  } catch (err) {
    // The swap is done; without this record tombstones live one pass longer.
    topic.reportError(ioError('write metadata', topic.name, err));
  }
}
