// Writer: builds a Kafka frame as a list of Buffers without a per-field allocation. Fields are
// written into a large chunk; when it fills, writing goes on in a new chunk. Caller-owned Buffers
// (a Fetch response's record batches) are spliced in as chunks of their own, never copied (below
// SPLICE_MIN_BYTES a copy is cheaper than another iovec). `finish()` returns the chunks in order.
//
// Chunks are carved from a shared slab, as Node's Buffer pool does: a writer takes the rest of the
// slab, and `finish()` hands the unused tail to the next writer; a slab is never written twice, and
// dies when the last Buffer returned from it does. Only one writer holds the slab at a time (writing
// is synchronous); a writer made while another holds it (a tagged field's nested writer) gets
// chunks of its own.
/** Size of the shared slab and of each new chunk: a frame's fields, records aside, fit in one. */
export const WRITER_CHUNK_BYTES = 64 * 1024;
/** A writer starts a new slab rather than take a tail smaller than this. */
const SLAB_TAIL_MIN_BYTES = 512;
/** Spliced Buffers smaller than this are copied instead. */
const SPLICE_MIN_BYTES = 256;
const NESTED_CHUNK_BYTES = 1024;
const TWO_32 = 4294967296;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

let slab: Buffer = Buffer.allocUnsafe(WRITER_CHUNK_BYTES);
let slabPos = 0;
let slabHeld = false;

/** A place reserved in the output, written later (a frame's size). */
export interface Mark {
  readonly buf: Buffer;
  readonly at: number;
}

export class Writer {
  private readonly out: Buffer[] = [];
  private buf: Buffer;
  private start: number;
  private pos: number;
  private shared: boolean;
  private done = false;
  /** Bytes written so far, spliced ones included. */
  length = 0;

  constructor() {
    if (slabHeld) {
      this.shared = false;
      this.buf = Buffer.allocUnsafe(NESTED_CHUNK_BYTES);
      this.start = this.pos = 0;
    } else {
      this.shared = true;
      slabHeld = true;
      if (slab.length - slabPos < SLAB_TAIL_MIN_BYTES) {
        slab = Buffer.allocUnsafe(WRITER_CHUNK_BYTES);
        slabPos = 0;
      }
      this.buf = slab;
      this.start = this.pos = slabPos;
    }
  }

  /**
   * Makes room for `bytes` contiguous bytes and returns where they go; it may move to a new chunk,
   * so callers read `this.buf` only after calling it.
   */
  private room(bytes: number): number {
    if (this.done) throw new Error('Writer used after finish()');
    const at = this.pos;
    if (bytes <= this.buf.length - at) {
      this.pos = at + bytes;
      this.length += bytes;
      return at;
    }
    if (at > this.start) this.out.push(this.buf.subarray(this.start, at));
    const size = Math.max(bytes, this.shared ? WRITER_CHUNK_BYTES : Math.min(WRITER_CHUNK_BYTES, this.buf.length * 2));
    this.buf = Buffer.allocUnsafe(size);
    if (this.shared) {
      slab = this.buf;
      slabPos = 0;
    }
    this.start = 0;
    this.pos = bytes;
    this.length += bytes;
    return 0;
  }

