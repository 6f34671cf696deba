// verify()'s look at the metadata files: the checks openLog applies before it trusts them
// (meta/lmdb-check.ts for `~meta.lmdb`, meta/document-check.ts for `~meta.json`,
// meta/groups-check.ts for `~groups.log`), reported as
// 'metadata' errors naming the file. Reads only: no LMDB environment is opened, no lock taken.
import path from 'node:path';
import type { FileIO } from '../io/file-io.js';
import { GROUPS_FILE, JSON_META_FILE, LMDB_META_FILE } from '../format/batch.js';
import { checkLmdbFile, describeDamage } from '../store/lmdb-check.js';
import { documentDamage } from '../store/document-check.js';
import { groupsDamageAt } from '../store/groups-check.js';
import { topicFolders } from '../store/metadata-damage.js';

/** Metadata documents larger than this are not read (seglog writes a few KiB per topic). */
const META_JSON_BYTES_MAX = 64 << 20;

export interface MetadataProblem {
  file: string;
  position: number;
  kind: 'metadata';
  severity: 'error';
  message: string;
}

/** The problems of `<root>/~meta.lmdb` and `<root>/~meta.json` (none when they are sound or absent). */
export function metadataProblems(io: FileIO, root: string): MetadataProblem[] {
  const problems: MetadataProblem[] = [];
  const add = (file: string, position: number, what: string): void => {
    problems.push({ file, position, kind: 'metadata', severity: 'error', message: `${what}: openLog refuses it (ERR_CORRUPT); openLog(dir, { repair: true }) moves it aside and rebuilds the metadata` });
  };
  const lmdbFile = path.join(root, LMDB_META_FILE);
  try {
    const check = checkLmdbFile(io, lmdbFile);
    if (check.kind === 'damaged') add(lmdbFile, check.damage.position, describeDamage(check.damage));
    else if (check.kind === 'empty' && topicFolders(io, root).length > 0) add(lmdbFile, 0, `the metadata store ${lmdbFile} is empty (0 bytes) while the directory holds topics`);
  } catch (err) {
    add(lmdbFile, 0, `the metadata store ${lmdbFile} cannot be read: ${(err as Error).message}`);
  }
  const jsonFile = path.join(root, JSON_META_FILE);
  try {
    const text = readSmall(io, jsonFile, add);
    const damage = text === undefined ? undefined : documentDamage(text.toString('utf8'));
    if (typeof damage === 'string') add(jsonFile, 0, `the metadata file ${jsonFile} is damaged: ${damage}`);
  } catch (err) {
    add(jsonFile, 0, `the metadata file ${jsonFile} cannot be read: ${(err as Error).message}`);
  }
  const groupsFile = path.join(root, GROUPS_FILE);
  try {
    const text = readSmall(io, groupsFile, add);
    const at = text === undefined ? -1 : groupsDamageAt(text);
    if (at >= 0) add(groupsFile, at, `damaged consumer group entry in ${groupsFile} at byte ${at}, followed by valid entries`);
  } catch (err) {
    add(groupsFile, 0, `the consumer group file ${groupsFile} cannot be read: ${(err as Error).message}`);
  }
  return problems;
}

/** The whole file, or undefined when it is absent (too large or a directory: reported through `add`). */
function readSmall(io: FileIO, file: string, add: (file: string, position: number, what: string) => void): Buffer | undefined {
  const st = io.stat(file);
  if (st === undefined) return undefined;
  if (st.isDirectory) { add(file, 0, `${file} is a directory`); return undefined; }
  if (st.size > META_JSON_BYTES_MAX) { add(file, 0, `${file} is ${st.size} bytes, more than seglog ever writes`); return undefined; }
  const fd = io.open(file, 'r');
  try {
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = io.read(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    io.close(fd);
  }
}
