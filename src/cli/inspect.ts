// `seglog topics` and `seglog stats`: what a log holds, read-only (works next to a running writer).
// Nothing on disk changes; nothing to recover.
import type { LogStats } from '../log.js';
import { existingTopic, openForCli } from './open.js';
import { formatBytes, out, table } from './output.js';

export async function topicsCommand(dir: string): Promise<void> {
  const log = await openForCli({ dir, command: 'topics', write: false });
  try {
    for (const name of log.topics()) await out(name);
  } finally {
    await log.close();
  }
}

export async function statsCommand(dir: string, topic: string | undefined, json: boolean): Promise<void> {
  const log = await openForCli({ dir, command: 'stats', write: false });
  let stats: LogStats;
  try {
    if (topic !== undefined) existingTopic(log, dir, topic);
    stats = log.stats();
  } finally {
    await log.close();
  }
  const topics = Object.entries(stats.topics).filter(([name]) => topic === undefined || name === topic);
  if (json) {
    await out(JSON.stringify({ ...stats, topics: Object.fromEntries(topics) }, null, 2));
    return;
  }
  if (topics.length === 0) {
    await out(`${stats.dir}: no topics`);
    return;
  }
  const rows = topics.map(([name, t]) => [
    name, t.segments, formatBytes(t.bytes), t.startOffset, t.endOffset, t.records, t.codec ?? '', t.cleanup ?? '',
    t.maxTimestampMs !== undefined && t.maxTimestampMs >= 0 ? new Date(t.maxTimestampMs).toISOString() : '-',
  ]);
  await out(table(['TOPIC', 'SEGMENTS', 'SIZE', 'START', 'END', 'RECORDS', 'CODEC', 'CLEANUP', 'NEWEST RECORD'], rows));
  const groups = topics.flatMap(([name, t]) => Object.entries(t.groups ?? {}).map(([g, s]) => [name, g, s.position, s.lag]));
  if (groups.length > 0) {
    await out('');
    await out(table(['TOPIC', 'GROUP', 'POSITION', 'LAG'], groups));
  }
}
