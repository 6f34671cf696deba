// GroupShare: how the members of one consumer group on a topic share its records (SPEC, "Members
// share the work"). Made when a second member joins a group, or when a lone member leaves records
// unfinished (a throw, break, close or abort while it held them); while it exists every member of
// the group reads through it, and a group whose share is empty again goes back to the plain
// single-member path (the one W7 measures).
//
// Invariants (all offsets of the topic below `frontier` are in exactly one of these states):
// - finished: below low() or in `done` (ranges finished out of order, above low());
// - held: in a member's claims (given to it, not finished yet); one member at a time;
// - released: given once and not finished (the member left), waiting for another member.
// Everything past `frontier` was never handed out. The group's committed position is low(), the
// first unfinished offset: min(frontier, first released, first held). A member takes a released
// offset only above the last offset it was given, so that within one member offsets increase; a
// released offset no member can take waits for the next member (after a restart: the committed
// position is at or below it).
//
// Crash: the committed position (low()), the ranges finished out of order above it (doneRanges())
// and the offsets handed out and not finished with their delivery counts (inFlight(): held ones
// count the delivery in hand, released ones only the failed ones) go to the store at the end of
// each tick (ConsumerGroups.handToStore). A share made after a restart starts with them: the
// finished ranges are skipped, and every offset that was handed out and not finished is released
// with its stored count, so the delivery a crash interrupted counts as a failed one (a record whose
// handler kills the process reaches maxDeliveries and the dead-letter topic). What was handed out
// in the tick of a crash is counted only if that tick's write was made: at least once, never past.
import { SeglogError } from '../base/errors.js';
import type { LogRecord } from '../format/record.js';
import { clearRuns, forRuns, incrementRuns, insertRange, rangesOutside, removeRange, runCount, setRuns } from './share-ranges.js';

/** What the share needs of a member: a name for messages. */
export interface ShareMember {
  readonly memberId: number;
}

/** The topic operations the share needs to redeliver records. */
export interface ShareTopic<V> {
  readonly name: string;
  readonly startOffset: number;
  read(options: { from: number; to: number; maxRecords: number }): Iterable<LogRecord<V>>;
}

/** The first record at or after `from` and before `to` (a record of its own, not a shared one), or undefined. */
export function firstRecord<V>(topic: ShareTopic<V>, from: number, to: number): LogRecord<V> | undefined {
  for (const record of topic.read({ from, to, maxRecords: 1 })) return record;
  return undefined;
}

/** How the members read past the frontier (group-reader.ts): what the share's owner lets go of. */
export interface ShareReader {
  drop(): void;
}

/** A member's unfinished records: ranges [from, to) of records it was given (all of them exist). */
type Claims = number[]; // flat: from0, to0, from1, to1, ... ascending

export class GroupShare {
  /** Next offset never handed out. */
  frontier: number;
  /** Ranges [from, to) given once and not finished, ascending, disjoint (flat pairs). */
  private released: number[] = [];
  /** Ranges finished out of order above low(), ascending, disjoint (flat pairs). */
  private done: number[] = [];
  /**
   * Times each offset was given and not finished (kept while it is released, or held again):
   * flat runs [from, to, n], ascending (share-ranges.ts), so that releasing what a member held
   * costs its ranges, not its records.
   */
  private readonly failures: number[] = [];
  private readonly held = new Map<ShareMember, Claims>();
  /** The cursor the members read the frontier with (group-reader.ts), made by the first read. */
  reader: ShareReader | undefined = undefined;

