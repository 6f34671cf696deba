// FanOut: the records that the subscriptions of one topic read last, decoded once and shared by
// every subscription positioned among them (issue #3, bench W6: 8 subscribers following one
// tail each used to decode every record into a view of its own, and make a cursor per wake).
//
// The window is a dense run of offsets [base, base + records.length). The first subscription to
// need an offset past its end reads on through the window's cursor (one tail cursor per topic,
// paused between wakes); the others take the same LogRecord objects from the array. A subscription
// behind the window reads with its own cursor until it reaches it; one ahead of it (the window was
// left behind) starts a new window where it stands.
//
// Sharing is safe because a record is read-only (record.ts: the bytes are never reused, key,
// valueBytes and value are built once and kept, headers are frozen), but a decoded value is an
// object the consumer may change: windows are used only with codecs whose values cannot carry a
// change from one consumer to another (binary: a view of the log's bytes; string: a primitive).
// Other codecs decode per subscription, as read() does.
//
// Bounds: the window keeps the records that a subscription positioned in it has yet to take:
// before reading more, it lets go of those below the lowest such position, so records usually
// live for one wake (short-lived objects are cheap for the garbage collector; a window of the
// last N records made them survive into the old generation: bench W6, 27% of the time in GC).
// Whatever the positions, past WINDOW_RECORDS_MAX records or WINDOW_BYTES_MAX bytes of records
// the oldest half goes (never what the reading subscription asked for: a subscription left
// behind reads on with its own cursor), and the window is dropped when fewer
// than two subscriptions are open. Records are added only up to the topic's written end, as a
// subscription's own cursor would read them.
//
// Crash: nothing here is on disk.
import { binaryCodec, stringCodec, type Codec } from '../format/codecs.js';
import { Cursor } from '../log/reader.js';
import type { RecordView } from '../format/record.js';
import type { TailMember } from '../log/tail.js';
import type { SegmentLog } from '../log/topic-log.js';

/** What a fan-out reads: the segment log, and how far its writer has handed records to the OS. */
export interface FanOutLog<V> extends SegmentLog<V> {
  readonly writtenEnd: number;
}

/** Most records the window holds beyond what the reading subscription asked for (then halved). */
export const WINDOW_RECORDS_MAX = 16384;
/** Most bytes of records the window holds beyond what the reading subscription asked for (then halved). */
export const WINDOW_BYTES_MAX = 4 << 20;
/**
 * Records read between two looks at the subscriptions' positions: a look visits every open
 * subscription, so one per record read (next() steps) would cost O(subscriptions) per record.
 */
const RELEASE_EVERY_RECORDS = 64;

/** Whether records decoded with `codec` can be handed to several consumers. */
export function shareableCodec(codec: Codec<unknown>): boolean {
  return codec === binaryCodec || codec === stringCodec;
}

export class FanOut<V> {
  /** Offset of records[0]. */
  base = 0;
  /** The window: records[i] has offset base + i. Read-only for subscriptions. */
  records: Array<RecordView<V>> = [];
  /** sizeBytes of the records in the window. */
  private bytes = 0;
  /** Reads on from `end`; paused at `cursorEnd` between wakes. */
  private cursor: Cursor<V> | undefined = undefined;
  private cursorEnd = 0;
  private codec: Codec<V>;
  /** Records read since release() last looked at the positions. */
  private readSinceRelease = 0;

  constructor(private readonly topic: FanOutLog<V>, private readonly members: Iterable<TailMember>) {
    this.codec = topic.codec;
  }

  /** First offset past the window. */
  get end(): number {
    return this.base + this.records.length;
  }

  /**
   * Makes the window cover `position` and, as far as the log allows, the offsets up to `want`
   * (at most the written end). Returns the index of `position` in `records` (it may equal
   * records.length when nothing could be read), or -1 when `position` is behind the window: the
   * caller reads those offsets itself.
   */
  reach(position: number, want: number): number {
    const topic = this.topic;
    const written = topic.writtenEnd;
    if (this.codec !== topic.codec) this.reset(position);
    if (this.end > written) this.cutTo(written); // the written end moved back (a failed write)
    else if (this.cursor !== undefined && this.cursorEnd > written) this.dropCursor(); // (so did the cursor's end)
    if (position < this.base) return -1;
    if (position > this.end) this.reset(position);
    if (want > written) want = written;
    if (this.end < want) this.readTo(want, position);
    return position < this.base ? -1 : position - this.base;
  }

