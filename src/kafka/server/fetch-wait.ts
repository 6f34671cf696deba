// Fetch long polls: a Fetch that finds fewer than minBytes waits up to maxWaitMs for more, woken by
// appends, never by a polling timer. A waiting fetch puts one small TailMember per partition topic
// in that topic's tail (log/tail.ts, the same wait the subscriptions use): the topic's writer
// wakes the tail at the end of each tick in which records were appended (in-process appends and
// Kafka produces alike), and the fetch then asks its `enough()` again; not enough yet, it waits
// on that tail again. The only timer is the maxWaitMs one. It ends early when the connection or
// the server closes (close() answers every waiting fetch with what there is) and when a topic it
// waits on goes away (deleteTopic; DeleteTopics wakes every wait).
//
// Crash: nothing here is on disk.
import type { TailMember } from '../../log/tail.js';
import type { TopicImpl } from '../../topic.js';

/** A waiting fetch's place in one topic's tail. */
class WaitMember implements TailMember {
  readonly position = 0; // (the tail asks only the open subscriptions for it)
  constructor(private readonly wait: FetchWait, readonly topic: TopicImpl<unknown>) {}
  wake(): void { this.wait.woken(this); }
  end(): void { this.wait.finish(); }
}

class FetchWait {
  private readonly members: WaitMember[];
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  private readonly onAbort = (): void => this.finish();

  constructor(private readonly waits: FetchWaits, topics: Iterable<TopicImpl<unknown>>, private readonly enough: () => boolean,
    maxWaitMs: number, private readonly signal: AbortSignal, private readonly resolve: () => void) {
    this.members = [...new Set(topics)].map((t) => new WaitMember(this, t));
    for (const m of this.members) m.topic.tail.wait(m);
    this.timer = setTimeout(() => this.finish(), maxWaitMs);
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  woken(m: WaitMember): void {
    if (this.done) return;
    if (m.topic.closed || this.enough()) this.finish();
    else m.topic.tail.wait(m);
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.signal.removeEventListener('abort', this.onAbort);
    for (const m of this.members) m.topic.tail.forget(m);
    this.waits.delete(this);
    this.resolve();
  }
}

/** The fetches waiting on this server's topics. */
export class FetchWaits {
  private readonly all = new Set<FetchWait>();
  /** Set by close(): no new wait starts. */
  closed = false;

  get size(): number { return this.all.size; }

  /**
   * Resolves once `enough()` holds after an append to one of `topics`, after `maxWaitMs`, or when
   * `signal` aborts, the server closes or a topic goes away — whichever comes first.
   */
  wait(topics: Iterable<TopicImpl<unknown>>, enough: () => boolean, maxWaitMs: number, signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted || maxWaitMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.all.add(new FetchWait(this, topics, enough, Math.min(maxWaitMs, 2 ** 31 - 1), signal, resolve));
    });
  }

  delete(w: FetchWait): void { this.all.delete(w); }

  /** Every waiting fetch answers now (the server closes; a topic was deleted). */
  wakeAll(): void {
    for (const w of [...this.all]) w.finish();
  }
}