  /**
   * `stored`: ranges finished out of order above `frontier` before a restart (the store's);
   * `inFlight`: the offsets above it handed out and not finished before the restart, as inFlight()
   * gave them (flat [from, to, deliveries] triples). They are released with that many failed
   * deliveries; offsets between `frontier` and the last of them that are in neither list (a store
   * written in two ticks) are released as never delivered, so the new frontier lies past them all.
   */
  constructor(frontier: number, stored?: number[], inFlight?: number[]) {
    this.frontier = frontier;
    if (stored !== undefined) for (let k = 0; k + 1 < stored.length; k += 2) if (stored[k + 1]! > frontier) insertRange(this.done, Math.max(stored[k]!, frontier), stored[k + 1]!);
    if (inFlight === undefined || inFlight.length < 3) return;
    let top = frontier;
    for (let k = 0; k + 2 < inFlight.length; k += 3) top = Math.max(top, inFlight[k + 1]!);
    if (top === frontier) return;
    insertRange(this.released, frontier, top);
    for (let k = 0; k + 1 < this.done.length && this.done[k]! < top; k += 2) removeRange(this.released, this.done[k]!, this.done[k + 1]!);
    for (let k = 0; k + 2 < inFlight.length; k += 3) {
      const n = inFlight[k + 2]!;
      const from = Math.max(inFlight[k]!, frontier);
      const to = inFlight[k + 1]!;
      if (n <= 0 || to <= from) continue;
      const r = this.released;
      for (let i = 0; i + 1 < r.length && r[i]! < to; i += 2) setRuns(this.failures, Math.max(r[i]!, from), Math.min(r[i + 1]!, to), n);
    }
    this.frontier = top;
  }

  /**
   * The offsets handed out and not finished, for the store: flat [from, to, deliveries] triples,
   * ascending, where deliveries counts each time the offset was given (the one in hand included).
   * At most members × maxInFlight offsets are held, plus what members that left gave back.
   */
  inFlight(): number[] {
    const out: number[] = [];
    const runs: number[] = []; // [from, to, n] of every held and released range, unsorted
    for (const c of this.held.values()) for (let i = 0; i + 1 < c.length; i += 2) this.pushRuns(runs, c[i]!, c[i + 1]!, 1);
    for (let i = 0; i + 1 < this.released.length; i += 2) this.pushRuns(runs, this.released[i]!, this.released[i + 1]!, 0);
    const order: number[] = [];
    for (let i = 0; i < runs.length; i += 3) order.push(i);
    order.sort((a, b) => runs[a]! - runs[b]!);
    for (const i of order) {
      const last = out.length - 3;
      if (last >= 0 && out[last + 1] === runs[i] && out[last + 2] === runs[i + 2]) out[last + 1] = runs[i + 1]!;
      else out.push(runs[i]!, runs[i + 1]!, runs[i + 2]!);
    }
    return out;
  }

  /** Adds [from, to) as runs of equal delivery counts (failures + `inHand`), leaving out what is finished. */
  private pushRuns(runs: number[], from: number, to: number, inHand: number): void {
    if (this.failures.length === 0 && this.done.length === 0) {
      if (to > from && inHand > 0) runs.push(from, to, inHand);
      return;
    }
    const open = rangesOutside(this.done, from, to);
    for (let k = 0; k + 1 < open.length; k += 2) {
      forRuns(this.failures, open[k]!, open[k + 1]!, (a, b, n) => {
        if (n + inHand <= 0) return;
        const last = runs.length - 3;
        if (last >= 0 && runs[last + 1] === a && runs[last + 2] === n + inHand) runs[last + 1] = b;
        else runs.push(a, b, n + inHand);
      });
    }
  }

  /** Released offsets given `maxDeliveries` times or more (a count from before a restart): taken out of the released ones for the caller to dead-letter (then finishOffset, or requeue). */
  exhausted(maxDeliveries: number): number[] {
    const out: number[] = [];
    const f = this.failures;
    const r = this.released;
    for (let i = 0; i + 2 < f.length; i += 3) {
      if (f[i + 2]! < maxDeliveries) continue;
      for (let k = 0; k + 1 < r.length && r[k]! < f[i + 1]!; k += 2) {
        for (let o = Math.max(r[k]!, f[i]!); o < Math.min(r[k + 1]!, f[i + 1]!); o++) out.push(o);
      }
    }
    for (const o of out) removeRange(this.released, o, o + 1);
    return out;
  }

