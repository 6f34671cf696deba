// The neutral metadata form: how one directory moves between the two entry points.
//
// The segment files are the same for both; only the metadata differs (LMDB `~meta.lmdb` for
// `seglog`, plain files for `seglog/native-free`). The plain files are the neutral form:
//   `~meta.json`  topics, options, recovery states, cleaner states, and `writer` (who wrote it last)
//   `~groups.log` committed consumer-group positions (with the ranges finished out of order and the
//                 records handed out unfinished, with their delivery counts)
//   `<topic>~keys` the key index of a compacted topic (never exported: rebuilt from the log)
// The default entry point (openConvertingLmdbStore, wired in src/index.ts):
//   - at a writable open, imports the files into LMDB when native-free wrote them last
//     (`writer` is not 'seglog'), then removes them (fsyncing the directory): while it has the
//     directory, LMDB alone holds the truth and native-free refuses to open it;
//   - at close, exports LMDB to the files, `~meta.json` last with `writer: 'seglog'`.
// native-free (file-meta-store.ts) opens a directory with `~meta.lmdb` only when `~meta.json` is
// there, and marks it `writer: 'native-free'` at its first writable open.
// Crash: before the export's final rename there is no `~meta.json`, so native-free refuses the
// directory (ERR_NOT_SUPPORTED: open it with 'seglog' once) rather than read stale positions; a
// crash between an import and the removal of the files repeats the same import at the next open.
// A key index is rebuilt by a scan of its topic at the first open by the other entry point.
import fs from 'node:fs';
import path from 'node:path';
import { SeglogError } from '../base/errors.js';
import { GROUPS_FILE, JSON_META_FILE } from '../format/batch.js';
import type { MetaOpenOptions, MetaStore, MetaStoreFactory } from './meta-store.js';
import { nodeFileIO } from '../io/node-fs.js';
import { OPTIONS_AND_GROUPS_LOST, metadataCorrupt, reportRebuilt } from './metadata-damage.js';
import { documentDamage } from './document-check.js';
import { groupsDamageAt } from './groups-check.js';
import { FileGroups } from './file-groups.js';
import { fileMetaStore, writeDocument, type Document } from './file-meta-store.js';

const KEYS_SUFFIXES = ['~keys', '~keys.tmp'];

/** Who wrote `<dir>/~meta.json` last, or undefined when there is none. */
function neutralWriter(dir: string): Document['writer'] | 'unknown' | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, JSON_META_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SeglogError('ERR_IO', `cannot read ${path.join(dir, JSON_META_FILE)}: ${(err as Error).message}`, { file: path.join(dir, JSON_META_FILE), cause: err });
  }
  try {
    return (JSON.parse(text) as Document).writer ?? 'unknown';
  } catch {
    return 'unknown'; // damaged: importing it reports ERR_CORRUPT with the file
  }
}

/**
 * The default entry point's metadata: LMDB, importing what native-free wrote since LMDB last had the
 * directory, and exporting to the neutral files at close.
 */
export async function openConvertingLmdbStore(dir: string, readOnly: boolean, lmdb: MetaStoreFactory, options: MetaOpenOptions = {}): Promise<MetaStore> {
  const writer = neutralWriter(dir);
  if (writer === 'seglog' && options.repair !== true) checkExport(dir);
  if (readOnly) {
    // A read-only open changes nothing: it reads whichever form is current.
    return writer !== undefined && writer !== 'seglog' ? fileMetaStore(dir, true, options) : lmdb(dir, true, options);
  }
  let store = lmdb(dir, false, options);
  if (options.repair === true && store.rebuilt === undefined && store.probe !== undefined) {
    // The file looked sound but a value in it may not decode: a repair rebuilds the store then.
    try {
      store.probe();
    } catch (err) {
      if (!(err instanceof SeglogError && err.code === 'ERR_CORRUPT')) throw err;
      await store.close();
      store = lmdb(dir, false, { ...options, rebuild: true });
    }
  }
  try {
    // A repair that replaced a damaged LMDB takes back what the neutral files hold, whoever wrote them.
    if (writer !== undefined && (writer !== 'seglog' || store.rebuilt !== undefined)) await importNeutral(dir, store, options);
    if (store.rebuilt !== undefined) {
      const restored = writer !== undefined && fs.existsSync(path.join(dir, JSON_META_FILE));
      reportRebuilt(options.io ?? nodeFileIO, dir, store.rebuilt.file, store.rebuilt.movedTo, restored
        ? `topic options and consumer-group positions restored from ${path.join(dir, JSON_META_FILE)} (written at the last clean close)`
        : OPTIONS_AND_GROUPS_LOST);
    }
    removeNeutral(dir);
  } catch (err) {
    try { await store.close(); } catch { /* the first error matters */ }
    throw err;
  }
  const closeLmdb = store.close.bind(store);
  store.close = async () => {
    try {
      await store.flush();
      await exportNeutral(dir, store);
    } catch {
      // Without a complete export native-free refuses the directory with ERR_NOT_SUPPORTED (and
      // says to open it with 'seglog'); the log itself is not affected.
      try { removeNeutral(dir); } catch { /* as above */ }
    } finally {
      await closeLmdb();
    }
  };
  return store;
}

