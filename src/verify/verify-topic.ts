// verify()'s check of one topic: it walks the planned segments in offset order, checks that each
// segment starts where the one before ended (a gap past the recovery point that no later batch
// vouches for is a power cut's torn tail, as openLog's recovery judges it), has each segment's
// batches walked (verify-segment.ts) and its index files checked (verify-indexes.ts), and stops
// where openLog would cut the topic. It owns the topic's report: at most PROBLEMS_PER_TOPIC_MAX
// problems, and the end offset openLog will find. Read-only, like all of verify.
import type { FileIO } from '../io/file-io.js';
import { throwIfAborted } from '../base/abort.js';
import { LOG_SUFFIX, segmentFileName } from '../format/batch.js';
import { claimedAfter } from './verify-claims.js';
import { checkIndexes } from './verify-indexes.js';
import type { TopicPlan } from './verify-plan.js';
import { leftover, type Progress, type VerifyProblem, type VerifyTopicReport } from './verify-report.js';
import { walkSegment, type WalkState } from './verify-segment.js';

/** Problems listed per topic at most (a badly damaged file would otherwise flood the report). */
const PROBLEMS_PER_TOPIC_MAX = 100;

export async function verifyTopic(io: FileIO, plan: TopicPlan, progress: Progress): Promise<VerifyTopicReport> {
  const report: VerifyTopicReport = {
    topic: plan.topic, segments: plan.bases.length, batches: 0, records: 0, bytes: plan.logBytesTotal,
    startOffset: plan.bases[0] ?? 0, endOffset: plan.bases[0] ?? 0, problems: [...plan.leftovers],
  };
  const add = (p: VerifyProblem): void => {
    if (report.problems.length < PROBLEMS_PER_TOPIC_MAX) report.problems.push(p);
  };
  // The last segment holding data: an invalid batch there with nothing valid after it is a torn tail.
  let lastWithData = -1;
  for (let i = 0; i < plan.sizes.length; i++) if (plan.sizes[i]! > 0) lastWithData = i;
  let expected = -1; // offset the next batch must start at (-1: anything, after damage)
  let prevCompacted = false; // the last batch was written by compaction
  let runningMaxTs = -1;
  // The running maximum timestamp is known exactly only while nothing before is missing: not when
  // retention removed the first segments (the topic does not start at 0), nor after damage or a gap.
  let tsExact = plan.bases[0] === 0;
  let prevLogPath = ''; // the segment whose end `expected` is
  for (let si = 0; si < plan.bases.length; si++) {
    const base = plan.bases[si]!;
    const size = plan.sizes[si]!;
    const logPath = plan.fileOf(segmentFileName(base, LOG_SUFFIX));
    throwIfAborted(progress.signal, progress.what);
    progress.onProgress?.({ topic: plan.topic, file: logPath, bytesDone: progress.bytesDone, bytesTotal: progress.bytesTotal });
    if (size === 0) {
      if (si < plan.bases.length - 1) add(leftover(logPath, 'an empty segment before the last one (an interrupted roll)'));
      if (si === plan.bases.length - 1 && expected >= 0 && base !== expected) {
        add(leftover(logPath, `an empty last segment named for offset ${base} while the log ends at ${expected} (an interrupted roll; openLog removes it)`));
      }
      if (si === 0 && expected < 0) { expected = base; prevLogPath = logPath; } // the log starts here, with nothing in it
      continue;
    }
    if (expected >= 0 && base !== expected && !(base > expected && prevCompacted) && si > plan.recoveryIndex
      && claimedAfter(io, plan.fileOf, plan.bases, plan.sizes, si, 0) <= expected) {
      // past the recovery point and no later batch vouches for the missing offsets: openLog cuts
      // before this segment and keeps it and the later ones aside (a power cut lost the unsynced end
      // of the segment before)
      add({
        file: logPath, position: 0, kind: 'torn-tail', severity: 'warning',
        message: `segment ${logPath} starts at offset ${base} but the previous one ends at ${expected}, past the recovery point and with no later batch showing it was fsynced: openLog cuts the log there and keeps this and the later segments aside as .cut files`,
      });
      break;
    }
    if (expected >= 0 && base !== expected && !(base > expected && prevCompacted)) {
      tsExact = false;
      add({
        file: logPath, position: 0, kind: 'offsets', severity: 'error',
        message: base > expected
          ? `segment ${logPath} starts at offset ${base} but the previous one (${prevLogPath}) ends at ${expected}: offsets ${expected} to ${base - 1} are missing`
          : `segment ${logPath} starts at offset ${base} but the previous one already reaches ${expected - 1}`,
      });
    }
    expected = base;
    prevLogPath = logPath;
    const walkState: WalkState = {
      expected, prevCompacted, runningMaxTs, report, add, progress, topic: plan.topic, flushedBytes: plan.flushedBytes(base),
      claimedAfter: (from) => claimedAfter(io, plan.fileOf, plan.bases, plan.sizes, si, from), cut: false,
    };
    const walk = await walkSegment(io, logPath, base, size, si === lastWithData, walkState);
    expected = walk.expected;
    prevCompacted = walk.prevCompacted;
    runningMaxTs = walk.runningMaxTs;
    let nextBase: number | undefined;
    for (let k = si + 1; k < plan.bases.length && nextBase === undefined; k++) if (plan.sizes[k]! > 0) nextBase = plan.bases[k];
    checkIndexes(io, plan.fileOf, base, tsExact, nextBase, walk.segment, walk.batchStarts, add);
    if (walk.segment.damaged) tsExact = false;
    if (walkState.cut) break; // openLog cuts the topic here: what follows is kept aside, not read
  }
  if (expected >= 0) report.endOffset = expected;
  return report;
}