  /** The ranges finished out of order above low(), for the store (flat pairs). */
  doneRanges(): number[] {
    this.low();
    return this.done.slice();
  }

  /** Moves the frontier past a finished range it stands at (finished before a restart). */
  skipDone(): void {
    for (let k = 0; k < this.done.length; k += 2) {
      if (this.done[k]! <= this.frontier && this.frontier < this.done[k + 1]!) this.frontier = this.done[k + 1]!;
    }
  }

  /** The start of the first finished range after `from` (Infinity if none): a read from the frontier stops there. */
  nextDoneStart(from: number): number {
    for (let k = 0; k < this.done.length; k += 2) if (this.done[k]! > from) return this.done[k]!;
    return Infinity;
  }

  /** What finish(member, below) would finish, plus the never-handed-out offsets up to `below` (flat pairs, ascending). */
  heldBelow(member: ShareMember, below: number): number[] {
    const out: number[] = [];
    const c = this.held.get(member) ?? [];
    for (let i = 0; i + 1 < c.length; i += 2) if (c[i]! < below) out.push(c[i]!, Math.min(c[i + 1]!, below));
    if (below > this.frontier) out.push(this.frontier, below);
    return out;
  }

  /** How many records `member` holds unfinished. */
  heldCount(member: ShareMember): number {
    const c = this.held.get(member);
    if (c === undefined) return 0;
    let n = 0;
    for (let i = 0; i < c.length; i += 2) n += c[i + 1]! - c[i]!;
    return n;
  }

  /** The first unfinished offset (the group's committed position). */
  low(): number {
    let low = this.frontier;
    if (this.released.length > 0 && this.released[0]! < low) low = this.released[0]!;
    for (const c of this.held.values()) if (c.length > 0 && c[0]! < low) low = c[0]!;
    // ranges finished below the first unfinished offset are nothing to remember any more
    let k = 0;
    while (k < this.done.length && this.done[k + 1]! <= low) k += 2;
    if (k > 0) this.done.splice(0, k);
    return low;
  }

  /** Nothing shared is left but what `member` holds from the frontier back: it may read alone. */
  soloFor(member: ShareMember): boolean {
    if (this.released.length > 0 || this.done.length > 0 || this.failures.length > 0) return false;
    for (const [m, c] of this.held) if (m !== member && c.length > 0) return false;
    const c = this.held.get(member);
    return c === undefined || c.length === 0 || (c.length === 2 && c[1] === this.frontier);
  }

  /** Records that `member` was given [from, to) (read from the frontier, or taken over when the share was made). */
  hold(member: ShareMember, from: number, to: number): void {
    if (to <= from) return;
    let c = this.held.get(member);
    if (c === undefined) this.held.set(member, (c = []));
    if (c.length > 0 && c[c.length - 1] === from) c[c.length - 1] = to;
    else c.push(from, to);
  }

  /** The frontier moved from `from` to `to`; offsets in it that were not given (compacted or removed) are finished. */
  advanceFrontier(from: number, to: number): void {
    if (from !== this.frontier) throw new Error(`group share: frontier ${this.frontier}, claim from ${from}`); // programmer error
    this.frontier = to;
  }

  /** Marks what `member` holds below `below` as finished. */
  finish(member: ShareMember, below = Infinity): void {
    const c = this.held.get(member);
    if (c === undefined || c.length === 0) return;
    let k = 0;
    while (k < c.length && c[k]! < below) {
      const to = Math.min(c[k + 1]!, below);
      this.addDone(c[k]!, to);
      clearRuns(this.failures, c[k]!, to);
      if (to < c[k + 1]!) {
        c[k] = to;
        break;
      }
      k += 2;
    }
    if (k > 0) c.splice(0, k);
  }

