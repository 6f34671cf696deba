// The metadata a topic's first write depends on — its "not clean" marker and, for a new topic, its
// options — is durable before the first byte of the write reaches the OS, and the topics first
// written in one tick share one durable write of the store (log.ts commitMarkers), as the clean
// markers of a close do. Checked in native-free, whose store is a plain file the test can read
// from disk at the moment of each `.log` write (through the file-I/O seam); the default entry's
// LMDB store takes the same calls (MetaStore.commitStates), its ordering is the same code.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { openLogWith } from '../src/log.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { FileIO } from '../src/io/file-io.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { JSON_META_FILE } from '../src/format/batch.js';
import { entries } from './entry.js';
import { harness } from './helpers.js';

const TOPICS = 120;

interface Seen { topic: string; clean: boolean | undefined; hasOptions: boolean; docIno: number }

/** node:fs; at each write to a `.log`, what `~meta.json` on disk says of that topic right then. */
function watchingIO(dir: string): FileIO & { seen: Seen[] } {
  const logFds = new Map<number, string>();
  const seen: Seen[] = [];
  return {
    ...nodeFileIO,
    seen,
    open(file: string, flags: string): number {
      const fd = nodeFileIO.open(file, flags);
      if (file.endsWith('.log')) logFds.set(fd, path.basename(path.dirname(file)));
      return fd;
    },
    close(fd: number): void { logFds.delete(fd); nodeFileIO.close(fd); },
    write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
      const topic = logFds.get(fd);
      if (topic !== undefined) {
        const file = path.join(dir, JSON_META_FILE);
        const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { topics: Record<string, unknown>; state: Record<string, { clean: boolean }> };
        seen.push({ topic, clean: doc.state[topic]?.clean, hasOptions: doc.topics[topic] !== undefined, docIno: fs.statSync(file).ino });
      }
      return nodeFileIO.write(fd, buf, offset, length, position);
    },
  };
}

describe('seglog/native-free: markers committed per tick', () => {
  const h = harness(entries.find((e) => e.name === 'seglog/native-free')!);

  test(`${TOPICS} topics created and written in one tick: each first write finds its options and "not clean" on disk, all from one document write; close records them all clean`, async () => {
    const dir = h.tmp();
    const names = Array.from({ length: TOPICS }, (_, i) => `m${i}`);
    for (const round of [0, 1]) {
      const io = watchingIO(dir);
      const log = await openLogWith({ meta: fileMetaStore, io }, dir, { durability: 'fsync' });
      await Promise.all(names.map((n) => log.topic(n, { codec: 'string' }).append(`${n}:${round}`)));
      const first = new Map<string, Seen>();
      for (const s of io.seen) if (!first.has(s.topic)) first.set(s.topic, s);
      expect(first.size).toBe(TOPICS);
      for (const s of first.values()) expect({ clean: s.clean, hasOptions: s.hasOptions }).toEqual({ clean: false, hasOptions: true });
      expect(new Set([...first.values()].map((s) => s.docIno)).size).toBe(1); // one write of ~meta.json for all
      await log.close();
      const doc = JSON.parse(fs.readFileSync(path.join(dir, JSON_META_FILE), 'utf8')) as { state: Record<string, { clean: boolean; endOffset: number }> };
      for (const n of names) expect(doc.state[n]).toMatchObject({ clean: true, endOffset: round + 1 });
    }
    const log = await openLogWith({ meta: fileMetaStore }, dir);
    expect([...log.topic('m7', { codec: 'string' }).read()].map((r) => r.value)).toEqual(['m7:0', 'm7:1']);
    await log.close();
  });
});