  /** Reads records into the window until it reaches `want` or the log has no more. */
  private readTo(want: number, keepFrom: number): void {
    const topic = this.topic;
    if (this.readSinceRelease >= RELEASE_EVERY_RECORDS && this.records.length > 0) {
      this.readSinceRelease = 0;
      this.release(keepFrom);
    }
    let cursor = this.cursor;
    if (cursor !== undefined && this.cursorEnd < want) {
      if (cursor.extendTo(topic.writtenEnd)) this.cursorEnd = topic.writtenEnd;
      else cursor = this.cursor = undefined;
    }
    if (cursor === undefined) {
      this.cursorEnd = topic.writtenEnd;
      cursor = this.cursor = new Cursor<V>(topic, this.end, this.cursorEnd, Infinity, Infinity, true);
    }
    let records = this.records;
    let end = this.end;
    let bytes = this.bytes;
    this.readSinceRelease += want - end;
    while (end < want) {
      const r = cursor.next();
      if (r.done === true) {
        // Offsets up to cursorEnd that the cursor did not yield were compacted away: the window
        // starts again past them (a subscription inside the gap reads it with its own cursor).
        if (end < this.cursorEnd) {
          this.restartAt(this.cursorEnd);
          return;
        }
        break;
      }
      const record = r.value as RecordView<V>;
      if (record.offset !== end) {
        // A compacted gap inside the range: the window starts again at the record after it.
        this.restartAt(record.offset);
        records = this.records;
        end = record.offset;
        bytes = 0;
      }
      records.push(record);
      bytes += record.sizeBytes;
      end++;
    }
    // At the cursor's end (the written end when it last read on): it pauses now, holding nothing
    // until the next write, or goes if it cannot read on from there.
    if (end >= this.cursorEnd && this.cursor === cursor && !cursor.park()) this.dropCursor();
    this.bytes = bytes;
    if (records.length > WINDOW_RECORDS_MAX || bytes > WINDOW_BYTES_MAX) this.trim(keepFrom);
  }

  /** Lets go of the records below every position in the window (and below `keepFrom`). */
  private release(keepFrom: number): void {
    const base = this.base;
    const end = this.end;
    let low = keepFrom;
    for (const m of this.members) {
      const p = m.position;
      if (p >= base && p < low) {
        low = p;
        if (low === base) return;
      }
    }
    if (low >= end) {
      this.restartAt(end);
      return;
    }
    if (low - base >= WINDOW_RECORDS_MAX / 8) this.dropBelow(low);
  }

  /** Drops the oldest records down to half the bounds, keeping every record from `keepFrom` on. */
  private trim(keepFrom: number): void {
    const records = this.records;
    let cut = records.length - WINDOW_RECORDS_MAX / 2;
    if (cut < 0) cut = 0;
    let bytes = this.bytes;
    for (let i = 0; i < cut; i++) bytes -= records[i]!.sizeBytes;
    while (bytes > WINDOW_BYTES_MAX / 2 && cut < records.length) bytes -= records[cut++]!.sizeBytes;
    const keep = Math.max(0, keepFrom - this.base);
    if (cut > keep) {
      for (let i = keep; i < cut; i++) bytes += records[i]!.sizeBytes;
      cut = keep;
    }
    if (cut <= 0) return;
    this.records = records.slice(cut);
    this.base += cut;
    this.bytes = bytes;
  }

  /** Drops the records below offset `low` (base < low < end). */
  private dropBelow(low: number): void {
    const cut = low - this.base;
    const records = this.records;
    for (let i = 0; i < cut; i++) this.bytes -= records[i]!.sizeBytes;
    this.records = records.slice(cut);
    this.base = low;
  }

  /** Forgets the records at and past `end`, and the cursor that read them. */
  private cutTo(end: number): void {
    if (end <= this.base) {
      this.restartAt(end);
    } else {
      const keep = end - this.base;
      for (let i = keep; i < this.records.length; i++) this.bytes -= this.records[i]!.sizeBytes;
      this.records.length = keep;
    }
    this.dropCursor();
  }

  /** An empty window at `offset` (the cursor reads on from there). */
  private restartAt(offset: number): void {
    this.records = [];
    this.bytes = 0;
    this.base = offset;
  }

  /** An empty window at `offset`, read by a new cursor. */
  private reset(offset: number): void {
    this.restartAt(offset);
    this.dropCursor();
    this.codec = this.topic.codec;
  }

  private dropCursor(): void {
    const cursor = this.cursor;
    this.cursor = undefined;
    cursor?.return();
  }

  /** Lets go of every record and the cursor. */
  clear(): void {
    this.reset(0);
  }
}
