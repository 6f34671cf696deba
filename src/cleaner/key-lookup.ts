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
import type { LogRecord } from '../format/record.js';
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
  let rec = offset < topic.endOffset ? topic.reader.get(offset) : undefined;
  // The index and the log agree unless something went wrong underneath (a failed fsync cut the
  // log back): then the log is the truth, found by a scan.
  if (rec === undefined || rec.key === undefined || rec.key.length !== k.length || rec.key.toString('latin1') !== k) rec = scanLatest(topic, k);
  return rec === undefined || rec.valueBytes === null ? undefined : rec;
}

/** The newest record with key `k`, by a full scan (the rare path of latest()). */
function scanLatest<V>(topic: KeyedLog<V>, k: string): LogRecord<V> | undefined {
  let found: LogRecord<V> | undefined;
  for (const r of topic.reader.read({ from: topic.startOffset })) {
    if (r.key !== undefined && r.key.length === k.length && r.key.toString('latin1') === k) found = r;
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
