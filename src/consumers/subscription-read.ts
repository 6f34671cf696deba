// How a subscription (subscription.ts) reads its records at its position: through the topic's
// shared FanOut window while two or more subscriptions are open (fan-out.ts), else, and whenever
// it is behind the window, with its own tail Cursor. Moved out of SubscriptionImpl as functions of
// the narrow ReadingSubscription (the subscription passes itself: no object or call in between per
// record); the waiting, the groups and the commits stay in subscription.ts.
//
// The own cursor reads [position, cursorEnd), cursorEnd being the topic's written end when it was
// made or last extended: at cursorEnd it pauses (park(): no buffer, no segment held) and reads on
// after the next write, or goes if it cannot read on from where it is, or if the written end moved
// back (a failed write was rolled back). A position removed by retention continues at the topic's
// startOffset and is reported to onGap. A batch holds at least one and at most `max` records
// (maxBuffered by default); NOTHING (never handed out) says there is none.
//
// Crash: nothing here is on disk.
import { FanOut, shareableCodec } from './fan-out.js';
import { Cursor } from '../log/reader.js';
import type { LogRecord } from '../format/record.js';
import type { Tail } from '../log/tail.js';
import type { FanOutLog } from './fan-out.js';

/** What reading needs of the topic: its records, its written end, its subscriptions (the tail). */
export interface TailedLog<V> extends FanOutLog<V> {
  readonly tail: Tail;
}

/** The reading state of a subscription (SubscriptionImpl's fields). */
export interface ReadingSubscription<V> {
  readonly topic: TailedLog<V>;
  /** The next offset it reads. */
  _position: number;
  cursor: Cursor<V> | undefined;
  /** The end the cursor reads to (the topic's written end when it was created). */
  cursorEnd: number;
  readonly maxBuffered: number;
  readonly onGap: ((gap: { from: number; to: number }) => void) | undefined;
}

/** pullBatch() found nothing (never handed out). */
const NOTHING: never[] = [];

/** The topic's shared window, when this subscription reads through it (fan-out.ts). */
function fanWindow<V>(s: ReadingSubscription<V>): FanOut<V> | undefined {
  const tail = s.topic.tail;
  if (tail.members.size < 2 || !shareableCodec(s.topic.codec)) return undefined;
  return (tail.window ??= new FanOut<V>(s.topic, tail.members)) as FanOut<V>;
}

/** The next readable record, or undefined at the written end. */
export function pull<V>(s: ReadingSubscription<V>): LogRecord<V> | undefined {
  const fan = fanWindow(s);
  if (fan !== undefined) {
    const topic = s.topic;
    if (s._position < topic.startOffset) gap(s);
    const position = s._position;
    if (position >= topic.writtenEnd) return undefined;
    const i = fan.reach(position, position + 1);
    if (i >= 0 && i < fan.records.length) {
      dropCursor(s);
      s._position = position + 1;
      return fan.records[i];
    }
  }
  return pullOwn(s);
}

/**
 * The next readable record through this subscription's own cursor. The cursor reads
 * [position, cursorEnd); at cursorEnd it pauses, and reads on once the written end has moved.
 */
export function pullOwn<V>(s: ReadingSubscription<V>): LogRecord<V> | undefined {
  const topic = s.topic;
  for (;;) {
    if (s._position < topic.startOffset) gap(s);
    let cursor = s.cursor;
    if (cursor !== undefined && topic.writtenEnd < s.cursorEnd) {
      // The written end moved back (a failed write was rolled back): what the cursor would read
      // past it may be replaced.
      dropCursor(s);
      cursor = undefined;
    }
    if (cursor !== undefined && s._position >= s.cursorEnd) {
      const end = topic.writtenEnd;
      if (s._position >= end) return undefined;
      if (cursor.extendTo(end)) {
        s.cursorEnd = end;
      } else {
        dropCursor(s);
        cursor = undefined;
      }
    }
    if (cursor === undefined) {
      const end = topic.writtenEnd;
      if (s._position >= end) return undefined;
      cursor = s.cursor = new Cursor<V>(topic, s._position, end, Infinity, Infinity, true);
      s.cursorEnd = end;
    }
    const r = cursor.next();
    if (r.done !== true) {
      const record = r.value;
      s._position = record.offset + 1;
      return record;
    }
    // The cursor covered [position, cursorEnd): offsets in it that it did not yield were
    // compacted away.
    if (s.cursorEnd > s._position) s._position = s.cursorEnd;
  }
}

