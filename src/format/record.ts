// LogRecord: a zero-copy view of one record inside a batch buffer. The buffer is never reused or
// overwritten by the library, so a record (and every view taken from it) stays valid for as long
// as the caller holds it. Only offset and timestamp are decoded eagerly; key, headers, valueBytes
// and value are built on first access and then kept, so a record read by several consumers (the
// subscriptions that share it, fan-out.ts) builds each once. A record is read-only: its headers
// object is frozen (one shared frozen {} when there are none).
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

export class RecordView<V> implements LogRecord<V> {
  /** On the prototype (no cost per record); a redelivered record gets its own (group-member.ts). */
  declare readonly deliveryCount: number;
  readonly offset: number;
  readonly timestamp: number;
  /** Size of the record in the log (its framing included): what maxBytes budgets count. */
  readonly sizeBytes: number;
  private readonly _buf: Buffer;
  private readonly _keyPos: number;
  private readonly _keyLen: number; // -1: no key
  private readonly _valuePos: number;
  private readonly _valueLen: number; // -1: tombstone
  private readonly _codec: Codec<V>;
  private _key: Buffer | undefined = undefined;
  private _valueBytes: Buffer | null | undefined = undefined;
  private _value: V | null | typeof NOT_DECODED = NOT_DECODED;
  private _headers: Record<string, Buffer> | undefined = undefined;

  constructor(
    buf: Buffer, offset: number, timestamp: number, sizeBytes: number,
    keyPos: number, keyLen: number, valuePos: number, valueLen: number, codec: Codec<V>,
  ) {
    this.offset = offset;
    this.timestamp = timestamp;
    this.sizeBytes = sizeBytes;
    this._buf = buf;
    this._keyPos = keyPos;
    this._keyLen = keyLen;
    this._valuePos = valuePos;
    this._valueLen = valueLen;
    this._codec = codec;
  }

  get key(): Buffer | undefined {
    if (this._keyLen < 0) return undefined;
    return this._key ??= this._buf.subarray(this._keyPos, this._keyPos + this._keyLen);
  }

  get valueBytes(): Buffer | null {
    if (this._valueLen < 0) return null;
    return this._valueBytes ??= this._buf.subarray(this._valuePos, this._valuePos + this._valueLen);
  }

  get value(): V | null {
    if (this._value === NOT_DECODED) this._value = this._valueLen < 0 ? null : this._codec.decode(this.valueBytes!);
    return this._value;
  }

  get headers(): Record<string, Buffer> {
    // The headers follow the value (docs/format.md).
    if (this._headers === undefined) this._headers = decodeHeaders(this._buf, this._valuePos + Math.max(0, this._valueLen));
    return this._headers;
  }

  // Where the record's parts lie in its buffer, for code that re-frames records without building
  // their views (src/kafka/records/batch-writer.ts writes them as Kafka records). Lengths are -1
  // for no key and for a tombstone; the headers are in the encoding of docs/format.md.
  /** @internal */ get rawBuffer(): Buffer { return this._buf; }
  /** @internal */ get rawKeyPos(): number { return this._keyPos; }
  /** @internal */ get rawKeyLength(): number { return this._keyLen; }
  /** @internal */ get rawValuePos(): number { return this._valuePos; }
  /** @internal */ get rawValueLength(): number { return this._valueLen; }
  /** @internal */ get rawHeadersPos(): number { return this._valuePos + Math.max(0, this._valueLen); }

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
  b = buf[pos]!;
  let keyLen: number;
  if (b < 0x80) { keyLen = b; pos++; } else { keyLen = readVarint(buf, pos, end); pos = varintEnd; }
  const keyPos = pos;
  keyLen -= 1;
  if (keyLen > 0) pos += keyLen;
  b = buf[pos]!;
  let valueLen: number;
  if (b < 0x80) { valueLen = b; pos++; } else { valueLen = readVarint(buf, pos, end); pos = varintEnd; }
  const valuePos = pos;
  valueLen -= 1;
  recordEnd = stop;
  return new RecordView<V>(buf, baseOffset + offsetDelta, baseTimestampMs + unzigzag(tsZig), stop - start,
    keyPos, keyLen, valuePos, valueLen, codec);
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
