// FrontierReader: the one cursor with which the members of a shared group read the records past
// the share's frontier (group-share.ts), the records never handed out. Each read hands a run of
// records to one member only, so nothing is shared between members and the topic's fan-out window
// (fan-out.ts, made for subscriptions that each read every record) is not used: members that take
// turns at the frontier read on with the same cursor instead of each moving its own cursor (and
// each keeping the window's records alive) to where the frontier got to (bench W7 members).
// The cursor pauses at the written end like a subscription's own cursor (subscription-read.ts) and
// is dropped when the share goes or its last member leaves; it moves (a new cursor) only when the
// frontier jumped (records finished before a restart, a commit ahead).
//
// Crash: nothing here is on disk.
import type { LogRecord } from '../format/record.js';
import type { Cursor } from '../log/reader.js';
import type { ShareReader } from './group-share.js';
import { dropCursor, idle, pullOwn, pullOwnBatch, type ReadingSubscription, type TailedLog } from './subscription-read.js';

export class FrontierReader<V> implements ReadingSubscription<V>, ShareReader {
  _position = 0;
  cursor: Cursor<V> | undefined = undefined;
  cursorEnd = 0;
  readonly maxBuffered = 1;
  /** The reading member's (a position removed by retention is reported to it). */
  onGap: ((gap: { from: number; to: number }) => void) | undefined = undefined;

  constructor(readonly topic: TailedLog<V>) {}

  /** Reads from `from`: one record, or 1 to `max` records, or undefined at the written end; `position` is then one past what it read. */
  read(from: number, max: number, batch: boolean, onGap: ((gap: { from: number; to: number }) => void) | undefined): LogRecord<V> | Array<LogRecord<V>> | undefined {
    if (this._position !== from) {
      dropCursor(this);
      this._position = from;
    }
    this.onGap = onGap;
    let got: LogRecord<V> | Array<LogRecord<V>> | undefined;
    if (batch) {
      const records = pullOwnBatch(this, max);
      got = records.length > 0 ? records : undefined;
    } else {
      got = pullOwn(this);
    }
    idle(this);
    return got;
  }

  get position(): number {
    return this._position;
  }

  drop(): void {
    dropCursor(this);
  }
}
