// SyncGate: a bound on the fsyncs of one log's segment files that run at once. An fsync keeps its
// descriptor open until it ends (the pool may not close it under the call), so without a bound a
// log.flush() over thousands of topics would hold a descriptor per topic (three with the index
// files) at the same moment, whatever the descriptor pool's size. Callers queue in order; a slot
// is held only around one fsync, never while waiting for another slot (no deadlock).
//
// Crash: nothing on disk; a queued fsync simply starts later.

/** fsyncs of segment files in flight at once: an eighth of the pool's bound (at least 2; 16 at 128). */
export function syncsMaxFor(openSegmentsMax: number): number {
  return Math.max(2, Math.floor(openSegmentsMax / 8));
}

export class SyncGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`seglog internal error: SyncGate max ${max}`);
  }

  /** Runs `fn` once fewer than `max` others are running; the slot is freed when it settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next(); // the slot passes on (running stays the same)
      else this.running--;
    }
  }

  /** fsyncs running or queued (tests, stats). */
  get inFlight(): number {
    return this.running + this.waiting.length;
  }
}