  int8(v: number): void {
    const at = this.room(1);
    this.buf.writeInt8(v, at);
  }
  int16(v: number): void {
    const at = this.room(2);
    this.buf.writeInt16BE(v, at);
  }
  uint16(v: number): void {
    const at = this.room(2);
    this.buf.writeUInt16BE(v, at);
  }
  int32(v: number): void {
    const at = this.room(4);
    this.buf.writeInt32BE(v, at);
  }
  uint32(v: number): void {
    const at = this.room(4);
    this.buf.writeUInt32BE(v, at);
  }
  /** A bigint, or a safe integer number (written without making a bigint). */
  int64(v: bigint | number): void {
    const at = this.room(8);
    if (typeof v === 'bigint') {
      // Node's writeBigInt64BE does several bigint operations and was the top self time in a CPU
      // profile of Fetch response encoding; offsets and timestamps are safe integers, written as
      // two int32s.
      if (v > MAX_SAFE || v < -MAX_SAFE) {
        this.buf.writeBigInt64BE(v, at);
        return;
      }
      v = Number(v);
    } else if (!Number.isSafeInteger(v)) {
      throw new RangeError(`int64: ${v} is not a safe integer`);
    }
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, at);
    this.buf.writeUInt32BE(v - hi * TWO_32, at + 4);
  }
  float64(v: number): void {
    const at = this.room(8);
    this.buf.writeDoubleBE(v, at);
  }
  bool(v: boolean): void {
    const at = this.room(1);
    this.buf[at] = v ? 1 : 0;
  }

  uvarint(v: number): void {
    if (!(v >= 0 && v <= 0xffffffff && Number.isInteger(v))) throw new RangeError(`unsigned varint: ${v} is not a u32`);
    let bytes = 1;
    for (let x = v; x >= 0x80; x = Math.floor(x / 128)) bytes++;
    let at = this.room(bytes);
    const buf = this.buf;
    while (v >= 0x80) {
      buf[at++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[at] = v;
  }
  varint(v: number): void {
    if (!(v >= -0x80000000 && v <= 0x7fffffff && Number.isInteger(v))) throw new RangeError(`varint: ${v} is not an int32`);
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  varlong(v: bigint): void {
    let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (u >= 0x80n) {
      const at = this.room(1);
      this.buf[at] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    const at = this.room(1);
    this.buf[at] = Number(u);
  }

  private text(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    const at = this.room(n);
    this.buf.write(s, at, n, 'utf8');
  }

  /** int16 length (-1 for null), then UTF-8. */
  nullableString(s: string | null): void {
    if (s === null) return this.int16(-1);
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 0x7fff) throw new RangeError(`string: ${n} bytes is over 32767`);
    this.int16(n);
    const at = this.room(n);
    this.buf.write(s, at, n, 'utf8');
  }
  /** Unsigned varint length + 1 (0 for null), then UTF-8. */
  nullableCompactString(s: string | null): void {
    if (s === null) return this.uvarint(0);
    this.uvarint(Buffer.byteLength(s, 'utf8') + 1);
    this.text(s);
  }

  /** int32 length (-1 for null), then the bytes: one Buffer or several, spliced. */
  nullableBytes(b: Buffer | readonly Buffer[] | null): void {
    if (b === null) return this.int32(-1);
    this.int32(byteLength(b));
    this.splice(b);
  }
  nullableCompactBytes(b: Buffer | readonly Buffer[] | null): void {
    if (b === null) return this.uvarint(0);
    this.uvarint(byteLength(b) + 1);
    this.splice(b);
  }

  /** Kafka's Uuid from its text form (URL-safe base64 of 16 bytes). */
  uuid(s: string): void {
    const at = this.room(16);
    if (s.length !== 22 || this.buf.write(s, at, 16, 'base64url') !== 16) {
      throw new RangeError(`uuid: ${JSON.stringify(s)} is not 16 bytes in URL-safe base64`);
    }
  }

  /** int32 count (-1 for null) or, compact, unsigned varint count + 1 (0 for null). */
  arrayLength(n: number | null, compact: boolean): void {
    if (compact) this.uvarint(n === null ? 0 : n + 1);
    else this.int32(n === null ? -1 : n);
  }

  /** Copies `b` into the output. */
  raw(b: Buffer): void {
    const at = this.room(b.length);
    b.copy(this.buf, at);
  }

  /** Adds caller-owned Buffers to the output without copying them (small ones are copied). */
  splice(b: Buffer | readonly Buffer[]): void {
    if (Buffer.isBuffer(b)) return this.spliceOne(b);
    for (const part of b) this.spliceOne(part);
  }

  private spliceOne(b: Buffer): void {
    if (b.length < SPLICE_MIN_BYTES) return this.raw(b);
    if (this.done) throw new Error('Writer used after finish()');
    if (this.pos > this.start) this.out.push(this.buf.subarray(this.start, this.pos));
    this.start = this.pos;
    this.out.push(b);
    this.length += b.length;
  }

  /** Reserves 4 bytes to be written later with `int32At`. */
  reserveInt32(): Mark {
    const at = this.room(4);
    return { buf: this.buf, at };
  }
  int32At(mark: Mark, v: number): void {
    mark.buf.writeInt32BE(v, mark.at);
  }

  /** The output, in order; the writer is done (its slab tail goes to the next writer). */
  finish(): Buffer[] {
    if (this.done) throw new Error('Writer finished twice');
    if (this.pos > this.start) this.out.push(this.buf.subarray(this.start, this.pos));
    this.release(this.pos);
    return this.out;
  }

  /** Gives the slab back without output (encoding failed). */
  abandon(): void {
    if (!this.done) this.release(this.shared && this.buf === slab ? slabPos : 0);
  }

  private release(pos: number): void {
    this.done = true;
    if (this.shared) {
      if (this.buf === slab) slabPos = pos;
      slabHeld = false;
    }
  }
}

function byteLength(b: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(b)) return b.length;
  let n = 0;
  for (const part of b) n += part.length;
  return n;
}

/** One Buffer of a frame's chunks (tests, small frames). */
export function concatChunks(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
