// Re-applying ridden commits at recovery (ridden.ts): a topic's recovery scan found batches with a
// commit block past its recovery point. Each says "group G of topic T finished these offsets";
// the store may lack it (the process died before the position was stored). Merge it into the
// stored position and finished ranges, forward only, durably, before the scanned topic's new
// recovery point is recorded. A commit for a topic the log no longer holds is dropped.
import path from 'node:path';
import { applyFinished } from './consumer-groups.js';
import type { CommitBlock } from '../format/commit-block.js';
import { ioError } from '../base/errors.js';
import type { MetaStore } from '../store/meta-store.js';
import { recoveryAction } from '../base/diagnostics.js';

export function reapplyCommits(meta: MetaStore, dir: string, source: string, commits: CommitBlock[]): void {
  const byGroup = new Map<string, { topic: string; group: string; ranges: number[] }>();
  for (const c of commits) {
    const key = c.topic + '\0' + c.group;
    let entry = byGroup.get(key);
    if (entry === undefined) byGroup.set(key, (entry = { topic: c.topic, group: c.group, ranges: [] }));
    entry.ranges.push(...c.ranges);
  }
  const known = new Set(meta.listTopics());
  for (const { topic, group, ranges } of byGroup.values()) {
    if (!known.has(topic)) continue; // deleted (a deletion settles the log first: only an old commit)
    const committed = meta.getGroups(topic).get(group) ?? -1;
    const done = meta.getGroupsDone(topic).get(group) ?? [];
    const merged = applyFinished(committed, done, ranges);
    if (merged.committed === committed && sameRanges(merged.done, done)) continue;
    try {
      meta.putGroupSync(topic, group, merged.committed, merged.done);
    } catch (err) {
      throw ioError(`store the consumer group position that rode in topic ${source}`, dir, err);
    }
    recoveryAction(path.join(dir, source), 'reapply-commit',
      `group ${group} of topic ${topic}: a commit that rode in this topic's batches was not stored before the crash; position ${committed} -> ${merged.committed}`);
  }
}

function sameRanges(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
