// What an append is given, checked and encoded before anything is written: the value through the
// topic's codec, the key, headers and timestamp, and the record's framed size against
// maxRecordBytes. Pure functions (no I/O): a bad record throws ERR_INVALID_ARGUMENT (or
// ERR_RECORD_TOO_LARGE) naming the value, and nothing of the append has been written yet.
// Strict: a key the append meta (or a record of appendBatch) does not know is refused, naming it;
// headers are a plain object or a Map with string keys, nothing else (docs/guarantees.md, "Input").
import { SeglogError, describe, invalidArgument, refuseUnknownKeys } from '../base/errors.js';
import { freshRecordBytes, headersBytes, recordFieldsBytes, type HeadersInput } from './batch.js';
import { binaryCodec, type Codec } from './codecs.js';
import type { AppendMeta } from './record.js';

/** The value's bytes through `codec` (null for a tombstone). */
export function encodeValue<V>(codec: Codec<V>, topic: string, value: V | null): Uint8Array | null {
  if (value === null) return null;
  let bytes: Uint8Array;
  try {
    bytes = codec.encode(value);
  } catch (err) {
    if (err instanceof SeglogError) throw err;
    throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid value for topic ${topic}: the codec failed on ${describe(value)} (${(err as Error)?.message ?? err})`, { value, cause: err });
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid value for topic ${topic}: the codec returned ${describe(bytes)} instead of a Uint8Array`, { value });
  }
  return bytes;
}

const META_KEYS: ReadonlySet<string> = new Set(['key', 'headers', 'timestamp']);

/**
 * A record of appendBatch carries only value, key, headers and timestamp. Per record on the batch
 * path (bench W1), so the names are compared inline rather than through a Set: in a micro-benchmark
 * on a loaded 2-core VM a one-key record took about 2x less time this way (for…in over the
 * object's cached keys; Object.keys would allocate an array per record).
 */
function checkRecordKeys(r: object, i: number): void {
  for (const k in r) {
    if (k === 'value' || k === 'key' || k === 'headers' || k === 'timestamp') continue;
    if (Object.prototype.hasOwnProperty.call(r, k)) throw invalidArgument(`records[${i}] field`, k, 'one of value, key, headers, timestamp');
  }
}

/** Checks key, headers and timestamp of an append, and that it carries nothing else. */
export function checkMeta(meta: AppendMeta | undefined): void {
  if (meta === undefined) return;
  if (meta === null || typeof meta !== 'object') throw invalidArgument('append meta', meta, 'an object { key?, headers?, timestamp? }');
  refuseUnknownKeys('append meta key', meta, META_KEYS);
  checkMetaFields(meta);
}

function checkMetaFields(meta: AppendMeta): void {
  const { key, headers, timestamp } = meta;
  if (key !== undefined && typeof key !== 'string' && !(key instanceof Uint8Array)) throw invalidArgument('key', key, 'a string or Uint8Array');
  if (headers !== undefined) checkHeaders(headers);
  if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0)) {
    throw invalidArgument('timestamp', timestamp, 'a non-negative integer of milliseconds since the epoch');
  }
}

/**
 * Headers are a plain object (or one without a prototype) or a Map whose keys are strings. Anything
 * else — an array, bytes, a Set, a class instance such as fetch's Headers — is refused: its entries
 * are not own properties, so they would be dropped without a word.
 */
function checkHeaders(headers: unknown): void {
  const expected = 'a plain object or a Map of string names to string or Uint8Array values';
  if (headers === null || typeof headers !== 'object') throw invalidArgument('headers', headers, expected);
  if (headers instanceof Map) {
    for (const name of headers.keys()) if (typeof name !== 'string') throw invalidArgument('header name', name, 'a string');
    return;
  }
  const proto = Object.getPrototypeOf(headers);
  if (proto !== Object.prototype && proto !== null) throw invalidArgument('headers', headers, expected);
}

/** Throws what the writer would throw for this record (too large), appending nothing. */
export function checkRecordBytes(value: Uint8Array | null, key: string | Uint8Array | undefined, headers: HeadersInput | undefined,
  maxRecordBytes: number, topic: string): void {
  const keyLen = key === undefined ? -1 : typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.length;
  const valueLen = value === null ? -1 : value.length;
  const hBytes = headers === undefined ? 1 : headersBytes(headers);
  const bytes = freshRecordBytes(recordFieldsBytes(keyLen, valueLen, hBytes));
  if (bytes > maxRecordBytes) throw recordTooLarge(bytes, maxRecordBytes, topic);
}

export function recordTooLarge(bytes: number, maxRecordBytes: number, topic: string): SeglogError {
  return new SeglogError('ERR_RECORD_TOO_LARGE', `record of ${bytes} bytes is larger than maxRecordBytes (${maxRecordBytes}) of topic ${topic}`, { value: bytes });
}

/** Encodes and checks every record first: a codec that throws half-way must leave nothing appended. */
export function encodeRecords<V>(codec: Codec<V>, topic: string, maxRecordBytes: number, records: Array<{ value: V | null } & AppendMeta>): Array<Uint8Array | null> {
  const values: Array<Uint8Array | null> = new Array(records.length);
  const binary = codec === (binaryCodec as Codec<unknown>);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r === null || typeof r !== 'object') throw invalidArgument(`records[${i}]`, r, 'an object { value, key?, headers?, timestamp? }');
    checkRecordKeys(r, i);
    const value = r.value;
    // (the binary codec's encode inline: the identity on bytes; anything else goes to encodeValue for its error)
    const bytes = binary && value instanceof Uint8Array ? value : encodeValue(codec, topic, value);
    values[i] = bytes;
    if (r.key !== undefined || r.headers !== undefined || r.timestamp !== undefined) {
      checkMetaFields(r);
      checkRecordBytes(bytes, r.key, r.headers, maxRecordBytes, topic);
    } else if (bytes !== null && bytes.length + 16 > maxRecordBytes) {
      checkRecordBytes(bytes, undefined, undefined, maxRecordBytes, topic);
    }
  }
  return values;
}
