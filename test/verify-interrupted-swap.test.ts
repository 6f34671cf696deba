// verify() of a directory that a kill -9 left in the middle of a compaction swap. The swap's
// renames (compaction-swap.ts, steps 3 and 4) run after its marker committed; a process killed
// between two of them leaves the new segments next to old ones they replace, and openLog finishes
// the swap before it lists the segments. verify() must read the folder as openLog will leave it:
// the kill -9 soak (test/soak.test.ts) found "kv/…185.log starts at offset 185 but the previous one
// already reaches 231" on such a directory, an error for data openLog opens intact.
//
// And the swap must not remove the segment that the recovery point *in the store* names: open
// refuses a topic whose recovery-point segment is missing (ERR_CORRUPT). Checkpoint puts are "cheap,
// not necessarily durable yet" (MetaStore.putState); the series of 1d56810..a296577 let native-free
// wait up to a second before writing them, and a compaction that rolled (compact() does) swapped
// the old active segment away while ~meta.json still named it. The store here keeps every putState
// in memory until commitStates/flush/close (within the contract), which makes that deterministic.
//
// The images: through the I/O seam, the log folder is copied before every rename and unlink of
// one compaction (a kill -9 keeps every call made before it: no power cut here). Each image must
// verify without errors, open, report the end offset openLog then finds, and hold either the old
// records or the compacted ones. A marker that cannot be read is an error (openLog refuses it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { collect } from './helpers.js';
import { openLogWith } from '../src/log.js';
import { verify } from '../src/verify/verify.js';
import { lmdbMetaStore } from '../src/store/lmdb-store.js';
import { fileMetaStore } from '../src/store/file-meta-store.js';
import { nodeFileIO } from '../src/io/node-fs.js';
import type { MetaStore, MetaStoreFactory, TopicState } from '../src/store/meta-store.js';

const wirings: Array<[string, MetaStoreFactory]> = [['seglog', lmdbMetaStore], ['seglog/native-free', fileMetaStore]];
const KEYS = 12;

/** `factory`'s store, with every putState kept in memory until commitStates, flush or close (as a store may). */
function lazyStates(factory: MetaStoreFactory): MetaStoreFactory {
  return (dir, readOnly, options) => {
    const inner = factory(dir, readOnly, options);
    const pending = new Map<string, TopicState>();
    const forward = (): void => {
      for (const [topic, state] of pending) inner.putStateSync(topic, state);
      pending.clear();
    };
    const overrides: Partial<MetaStore> = {
      getState: (topic) => pending.get(topic) ?? inner.getState(topic),
      putState: (topic, state) => { pending.set(topic, state); },
      putStateSync: (topic, state) => { pending.delete(topic); inner.putStateSync(topic, state); },
      commitStates: () => { forward(); inner.commitStates(); },
      flush: async () => { forward(); await inner.flush(); },
      close: async () => { forward(); await inner.close(); },
      deleteTopic: (topic) => { pending.delete(topic); inner.deleteTopic(topic); },
    };
    return new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop in overrides) return overrides[prop as keyof MetaStore];
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
}

