// topic.stats() (src/topic.ts): the numbers of one topic as `log.stats()` reports them (the
// TopicStats of topic-api.ts). Moved out of TopicImpl as a function of the narrow StatsTopic.
//
// Invariants: read-only, a snapshot of memory: no I/O (the byte count is the segments' end positions).
//
// Crash: nothing here is on disk.
import type { TopicStats } from './topic-api.js';
import type { ResolvedTopicOptions } from './format/options.js';
import type { Segment } from './segment/segment.js';
import type { ConsumerGroups } from './consumers/consumer-groups.js';

/** What stats need of the topic. */
export interface StatsTopic {
  readonly segments: Segment[];
  readonly active: Segment;
  readonly startOffset: number;
  readonly endOffset: number;
  readonly maxTimestampMs: number;
  readonly groupStates: ConsumerGroups;
  readonly options: ResolvedTopicOptions<any>;
}

export function topicStats(topic: StatsTopic): TopicStats {
  let bytes = 0;
  for (const s of topic.segments) bytes += s.endPosition();
  return {
    segments: topic.segments.length,
    bytes,
    startOffset: topic.startOffset,
    endOffset: topic.endOffset,
    records: topic.endOffset - topic.startOffset,
    groups: topic.groupStates.stats(topic.startOffset, topic.endOffset),
    activeSegmentBase: topic.active.baseOffset,
    maxTimestampMs: topic.maxTimestampMs,
    codec: topic.options.codecName ?? 'custom',
    cleanup: topic.options.cleanup,
  };
}
