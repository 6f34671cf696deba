// Kafka's variable-length integers, as record batch v2 uses them: zigzag-encoded signed integers in
// unsigned LEB128 (7 bits a byte, low groups first). `varint` is an int32 (at most 5 bytes),
// `varlong` an int64 (at most 10 bytes; here limited to the safe-integer range, which every
// timestamp delta of a real clock fits). Readers take the end of the bytes they may read and throw
// KafkaError(INVALID_RECORD) on a truncated or over-long number: they are only ever used inside a
// batch whose CRC was already checked, so a bad number is what the producer wrote, not transit
// damage. The end of the last number read is left in `varEnd` (no object per read).
import { KafkaError, RecordsErrorCode } from './kafka-error.js';

/** Position just after the number read by the last readVarint / readVarlong call. */
export let varEnd = 0;

function malformed(pos: number): never {
  throw new KafkaError(RecordsErrorCode.INVALID_RECORD, `malformed or truncated varint at byte ${pos} of the records`);
}

/** Reads a zigzag varint (int32) starting at `pos`; every byte of it must be before `end`. */
export function readVarint(buf: Uint8Array, pos: number, end: number): number {
  let z = 0;
  let shift = 0;
  const start = pos;
  for (;;) {
    if (pos >= end || shift > 28) malformed(start);
    const b = buf[pos++]!;
    z |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  varEnd = pos;
  return (z >>> 1) ^ -(z & 1);
}

/** Reads a zigzag varlong (int64) starting at `pos`; throws when it is not a safe integer. */
export function readVarlong(buf: Uint8Array, pos: number, end: number): number {
  const start = pos;
  // The first four bytes (28 bits) in integer arithmetic: every delta below 2^27 ms (37 hours).
  let z = 0;
  let shift = 0;
  for (; shift < 28; shift += 7) {
    if (pos >= end) malformed(start);
    const b = buf[pos++]!;
    z |= (b & 0x7f) << shift;
    if (b < 0x80) {
      varEnd = pos;
      return (z >>> 1) ^ -(z & 1);
    }
  }
  let scale = 2 ** 28;
  for (;;) {
    if (pos >= end || scale > 2 ** 63) malformed(start);
    const b = buf[pos++]!;
    z += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  if (z > Number.MAX_SAFE_INTEGER) {
    throw new KafkaError(RecordsErrorCode.INVALID_RECORD, `varlong at byte ${start} of the records is beyond 2^53`);
  }
  varEnd = pos;
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bytes writeVarint takes for `v` (an int32). */
export function varintBytes(v: number): number {
  const z = ((v << 1) ^ (v >> 31)) >>> 0;
  return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5;
}

/** Writes `v` (an int32) as a zigzag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Bytes writeVarlong takes for `v` (a safe integer). */
export function varlongBytes(v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return varintBytes(v);
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

/** Writes `v` (a safe integer) as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return writeVarint(buf, pos, v);
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  while (z >= 128) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}
