// verify()'s look at the metadata files: the checks openLog applies before it trusts them
// (meta/lmdb-check.ts for `~meta.lmdb`, meta/document-check.ts for `~meta.json`), reported as
// 'metadata' errors naming the file. Reads only: no LMDB environment is opened, no lock taken.
import path from 'node:path';
import type { FileIO } from './io/file-io.js';
import { JSON_META_FILE, LMDB_META_FILE } from './format.js';
import { checkLmdbFile, describeDamage } from './meta/lmdb-check.js';
import { documentDamage } from './meta/document-check.js';
import { topicFolders } from './meta/metadata-damage.js';

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
    const st = io.stat(jsonFile);
    if (st !== undefined && st.isDirectory) add(jsonFile, 0, `the metadata file ${jsonFile} is a directory`);
    else if (st !== undefined && st.size > META_JSON_BYTES_MAX) add(jsonFile, 0, `the metadata file ${jsonFile} is ${st.size} bytes, more than seglog ever writes`);
    else if (st !== undefined) {
      const fd = io.open(jsonFile, 'r');
      let text: string;
      try {
        const buf = Buffer.alloc(st.size);
        let got = 0;
        while (got < st.size) {
          const n = io.read(fd, buf, got, st.size - got, got);
          if (n === 0) break;
          got += n;
        }
        text = buf.subarray(0, got).toString('utf8');
      } finally {
        io.close(fd);
      }
      const damage = documentDamage(text);
      if (typeof damage === 'string') add(jsonFile, 0, `the metadata file ${jsonFile} is damaged: ${damage}`);
    }
  } catch (err) {
    add(jsonFile, 0, `the metadata file ${jsonFile} cannot be read: ${(err as Error).message}`);
  }
  return problems;
}
