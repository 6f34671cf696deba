// Reader: the primitive types of the Kafka protocol read from one Buffer (a request or response
// frame without its 4-byte size). Every read is bounds-checked against `end`, and every length
// prefix against the bytes left, so a hostile frame costs at most its own size: nothing is allocated
// for a length the frame cannot hold. Any failure is a KafkaProtocolError with the position.
// `bytes`/`records` are views into the frame (no copy): they stay valid as long as the frame does.
import { KafkaProtocolError } from './errors.js';

const UUID_BYTES = 16;
const TWO_32 = 4294967296;
/** |hi| below 2^21: hi * 2^32 + lo is a safe integer. */
const SAFE_HI = 2 ** 21;

export class Reader {
  pos: number;
  /** One past the last byte this reader may read (narrowed while a tagged field is read). */
  end: number;

  constructor(readonly buf: Buffer, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(what: string): never {
    throw new KafkaProtocolError(what, this.pos);
  }

  private need(bytes: number, what: string): number {
    const at = this.pos;
    if (bytes > this.end - at) this.fail(`${what}: needs ${bytes} bytes, ${this.end - at} left`);
    this.pos = at + bytes;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1, 'int8'));
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2, 'int16'));
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.need(2, 'uint16'));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4, 'int32'));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4, 'uint32'));
  }
  /** As two int32s: one bigint made from a number when it is safe (Node's readBigInt64BE makes four). */
  int64(): bigint {
    const at = this.need(8, 'int64');
    const hi = this.buf.readInt32BE(at);
    const lo = this.buf.readUInt32BE(at + 4);
    if (hi < SAFE_HI && hi >= -SAFE_HI) return BigInt(hi * TWO_32 + lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8, 'float64'));
  }
  bool(): boolean {
    return this.buf[this.need(1, 'bool')] !== 0;
  }

  /** Unsigned LEB128 of at most 5 bytes (a u32), as Kafka's ByteUtils.readUnsignedVarint. */
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) this.fail('varint: truncated');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) this.fail('varint: more than 32 bits');
        return value;
      }
    }
    return this.fail('varint: longer than 5 bytes');
  }

  /** Zigzag signed varint (int32). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zigzag signed varlong (int64) of at most 10 bytes. */
  varlong(): bigint {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) this.fail('varlong: truncated');
      const b = this.buf[this.pos++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (value >> 64n !== 0n) this.fail('varlong: more than 64 bits');
        return (value >> 1n) ^ -(value & 1n);
      }
    }
    return this.fail('varlong: longer than 10 bytes');
  }

  /** A length checked against the bytes left: `unit` bytes at least per item. */
  private checkLength(length: number, what: string): number {
    if (length > this.end - this.pos) this.fail(`${what}: length ${length} but ${this.end - this.pos} bytes left`);
    return length;
  }

  private text(length: number, what: string): string {
    const at = this.need(this.checkLength(length, what), what);
    return this.buf.toString('utf8', at, at + length);
  }

  private view(length: number, what: string): Buffer {
    const at = this.need(this.checkLength(length, what), what);
    return this.buf.subarray(at, at + length);
  }

  /** int16 length; -1 is null. */
  nullableString(): string | null {
    const length = this.int16();
    if (length < -1) this.fail(`string: negative length ${length}`);
    return length === -1 ? null : this.text(length, 'string');
  }
  string(): string {
    const s = this.nullableString();
    return s === null ? this.fail('string: null in a non-nullable field') : s;
  }

  /** Unsigned varint length + 1; 0 is null. */
  nullableCompactString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.text(n - 1, 'compact string');
  }
  compactString(): string {
    const s = this.nullableCompactString();
    return s === null ? this.fail('compact string: null in a non-nullable field') : s;
  }

  /** int32 length; -1 is null. */
  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length < -1) this.fail(`bytes: negative length ${length}`);
    return length === -1 ? null : this.view(length, 'bytes');
  }
  bytes(): Buffer {
    const b = this.nullableBytes();
    return b === null ? this.fail('bytes: null in a non-nullable field') : b;
  }

  nullableCompactBytes(): Buffer | null {
    const n = this.uvarint();
    return n === 0 ? null : this.view(n - 1, 'compact bytes');
  }
  compactBytes(): Buffer {
    const b = this.nullableCompactBytes();
    return b === null ? this.fail('compact bytes: null in a non-nullable field') : b;
  }

  /** Kafka's Uuid, as its text form (URL-safe base64 of the 16 bytes, no padding). */
  uuid(): string {
    const at = this.need(UUID_BYTES, 'uuid');
    return this.buf.toString('base64url', at, at + UUID_BYTES);
  }

  /**
   * An array's element count: int32 (-1 null) or, compact, unsigned varint count + 1 (0 null).
   * Every element takes at least one byte on the wire except in a struct with no fields in this
   * version, so a count larger than the bytes left is refused before anything is allocated.
   */
  arrayLength(compact: boolean): number {
    let n: number;
    if (compact) {
      n = this.uvarint() - 1;
    } else {
      n = this.int32();
      if (n < -1) this.fail(`array: negative length ${n}`);
    }
    if (n > this.end - this.pos) this.fail(`array: ${n} elements but ${this.end - this.pos} bytes left`);
    return n;
  }

  array<T>(compact: boolean, element: (r: Reader) => T): T[] | null {
    const n = this.arrayLength(compact);
    if (n === -1) return null;
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = element(this);
    return out;
  }

  /** Skips `length` bytes (an unknown tagged field). */
  skip(length: number): void {
    this.need(this.checkLength(length, 'skip'), 'skip');
  }

  /**
   * A tagged-field section: count, then per field tag, size and value. `onField` reads a known
   * tag within exactly `size` bytes (the reader's end is narrowed to it) and returns false for an
   * unknown tag, which is skipped. Tags must increase, as Kafka requires.
   */
  taggedFields(onField: (tag: number, r: Reader) => boolean): void {
    const count = this.uvarint();
    if (count > this.end - this.pos) this.fail(`tagged fields: ${count} fields but ${this.end - this.pos} bytes left`);
    let last = -1;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      if (tag <= last) this.fail(`tagged fields: tag ${tag} after ${last}`);
      last = tag;
      const size = this.checkLength(this.uvarint(), 'tagged field');
      const end = this.end;
      const fieldEnd = this.pos + size;
      this.end = fieldEnd;
      try {
        if (onField(tag, this) && this.pos !== fieldEnd) this.fail(`tagged field ${tag}: ${fieldEnd - this.pos} bytes left unread`);
      } finally {
        this.end = end;
      }
      this.pos = fieldEnd;
    }
  }
}
