// Maintenance of one topic: retention and compaction, run one at a time per topic, and the file
// removals still running after their operation resolved. The topic facade (src/topic.ts) holds
// one and delegates truncateBefore, enforceRetention, compact and the automatic checks to it.
//
// Invariants: at most one retention or compaction step runs per topic (`exclusive`); nothing runs
// once the topic is closed or closing (`stop()`); a segment whose fsync is still running is left
// alone (retention stops at a pinned segment; explicit calls wait for those fsyncs first); commits
// riding in batches of segments about to be removed are stored first (log/ridden.ts).
// Abort (`{ signal }`): checked before each step starts and between its waits; an aborted step
// rejects with ERR_ABORTED and has changed nothing (retention's removal, once the start offset is
// raised, and compaction's swap, once committed, are single steps that finish).
import { SeglogError, invalidArgument } from '../base/errors.js';
import { checkSignal, throwIfAborted } from '../base/abort.js';
import { checkNow, checkTruncateOffset, removeFrontSegments, segmentsBelow, segmentsToExpire, type RetentionLog, type RetentionResult } from './retention.js';
import { compactTopic, dirtyRatio, type CompactionLog, type CompactionResult } from './compaction.js';

/** What maintenance needs of its topic besides the segment list (src/topic.ts). */
export interface MaintainedLog extends RetentionLog, CompactionLog {
  /** Throws what a write would (closed, read-only, the log failed). */
  checkWritable(): void;
  /** Keeps the bytes a recovery cut without room for them (log/recovery-cut.ts): ERR_NO_SPACE while it cannot. */
  keepCutBytes(): void;
  /** The topic's durability part (log/topic-durability.ts). */
  readonly durability: CompactionLog['durability'] & {
    /** The fsyncs running now (just-rolled segments', the group commit's, flush()'s): they pin segments. */
    fsyncsInFlight(): Array<Promise<unknown>>;
    /** The fsyncs of just-rolled segments still running. */
    rollFsyncs(): Array<Promise<unknown>>;
    /** Whether commits ride in batches the store has not got yet (log/ridden.ts). */
    hasRiddenCommits(): boolean;
    /** Makes everything appended durable (and riding commits stored). */
    flush(): Promise<void>;
  };
  /** The log failed: no maintenance runs until it is reopened. */
  readonly failed: boolean;
}

/** Options of `enforceRetention()` and `compact()` (a number alone is `now`). */
export interface MaintenanceOptions {
  /** Milliseconds since the epoch the step takes as now (default Date.now()). */
  now?: number;
  /** Aborts the step: it rejects with ERR_ABORTED and leaves the topic as it was. */
  signal?: AbortSignal;
}

/** `now` or `{ now?, signal? }` of enforceRetention()/compact(), checked. */
export function maintenanceOptions(arg: unknown, operation: string): { now: number; signal: AbortSignal | undefined } {
  if (arg === undefined) return { now: Date.now(), signal: undefined };
  if (arg === null || typeof arg !== 'object' || Array.isArray(arg) || arg instanceof Date) return { now: checkNow(arg), signal: undefined };
  for (const k of Object.keys(arg)) if (k !== 'now' && k !== 'signal') throw invalidArgument(`${operation} option`, k, 'now or signal');
  const { now, signal } = arg as MaintenanceOptions;
  return { now: now === undefined ? Date.now() : checkNow(now), signal: checkSignal(signal) };
}

export class Maintenance {
  /** Set by stop() (the topic is closing): maintenance stops at its next step. */
  stopping = false;
  private chain: Promise<unknown> = Promise.resolve();
  private scheduled = false;
  /** File removals still running after their operation resolved (awaited by close). */
  private background: Promise<void> = Promise.resolve();

  constructor(private readonly topic: MaintainedLog) {}

  trackBackground(work: Promise<void>): void {
    const run = work.catch((err: unknown) => {
      if (err instanceof SeglogError) this.topic.reportError(err); // leftovers are removed at the next open
    });
    this.background = Promise.all([this.background, run]).then(() => undefined);
  }

