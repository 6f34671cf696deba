// appendRecords: appendBatch's body — a multi-record append of values the topic's codec encodes.
// Every record is encoded and checked first (encodeRecords), so a refusal appends nothing; a batch
// can pass a chunk switch or a roll, which write what came before, so a failure half-way (their
// I/O) rolls back to where the batch began (mark / rollbackTo) and none of it shows up later; the
// promise settles with the first offset once the log's durability covers the last record.
//
// Crash: what the writer leaves (topic-writer.ts).
import { SeglogError, invalidArgument, ioError } from '../base/errors.js';
import { encodeRecords } from '../format/append-input.js';
import type { Codec } from '../format/codecs.js';
import type { AppendMeta } from '../format/record.js';
import type { Mark } from './topic-context.js';
import type { TopicWriter } from './topic-writer.js';
import { settleAppended } from './append-spans.js';
import { frameRun } from './append-run.js';

/** Appends `records` (the topic's checks already passed: checkAppendable); rejects, appending nothing, on a refusal. */
export function appendRecords<W>(w: TopicWriter<any>, records: Array<{ value: W | null } & AppendMeta>, codec: Codec<W>, durabilityNone: boolean): Promise<number> {
  let first: number;
  let mark: Mark | undefined;
  try {
    if (!Array.isArray(records)) throw invalidArgument('records', records, 'an array of { value, key?, headers?, timestamp? }');
    if (records.length === 0) throw invalidArgument('records', records, 'a non-empty array');
    const values = encodeRecords(codec, w.name, w.options.maxRecordBytes, records);
    if (w.keptEnd > w.committedEnd && !durabilityNone) w.writeBeforeSwitch();
    first = w._endOffset;
    // One clock read per call: the records of a batch are appended at the same moment (bench W1:
    // Date.now() per record was a third of the per-record cost).
    const now = Date.now();
    if (records.length === 1) {
      w.appendEncoded(values[0]!, records[0]!.key, records[0]!.headers, records[0]!.timestamp ?? now);
    } else {
      mark = w.mark();
      try {
        // A batch's first record (and any frameRun does not take) through appendEncoded, the
        // records after it that fit the batch through frameRun (append-run.ts).
        const n = records.length;
        let i = 0;
        while (i < n) {
          const r = records[i]!;
          w.appendEncoded(values[i]!, r.key, r.headers, r.timestamp ?? now);
          i = frameRun(w, records, values, i + 1, n, now);
        }
      } catch (err) {
        w.rollbackTo(mark, err instanceof SeglogError ? err : ioError('append', w.dir, err));
        throw err;
      }
    }
  } catch (err) {
    return Promise.reject(err);
  }
  return settleAppended(w, first, mark, durabilityNone);
}
