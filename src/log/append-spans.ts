// appendSpans: a multi-record append whose records are byte ranges of buffers (RecordSpans,
// format/record-spans.ts) — the Kafka server's Produce — written through the writer's per-record
// appendEncoded (its range form) with no record object or view per record of its own. Same
// contract as appendBatch of bytes (the codec not applied): every record is checked first (size
// against maxRecordBytes, timestamp), so a refusal appends nothing; a failure half-way (the I/O of
// a roll or a chunk switch) rolls back to where the append began; the promise settles like
// appendBatch's under the log's durability.
//
// Crash: what the writer leaves (topic-writer.ts).
import { SeglogError, invalidArgument, ioError } from '../base/errors.js';
import { recordTooLarge } from '../format/append-input.js';
import { freshRecordBytes, headersBytes, recordFieldsBytes, type HeadersInput } from '../format/batch.js';
import type { RecordSpans } from '../format/record-spans.js';
import type { Mark, Waiter } from './topic-context.js';
import { settledNone } from './turns.js';

/** What appendSpans needs of the topic's writer (TopicWriter). */
export interface SpansWriter {
  readonly name: string;
  readonly dir: string;
  readonly options: { readonly maxRecordBytes: number };
  readonly keptEnd: number;
  readonly committedEnd: number;
  readonly tickWaiters: Waiter[];
  _endOffset: number;
  writeBeforeSwitch(): void;
  mark(): Mark;
  rollbackTo(mark: Mark, error: SeglogError): void;
  appendEncoded(value: Uint8Array | null, keyIn: Uint8Array | undefined, headers: HeadersInput | undefined, timestamp: number,
    valuePos: number, valueLength: number, keyPos: number, keyLength: number): number;
}

/** Throws what the append would refuse, before anything is appended. */
function checkSpans(w: SpansWriter, spans: RecordSpans): void {
  const n = spans.count;
  if (!Number.isInteger(n) || n < 1) throw invalidArgument('records', n, 'a non-empty set of records');
  const max = w.options.maxRecordBytes;
  for (let i = 0; i < n; i++) {
    const kl = spans.keyLen[i]!;
    const vl = spans.valueLen[i]!;
    const h = spans.anyHeaders ? spans.headers[i] : undefined;
    // (a record without headers and shorter than the bound by more than its framing cannot pass it)
    if (h !== undefined || kl + vl + 24 > max) {
      const bytes = freshRecordBytes(recordFieldsBytes(kl, vl, h === undefined ? 1 : headersBytes(h)));
      if (bytes > max) throw recordTooLarge(bytes, max, w.name);
    }
    const ts = spans.timestamps[i]!;
    if (ts >= 0 && !Number.isSafeInteger(ts)) throw invalidArgument('timestamp', ts, 'a non-negative integer of milliseconds since the epoch');
  }
}

/**
 * Appends every record of `spans` (the caller checked that the topic takes appends); resolves with
 * the first record's offset. `durabilityNone`: the log's durability is 'none'.
 */
export function appendSpans(w: SpansWriter, spans: RecordSpans, durabilityNone: boolean): Promise<number> {
  let first: number;
  let mark: Mark | undefined;
  try {
    checkSpans(w, spans);
    if (w.keptEnd > w.committedEnd && !durabilityNone) w.writeBeforeSwitch();
    first = w._endOffset;
    const now = Date.now(); // one clock read for the records that carry no timestamp
    mark = w.mark();
    const { sources, keyPos, keyLen, valuePos, valueLen, timestamps, anyHeaders, headers } = spans;
    try {
      for (let i = 0; i < spans.count; i++) {
        const src = sources[i]!;
        const ts = timestamps[i]!;
        w.appendEncoded(src, src, anyHeaders ? headers[i] : undefined, ts >= 0 ? ts : now, valuePos[i]!, valueLen[i]!, keyPos[i]!, keyLen[i]!);
      }
    } catch (err) {
      w.rollbackTo(mark, err instanceof SeglogError ? err : ioError('append', w.dir, err));
      throw err;
    }
  } catch (err) {
    return Promise.reject(err);
  }
  return settleAppended(w, first, mark, durabilityNone);
}

/**
 * The promise of a multi-record append whose records (from `first` up to the writer's end) were
 * handed to the writer: settled at once under 'none', else when the log's durability covers the
 * last of them (a waiter of the tick; `mark` cuts back to where the append began if a write fails).
 */
export function settleAppended(w: { readonly tickWaiters: Waiter[]; readonly _endOffset: number }, first: number, mark: Mark | undefined, durabilityNone: boolean): Promise<number> {
  if (durabilityNone) return settledNone(first);
  return new Promise<number>((resolve, reject) => {
    w.tickWaiters.push({ resolve, reject, offset: first, last: w._endOffset - 1, mark });
  });
}
