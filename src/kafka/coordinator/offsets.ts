// OffsetCommit and OffsetFetch as seglog group positions (docs/kafka.md, "Consumer groups").
// Kafka's committed offset is the next offset to consume, which is what a seglog group position
// is: committing offset O of partition P of topic T for group G is `topic.resetGroup(G, O)` on the
// seglog topic holding (T, P), and fetching reads `topic.groups()`. So Kafka consumers and
// in-process `subscribe({ group })` share positions, across restarts.
//
// - An offset past endOffset is stored as endOffset (Kafka accepts any offset; seglog's groups
//   cannot point past the end); below startOffset it is startOffset (resetGroup's rule); a
//   negative one is refused with OFFSET_OUT_OF_RANGE.
// - A commit is refused with REBALANCE_IN_PROGRESS while in-process subscriptions of the group are
//   open on that partition (resetGroup refuses then: they would read on from a position that
//   changed under them); the client retries after rejoining.
// - Commits never create topics: an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION.
// - Commits of one (seglog topic, group) run one after the other, in arrival order, so two in
//   flight cannot land out of order. Each resolves once durable (resetGroup's flush).
// - Commit metadata strings are kept in memory only (a bounded map; lost on restart, then fetched
//   as ''), up to `offsetMetadataLengthMax` characters (longer: OFFSET_METADATA_TOO_LARGE).
//
// Crash: a commit that was answered is durable; one in flight leaves the old position or the new.
import { SeglogError } from '../../base/errors.js';
import type { Log } from '../../log-api.js';
import type { CoordinatorConfig } from './config.js';
import { ErrorCode } from '../protocol/index.js';
import { validGroupId, type Membership } from './membership.js';
import type { OffsetCommitRequest, OffsetCommitResponse, OffsetFetchPartition, OffsetFetchRequest, OffsetFetchResponse } from './messages.js';
import { allPartitions, partitionCount, seglogTopicName } from './partitions.js';

type FetchTopics = Array<{ name: string; partitions: OffsetFetchPartition[] }>;

export class Offsets {
  /** The last commit queued per `${seglogTopic}\0${group}`; removed once it settled. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Commit metadata per `${group}\0${seglogTopic}` (only non-empty strings), oldest first. */
  private readonly metadata = new Map<string, string>();

  constructor(
    private readonly log: Log,
    private readonly membership: Membership,
    private readonly config: CoordinatorConfig,
  ) {}

