// Kafka topics and partitions over seglog topics (docs/kafka.md, "Topics and partitions"):
// partition 0 of the Kafka topic `orders` is the seglog topic `orders`, partition N ≥ 1 is
// `orders.partition-N`; a topic's partition count is 1 plus the run of `orders.partition-1`, `-2`, …
// that exist. Names that end in `.partition-<digits>` are not Kafka topics (they are refused as
// Kafka names), and a name must leave room for its partitions' suffixes within seglog's 200
// characters. The server reaches a topic's writer and reader through TopicImpl (appendSpans,
// the tail): a topic written with a custom codec is opened with the binary codec, as the CLI does
// (the server reads and writes raw bytes, never values).
//
// Crash: nothing here is on disk; creating several partitions is several topic creations, and a
// crash half-way leaves a topic with fewer partitions (the run stops at the first missing one).
import type { Log } from '../../log.js';
import { SeglogError } from '../../base/errors.js';
import { binaryCodec } from '../../format/codecs.js';
import { TopicImpl } from '../../topic.js';
import { isPartitionName, partitionCount as countPartitions, seglogTopicName } from '../coordinator/partitions.js';

/** seglog's longest topic name (format/options.ts checkTopicName). */
const SEGLOG_NAME_CHARS_MAX = 200;
/** Partitions one CreateTopics may ask for: each is a directory with its files. */
export const PARTITIONS_MAX = 1000;

const LEGAL = /^[A-Za-z0-9._-]+$/;

/** The seglog topic that holds partition `partition` of the Kafka topic `topic`. */
export const partitionTopicName = seglogTopicName;

/** Why `name` cannot be a Kafka topic here (with `partitions` partitions), or undefined when it can. */
export function invalidTopicName(name: string | null, partitions = 1): string | undefined {
  if (name === null || name.length === 0) return 'a topic name must not be empty';
  if (name === '.' || name === '..') return `topic name ${JSON.stringify(name)} is not allowed`;
  if (!LEGAL.test(name)) return `topic name ${JSON.stringify(name.slice(0, 80))} has characters other than A-Z a-z 0-9 . _ -`;
  if (isPartitionName(name)) return `topic name ${name} ends in .partition-<N>, which names a partition of another topic`;
  const longest = partitionTopicName(name, Math.max(0, partitions - 1)).length;
  if (longest > SEGLOG_NAME_CHARS_MAX) return `topic name ${name.slice(0, 80)}… is too long (${longest} characters with its partition suffix; at most ${SEGLOG_NAME_CHARS_MAX})`;
  return undefined;
}

/** The Kafka topics of the log (seglog topics that are not partitions N ≥ 1 of another), sorted. */
export function kafkaTopics(log: Log): string[] {
  return log.topics().filter((n) => !isPartitionName(n));
}

/** The partition count of an existing Kafka topic `name` (0 when there is no such topic). */
export function partitionCount(log: Log, name: string, names: ReadonlySet<string> = new Set(log.topics())): number {
  return countPartitions(name, names);
}

/**
 * The open topics the server has used, by seglog name: Produce and Fetch look a partition up per
 * request without listing the log's topics (a deleted topic is closed, and then looked up again).
 */
export class TopicCache {
  private readonly topics = new Map<string, TopicImpl<unknown>>();

  constructor(private readonly log: Log) {}

  /** The seglog topic of partition `partition` of `topic`, or undefined when it does not exist. */
  partition(topic: string, partition: number): TopicImpl<unknown> | undefined {
    if (typeof topic !== 'string' || !Number.isSafeInteger(partition) || partition < 0 || partition >= PARTITIONS_MAX) return undefined;
    const name = partitionTopicName(topic, partition);
    const cached = this.topics.get(name);
    if (cached !== undefined && !cached.closed) return cached;
    this.topics.delete(name);
    if (invalidTopicName(topic) !== undefined || !this.log.topics().includes(name)) return undefined;
    const t = openTopic(this.log, name);
    this.topics.set(name, t);
    return t;
  }

  clear(): void {
    this.topics.clear();
  }
}

/** The TopicImpl behind `log.topic(name)`; a topic with a custom codec is opened with the binary codec. */
export function openTopic(log: Log, name: string): TopicImpl<unknown> {
  let t: unknown;
  try {
    t = log.topic<unknown>(name);
  } catch (err) {
    if (!(err instanceof SeglogError) || err.code !== 'ERR_INVALID_ARGUMENT') throw err;
    t = log.topic<unknown>(name, { codec: binaryCodec as never });
  }
  if (!(t instanceof TopicImpl)) throw new Error(`assertion: log.topic(${name}) is not a TopicImpl`);
  return t as TopicImpl<unknown>;
}

/** Creates the Kafka topic `name` with `partitions` partitions (the seglog topics that are missing). */
export function createPartitions(log: Log, name: string, partitions: number): void {
  for (let p = 0; p < partitions; p++) openTopic(log, partitionTopicName(name, p));
}
