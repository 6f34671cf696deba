// The Fetch's encoding of one partition (encodeFrom), and the prefetch: a consumer that is behind
// (its answer was cut by its byte limit, more records are there) asks next from where the answer
// ended, with the same limits. librdkafka keeps one Fetch in flight per broker and sends the next
// only once it has taken in the answer, so the server's encoding and the client's parsing
// alternate, each waiting for the other (kcat -C of 1M x 100 B: ~105 answers of 1 MiB, ~2-3 ms of
// encoding each on the server, ~4 ms of the client's between an answer and the next request). So
// once an answer is out, the next one is encoded while the client takes it in (setImmediate: after
// the answer's write), and a request that asks exactly that (same partition object, fetch offset
// and byte limit) gets it at once.
//
// A prefetched batch is what a Fetch at that moment would have answered (records appended since
// are left for the next one, as if the request had come then); at its use the partition's start
// and end are checked again by the caller (retention, records taken back by a failed write: not
// used if its end is past the partition's end now). Bounds: per connection at most
// PREFETCH_MAX_BYTES of limits (one batch per partition), dropped (its chunk given back) when a
// request asks for anything else or the connection goes; nothing is prefetched for a partition
// whose answer reached its end (that consumer's next fetch long-polls).
//
// Crash: nothing here is on disk.
import { Cursor } from '../../log/cursor.js';
import type { TopicImpl } from '../../topic.js';
import { encodeLogBatch, releaseLogBatch, type EncodedLogBatch } from '../records/index.js';
import type { RequestOrigin } from './context.js';

/** Limits prefetched per connection at most (librdkafka, kafkajs and Java ask 1 MiB per partition). */
export const PREFETCH_MAX_BYTES = 4 << 20;

interface Prefetched { offset: number; limit: number; encoded: EncodedLogBatch }
export interface PrefetchWant { t: TopicImpl<unknown>; offset: number; limit: number }

const prefetched = new WeakMap<RequestOrigin, Map<TopicImpl<unknown>, Prefetched>>();

/**
 * The records of `t` from `offset` as one batch of at most `limit` bytes (or one record, KIP-74),
 * encoded from the bytes of the log's batches (no record object each: records/log-batch-writer.ts).
 */
export function encodeFrom(t: TopicImpl<unknown>, offset: number, limit: number): EncodedLogBatch {
  t.checkOpen();
  const cursor = new Cursor<unknown>(t, offset, t.endOffset, Infinity, Infinity);
  try {
    return encodeLogBatch(cursor, offset, { maxBytes: limit });
  } finally {
    cursor.return();
  }
}

/** The batch prefetched for exactly this (else undefined); whatever was prefetched for `t` is taken either way. */
export function takePrefetched(origin: RequestOrigin, t: TopicImpl<unknown>, offset: number, limit: number): EncodedLogBatch | undefined {
  const mine = prefetched.get(origin);
  const p = mine?.get(t);
  if (p === undefined) return undefined;
  mine!.delete(t);
  if (p.offset === offset && p.limit === limit && !t.closed && p.encoded.lastOffset < t.endOffset) return p.encoded;
  releaseLogBatch(p.encoded); // never handed to a socket
  return undefined;
}

/** After this tick (the answer written): encodes what the connection will ask next, within PREFETCH_MAX_BYTES. */
export function prefetchNext(origin: RequestOrigin, wants: PrefetchWant[]): void {
  let total = 0;
  const take = wants.filter((w) => (total += w.limit) <= PREFETCH_MAX_BYTES);
  if (take.length === 0) return;
  setImmediate(() => {
    if (origin.signal.aborted) return;
    let mine = prefetched.get(origin);
    if (mine === undefined) {
      prefetched.set(origin, mine = new Map());
      origin.signal.addEventListener('abort', () => dropAll(origin), { once: true });
    }
    for (const w of take) {
      if (w.t.closed || w.offset < w.t.startOffset || w.offset >= w.t.endOffset) continue;
      const old = mine.get(w.t);
      if (old !== undefined) releaseLogBatch(old.encoded);
      let encoded: EncodedLogBatch;
      try {
        encoded = encodeFrom(w.t, w.offset, w.limit);
      } catch {
        mine.delete(w.t);
        continue; // (the request itself will meet the error)
      }
      if (encoded.recordCount === 0) mine.delete(w.t);
      else mine.set(w.t, { offset: w.offset, limit: w.limit, encoded });
    }
  });
}

function dropAll(origin: RequestOrigin): void {
  const mine = prefetched.get(origin);
  if (mine === undefined) return;
  prefetched.delete(origin);
  for (const p of mine.values()) releaseLogBatch(p.encoded);
}
