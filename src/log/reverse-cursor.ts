// ReverseCursor: the backward walk behind read({ reverse: true }) — the records of [from, to) from
// the newest down, e.g. "the last 50" (read({ reverse: true, maxRecords: 50 })).
//
// Batches can only be framed forwards, so the walk goes back in spans: a span is the whole batches
// between two entries of a segment's offset index, ending where the previous span began. Each span
// is read forwards by a Cursor (cursor.ts: the same checksum, framing and gap checks as read(), the
// same zero-copy views, from memory or the file) into a small array, then handed out from its end.
// Every byte is read once or twice at most: spans start small (a "last N" read touches only the
// tail) and double up to READ_CHUNK_BYTES, the size of one forward read, so a full reverse scan is
// O(n), never O(n^2). Records handed out are views into buffers of their own, valid for as long as
// the caller holds them.
//
// Between spans the walk holds no segment: it works by offsets, so a segment that retention removed
// or compaction replaced meanwhile is passed over as read() would see it now — the walk ends at the
// topic's startOffset as it is when the walk gets there, and offsets compacted away are not there.
//
// Crash: nothing here is on disk.
import { READ_CHUNK_BYTES } from '../base/limits.js';
import type { LogRecord, RecordView } from '../format/record.js';
import type { SegmentLog } from './topic-log.js';
import { Cursor } from './cursor.js';

/** The first span: a few index intervals (a "last N" read of small records reads no more). */
const FIRST_SPAN_BYTES = 16 * 1024;

export class ReverseCursor<V> implements IterableIterator<LogRecord<V>> {
  /** Records of the current span, oldest first; handed out from the end. */
  private span: Array<RecordView<V>> = [];
  /** The next span ends below this offset (exclusive). */
  private hi: number;
  private spanBytes = FIRST_SPAN_BYTES;
  private count = 0;
  private bytes = 0;
  private done = false;

  constructor(private readonly topic: SegmentLog<V>, private readonly from: number, to: number,
    private readonly maxRecords: number, private readonly maxBytes: number) {
    this.hi = to;
    topic.publishOpenBatch();
  }

  [Symbol.iterator](): IterableIterator<LogRecord<V>> {
    return this;
  }

  next(): IteratorResult<LogRecord<V>> {
    if (this.done) return { done: true, value: undefined };
    if (this.count >= this.maxRecords) return this.finish();
    while (this.span.length === 0) {
      if (!this.readSpan()) return this.finish();
    }
    const rec = this.span.pop()!;
    if (this.maxBytes !== Infinity) {
      if (this.count > 0 && this.bytes + rec.sizeBytes > this.maxBytes) return this.finish();
      this.bytes += rec.sizeBytes;
    }
    this.count++;
    return { done: false, value: rec };
  }

  return(): IteratorResult<LogRecord<V>> {
    return this.finish();
  }

  private finish(): IteratorResult<LogRecord<V>> {
    this.done = true;
    this.span = [];
    return { done: true, value: undefined };
  }

  /** Reads the span that ends at `hi` into `span`; false when nothing is left above `from`. */
  private readSpan(): boolean {
    const topic = this.topic;
    topic.checkOpen(); // an iterator outliving close() or deleteTopic() says so (ERR_CLOSED)
    const lowest = Math.max(this.from, topic.startOffset);
    const hi = Math.min(this.hi, topic.endOffset); // a failed write may have taken records back
    if (hi <= lowest) return false;
    const seg = topic.indexesOf(topic.segments[topic.segmentIndexFor(hi - 1)]!);
    const index = seg.index!;
    // The index entry at or before hi - 1, and back from it while the span stays within spanBytes.
    const last = index.floor(hi - 1 - seg.baseOffset);
    let first = last;
    if (last >= 0) {
      const endPosition = last + 1 < index.count ? index.positionAt(last + 1) : seg.endPosition();
      while (first > 0 && endPosition - index.positionAt(first - 1) <= this.spanBytes) first--;
    }
    const lo = Math.max(lowest, first >= 0 ? seg.baseOffset + index.relativeOffsetAt(first) : seg.baseOffset);
    if (this.spanBytes < READ_CHUNK_BYTES) this.spanBytes = Math.min(READ_CHUNK_BYTES, this.spanBytes * 2);
    const cursor = new Cursor<V>(topic, lo, hi, Infinity, Infinity);
    for (let r = cursor.next(); !r.done; r = cursor.next()) this.span.push(r.value as RecordView<V>);
    this.hi = lo;
    return true;
  }
}
