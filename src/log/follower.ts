// Follower: what makes a read-only log opened with { follow: true } pick up the writer's changes by
// itself — appends, rolls, retention, compaction, new and deleted topics — so that subscriptions and
// tail cursors on it wake without anyone calling log.refresh().
//
// It watches the log's folder (topics created or deleted, metadata) and each open topic's folder
// (segment files written, rolled, removed, swapped) through FileIO.watch, and refreshes on each
// change: a topic folder's event refreshes that topic, the log folder's event everything (and finds
// new topics). Events of one turn of the event loop are coalesced into one refresh (setImmediate);
// the refresh wakes the subscriptions waiting at the tail (refresh.ts). Watching is only a hint:
// a poll every `pollMs` refreshes everything too, for file systems that drop events, and for a
// watch that could not be set up or failed. A write caught half done is looked at again by the
// next event or poll (refresh.ts leaves a batch that fails its check at the end for later).
//
// Invariants: at most one refresh is scheduled at a time and none runs after close(); close() stops
// every watch, the poll timer and a scheduled refresh, so nothing of it outlives the log. Neither
// the watches nor the timer keep the process alive (a subscription waiting at the tail does,
// tail.ts). An error of a background refresh (a damaged file, ERR_CORRUPT) goes to `onError`, once
// per distinct message, and following goes on.
//
// Crash: nothing here is on disk; a follower never writes.
import path from 'node:path';
import type { DirectoryWatch, FileIO } from '../io/file-io.js';

/** What the follower needs of the log it follows (the facade, src/log.ts). */
export interface FollowedLog {
  readonly dir: string;
  readonly io: FileIO;
  /** The names of the topics open now (their folders are `dir/<name>`). */
  topicNames(): Iterable<string>;
  /**
   * Refreshes the topics named (undefined: every topic, and opens the ones the writer created);
   * reports each failure to `onError` and goes on.
   */
  refreshTopics(names: ReadonlySet<string> | undefined, onError: (err: unknown) => void): void;
}

export class Follower {
  private readonly topicWatches = new Map<string, DirectoryWatch | undefined>();
  private logWatch: DirectoryWatch | undefined = undefined;
  private readonly timer: NodeJS.Timeout;
  private scheduled: NodeJS.Immediate | undefined = undefined;
  /** Refresh everything (and look for new topics) at the next run. */
  private all = false;
  private readonly dirty = new Set<string>();
  private lastError = '';
  private closed = false;

  constructor(private readonly log: FollowedLog, pollMs: number, private readonly onError: (err: unknown) => void) {
    this.logWatch = log.io.watch?.(log.dir, () => this.changed(undefined));
    this.syncWatches();
    this.timer = setInterval(() => this.changed(undefined), pollMs);
    this.timer.unref();
    // What was written between the open and the first watch.
    this.changed(undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.logWatch?.close();
    this.logWatch = undefined;
    for (const w of this.topicWatches.values()) w?.close();
    this.topicWatches.clear();
  }

  /** A change in topic `name`'s folder (undefined: in the log's folder, or the poll). */
  private changed(name: string | undefined): void {
    if (this.closed) return;
    if (name === undefined) this.all = true; else this.dirty.add(name);
    if (this.scheduled === undefined) this.scheduled = setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = undefined;
    if (this.closed) return;
    const names = this.all ? undefined : new Set(this.dirty);
    this.all = false;
    this.dirty.clear();
    this.log.refreshTopics(names, (err) => this.report(err));
    if (names === undefined) this.syncWatches();
  }

  /** Watches the folder of every open topic, and only those. */
  private syncWatches(): void {
    if (this.closed || this.log.io.watch === undefined) return;
    const open = new Set(this.log.topicNames());
    for (const [name, w] of this.topicWatches) {
      if (open.has(name)) continue;
      w?.close();
      this.topicWatches.delete(name);
    }
    for (const name of open) {
      if (this.topicWatches.has(name)) continue;
      this.topicWatches.set(name, this.log.io.watch(path.join(this.log.dir, name), () => this.changed(name)));
      // A topic found by this refresh may have been written to before its watch began.
      this.changed(name);
    }
  }

  private report(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (message === this.lastError) return;
    this.lastError = message;
    this.onError(err);
  }
}
