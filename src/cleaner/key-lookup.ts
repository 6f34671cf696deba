// Key lookups of a compacted topic: `topic.latest(key)` (the newest record with a key, through the
// key index, key-index.ts) and the setup of that index when the topic is opened or reconfigured.
// Moved out of the topic facade (src/topic.ts) as functions of the narrow KeyedLog (the topic
// passes itself).
//
// Invariants: the index is there exactly when the topic's cleanup is not 'delete'; the log is the
// truth: an index entry that does not match the record at its offset is answered by a full scan.
//
// Crash: nothing here is on disk (the index persists itself, key-index.ts).
import { SeglogError, invalidArgument, ioError } from '../base/errors.js';
import type { LogRecord, RecordView } from '../format/record.js';
import type { Reader } from '../log/reader.js';
import type { SegmentLog } from '../log/topic-log.js';
import type { MetaStore } from '../store/meta-store.js';
import { KeyIndex, keyString } from './key-index.js';

/** What key lookups need of the topic (src/topic.ts). */
export interface KeyedLog<V> extends SegmentLog<V> {
  keyIndex: KeyIndex | undefined;
  readonly meta: MetaStore;
  readonly reader: Reader<V>;
  reportError(err: SeglogError): void;
}

export function latest<V>(topic: KeyedLog<V>, key: string | Uint8Array): LogRecord<V> | undefined {
  topic.checkOpen();
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) throw invalidArgument('key', key, 'a string or Uint8Array');
  if (topic.options.cleanup === 'delete' || topic.keyIndex === undefined) {
    throw new SeglogError('ERR_INVALID_ARGUMENT', `latest() needs a compacted topic: ${topic.name} has cleanup '${topic.options.cleanup}'`, { value: topic.name });
  }
  const k = keyString(key);
  const offset = topic.keyIndex.lookup(k);
  if (offset === undefined || offset < topic.startOffset) return undefined;
  let rec = offset < topic.endOffset ? topic.reader.get(offset) as RecordView<V> | undefined : undefined;
  // The index and the log agree unless something went wrong underneath (a failed fsync cut the
  // log back): then the log is the truth, found by a scan.
  if (rec === undefined || !hasKey(rec, k)) rec = scanLatest(topic, k);
  return rec === undefined || rec.valueBytes === null ? undefined : rec;
}

/** Whether the record's key is `k` (a keyString), compared in place: no key view, no string (bench W8). */
function hasKey(rec: RecordView<unknown>, k: string): boolean {
  const n = rec.rawKeyLength;
  if (n !== k.length) return false;
  const buf = rec.rawBuffer;
  const p = rec.rawKeyPos;
  for (let i = 0; i < n; i++) if (buf[p + i] !== k.charCodeAt(i)) return false;
  return true;
}

/** The newest record with key `k`, by a full scan (the rare path of latest()). */
function scanLatest<V>(topic: KeyedLog<V>, k: string): RecordView<V> | undefined {
  let found: RecordView<V> | undefined;
  for (const r of topic.reader.read({ from: topic.startOffset })) {
    if (hasKey(r as RecordView<V>, k)) found = r as RecordView<V>;
  }
  return found;
}

/** Creates (and catches up) the key index when the topic is compacted; drops it otherwise. */
export function setupKeyIndex<V>(topic: KeyedLog<V>): void {
  if (topic.options.cleanup === 'delete') {
    topic.keyIndex = undefined;
    return;
  }
  if (topic.keyIndex !== undefined) return;
  const ki = new KeyIndex(topic.meta, topic.name, topic.readOnly, (err) => {
    topic.reportError(err instanceof SeglogError ? err : ioError('write the key index', topic.name, err));
  });
  ki.catchUp(topic);
  topic.keyIndex = ki;
}
