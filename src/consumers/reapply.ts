// Re-applying ridden commits at recovery (ridden.ts): a topic's recovery scan found batches with a
// commit block past its recovery point. Each says "group G of topic T finished these offsets";
// the store may lack it (the process died before the position was stored). Merge it into the
// stored position and finished ranges, forward only, durably, before the scanned topic's new
// recovery point is recorded. A commit for a topic the log no longer holds is dropped.
// A full disk must not lock the log out: when the store refuses the write for lack of space (the
// space reserve given back already), the merged position is handed to the store as a pending put
// instead (reads see it; the next put, flush() or close() writes it) and the caller keeps the
// topic's recovery point before these batches until the store has it (recovery.ts), so a crash
// meanwhile re-applies them again.
import path from 'node:path';
import { applyFinished } from './consumer-groups.js';
import type { CommitBlock } from '../format/commit-block.js';
import { ioError } from '../base/errors.js';
import { isNoSpace } from '../io/space-reserve.js';
import type { MetaStore } from '../store/meta-store.js';
import { recoveryAction } from '../base/diagnostics.js';

/** Returns true when a position could not be stored for lack of space and is pending in the store. */
export function reapplyCommits(meta: MetaStore, dir: string, source: string, commits: CommitBlock[], giveBack?: () => boolean): boolean {
  let deferred = false;
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
    let pending = false;
    try {
      try {
        meta.putGroupSync(topic, group, merged.committed, merged.done);
      } catch (err) {
        if (!isNoSpace(err) || giveBack?.() !== true) throw err;
        meta.putGroupSync(topic, group, merged.committed, merged.done);
      }
    } catch (err) {
      if (!isNoSpace(err)) throw ioError(`store the consumer group position that rode in topic ${source}`, dir, err);
      meta.putGroup(topic, group, merged.committed);
      meta.putGroupDone(topic, group, merged.done);
      pending = deferred = true;
    }
    recoveryAction(path.join(dir, source), 'reapply-commit',
      `group ${group} of topic ${topic}: a commit that rode in this topic's batches was not stored before the crash; position ${committed} -> ${merged.committed}` +
      (pending ? ' (no room on the disk to store it yet: kept pending, written once there is; the topic is scanned from before these batches until then)' : ''));
  }
  return deferred;
}

function sameRanges(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
