// CreateTopics and DeleteTopics. A Kafka topic of N partitions is N seglog topics (partitions.ts).
// CreateTopics: numPartitions -1 means 1 (or as many as the manual assignment lists), fewer than
// 1 or more than PARTITIONS_MAX is INVALID_PARTITIONS; the replication factor, the assignment's
// broker ids and the topic configs are ignored (one node, seglog's own topic options);
// TOPIC_ALREADY_EXISTS when partition 0 exists; a name twice in one request is INVALID_REQUEST for
// it (as Kafka answers); validateOnly checks and creates nothing. DeleteTopics deletes every
// partition topic, the highest first (log.deleteTopic), and wakes the fetches waiting on them.
//
// Crash: creating is one seglog topic creation per partition, partition 0 first, deleting goes
// from the highest partition down: a crash half-way leaves a topic with fewer partitions, never a
// partition 0 missing under others.
import { ErrorCode } from '../protocol/index.js';
import type { ServerContext } from './context.js';
import { PARTITIONS_MAX, createPartitions, invalidTopicName, partitionCount, partitionTopicName } from './partitions.js';
import { kafkaErrorOf } from './errors.js';
import { SeglogError } from '../../base/errors.js';

interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: Array<{ partitionIndex: number; brokerIds: number[] }>;
}

interface CreateTopicsRequest { topics: CreatableTopic[]; timeoutMs: number; validateOnly: boolean }

function created(name: string, errorCode: number, errorMessage: string | null, numPartitions = -1): object {
  return { name, errorCode, errorMessage, numPartitions, replicationFactor: numPartitions < 0 ? -1 : 1, configs: [] };
}

function readOnlyError(ctx: ServerContext, op: string): { errorCode: number; errorMessage: string } {
  return kafkaErrorOf(new SeglogError('ERR_READ_ONLY', `cannot ${op}: the log at ${ctx.dir} was opened read-only`));
}

export function createTopics(ctx: ServerContext, body: CreateTopicsRequest): object {
  const { log } = ctx;
  const counts = new Map<string, number>();
  for (const t of body.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const topics = body.topics.map((t) => {
    const { name } = t;
    if (counts.get(name)! > 1) return created(name, ErrorCode.INVALID_REQUEST, `topic ${name} is named more than once in the request`);
    const partitions = t.numPartitions === -1 ? Math.max(1, t.assignments.length) : t.numPartitions;
    if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) {
      return created(name, ErrorCode.INVALID_PARTITIONS, `numPartitions must be from 1 to ${PARTITIONS_MAX} (or -1 for 1), got ${t.numPartitions}`);
    }
    const invalid = invalidTopicName(name, partitions);
    if (invalid !== undefined) return created(name, ErrorCode.INVALID_TOPIC_EXCEPTION, invalid);
    if (partitionCount(log, name) > 0) return created(name, ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    if (ctx.readOnly) {
      const e = readOnlyError(ctx, `create topic ${name}`);
      return created(name, e.errorCode, e.errorMessage);
    }
    if (body.validateOnly) return created(name, ErrorCode.NONE, null, partitions);
    try {
      createPartitions(log, name, partitions);
    } catch (err) {
      const e = kafkaErrorOf(err);
      return created(name, e.errorCode, e.errorMessage);
    }
    return created(name, ErrorCode.NONE, null, partitions);
  });
  return { throttleTimeMs: 0, topics };
}

interface DeleteTopicsRequest {
  topicNames: string[];
  topics: Array<{ name: string | null }>;
  timeoutMs: number;
}

export async function deleteTopics(ctx: ServerContext, body: DeleteTopicsRequest): Promise<object> {
  const { log } = ctx;
  const names = body.topicNames.length > 0 ? body.topicNames : body.topics.map((t) => t.name ?? '');
  const responses: object[] = [];
  for (const name of names) {
    const count = invalidTopicName(name) === undefined ? partitionCount(log, name) : 0;
    if (count === 0) {
      responses.push({ name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `no topic ${name}` });
      continue;
    }
    if (ctx.readOnly) {
      responses.push({ name, ...readOnlyError(ctx, `delete topic ${name}`) });
      continue;
    }
    try {
      for (let p = count - 1; p >= 0; p--) await log.deleteTopic(partitionTopicName(name, p));
      responses.push({ name, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (err) {
      responses.push({ name, ...kafkaErrorOf(err) });
    }
  }
  ctx.waits.wakeAll();
  return { throttleTimeMs: 0, responses };
}