  async commit(body: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const groupId = body.groupId;
    const generationId = body.generationIdOrMemberEpoch ?? body.generationId ?? -1;
    let groupError: number = validGroupId(groupId)
      ? this.membership.commitCheck(groupId, generationId, body.memberId ?? '', body.groupInstanceId || null)
      : ErrorCode.INVALID_GROUP_ID;
    let existing: Set<string> = new Set();
    if (groupError === ErrorCode.NONE) {
      try {
        existing = new Set(this.log.topics());
      } catch (err) {
        groupError = errorCodeOf(err);
      }
    }
    const topics = await Promise.all(body.topics.map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(t.partitions.map(async (p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: groupError !== ErrorCode.NONE
          ? groupError
          : await this.commitOne(groupId, t.name, p.partitionIndex, BigInt(p.committedOffset), p.committedMetadata ?? '', existing),
      }))),
    })));
    return { throttleTimeMs: 0, topics };
  }

  async fetch(body: OffsetFetchRequest, closed: boolean): Promise<OffsetFetchResponse> {
    if (body.groups !== undefined && body.groups.length > 0) {
      // (v8+: several groups in one request)
      const groups = body.groups.map((g) => ({ groupId: g.groupId, ...this.fetchGroup(g.groupId, g.topics, closed) }));
      return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups };
    }
    const { topics, errorCode } = this.fetchGroup(body.groupId ?? '', body.topics ?? null, closed);
    return { throttleTimeMs: 0, topics, errorCode, groups: [] };
  }

  /** Resolves once every commit in flight has settled. */
  async settle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  private fetchGroup(groupId: string, requested: Array<{ name: string; partitionIndexes: number[] }> | null, closed: boolean): { topics: FetchTopics; errorCode: number } {
    const fail = (errorCode: number) => ({
      errorCode,
      // (v0-1 have no top-level error code: each partition carries it)
      topics: (requested ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => partitionAnswer(p, -1, '', errorCode)) })),
    });
    if (!validGroupId(groupId)) return fail(ErrorCode.INVALID_GROUP_ID);
    if (closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    let existing: Set<string>;
    try {
      existing = new Set(this.log.topics());
    } catch (err) {
      return fail(errorCodeOf(err));
    }
    const positions = new Map<string, number>(); // seglog topic → the group's position there, -1 for none
    const positionOn = (seglogTopic: string): number => {
      let position = positions.get(seglogTopic);
      if (position === undefined) {
        position = this.log.topic(seglogTopic).groups().find((g) => g.group === groupId)?.position ?? -1;
        positions.set(seglogTopic, position);
      }
      return position;
    };
    const answer = (seglogTopic: string, partition: number, position: number) =>
      partitionAnswer(partition, position, position < 0 ? '' : this.metadata.get(`${groupId}\0${seglogTopic}`) ?? '', ErrorCode.NONE);
    try {
      if (requested === null) {
        // every partition the group has a position on
        const byTopic = new Map<string, OffsetFetchPartition[]>();
        for (const { topic, partition, seglogTopic } of allPartitions(existing)) {
          const position = positionOn(seglogTopic);
          if (position < 0) continue;
          let partitions = byTopic.get(topic);
          if (partitions === undefined) byTopic.set(topic, (partitions = []));
          partitions.push(answer(seglogTopic, partition, position));
        }
        return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
      }
      const topics = requested.map((t) => {
        const count = partitionCount(t.name, existing);
        return {
          name: t.name,
          // (an unknown topic or partition has no position: -1, as Kafka answers)
          partitions: t.partitionIndexes.map((p) => (p >= 0 && p < count ? answer(seglogTopicName(t.name, p), p, positionOn(seglogTopicName(t.name, p))) : partitionAnswer(p, -1, '', ErrorCode.NONE))),
        };
      });
      return { errorCode: ErrorCode.NONE, topics };
    } catch (err) {
      return fail(errorCodeOf(err));
    }
  }

  private async commitOne(groupId: string, topic: string, partition: number, offset: bigint, metadata: string, existing: ReadonlySet<string>): Promise<number> {
    if (metadata.length > this.config.offsetMetadataLengthMax) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
    if (partition < 0 || partition >= partitionCount(topic, existing)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (offset < 0n) return ErrorCode.OFFSET_OUT_OF_RANGE;
    const seglogTopic = seglogTopicName(topic, partition);
    return this.serialized(`${seglogTopic}\0${groupId}`, async () => {
      if (!this.log.topics().includes(seglogTopic)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION; // (deleted meanwhile: never re-create it)
      const t = this.log.topic(seglogTopic);
      const current = t.groups().find((g) => g.group === groupId);
      if (current !== undefined && current.members > 0) return ErrorCode.REBALANCE_IN_PROGRESS;
      const end = BigInt(t.endOffset);
      const position = Number(offset > end ? end : offset);
      // (an unchanged position is not written again: consumers re-commit the same offsets on a timer)
      if (current === undefined || current.position !== position) {
        try {
          await t.resetGroup(groupId, position);
        } catch (err) {
          if (this.deleted(seglogTopic)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION; // (deleted while the commit was stored)
          throw err;
        }
      }
      this.keepMetadata(`${groupId}\0${seglogTopic}`, metadata);
      return ErrorCode.NONE;
    });
  }

  /** Whether `seglogTopic` is gone from a log that is still open. */
  private deleted(seglogTopic: string): boolean {
    try {
      return !this.log.topics().includes(seglogTopic);
    } catch {
      return false;
    }
  }

  private serialized(key: string, work: () => Promise<number>): Promise<number> {
    const previous = this.chains.get(key);
    const run = (previous === undefined ? work() : previous.then(work, work)).catch(errorCodeOf);
    this.chains.set(key, run);
    void run.then(() => {
      if (this.chains.get(key) === run) this.chains.delete(key);
    });
    return run;
  }

  private keepMetadata(key: string, metadata: string): void {
    this.metadata.delete(key);
    if (metadata === '' || this.config.offsetMetadataEntriesMax === 0) return;
    this.metadata.set(key, metadata);
    if (this.metadata.size > this.config.offsetMetadataEntriesMax) this.metadata.delete(this.metadata.keys().next().value!);
  }
}

function partitionAnswer(partitionIndex: number, position: number, metadata: string, errorCode: number): OffsetFetchPartition {
  return { partitionIndex, committedOffset: BigInt(position), committedLeaderEpoch: -1, metadata, errorCode };
}

/** The Kafka error code for a failure of the log underneath. */
function errorCodeOf(err: unknown): number {
  if (!(err instanceof SeglogError)) return ErrorCode.UNKNOWN_SERVER_ERROR;
  switch (err.code) {
    case 'ERR_CLOSED': return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case 'ERR_READ_ONLY': return ErrorCode.GROUP_AUTHORIZATION_FAILED;
    // (a member subscribed between the check and the reset)
    case 'ERR_INVALID_ARGUMENT': return ErrorCode.REBALANCE_IN_PROGRESS;
    case 'ERR_IO':
    case 'ERR_NO_SPACE': return ErrorCode.KAFKA_STORAGE_ERROR;
    default: return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}
