// Tail: the subscriptions of one topic and the ones waiting at its end for new records. The
// topic's writer wakes the waiting ones at the end of each tick, after the tick's records were
// handed to the OS (TopicWriter.flushTick) — an append wakes them, nothing polls. While any
// subscription waits, a referenced (never firing) timer keeps the process alive, as SPEC.md asks
// ("a subscription waiting at the tail keeps the process alive until it is closed"); it is
// unreferenced as soon as none waits, and cleared when the topic is closed.
//
// The tail also holds the topic's FanOut window (fan-out.ts), made by the first subscription that
// finds another one open, and let go as soon as fewer than two remain.
//
// Crash: nothing here is on disk.

/** What the tail needs from a subscription. */
export interface TailMember {
  /** The next offset the member reads. */
  readonly position: number;
  /** New records may be readable: deliver to a pending next(), or wait again. */
  wake(): void;
  /** The topic is going away (log.close(), deleteTopic()): settle everything, keep nothing. */
  end(): void;
}

/** What the tail needs from the shared window of its subscriptions. */
export interface TailWindow {
  clear(): void;
}

/** setInterval's maximum delay: the keep-alive timer never fires in practice. */
const KEEP_ALIVE_MS = 2 ** 31 - 1;

export class Tail {
  /** Open subscriptions of the topic. */
  readonly members = new Set<TailMember>();
  private waiting: TailMember[] = [];
  private spare: TailMember[] = [];
  private keepAlive: NodeJS.Timeout | undefined = undefined;
  private referenced = false;
  /** The records the subscriptions share (fan-out.ts); only while two or more are open. */
  window: TailWindow | undefined = undefined;

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** `member` has a pending next() and nothing to deliver: wake it after the next write. */
  wait(member: TailMember): void {
    this.waiting.push(member);
    if (!this.referenced) {
      this.referenced = true;
      if (this.keepAlive === undefined) this.keepAlive = setInterval(noop, KEEP_ALIVE_MS);
      else this.keepAlive.ref();
    }
  }

  /** Called by the writer at the end of a tick. */
  wake(): void {
    const list = this.waiting;
    if (list.length === 0) return;
    // Two arrays swapped, so that members that wait again during the loop land in the other.
    this.waiting = this.spare;
    for (let i = 0; i < list.length; i++) list[i]!.wake();
    list.length = 0;
    this.spare = list;
    if (this.waiting.length === 0) this.unref();
  }

  /** `member` stopped waiting on its own (closed, aborted). */
  forget(member: TailMember): void {
    const i = this.waiting.indexOf(member);
    if (i >= 0) this.waiting.splice(i, 1);
    this.members.delete(member);
    if (this.waiting.length === 0) this.unref();
    if (this.members.size < 2) this.dropWindow();
  }

  /** The topic is closed or deleted: every subscription ends, the timer goes. */
  endAll(): void {
    const all = [...this.members];
    this.members.clear();
    this.waiting = [];
    for (const m of all) m.end();
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.referenced = false;
    this.dropWindow();
  }

  private dropWindow(): void {
    const w = this.window;
    this.window = undefined;
    w?.clear();
  }

  private unref(): void {
    if (!this.referenced) return;
    this.referenced = false;
    this.keepAlive?.unref();
  }
}

function noop(): void { /* keeps the event loop alive while a subscription waits */ }