describe.each(wirings)('%s: verify() and openLog of a kill -9 image taken inside a compaction swap', (_name, factory) => {
  test('every image verifies without error, opens, agrees with verify on the end, and holds the old or the new segments', async () => {
    const meta = lazyStates(factory);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-swapimg-'));
    try {
      const dir = path.join(root, 'log');
      const images: Array<{ dir: string; step: string }> = [];
      let armed = false;
      const snap = (step: string): void => {
        if (!armed) return;
        const image = path.join(root, `image-${images.length}`);
        fs.cpSync(dir, image, { recursive: true });
        images.push({ dir: image, step });
      };
      const io = {
        ...nodeFileIO,
        rename(from: string, to: string) { snap(`rename ${path.basename(from)}`); nodeFileIO.rename(from, to); },
        unlink(file: string) { snap(`unlink ${path.basename(file)}`); nodeFileIO.unlink(file); },
        unlinkAsync(file: string) { snap(`unlink ${path.basename(file)}`); return nodeFileIO.unlinkAsync!(file); },
      };
      const log = await openLogWith({ meta, io }, dir);
      const t = log.topic<string>('kv', { cleanup: 'compact', codec: 'string', segmentBytes: 1024 });
      const latest = new Map<string, string>();
      for (let o = 0; o < 120; o++) {
        await t.append(`k${o % KEYS}:${o}`, { key: `k${o % KEYS}` });
        latest.set(`k${o % KEYS}`, `k${o % KEYS}:${o}`);
      }
      await log.flush();
      const before = collect(t.read()).map((r) => r.offset);
      armed = true;
      await t.compact();
      armed = false;
      const after = collect(t.read()).map((r) => r.offset);
      await log.close();
      expect(after.length).toBeLessThan(before.length);
      // the swap went through several segments' renames: images between them exist
      expect(images.filter((i) => i.step.startsWith('rename') && i.step.endsWith('.log')).length).toBeGreaterThan(3);

      const bad: string[] = [];
      for (const image of images) {
        const report = await verify(image.dir);
        const errors = report.topics.flatMap((x) => x.problems).filter((p) => p.severity === 'error').map((p) => p.message);
        let reopened;
        try {
          reopened = await openLogWith({ meta: factory }, image.dir);
        } catch (err) {
          bad.push(`before ${image.step}: openLog refused it: ${(err as Error).message}`);
          continue;
        }
        if (!report.ok) bad.push(`before ${image.step}: verify: ${errors.join(' / ')}`);
        const kv = reopened.topic<string>('kv', { codec: 'string' });
        const offsets = collect(kv.read()).map((r) => r.offset);
        const end = kv.endOffset;
        for (const [key, value] of latest) expect(kv.latest(key)?.value, `before ${image.step}: latest(${key})`).toBe(value);
        await reopened.close();
        expect(report.topics.find((x) => x.topic === 'kv')?.endOffset, `before ${image.step}: verify's end offset`).toBe(end);
        const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((o, i) => o === b[i]);
        expect(same(offsets, before) || same(offsets, after), `before ${image.step}: ${offsets.length} records, expected ${before.length} or ${after.length}`).toBe(true);
      }
      expect(bad).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('a damaged marker of a committed swap is an error naming it, as openLog refuses the topic', async () => {
    const meta = factory;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-swapimg-'));
    try {
      const dir = path.join(root, 'log');
      let marker = '';
      const io = {
        ...nodeFileIO,
        rename(from: string, to: string) {
          // an image before the first rename after the marker's, its marker damaged (a kill -9, then bad bytes)
          if (marker === '' && from.endsWith('.swap.tmp')) { nodeFileIO.rename(from, to); marker = to; return; }
          if (marker !== '' && !fs.existsSync(path.join(root, 'image'))) {
            fs.cpSync(dir, path.join(root, 'image'), { recursive: true });
            fs.writeFileSync(path.join(root, 'image', 'kv', path.basename(marker)), 'not json');
          }
          nodeFileIO.rename(from, to);
        },
      };
      const log = await openLogWith({ meta, io }, dir);
      const t = log.topic<string>('kv', { cleanup: 'compact', codec: 'string', segmentBytes: 1024 });
      for (let o = 0; o < 100; o++) t.appendSync(`k${o % KEYS}:${o}`, { key: `k${o % KEYS}` });
      await t.compact();
      await log.close();
      const image = path.join(root, 'image');
      const report = await verify(image);
      expect(report.ok).toBe(false);
      const problem = report.topics.flatMap((x) => x.problems).find((p) => p.severity === 'error');
      expect(problem?.file).toBe(path.join(image, 'kv', path.basename(marker)));
      await expect(openLogWith({ meta }, image)).rejects.toMatchObject({ code: 'ERR_CORRUPT' });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
