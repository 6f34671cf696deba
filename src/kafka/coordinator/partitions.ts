// Kafka partitions as seglog topics (docs/kafka.md, "Topics and partitions"): partition 0 of Kafka
// topic `orders` is the seglog topic `orders`, partition N >= 1 is `orders.partition-N`, and a
// topic has 1 + the number of `orders.partition-1`, `-2`, ... that exist in a row. The coordinator
// only reads this mapping (offsets are stored on existing partitions; it creates no topic); the
// server (server/partitions.ts) builds its topic listing and creation on these functions.
//
// Crash: nothing here is on disk.

// (any digits: `x.partition-0` and `x.partition-01` are refused as Kafka names too, and are no
// Kafka topics when they exist)
const PARTITION_SUFFIX = /\.partition-\d+$/;

/** The seglog topic holding `partition` of Kafka topic `topic`. */
export function seglogTopicName(topic: string, partition: number): string {
  return partition === 0 ? topic : `${topic}.partition-${partition}`;
}

/** A Kafka topic name seglog refuses as such: one that names a partition of another topic. */
export function isPartitionName(name: string): boolean {
  return PARTITION_SUFFIX.test(name);
}

/** How many partitions Kafka topic `topic` has among `existing` seglog topics (0: no such topic). */
export function partitionCount(topic: string, existing: ReadonlySet<string>): number {
  if (isPartitionName(topic) || !existing.has(topic)) return 0;
  let n = 1;
  while (existing.has(`${topic}.partition-${n}`)) n++;
  return n;
}

/**
 * Every (Kafka topic, partition) among `existing` seglog topics, with the seglog topic that holds
 * it: a `x.partition-N` that is not partition N of an existing `x` in a row is no Kafka partition.
 */
export function allPartitions(existing: ReadonlySet<string>): Array<{ topic: string; partition: number; seglogTopic: string }> {
  const out: Array<{ topic: string; partition: number; seglogTopic: string }> = [];
  for (const name of existing) {
    const count = partitionCount(name, existing);
    for (let p = 0; p < count; p++) out.push({ topic: name, partition: p, seglogTopic: seglogTopicName(name, p) });
  }
  return out;
}
