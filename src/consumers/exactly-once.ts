// Exactly-once consume-transform-produce: `out.appendBatch(records, { commit: sub })` appends the
// records and commits the subscription's group as one atomic step (docs/subscriptions.md,
// "Exactly once"). The commit rides in the output batch (commit-block.ts); ridden.ts says how it
// reaches the store and recovery.ts how a crash brings it back. Here: the checks, in front, and the
// writer half (appendWithBlock, moved out of the topic facade src/topic.ts: a function of the
// narrow BlockWriter, the topic's writer state; logic unchanged).
import { SeglogError, invalidArgument, ioError } from '../base/errors.js';
import { COMMIT_BLOCK_MAX, commitBlockBytes, type CommitBlock } from '../format/commit-block.js';
import { TIMESTAMP_DELTA_MAX } from '../log/topic-writer.js';
import { SubscriptionImpl } from './subscription.js';
import type { AppendMeta } from '../format/record.js';
import type { AppendBatchOptions } from './subscription-api.js';
import type { ConsumerGroups, GroupState } from './consumer-groups.js';
import type { LogContext, Mark, Waiter } from '../log/topic-context.js';
import type { RecoveryPoint } from '../log/topic-log.js';
import { RiddenCommits, type RiddenEntry } from '../log/ridden.js';
import { settledNone } from '../log/turns.js';

/** What the writer half needs of the output topic: its writer's state (topic-writer.ts). */
export interface BlockWriter {
  readonly dir: string;
  readonly ctx: LogContext;
  readonly keptEnd: number;
  readonly committedEnd: number;
  readonly _endOffset: number;
  readonly durableOffset: number;
  ridden: RiddenCommits | undefined;
  tickWaiters: Waiter[];
  writeBeforeSwitch(): void;
  mark(): Mark;
  appendRidden(values: Array<Uint8Array | null>, records: Array<AppendMeta>, now: number, block: CommitBlock): RecoveryPoint;
  rollbackTo(mark: Mark, error: SeglogError): void;
}

/** What exactly-once needs of the output topic (src/topic.ts). */
export interface CommitOutput<V> extends BlockWriter {
  readonly name: string;
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
    return appendWithBlock(out, records, values, block, prepared.groups, prepared.state, prepared.apply);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The writer half of appendCommitting: the records as one batch carrying `block`; resolves like
 * appendBatch, after `apply` ran (the commit is applied then, once the append is acknowledged).
 */
function appendWithBlock<V>(topic: BlockWriter, records: Array<{ value: V | null } & AppendMeta>, values: Array<Uint8Array | null>, block: CommitBlock,
  groups: ConsumerGroups, state: GroupState, apply: () => void): Promise<number> {
  if (topic.keptEnd > topic.committedEnd && topic.ctx.options.durability !== 'none') topic.writeBeforeSwitch();
  const first = topic._endOffset;
  const mark = topic.mark();
  let start: RecoveryPoint;
  try {
    start = topic.appendRidden(values, records, Date.now(), block);
  } catch (err) {
    topic.rollbackTo(mark, err instanceof SeglogError ? err : ioError('append', topic.dir, err));
    throw err;
  }
  const entry: RiddenEntry = { start, last: topic._endOffset - 1, groups, state, acked: false, held: false };
  topic.ctx.noteRidden();
  const ridden = (topic.ridden ??= new RiddenCommits());
  ridden.add(entry);
  const ack = (): void => { apply(); ridden.acked(entry, topic.durableOffset); };
  if (topic.ctx.options.durability === 'none') {
    ack();
    return settledNone(first);
  }
  return new Promise<number>((resolve, reject) => {
    topic.tickWaiters.push({ resolve: (o) => { ack(); resolve(o); }, reject, offset: first, last: topic._endOffset - 1, mark });
  });
}
