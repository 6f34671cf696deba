// topic.writable(): a Node Writable (object mode) that appends what is written to it, so that
// `await pipeline(source, topic.writable())` produces into a topic as `Readable.from(sub)` consumes
// from one. A chunk is a value, or a record `{ value, key?, headers?, timestamp? }` (`chunks`
// says which; 'auto' takes a plain object whose keys are `value` and only those four for a record).
//
// Backpressure: a write's callback runs once its append resolved (under the log's durability:
// fsynced under 'fsync'), so `write()` returns false once `highWaterMark` records wait for their
// acknowledgement, and the producer stops until they are. While one write waits, Node buffers the
// next ones and hands them over together (_writev): they are appended in one tick and share one
// group commit. 'finish' (and pipeline's resolve) come after every append resolved.
//
// Errors: a chunk the topic refuses (a value its codec rejects, a bad key or header, a record too
// large, the log closed or failed) fails the stream with that SeglogError; the chunks before it in
// the same hand-over are appended and acknowledged first, the ones after it are not appended.
// Nothing of the stream is on disk beyond what its appends wrote. Crash: as for append().
import { Writable } from 'node:stream';
import { SeglogError, describe, invalidArgument } from './base/errors.js';
import type { AppendMeta } from './format/record.js';

/** The most records a writable lets wait for their acknowledgement before write() returns false. */
export const WRITABLE_HIGH_WATER_MARK_DEFAULT = 1024;
const WRITABLE_HIGH_WATER_MARK_MAX = 1 << 20;

/** Options of `topic.writable()`. */
export interface TopicWritableOptions {
  /** Records waiting for their acknowledgement before `write()` returns false (default 1024). */
  highWaterMark?: number;
  /**
   * What a chunk is: `'values'` (each chunk is a value), `'records'` (each is `{ value, key?,
   * headers?, timestamp? }`), or `'auto'` (default: a plain object with a `value` key and no keys
   * but those four is a record, anything else a value — a json topic whose values may look like
   * that says `'values'` or `'records'`).
   */
  chunks?: 'auto' | 'values' | 'records';
}

/** What the writable needs of its topic (src/topic.ts). */
export interface WritableTopic<V> {
  readonly name: string;
  readonly readOnly: boolean;
  checkOpen(): void;
  /** append(), throwing a refusal at once instead of rejecting. */
  appendOrThrow(value: V | null, meta?: AppendMeta): Promise<number>;
}

const KNOWN_OPTIONS = new Set(['highWaterMark', 'chunks']);
const RECORD_KEYS = new Set(['value', 'key', 'headers', 'timestamp']);

function checkOptions(options: unknown): { highWaterMark: number; chunks: 'auto' | 'values' | 'records' } {
  if (options === undefined) return { highWaterMark: WRITABLE_HIGH_WATER_MARK_DEFAULT, chunks: 'auto' };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidArgument('writable options', options, 'an object { highWaterMark?, chunks? }');
  for (const k of Object.keys(options)) if (!KNOWN_OPTIONS.has(k)) throw invalidArgument('writable option', k, [...KNOWN_OPTIONS].join(' or '));
  const { highWaterMark = WRITABLE_HIGH_WATER_MARK_DEFAULT, chunks = 'auto' } = options as TopicWritableOptions;
  if (typeof highWaterMark !== 'number' || !Number.isSafeInteger(highWaterMark) || highWaterMark < 1 || highWaterMark > WRITABLE_HIGH_WATER_MARK_MAX) {
    throw invalidArgument('option highWaterMark', highWaterMark, `an integer of records from 1 to ${WRITABLE_HIGH_WATER_MARK_MAX}`);
  }
  if (chunks !== 'auto' && chunks !== 'values' && chunks !== 'records') throw invalidArgument('option chunks', chunks, "'auto', 'values' or 'records'");
  return { highWaterMark, chunks };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

function looksLikeRecord(x: unknown): x is Record<string, unknown> {
  return isPlainObject(x) && Object.hasOwn(x, 'value') && Object.keys(x).every((k) => RECORD_KEYS.has(k));
}

/** Appends one chunk (a value or a record); a refusal throws. */
function appendChunk<V>(topic: WritableTopic<V>, chunks: 'auto' | 'values' | 'records', chunk: unknown): Promise<number> {
  if (chunks === 'values' || (chunks === 'auto' && !looksLikeRecord(chunk))) return topic.appendOrThrow(chunk as V);
  if (!isPlainObject(chunk) || !Object.hasOwn(chunk, 'value')) {
    throw invalidArgument(`record written to topic ${topic.name}`, chunk, 'an object { value, key?, headers?, timestamp? }');
  }
  for (const k of Object.keys(chunk)) {
    if (!RECORD_KEYS.has(k)) throw invalidArgument(`key of a record written to topic ${topic.name}`, k, 'value, key, headers or timestamp');
  }
  const meta: AppendMeta = {};
  if (chunk.key !== undefined) meta.key = chunk.key as AppendMeta['key'];
  if (chunk.headers !== undefined) meta.headers = chunk.headers as AppendMeta['headers'];
  if (chunk.timestamp !== undefined) meta.timestamp = chunk.timestamp as number;
  return topic.appendOrThrow(chunk.value as V | null, meta);
}

/**
 * Appends `chunks` in order (in this tick: one group commit), stopping at the first refusal;
 * settles once every append made has: rejects with the first failure, else the refusal.
 */
async function appendAll<V>(topic: WritableTopic<V>, mode: 'auto' | 'values' | 'records', chunks: unknown[]): Promise<void> {
  const acks: Array<Promise<number>> = [];
  let refused: unknown;
  try {
    for (const chunk of chunks) acks.push(appendChunk(topic, mode, chunk));
  } catch (err) {
    refused = err;
  }
  for (const r of await Promise.allSettled(acks)) if (r.status === 'rejected') throw r.reason;
  if (refused !== undefined) throw refused;
}

export function topicWritable<V>(topic: WritableTopic<V>, options?: TopicWritableOptions): Writable {
  const { highWaterMark, chunks } = checkOptions(options);
  topic.checkOpen();
  if (topic.readOnly) throw new SeglogError('ERR_READ_ONLY', `topic ${topic.name} is open read-only: writable() needs a writable log`, { value: topic.name });
  return new Writable({
    objectMode: true,
    highWaterMark,
    write(chunk: unknown, _encoding, callback) {
      appendAll(topic, chunks, [chunk]).then(() => callback(), (err: unknown) => callback(asError(err)));
    },
    writev(batch: Array<{ chunk: unknown }>, callback) {
      appendAll(topic, chunks, batch.map((c) => c.chunk)).then(() => callback(), (err: unknown) => callback(asError(err)));
    },
  });
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new SeglogError('ERR_IO', `append failed: ${describe(err)}`, { cause: err });
}
