// Ridden commits: the output side of exactly-once consume-transform-produce. An
// `out.appendBatch(records, { commit: sub })` writes its records as one batch that ends with a
// commit block (commit-block.ts) naming the input topic, the group and the input offsets the
// subscription finished. Then, for the output topic:
// - when the append resolves, the commit is applied to the group in memory, exactly as
//   sub.commit() would (so the group's members and a new subscription see it at once);
// - until the batch is durable (fsynced) the group is held: its position is not handed to the
//   store, so a stored position is never ahead of output a power cut could take back;
// - the output's recovery point does not pass a ridden batch until its commit is durable in the
//   store (flush() stores them first). So after any crash, a commit the store lacks rides in a
//   batch past the recovery point, and recovery's scan re-applies it (log.ts reapplyCommits).
// Both or neither: a torn batch is cut with its block; a whole batch brings its commit back.
import type { RecoveryPoint } from './topic-log.js';

/** The consumer groups a riding commit belongs to (consumers/consumer-groups.ts), as the writer sees them. */
export interface HeldGroups<S> {
  /** Keeps `state`'s position from the store until release(). */
  hold(state: S): void;
  release(state: S): void;
  /** Writes the positions that moved (and are not held) to the store. */
  handToStore(): void;
}

export interface RiddenEntry {
  /** Where the batch starts: a recovery point may not pass it before its commit is stored. */
  readonly start: RecoveryPoint;
  /** The batch's last offset. */
  readonly last: number;
  readonly groups: HeldGroups<any>;
  readonly state: unknown;
  acked: boolean;
  held: boolean;
}

export class RiddenCommits {
  /** Oldest first: batches whose commit is not known to be durable in the store. */
  entries: RiddenEntry[] = [];

  add(entry: RiddenEntry): void {
    this.entries.push(entry);
  }

  /** The append resolved: its commit was applied; hold the group while the batch is not durable. */
  acked(entry: RiddenEntry, durableOffset: number): void {
    entry.acked = true;
    if (durableOffset <= entry.last) {
      entry.held = true;
      entry.groups.hold(entry.state);
    }
  }

  /** Everything below `durableOffset` is fsynced: the groups of those batches may go to the store. */
  noteDurable(durableOffset: number): void {
    for (const e of this.entries) {
      if (e.last >= durableOffset) break;
      if (e.held) { e.held = false; e.groups.release(e.state); }
    }
  }

  /** Batches at or past `end` were taken back (a failed write): their appends reject, nothing was applied. */
  forgetFrom(end: number): void {
    const keep: RiddenEntry[] = [];
    for (const e of this.entries) {
      if (e.last < end) { keep.push(e); continue; }
      if (e.held) { e.held = false; e.groups.release(e.state); }
    }
    this.entries = keep;
  }

  /**
   * Hands the groups of acknowledged, durable batches to the store and forgets those entries;
   * returns whether any was handed over (the caller then flushes the store before it records a
   * recovery point past them).
   */
  handDurable(durableOffset: number): RiddenEntry[] {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.acked && !this.entries[n]!.held && this.entries[n]!.last < durableOffset) n++;
    if (n === 0) return [];
    const done = this.entries.splice(0, n);
    for (const g of new Set(done.map((e) => e.groups))) g.handToStore();
    return done;
  }

  /** The store could not write what handDurable() handed it: those entries cap the recovery point again. */
  restore(done: RiddenEntry[]): void {
    this.entries.unshift(...done);
  }

  /**
   * Recovery re-applied commits from batches between `start` and offset `last` that the store
   * could not write for lack of space (kept pending there, consumers/reapply.ts): the recovery
   * point stays at `start` until a flush of the store succeeds.
   */
  pinAtOpen(start: RecoveryPoint, last: number): void {
    this.entries.unshift({ start, last, groups: PENDING_IN_STORE, state: undefined, acked: true, held: false });
  }

  /** The recovery point to record: `rp`, or the start of the oldest batch whose commit is not stored yet. */
  cap(rp: RecoveryPoint): RecoveryPoint {
    const first = this.entries[0];
    return first !== undefined && first.start.offset < rp.offset ? first.start : rp;
  }
}

/** The groups of a commit recovery re-applied: their positions already wait in the store. */
const PENDING_IN_STORE: HeldGroups<unknown> = { hold: () => undefined, release: () => undefined, handToStore: () => undefined };