/** At least one and at most `max` readable records through the own cursor, or none at the written end. */
export function pullOwnBatch<V>(s: ReadingSubscription<V>, max: number): Array<LogRecord<V>> {
  const record = pullOwn(s);
  if (record === undefined) return NOTHING;
  const out = [record];
  while (out.length < max) {
    // Straight from the cursor up to its end: pullOwn's looks at the start offset and the written
    // end cannot change within this synchronous loop (bench W7 batches(): a few % per record).
    const cursor = s.cursor;
    if (cursor !== undefined) {
      const end = s.cursorEnd;
      while (out.length < max && s._position < end) {
        const r = cursor.next();
        if (r.done === true) {
          if (end > s._position) s._position = end; // (compacted away up to the end, as in pullOwn)
          break;
        }
        const next = r.value;
        s._position = next.offset + 1;
        out.push(next);
      }
      if (out.length >= max) break;
    }
    const next = pullOwn(s);
    if (next === undefined) break;
    out.push(next);
  }
  return out;
}

/** At least one and at most maxBuffered readable records, or none at the written end. */
export function pullBatch<V>(s: ReadingSubscription<V>, max = s.maxBuffered): Array<LogRecord<V>> {
  const fan = fanWindow(s);
  if (fan === undefined) return pullOwnBatch(s, max);
  const topic = s.topic;
  let out: Array<LogRecord<V>> | undefined;
  let count = 0;
  while (count < max) {
    if (s._position < topic.startOffset) gap(s);
    const position = s._position;
    if (position >= topic.writtenEnd) break;
    const i = fan.reach(position, position + (max - count));
    const records = fan.records;
    const n = i < 0 ? 0 : Math.min(max - count, records.length - i);
    if (n > 0) {
      dropCursor(s);
      if (out === undefined) {
        out = records.slice(i, i + n);
      } else {
        for (let k = i; k < i + n; k++) out.push(records[k]!);
      }
      count += n;
      s._position = position + n;
      continue;
    }
    // Behind the window (or at a compacted gap it skipped): read up to it with our own cursor.
    const record = pullOwn(s);
    if (record === undefined) break;
    (out ??= []).push(record);
    count++;
    while (count < max && s._position < fan.base) {
      const next = pullOwn(s);
      if (next === undefined) break;
      out.push(next);
      count++;
    }
  }
  return out ?? NOTHING;
}

/** The position was removed by retention: continue at startOffset and say so. */
function gap<V>(s: ReadingSubscription<V>): void {
  const from = s._position;
  const to = s.topic.startOffset;
  s._position = to;
  dropCursor(s);
  if (s.onGap !== undefined) s.onGap({ from, to });
}

/**
 * At the written end (about to wait, or handing out the last records written): the cursor
 * pauses (it holds no buffer and no segment until the subscription reads on, however long that
 * takes), or goes if it cannot read on from where it is.
 */
export function idle<V>(s: ReadingSubscription<V>): void {
  const cursor = s.cursor;
  if (cursor !== undefined && s._position >= s.topic.writtenEnd && !cursor.park()) dropCursor(s);
}

/** Lets go of the cursor before its end (it releases the segment it holds). */
export function dropCursor<V>(s: ReadingSubscription<V>): void {
  const cursor = s.cursor;
  s.cursor = undefined;
  cursor?.return();
}
