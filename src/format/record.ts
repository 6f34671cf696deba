// LogRecord: a zero-copy view of one record inside a batch buffer. The buffer is never reused or
// overwritten by the library, so a record (and every view taken from it) stays valid for as long
// as the caller holds it. Only the offset and the timestamp's delta are decoded eagerly (the
// batch's base timestamp and the codec are in one object the batch's records share); key, headers,
// valueBytes and value are found and built on first access and then kept, so a record read by
// several consumers (the subscriptions that share it, fan-out.ts) builds each once. A record is
// read-only: its headers object is frozen (one shared frozen {} when there are none).
import { inspect } from 'node:util';
import type { Codec } from './codecs.js';
import { readVarint, unzigzag, varintEnd, type HeadersInput } from './batch.js';

/**
 * One record, as read: a zero-copy view into the buffer it was read into. The buffer is never
 * reused, so a record (and its views) stays valid for as long as you hold it.
 */
export interface LogRecord<V> {
  /** Its offset in the topic. */
  readonly offset: number;
  /** Milliseconds since the epoch, as appended. */
  readonly timestamp: number;
  /** The key (a view), or undefined. */
  readonly key: Buffer | undefined;
  /** Header values (views); `{}` when none. */
  readonly headers: Record<string, Buffer>;
  /** The encoded value (a view); null for a tombstone. */
  readonly valueBytes: Buffer | null;
  /** The value decoded by the topic's codec on first access; null for a tombstone. */
  readonly value: V | null;
  /**
   * Extension of SPEC (issue 12): how many times this record has been given to the members of the
   * group it was delivered to, this one included (1 unless it is a redelivery; always 1 outside
   * groups). Counts survive restarts: a delivery that a crash, exit or close interrupted counts
   * once the tick in which the record was handed out has ended (docs/subscriptions.md).
   */
  readonly deliveryCount: number;
}


/** What an append may carry besides the value. */
export interface AppendMeta {
  /** The record's key (strings are stored as UTF-8): what compaction and `latest()` go by. */
  key?: string | Uint8Array;
  /**
   * Named values stored with the record (strings as UTF-8); read back as `Buffer` views. A plain
   * object or a `Map` with string keys; any other object is refused (ERR_INVALID_ARGUMENT).
   */
  headers?: HeadersInput;
  /** Milliseconds since the epoch; default `Date.now()`. Time lookups use the running maximum. */
  timestamp?: number;
}

const NOT_DECODED: unique symbol = Symbol('not decoded');

/**
 * What the records decoded from one batch share: its base timestamp and the topic's codec (one
 * object per batch, not two fields and a boxed number per record: bench W7 members).
 */
class BatchShared<V> {
  constructor(readonly baseTimestampMs: number, readonly codec: Codec<V>) {}
}

/** The last BatchShared made (decodeRecord reuses it for the next record of the same batch). */
let lastShared: BatchShared<unknown> | undefined;

/** Timestamp deltas kept in a record (a small integer on every platform); larger ones get a BatchShared of their own. */
const TS_DELTA_MAX = 0x3fffffff;

export class RecordView<V> implements LogRecord<V> {
  /** On the prototype (no cost per record); a redelivered record gets its own (group-member.ts). */
  declare readonly deliveryCount: number;
  readonly offset: number;
  /** Size of the record in the log (its framing included): what maxBytes budgets count. */
  readonly sizeBytes: number;
  private readonly _buf: Buffer;
  /** Where its key length lies in `_buf` (after its length, offset delta and timestamp delta); key and value follow. */
  private readonly _pos: number;
  private readonly _tsDelta: number;
  private readonly _batch: BatchShared<V>;
  private _key: Buffer | undefined = undefined;
  private _valueBytes: Buffer | null | undefined = undefined;
  private _value: V | null | typeof NOT_DECODED = NOT_DECODED;
  private _headers: Record<string, Buffer> | undefined = undefined;

  constructor(buf: Buffer, offset: number, sizeBytes: number, pos: number, tsDelta: number, batch: BatchShared<V>) {
    this.offset = offset;
    this.sizeBytes = sizeBytes;
    this._buf = buf;
    this._pos = pos;
    this._tsDelta = tsDelta;
    this._batch = batch;
  }

  /** Milliseconds since the epoch, as appended (the batch's base timestamp and the record's delta). */
  get timestamp(): number {
    return this._batch.baseTimestampMs + this._tsDelta;
  }

  get key(): Buffer | undefined {
    if (this._key !== undefined) return this._key;
    const keyLen = this.rawKeyLength;
    if (keyLen < 0) return undefined;
    return this._key ??= this._buf.subarray(varintEnd, varintEnd + keyLen);
  }

  get valueBytes(): Buffer | null {
    if (this._valueBytes !== undefined) return this._valueBytes;
    const valueLen = this.rawValueLength;
    return this._valueBytes = valueLen < 0 ? null : this._buf.subarray(varintEnd, varintEnd + valueLen);
  }

  get value(): V | null {
    if (this._value === NOT_DECODED) {
      const bytes = this.valueBytes;
      this._value = bytes === null ? null : this._batch.codec.decode(bytes);
    }
    return this._value;
  }

  get headers(): Record<string, Buffer> {
    // The headers follow the value (docs/format.md).
    if (this._headers === undefined) this._headers = decodeHeaders(this._buf, this.rawHeadersPos);
    return this._headers;
  }

