// `seglog verify`, `seglog compact` and `seglog retention`: maintenance through the library API.
// verify() only reads (no lock: it can run next to a writer, which may show up as a torn tail);
// compact and retention open the log for writing (they need the lock) and run topic.compact() and
// topic.enforceRetention() / truncateBefore(), whose crash safety is the library's.
import { SeglogError } from '../base/errors.js';
import { verify, type VerifyReport } from '../verify/verify.js';
import { CliError, EXIT } from './errors.js';
import { checkDirectory, cliTopic, existingTopic, openForCli } from './open.js';
import { Progress, formatBytes, out, plural, table } from './output.js';

/** Returns true when no damage (problem of severity 'error') was found. */
export async function verifyCommand(dirIn: string, topics: string[], json: boolean): Promise<boolean> {
  const dir = checkDirectory(dirIn);
  const progress = new Progress('verify');
  let report: VerifyReport;
  try {
    report = await verify(dir, {
      onProgress: (p) => progress.update(p.bytesDone, p.bytesTotal, p.topic),
      ...(topics.length > 0 ? { topics } : {}),
    });
  } catch (err) {
    if (err instanceof SeglogError && err.code === 'ERR_INVALID_ARGUMENT' && /topic/.test(err.message)) throw new CliError(EXIT.noTopic, err.message);
    throw err;
  } finally {
    progress.done();
  }
  if (json) {
    await out(JSON.stringify(report, null, 2));
    return report.ok;
  }
  const problems = [...report.problems, ...report.topics.flatMap((t) => t.problems)];
  const errors = problems.filter((p) => p.severity === 'error').length;
  if (report.topics.length > 0) {
    await out(table(['TOPIC', 'SEGMENTS', 'BATCHES', 'RECORDS', 'SIZE', 'START', 'END', 'STATUS'], report.topics.map((t) => [
      t.topic, t.segments, t.batches, t.records, formatBytes(t.bytes), t.startOffset, t.endOffset,
      t.problems.some((p) => p.severity === 'error') ? 'DAMAGED' : t.problems.length > 0 ? 'warnings' : 'ok',
    ])));
  }
  for (const p of problems) await out(`${p.severity.toUpperCase()} ${p.kind}: ${p.file} at position ${p.position}: ${p.message}`);
  await out(report.ok
    ? `verify: ${report.dir} is intact (${plural(report.topics.length, 'topic')}${problems.length > 0 ? `, ${plural(problems.length, 'warning')}` : ''})`
    : `verify: ${report.dir} is DAMAGED (${plural(errors, 'error')}, ${plural(problems.length - errors, 'warning')})`);
  return report.ok;
}

export async function compactCommand(dir: string, topicName: string): Promise<void> {
  const log = await openForCli({
    dir, command: 'compact', write: true,
    lockedHint: 'Compact from that process (topic.compact()), or stop it first; compaction also runs there by itself when the dirty ratio passes its threshold.',
  });
  try {
    existingTopic(log, dir, topicName);
    const topic = cliTopic(log, topicName);
    const progress = new Progress('compact');
    const spinner = setInterval(() => progress.spin(topicName), 150);
    let result: { recordsBefore: number; recordsAfter: number; bytesFreed: number };
    try {
      result = await topic.compact();
    } finally {
      clearInterval(spinner);
      progress.done();
    }
    await out(`compacted ${topicName}: ${plural(result.recordsBefore, 'record')} before, ${result.recordsAfter} after, ${formatBytes(result.bytesFreed)} freed`);
  } finally {
    await log.close();
  }
}

export async function retentionCommand(dir: string, topicName: string, options: { now: number | undefined; truncateBefore: number | undefined }): Promise<void> {
  const log = await openForCli({
    dir, command: 'retention', write: true,
    lockedHint: 'Retention also runs inside that process by itself (on rolls and on a timer); stop it first to run it from here.',
  });
  try {
    existingTopic(log, dir, topicName);
    const topic = cliTopic(log, topicName);
    const before = log.stats().topics[topicName]!;
    if (options.truncateBefore !== undefined) {
      if (options.truncateBefore > topic.endOffset) {
        throw new CliError(EXIT.usage, `--truncate-before ${options.truncateBefore} is past the end of ${topicName} (end offset ${topic.endOffset})`);
      }
      await topic.truncateBefore(options.truncateBefore);
    }
    await topic.enforceRetention(options.now);
    // Counted from the topic's stats: truncateBefore removes segments too, and reports nothing.
    const after = log.stats().topics[topicName]!;
    const deleted = Math.max(0, before.segments - after.segments);
    const freed = Math.max(0, before.bytes - after.bytes);
    await out(`retention on ${topicName}: ${plural(deleted, 'segment')} deleted, ${formatBytes(freed)} freed; records now ${topic.startOffset} to ${topic.endOffset - 1 < topic.startOffset ? '(none)' : topic.endOffset - 1}`);
  } finally {
    await log.close();
  }
}
