// Metadata: one broker (node 0, at the advertised address), the controller and the leader and only
// replica of every partition; the topics are the log's Kafka topics (partitions.ts), those made
// in-process included. A requested topic that does not exist is created with one partition when
// the request allows it (v4+: allowAutoTopicCreation; v0–3 have no such field and Kafka's default
// auto.create.topics.enable=true applies) and the server's autoCreateTopics option does too, on a
// writable log; otherwise UNKNOWN_TOPIC_OR_PARTITION. An invalid name is INVALID_TOPIC_EXCEPTION.
// Unlike Kafka (LEADER_NOT_AVAILABLE on the first answer), a topic created here is in the answer
// at once: the creation is synchronous.
//
// Crash: an auto-created topic is a seglog topic creation (crash-safe there).
import { ErrorCode, type RequestHeader } from '../protocol/index.js';
import { NODE_ID, type ServerContext } from './context.js';
import { createPartitions, invalidTopicName, kafkaTopics, partitionCount } from './partitions.js';
import { kafkaErrorOf } from './errors.js';

/** "Authorized operations not asked for" (Kafka's Integer.MIN_VALUE). */
const OPERATIONS_UNKNOWN = -2147483648;

interface MetadataRequest {
  topics: Array<{ name: string | null }> | null;
  allowAutoTopicCreation: boolean;
}

export function partitionsOf(count: number): object[] {
  const partitions: object[] = [];
  for (let p = 0; p < count; p++) {
    partitions.push({ errorCode: ErrorCode.NONE, partitionIndex: p, leaderId: NODE_ID, leaderEpoch: 0, replicaNodes: [NODE_ID], isrNodes: [NODE_ID], offlineReplicas: [] });
  }
  return partitions;
}

function topicEntry(name: string | null, errorCode: number, partitions: object[]): object {
  return { errorCode, name, isInternal: false, partitions, topicAuthorizedOperations: OPERATIONS_UNKNOWN };
}

export function metadata(ctx: ServerContext, header: RequestHeader, body: MetadataRequest): object {
  const { log } = ctx;
  const names = new Set(log.topics());
  // v0: an empty list means every topic; v1+: null means every topic, [] none
  const all = body.topics === null || (header.apiVersion === 0 && body.topics.length === 0);
  const requested = all ? kafkaTopics(log) : body.topics!.map((t) => t.name);
  const autoCreate = ctx.options.autoCreateTopics && (header.apiVersion < 4 || body.allowAutoTopicCreation) && !ctx.readOnly;
  const topics = requested.map((name) => {
    const invalid = invalidTopicName(name);
    if (invalid !== undefined || name === null) return topicEntry(name, ErrorCode.INVALID_TOPIC_EXCEPTION, []);
    let count = partitionCount(log, name, names);
    if (count === 0 && autoCreate && !all) {
      try {
        createPartitions(log, name, 1);
        names.add(name);
        count = 1;
      } catch (err) {
        return topicEntry(name, kafkaErrorOf(err).errorCode, []);
      }
    }
    if (count === 0) return topicEntry(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []);
    return topicEntry(name, ErrorCode.NONE, partitionsOf(count));
  });
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: NODE_ID, host: ctx.advertised.host, port: ctx.advertised.port, rack: null }],
    clusterId: ctx.clusterId,
    controllerId: NODE_ID,
    topics,
    clusterAuthorizedOperations: OPERATIONS_UNKNOWN,
  };
}
