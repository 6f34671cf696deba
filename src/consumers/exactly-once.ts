// Exactly-once consume-transform-produce: `out.appendBatch(records, { commit: sub })` appends the
// records and commits the subscription's group as one atomic step (docs/subscriptions.md,
// "Exactly once"). The commit rides in the output batch (commit-block.ts); ridden.ts says how it
// reaches the store and recovery.ts how a crash brings it back. Here: the checks, in front; the
// writer half is the output topic's writer's (log/append-ridden.ts appendWithCommit).
import { SeglogError, invalidArgument } from '../base/errors.js';
import { COMMIT_BLOCK_MAX, commitBlockBytes, type CommitBlock } from '../format/commit-block.js';
import { TIMESTAMP_DELTA_MAX } from '../log/topic-writer.js';
import { SubscriptionImpl } from './subscription.js';
import type { AppendMeta } from '../format/record.js';
import type { AppendBatchOptions } from './subscription-api.js';
import { appendWithCommit, type RiddenWriter } from '../log/append-ridden.js';

/** What exactly-once needs of the output topic (src/topic.ts). */
export interface CommitOutput<V> {
  readonly name: string;
  /** The output topic's writer (log/topic-writer.ts), which appends the batch with its commit. */
  readonly writer: RiddenWriter;
  readonly endOffset: number;
  appendBatch(records: Array<{ value: V | null } & AppendMeta>): Promise<number>;
  /** Throws what an append would (closed, read-only, a failed write, a full disk). */
  checkAppendable(): void;
  /** The records' values encoded and checked (a record that cannot be appended throws here). */
  encodeRecords(records: Array<{ value: V | null } & AppendMeta>): Array<Uint8Array | null>;
  /** Whether `topic` belongs to the same log. */
  sameLog(topic: unknown): boolean;
}

export type { AppendBatchOptions } from './subscription-api.js';

export function appendCommitting<V>(out: CommitOutput<V>, records: Array<{ value: V | null } & AppendMeta>, options: AppendBatchOptions): Promise<number> {
  try {
    if (options === null || typeof options !== 'object') throw invalidArgument('appendBatch options', options, 'an object { commit? }');
    for (const k of Object.keys(options)) if (k !== 'commit') throw invalidArgument('appendBatch option', k, 'commit');
    out.checkAppendable();
    if (!Array.isArray(records)) throw invalidArgument('records', records, 'an array of { value, key?, headers?, timestamp? }');
    const commit = options.commit;
    if (commit === undefined) {
      if (records.length === 0) throw invalidArgument('records', records, 'a non-empty array');
      return out.appendBatch(records);
    }
    let sub: unknown = commit;
    let offset: number | undefined;
    if (!(commit instanceof SubscriptionImpl)) {
      if (commit === null || typeof commit !== 'object' || !('subscription' in commit)) throw invalidArgument('option commit', commit, 'a group subscription, or { subscription, offset? }');
      for (const k of Object.keys(commit)) if (k !== 'subscription' && k !== 'offset') throw invalidArgument('option commit key', k, 'subscription or offset');
      sub = commit.subscription;
      offset = commit.offset;
    }
    if (!(sub instanceof SubscriptionImpl)) throw invalidArgument('option commit subscription', sub, 'a subscription made by topic.subscribe()');
    if (!out.sameLog(sub.source)) {
      throw new SeglogError('ERR_INVALID_ARGUMENT', `option commit: the subscription reads topic ${sub.source.name} of another log (exactly-once needs both topics in one log)`, { value: sub.source.name });
    }
    const prepared = sub.prepareCommit(offset);
    if (records.length === 0) {
      // nothing to write: a plain commit (it has no output a crash could duplicate)
      prepared.apply();
      return prepared.groups.commit(prepared.state, prepared.state.committed).then(() => out.endOffset);
    }
    const values = out.encodeRecords(records);
    const now = Date.now();
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of records) { const t = r.timestamp ?? now; if (t < lo) lo = t; if (t > hi) hi = t; }
    if (hi - lo > TIMESTAMP_DELTA_MAX) throw invalidArgument('record timestamps', [lo, hi], `timestamps less than 2^51 ms apart in one appendBatch with commit (they make one batch)`);
    if (prepared.ranges.length === 0) {
      // nothing new is finished (committed already): the records alone
      return out.appendBatch(records);
    }
    const block: CommitBlock = { topic: sub.source.name, group: prepared.state.name, ranges: prepared.ranges };
    if (commitBlockBytes(block) - 2 > COMMIT_BLOCK_MAX) throw invalidArgument('option commit', `${prepared.ranges.length / 2} ranges`, `a commit that fits in ${COMMIT_BLOCK_MAX} bytes (fewer unfinished ranges: a lower maxInFlight)`);
    return appendWithCommit(out.writer, records, values, block, prepared.groups, prepared.state, prepared.apply);
  } catch (err) {
    return Promise.reject(err);
  }
}