  /**
   * `member` left: what it held is released for another member (each offset counted as a failed
   * delivery). Returns the released offsets that reached `maxDeliveries` (not released: the caller
   * dead-letters them and then calls finishOffset).
   */
  release(member: ShareMember, maxDeliveries: number): number[] {
    const c = this.held.get(member);
    this.held.delete(member);
    const exhausted: number[] = [];
    if (c === undefined) return exhausted;
    for (let k = 0; k < c.length; k += 2) {
      // (what was finished meanwhile, by finishRanges, is nothing to redo)
      const open = rangesOutside(this.done, c[k]!, c[k + 1]!);
      for (let i = 0; i + 1 < open.length; i += 2) {
        const from = open[i]!;
        const to = open[i + 1]!;
        incrementRuns(this.failures, from, to);
        if (maxDeliveries === Infinity) {
          insertRange(this.released, from, to);
          continue;
        }
        forRuns(this.failures, from, to, (a, b, n) => {
          if (n < maxDeliveries) insertRange(this.released, a, b);
          else for (let o = a; o < b; o++) exhausted.push(o);
        });
      }
    }
    return exhausted;
  }

  /** An offset release() returned that could not be dead-lettered: released after all. */
  requeue(offset: number): void {
    insertRange(this.released, offset, offset + 1);
  }

  /** An offset that was dead-lettered (or is gone): finished. */
  finishOffset(offset: number): void {
    clearRuns(this.failures, offset, offset + 1);
    this.addDone(offset, offset + 1);
  }

  /** How many times `offset` will have been given once it is given now. */
  deliveries(offset: number): number {
    return runCount(this.failures, offset) + 1;
  }

  /**
   * Gives `member` the first released record above `after`, or undefined if there is none. Released
   * offsets that retention or compaction removed meanwhile are finished on the way.
   */
  takeReleased<V>(member: ShareMember, after: number, topic: ShareTopic<V>): LogRecord<V> | undefined {
    const r = this.released;
    let k = 0;
    while (k < r.length) {
      if (r[k + 1]! - 1 <= after) {
        k += 2;
        continue;
      }
      const from = Math.max(r[k]!, after + 1, topic.startOffset);
      const to = r[k + 1]!;
      const record = from < to ? firstRecord(topic, from, to) : undefined;
      const at = record === undefined ? to : record.offset;
      // [max(r[k], after + 1), at) is gone from the topic: finished
      const goneFrom = Math.max(r[k]!, after + 1);
      if (at > goneFrom) {
        removeRange(r, goneFrom, at);
        this.addDone(goneFrom, at);
        clearRuns(this.failures, goneFrom, at);
      }
      if (record === undefined) continue; // (the ranges moved: look again from the start)
      removeRange(r, at, at + 1);
      this.hold(member, at, at + 1);
      return record;
    }
    return undefined;
  }

  /**
   * These ranges (flat pairs) are finished, whoever was given them: an exactly-once commit of a
   * member that left meanwhile (its output is written; exactly-once.ts). Released ones are no
   * longer handed out; one another member holds stays held (its finish or failure is a no-op then).
   */
  finishRanges(ranges: number[]): void {
    for (let k = 0; k + 1 < ranges.length; k += 2) {
      const from = ranges[k]!;
      const to = ranges[k + 1]!;
      removeRange(this.released, from, to);
      this.addDone(from, to);
      clearRuns(this.failures, from, to);
    }
    this.skipDone();
  }

  /** A member that left with nothing held (closed between records). */
  forget(member: ShareMember): void {
    const c = this.held.get(member);
    if (c !== undefined && c.length === 0) this.held.delete(member);
  }

  private addDone(from: number, to: number): void {
    if (to > from) insertRange(this.done, from, to);
  }
}

/** The member holds `maxInFlight` unfinished records and asked for more. */
export function tooManyInFlight(group: string, topic: string, maxInFlight: number): SeglogError {
  return new SeglogError('ERR_INVALID_ARGUMENT', `group ${group} on topic ${topic}: this member holds maxInFlight (${maxInFlight}) unfinished records; commit() what it finished before asking for more`, { value: maxInFlight });
}
