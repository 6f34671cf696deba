// The neutral metadata document `~meta.json` (docs/format.md, "Metadata"), judged before it is
// trusted: a parse error or a value of the wrong shape is damage (ERR_CORRUPT, or moved aside by a
// repair), never a TypeError later in recovery. Used by the native-free store, the default entry's
// import of it, and verify().
import type { CleanerState, StoredTopicOptions, TopicState } from './meta-store.js';

/** `~meta.json` as parsed. */
export interface NeutralDocument {
  version: 1;
  /**
   * Which entry point wrote the file last: 'native-free' (the file is the metadata), or 'seglog'
   * (the default entry's export at a clean close, see native-free/neutral.ts). Absent in older files.
   */
  writer?: 'native-free' | 'seglog';
  topics: Record<string, StoredTopicOptions>;
  state: Record<string, TopicState>;
  /** Added with compaction; absent in older files. */
  cleaner?: Record<string, CleanerState>;
}

/** The parsed document, or what is wrong with it (a parse error, or a value of the wrong shape). */
export function documentDamage(text: string): NeutralDocument | string {
  let doc: NeutralDocument;
  try { doc = JSON.parse(text) as NeutralDocument; } catch (err) { return (err as Error).message; }
  if (!isObject(doc) || doc.version !== 1) return 'not a version 1 metadata document';
  if (!isObject(doc.topics) || !isObject(doc.state) || (doc.cleaner !== undefined && !isObject(doc.cleaner))) return '"topics", "state" or "cleaner" is not an object';
  for (const [name, options] of Object.entries(doc.topics)) if (!isObject(options)) return `the options of topic ${JSON.stringify(name)} are not an object`;
  for (const [name, state] of Object.entries(doc.state)) {
    const damage = stateDamage(name, state);
    if (damage !== undefined) return damage;
  }
  for (const [name, c] of Object.entries(doc.cleaner ?? {})) {
    if (!isObject(c) || !Number.isSafeInteger(c.cleanedUpTo) || !Array.isArray(c.passes)) return `the cleaner state of topic ${JSON.stringify(name)} is not one`;
  }
  return doc;
}

const STATE_NUMBERS = ['segmentBase', 'logBytes', 'endOffset', 'maxTimestampMs', 'startOffset', 'recoveryBase', 'recoveryPosition', 'recoveryOffset', 'recoveryMaxTimestampMs'];

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What is wrong with a topic's recovery state (TopicState), or undefined when it has that shape. */
export function stateDamage(name: string, state: unknown): string | undefined {
  if (!isObject(state) || typeof state.clean !== 'boolean') return `the state of topic ${JSON.stringify(name)} is not a recovery state`;
  for (const key of STATE_NUMBERS) {
    const v = state[key];
    // (fields added later may be absent in older states; the ones every state has must be there)
    if ((v !== undefined || STATE_REQUIRED.has(key)) && !(Number.isSafeInteger(v) && (v as number) >= -1)) return `the state of topic ${JSON.stringify(name)} has ${key} ${JSON.stringify(v)}`;
  }
  return undefined;
}

const STATE_REQUIRED = new Set(['segmentBase', 'logBytes', 'endOffset']);