/**
 * The neutral files of the last clean close (`writer: 'seglog'`) are a copy of LMDB that this entry
 * point does not import, but seglog/native-free would read them, and verify() judges them as it
 * does: a damaged copy is ERR_CORRUPT naming the file here too (a repair removes the copy; the next
 * close writes it again), so verify reports an error exactly when either entry's openLog refuses.
 */
function checkExport(dir: string): void {
  const jsonFile = path.join(dir, JSON_META_FILE);
  const damage = documentDamage(fs.readFileSync(jsonFile, 'utf8'));
  if (typeof damage === 'string') throw metadataCorrupt(dir, jsonFile, 0, `metadata file ${jsonFile} is damaged: ${damage}`);
  let groups: Buffer;
  const groupsFile = path.join(dir, GROUPS_FILE);
  try {
    groups = fs.readFileSync(groupsFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SeglogError('ERR_IO', `cannot read ${groupsFile}: ${(err as Error).message}`, { file: groupsFile, cause: err });
  }
  const at = groupsDamageAt(groups);
  if (at >= 0) throw metadataCorrupt(dir, groupsFile, at, `damaged consumer group entry in ${groupsFile} at byte ${at}, followed by valid entries`);
}

/** Replaces everything `store` holds with the neutral files' content (the key index is dropped: rebuilt at open). */
async function importNeutral(dir: string, store: MetaStore, options: MetaOpenOptions): Promise<void> {
  const from = fileMetaStore(dir, true, options);
  try {
    // A repair moved a damaged ~meta.json aside: LMDB, if sound, stays as it is.
    if (from.rebuilt !== undefined && store.rebuilt === undefined) return;
    for (const topic of store.listTopics()) store.deleteTopic(topic);
    for (const topic of from.listTopics()) {
      store.putTopicOptions(topic, from.getTopicOptions(topic) ?? {});
      const state = from.getState(topic);
      if (state !== undefined) store.putStateSync(topic, state);
      const cleaner = from.getCleanerState(topic);
      if (cleaner !== undefined) store.putCleanerState(topic, cleaner);
      for (const [group, offset] of from.getGroups(topic)) store.putGroup(topic, group, offset);
      for (const [group, ranges] of from.getGroupsDone(topic)) store.putGroupDone(topic, group, ranges);
      for (const [group, triples] of from.getGroupsInFlight(topic)) store.putGroupInFlight(topic, group, triples);
      store.clearKeyIndex(topic);
    }
    await store.flush();
  } finally {
    await from.close();
  }
}

/** Writes what `store` holds as the neutral files; `~meta.json` goes last (it says the export is complete). */
async function exportNeutral(dir: string, store: MetaStore): Promise<void> {
  removeNeutral(dir);
  const doc: Document = { version: 1, writer: 'seglog', topics: {}, state: {}, cleaner: {} };
  const groups = new FileGroups(dir, false);
  try {
    for (const topic of store.listTopics()) {
      doc.topics[topic] = store.getTopicOptions(topic) ?? {};
      const state = store.getState(topic);
      if (state !== undefined) doc.state[topic] = state;
      const cleaner = store.getCleanerState(topic);
      if (cleaner !== undefined) doc.cleaner![topic] = cleaner;
      for (const [group, offset] of store.getGroups(topic)) groups.put(topic, group, offset);
      // the records each group finished out of order past its position (issue 12): kept across entry points
      for (const [group, ranges] of store.getGroupsDone(topic)) groups.putDone(topic, group, ranges);
      // and the records it handed out and did not see finished, with their delivery counts
      for (const [group, triples] of store.getGroupsInFlight(topic)) groups.putInFlight(topic, group, triples);
    }
    await groups.flush();
  } finally {
    groups.close();
  }
  writeDocument(dir, doc);
}

/** Removes the neutral files (they are stale once LMDB has the directory), durably. */
function removeNeutral(dir: string): void {
  let removed = false;
  for (const name of fs.readdirSync(dir)) {
    if (name === JSON_META_FILE || name === GROUPS_FILE || name === JSON_META_FILE + '.tmp' || name === GROUPS_FILE + '.tmp' || KEYS_SUFFIXES.some((s) => name.endsWith(s))) {
      try {
        fs.unlinkSync(path.join(dir, name));
        removed = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SeglogError('ERR_IO', `cannot remove ${path.join(dir, name)}: ${(err as Error).message}`, { file: path.join(dir, name), cause: err });
      }
    }
  }
  if (!removed) return;
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}