  // Where the record's parts lie in its buffer, for code that re-frames records without building
  // their views (src/kafka/records/batch-writer.ts writes them as Kafka records). Lengths are -1
  // for no key and for a tombstone; the headers are in the encoding of docs/format.md. Each is
  // read from the record's framing when asked (a varint or two). rawKeyLength and rawValueLength
  // leave the position of the key or the value in `varintEnd`.
  /** @internal */ get rawBuffer(): Buffer { return this._buf; }
  /** @internal */ get rawKeyPos(): number { this.rawKeyLength; return varintEnd; }
  /** @internal */ get rawKeyLength(): number { return readVarint(this._buf, this._pos, this._buf.length) - 1; }
  /** @internal */ get rawValuePos(): number { this.rawValueLength; return varintEnd; }
  /** @internal */ get rawValueLength(): number {
    const keyLen = this.rawKeyLength;
    return readVarint(this._buf, varintEnd + Math.max(0, keyLen), this._buf.length) - 1;
  }
  /** @internal */ get rawHeadersPos(): number { const valueLen = this.rawValueLength; return varintEnd + Math.max(0, valueLen); }

  toJSON(): object {
    return { offset: this.offset, timestamp: this.timestamp, key: this.key, headers: this.headers, value: this.value };
  }

  [inspect.custom](): object {
    return { offset: this.offset, timestamp: this.timestamp, key: this.key, headers: this.headers, value: this.value };
  }
}
Object.defineProperty(RecordView.prototype, 'deliveryCount', { value: 1, writable: true, enumerable: false, configurable: true });

/** The headers of every record that has none: frozen, so one object serves them all. */
const NO_HEADERS: Record<string, Buffer> = Object.freeze({}) as Record<string, Buffer>;

function decodeHeaders(buf: Buffer, pos: number): Record<string, Buffer> {
  const end = buf.length;
  const count = readVarint(buf, pos, end);
  if (count === 0) return NO_HEADERS;
  const headers: Record<string, Buffer> = {};
  let p = varintEnd;
  for (let i = 0; i < count; i++) {
    const nameLen = readVarint(buf, p, end);
    p = varintEnd;
    const name = buf.toString('utf8', p, p + nameLen);
    p += nameLen;
    const valueLen = readVarint(buf, p, end);
    p = varintEnd;
    const value = buf.subarray(p, p + valueLen);
    // A header may be called "__proto__": define it as a plain property, never as the prototype.
    if (name === '__proto__') Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
    else headers[name] = value;
    p += valueLen;
  }
  return Object.freeze(headers);
}

/** Position just after the record read by the last decodeRecord call. */
export let recordEnd = 0;

/**
 * Decodes the record at `pos` of a batch whose checksum (or provenance: our own write buffer) is
 * already trusted. `end` bounds the batch.
 */
export function decodeRecord<V>(buf: Buffer, pos: number, end: number, baseOffset: number, baseTimestampMs: number, codec: Codec<V>): RecordView<V> {
  const start = pos;
  let b = buf[pos]!;
  let len: number;
  if (b < 0x80) { len = b; pos++; } else { len = readVarint(buf, pos, end); pos = varintEnd; }
  const stop = pos + len;
  b = buf[pos]!;
  let offsetDelta: number;
  if (b < 0x80) { offsetDelta = b; pos++; } else { offsetDelta = readVarint(buf, pos, end); pos = varintEnd; }
  b = buf[pos]!;
  let tsZig: number;
  if (b < 0x80) { tsZig = b; pos++; } else { tsZig = readVarint(buf, pos, end); pos = varintEnd; }
  recordEnd = stop;
  // (the key and the value are found from `pos`, the key's length, when they are asked for)
  let shared = lastShared as BatchShared<V> | undefined;
  if (shared === undefined || shared.baseTimestampMs !== baseTimestampMs || shared.codec !== codec) lastShared = shared = new BatchShared(baseTimestampMs, codec);
  let tsDelta = unzigzag(tsZig);
  if (tsDelta > TS_DELTA_MAX || tsDelta < -TS_DELTA_MAX) {
    shared = new BatchShared(baseTimestampMs + tsDelta, codec);
    tsDelta = 0;
  }
  return new RecordView<V>(buf, baseOffset + offsetDelta, stop - start, pos, tsDelta, shared);
}

/**
 * decodeRecord for a record whose offset is known (segment/record-table.ts): the batch's base
 * offset is the offset less the record's offset delta, which follows its length.
 */
export function decodeRecordAt<V>(buf: Buffer, pos: number, end: number, offset: number, baseTimestampMs: number, codec: Codec<V>): RecordView<V> {
  let p = pos;
  while (buf[p]! >= 0x80) p++;
  p++;
  const b = buf[p]!;
  const delta = b < 0x80 ? b : readVarint(buf, p, end);
  return decodeRecord(buf, pos, end, offset - delta, baseTimestampMs, codec);
}

/** Skips the record at `pos` and returns its offset delta; recordEnd is set to the next record. */
export function skipRecord(buf: Buffer, pos: number, end: number): number {
  let b = buf[pos]!;
  let len: number;
  if (b < 0x80) { len = b; pos++; } else { len = readVarint(buf, pos, end); pos = varintEnd; }
  recordEnd = pos + len;
  b = buf[pos]!;
  return b < 0x80 ? b : readVarint(buf, pos, end);
}