  /** Runs `fn` after the maintenance already queued for this topic (one at a time). */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.chain.catch(() => undefined).then(() => {
      if (this.topic.closed) throw new SeglogError('ERR_CLOSED', `topic ${this.topic.name} is closed`);
      return fn();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Closing: no new step starts; resolves once the running one and the background removals are done. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.chain.catch(() => undefined);
    await this.background;
  }

  /** The work still running (shutdown waits for it without stopping it first). */
  inFlight(): Array<Promise<unknown>> {
    return [this.chain, this.background];
  }

  /** A segment rolled: retention (and compaction) may have work now. */
  schedule(): void {
    if (this.scheduled || this.topic.readOnly) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.auto(Date.now(), false);
    });
  }

  /**
   * Automatic maintenance: retention on roll and on the log's timer; compaction (past the dirty
   * ratio) on the timer only, like Kafka's cleaner that checks every few seconds rather than at
   * every roll. Does nothing when nothing is due.
   */
  auto(now: number, fromTimer = true): void {
    const topic = this.topic;
    if (topic.closed || this.stopping || topic.readOnly || topic.failed) return;
    const report = (err: unknown): void => {
      if (err instanceof SeglogError && err.code !== 'ERR_CLOSED') topic.reportError(err);
    };
    const pinned = topic.durability.rollFsyncs();
    if (pinned.length > 0) {
      // Just-rolled segments are off limits until their fsync is done: look again then.
      void Promise.allSettled(pinned).then(() => this.schedule());
    }
    try {
      // (reading a segment's timestamps may meet damage: reported, never thrown from a timer)
      if (segmentsToExpire(topic, now) > 0) {
        this.exclusive(() => this.removeFront(() => segmentsToExpire(topic, now), 'retention')).catch(report);
      }
      if (fromTimer && topic.options.cleanup !== 'delete' && dirtyRatio(topic) >= topic.options.minCleanableDirtyRatio) {
        this.exclusive(() => (dirtyRatio(topic) >= topic.options.minCleanableDirtyRatio ? compactTopic(topic, now) : undefined)).catch(report);
      }
    } catch (err) {
      report(err);
    }
  }

  async truncateBefore(offsetIn: number): Promise<void> {
    const topic = this.topic;
    topic.checkWritable();
    const offset = checkTruncateOffset(topic, offsetIn);
    // Reads below the new start offset fail from here on, before any file is touched.
    topic.raiseStartOffset(offset);
    await this.exclusive(async () => {
      await this.fsyncsSettled();
      return this.removeFront(() => segmentsBelow(topic, offset), `truncateBefore(${offset})`);
    });
  }

  async enforceRetention(options?: number | MaintenanceOptions): Promise<RetentionResult> {
    const topic = this.topic;
    topic.checkWritable();
    const { now, signal } = maintenanceOptions(options, 'enforceRetention');
    const what = `enforceRetention on topic ${topic.name}`;
    throwIfAborted(signal, what);
    return this.exclusive(async () => {
      throwIfAborted(signal, what);
      await this.fsyncsSettled();
      return this.removeFront(() => segmentsToExpire(topic, now), 'retention', signal, what);
    });
  }

  /**
   * Compacts everything appended before the call: the active segment is rolled (when it holds
   * records) and made durable, then every closed segment is compacted. `now` (ms since the epoch)
   * decides which tombstones have expired; default Date.now().
   */
  async compact(options?: number | MaintenanceOptions): Promise<CompactionResult> {
    const topic = this.topic;
    topic.checkWritable();
    if (topic.options.cleanup === 'delete') {
      throw new SeglogError('ERR_INVALID_ARGUMENT', `compact() needs a compacted topic: ${topic.name} has cleanup '${topic.options.cleanup}'`, { value: topic.name });
    }
    const { now, signal } = maintenanceOptions(options, 'compact');
    const what = `compact on topic ${topic.name}`;
    throwIfAborted(signal, what);
    return this.exclusive(async () => {
      throwIfAborted(signal, what);
      if (topic.active.endPosition() > 0) {
        topic.checkWritable();
        topic.keepCutBytes(); // the roll would leave them in a closed segment, past its end
        topic.writer.roll('compact');
      }
      await topic.durability.flush();
      throwIfAborted(signal, what);
      return compactTopic(topic, now, signal);
    });
  }

  /**
   * Waits for the fsyncs still running on segments rolled just before (they pin those segments, and
   * retention stops at a pinned one): an explicit truncateBefore/enforceRetention then removes every
   * segment it should, not only those whose fsync happened to be over.
   */
  private async fsyncsSettled(): Promise<void> {
    await Promise.all(this.topic.durability.fsyncsInFlight().map((p) => p.catch(() => undefined)));
  }

  /**
   * Removes the first `count()` segments. Commits riding in this topic's batches are stored first
   * (a flush): recovery could not re-apply one whose batch went with its segment (ridden.ts).
   */
  private async removeFront(count: () => number, reason: string, signal?: AbortSignal, what = reason): Promise<RetentionResult> {
    if (this.topic.durability.hasRiddenCommits() && count() > 0) await this.topic.durability.flush();
    throwIfAborted(signal, what); // the last point before the start offset is raised
    return removeFrontSegments(this.topic, count(), reason);
  }
}
