// ConsumerGroups: the committed positions of one topic's consumer groups (group -> the next
// offset the group reads), loaded from the metadata store when the topic opens. Positions only
// move forward: a commit below the committed position is ignored; the one way back is reset()
// (topic.resetGroup, group-admin.ts), which the store keeps like any later put. Moving a position costs a number
// assignment; the groups moved in a tick are handed to the store once, at the end of the tick
// (MetaStore.putGroup, itself coalesced into one write), so committing per record stays cheap.
// commit() additionally waits for the store's flush: the position is then on disk.
//
// Beside each position the store keeps the ranges finished out of order above it and the offsets
// handed out and not finished with their delivery counts (group-share.ts inFlight(); a lone
// member's: what it has in hand), so that deliveries a crash interrupted are counted after it.
//
// Crash: a position handed to the store survives a process crash once the store has written it
// (LMDB: its asynchronous commit; native-free: the end-of-tick append to ~groups.log) and a power
// cut once flushed. A lost position is an older one: the group sees records again, never skips.
import type { MetaStore } from '../store/meta-store.js';
import type { GroupShare } from './group-share.js';

/** What a group knows of one of its open members (group-member.ts). */
export interface OpenMember {
  /** The share was made or changed: deliver to a pending next() if there is something now. */
  wake(): void;
  /** What the member holds as the lone member: [unfinishedFrom, position), for making a share. */
  soloRange(): { from: number; to: number };
  /** The same as [from, to, deliveries] triples for the store (at most maxInFlight of them), above `committed`. */
  soloInFlight(committed: number): number[];
}

export class GroupState {
  /** Committed position (-1: the group has none yet). */
  committed = -1;
  dirty = false;
  /** Open subscriptions of the group on this topic (its members). */
  readonly open = new Set<OpenMember>();
  /** How the members share the records (group-share.ts); undefined while one member reads alone. */
  share: GroupShare | undefined = undefined;
  /** Ranges finished out of order above `committed`, as loaded from the store (taken by the first share). */
  storedDone: number[] | undefined = undefined;
  /** The share's finished-out-of-order ranges changed since they were handed to the store. */
  doneDirty = false;
  /** Offsets handed out and not finished before a restart ([from, to, deliveries] triples, the store's; taken by the first share). */
  storedInFlight: number[] | undefined = undefined;
  /** What the store holds of the offsets handed out and not finished (the last put, or what was loaded). */
  inFlightPut: number[] = NONE;
  get members(): number {
    return this.open.size;
  }
  /**
   * Commits that rode in an output batch not durable yet (exactly-once, ridden.ts): while any is
   * held the state is not handed to the store, so no stored position gets ahead of its output.
   */
  holds = 0;
  /** Deleted by topic.deleteGroup: a subscription that still holds this state commits nothing. */
  removed = false;
  constructor(readonly name: string) {}
}

export class ConsumerGroups {
  private readonly states = new Map<string, GroupState>();
  private dirty: GroupState[] = [];
  private scheduled = false;
  private closed = false;
  private readonly flushBound = (): void => this.handToStore();

  /**
   * `endOffset`: the end of a writable log as recovery left it. A position (or a range finished
   * out of order) past it was committed for records that a crash or a failed fsync took back
   * (delivered once handed to the OS, never made durable); their offsets go to new records, which
   * the group has not seen: it resumes at endOffset, and those ranges are forgotten. A read-only
   * log passes undefined (the writer may be further on).
   */
  constructor(private readonly meta: MetaStore, private readonly topic: string, endOffset?: number) {
    const clamped = this.loadStored(endOffset ?? Number.MAX_SAFE_INTEGER, undefined);
    // the store must forget them too before new records reach those offsets (at the end of this tick)
    for (const state of new Set(clamped)) this.markDirty(state);
  }

  /**
   * Read-only topics (a refresh): the groups with no open member in this process take what the
   * store holds now — the writer's commits, resets and deletions since they were loaded; a group
   * being read here keeps its own state (it commits nothing, and its members read on from it).
   */
  reloadIdle(): void {
    const busy = new Set<string>();
    for (const [name, state] of this.states) if (state.members > 0) busy.add(name); else this.states.delete(name);
    this.loadStored(Number.MAX_SAFE_INTEGER, busy);
  }

  /** Makes the states of the stored groups (but those in `skip`); returns the ones clamped to `end` (see the constructor). */
  private loadStored(end: number, skip: ReadonlySet<string> | undefined): GroupState[] {
    const meta = this.meta;
    const topic = this.topic;
    const clamped: GroupState[] = [];
    for (const [name, offset] of meta.getGroups(topic)) {
      if (skip?.has(name)) continue;
      const state = this.get(name);
      state.committed = Math.min(offset, end);
      if (offset > end) clamped.push(state);
    }
    for (const [name, stored] of meta.getGroupsDone(topic)) {
      if (skip?.has(name)) continue;
      const state = this.states.get(name);
      const ranges = clampRanges(stored, end);
      if (state !== undefined && ranges.length > 0 && ranges[ranges.length - 1]! > state.committed) state.storedDone = ranges;
      if (state !== undefined && (ranges.length !== stored.length || ranges[ranges.length - 1] !== stored[stored.length - 1])) { state.doneDirty = true; clamped.push(state); }
    }
    for (const [name, stored] of meta.getGroupsInFlight(topic)) {
      if (skip?.has(name)) continue;
      const state = this.states.get(name);
      if (state === undefined) continue;
      const triples = clampTriples(stored, state.committed, end);
      state.inFlightPut = stored;
      state.storedInFlight = triples; // (clamped: the store gets these at the end of the tick)
      if (!sameNumbers(triples, stored)) clamped.push(state);
    }
    return clamped;
  }

  /** Queues the state for the store at the end of the tick. */
  private markDirty(state: GroupState): void {
    if (!state.dirty) {
      state.dirty = true;
      this.dirty.push(state);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushBound);
    }
  }

  /** The group's finished-out-of-order ranges changed: hand them to the store at the end of the tick. */
  markDone(state: GroupState): void {
    if (this.closed || state.removed) return;
    state.doneDirty = true;
    this.markDirty(state);
  }

  get(name: string): GroupState {
    let state = this.states.get(name);
    if (state === undefined) this.states.set(name, (state = new GroupState(name)));
    return state;
  }

  /** A commit rode in an output batch that is not durable yet: keep the state from the store until release(). */
  hold(state: GroupState): void {
    state.holds++;
  }

  /** The output batch of a held commit is durable: the state may go to the store (at the end of the tick). */
  release(state: GroupState): void {
    state.holds--;
    if (state.holds === 0 && state.dirty && !this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushBound);
    }
  }

  /** A lone member was given records: what it holds goes to the store at the end of the tick. */
  touch(state: GroupState): void {
    if (!this.closed && !state.removed) this.markDirty(state);
  }

  /** Moves the group's position forward to `offset` (ignored if it is not ahead). */
  advance(state: GroupState, offset: number): void {
    if (offset <= state.committed || this.closed || state.removed) return;
    state.committed = offset;
    if (!state.dirty) this.markDirty(state);
  }


  /** Moves the position forward and resolves once it is durable. */
  async commit(state: GroupState, offset: number): Promise<void> {
    this.advance(state, offset);
    this.handToStore();
    await this.meta.flush();
  }

  /** The names of the groups known on this topic (a committed position, or open members). */
  names(): string[] {
    return [...this.states.keys()].filter((n) => { const s = this.states.get(n)!; return s.committed >= 0 || s.members > 0; }).sort();
  }

  /** The group's state, if it is known (no state is made). */
  find(name: string): GroupState | undefined {
    return this.states.get(name);
  }

  /** Sets the position explicitly, backwards too (the caller checked that no member is open); durable when it resolves. */
  async reset(state: GroupState, offset: number): Promise<void> {
    state.committed = offset;
    state.share?.reader?.drop();
    state.share = undefined; // what the share remembered is about the old position
    state.storedDone = undefined;
    state.doneDirty = true;
    state.storedInFlight = undefined;
    state.inFlightPut = NONE;
    this.meta.putGroupInFlight(this.topic, state.name, NONE); // what was handed out is about the old position too
    if (!state.dirty) {
      state.dirty = true;
      this.dirty.push(state);
    }
    this.handToStore();
    await this.meta.flush();
  }

  /** Forgets the group (the caller checked that no member is open); durable when it resolves. */
  async remove(state: GroupState): Promise<void> {
    state.removed = true;
    this.states.delete(state.name);
    if (state.dirty) {
      state.dirty = false;
      this.dirty = this.dirty.filter((s) => s !== state);
    }
    this.meta.deleteGroup(this.topic, state.name);
    await this.meta.flush();
  }

  /** Hands the positions moved since the last call to the store. */
  handToStore(): void {
    this.scheduled = false;
    if (this.dirty.length === 0 || this.closed) return;
    const list = this.dirty;
    this.dirty = [];
    for (const state of list) {
      if (state.holds > 0) { this.dirty.push(state); continue; } // release() hands it over
      state.dirty = false;
      if (state.committed >= 0) this.meta.putGroup(this.topic, state.name, state.committed);
      if (state.doneDirty) {
        state.doneDirty = false;
        this.meta.putGroupDone(this.topic, state.name, state.share?.doneRanges() ?? state.storedDone ?? []);
      }
      // (no share and no member: what the store holds stands — nothing was handed out since it was
      // loaded, or the topic is closing and the records in hand count as delivered after the reopen)
      const inFlight = state.share !== undefined ? state.share.inFlight()
        : state.open.size === 1 ? firstOf(state.open).soloInFlight(state.committed)
        : state.open.size === 0 ? state.storedInFlight : undefined;
      if (inFlight !== undefined && !sameNumbers(inFlight, state.inFlightPut)) {
        state.inFlightPut = inFlight;
        this.meta.putGroupInFlight(this.topic, state.name, inFlight);
      }
    }
  }

  /** The topic was closed (after a last handToStore) or deleted: no more puts. */
  close(): void {
    this.closed = true;
  }

  /** Each group's position (where it resumes: its committed position, or startOffset if retention removed that) and lag. */
  stats(startOffset: number, endOffset: number): Record<string, { position: number; lag: number }> {
    const out: Record<string, { position: number; lag: number }> = {};
    for (const name of [...this.states.keys()].sort()) {
      const state = this.states.get(name)!;
      if (state.committed < 0) continue;
      const position = Math.max(state.committed, startOffset);
      out[name] = { position, lag: Math.max(0, endOffset - position) };
    }
    return out;
  }
}

const NONE: number[] = [];

function firstOf<T>(set: Set<T>): T {
  for (const x of set) return x;
  throw new Error('empty set'); // programmer error
}

function sameNumbers(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The part of flat [from, to, deliveries] triples in [committed, end) (none without a position). */
function clampTriples(triples: number[], committed: number, end: number): number[] {
  const out: number[] = [];
  if (committed < 0) return out;
  for (let i = 0; i + 2 < triples.length; i += 3) {
    const from = Math.max(triples[i]!, committed);
    const to = Math.min(triples[i + 1]!, end);
    if (to > from) out.push(from, to, triples[i + 2]!);
  }
  return out;
}

/** The part of flat [from, to) pairs below `end`. */
function clampRanges(ranges: number[], end: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    if (ranges[i]! >= end) break;
    out.push(ranges[i]!, Math.min(ranges[i + 1]!, end));
  }
  return out;
}

/**
 * Merges ranges a commit finished (flat [from, to) pairs) into a stored group state: the position
 * moves past every finished range it reaches, the rest are kept as finished out of order. A group
 * without a position (-1) starts at the first range (where the committing member began).
 * Idempotent: re-applying what is already there changes nothing.
 */
export function applyFinished(committed: number, done: number[], ranges: number[]): { committed: number; done: number[] } {
  const all: number[] = [];
  for (let i = 0; i + 1 < done.length; i += 2) all.push(done[i]!, done[i + 1]!);
  for (let i = 0; i + 1 < ranges.length; i += 2) all.push(ranges[i]!, ranges[i + 1]!);
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < all.length; i += 2) if (all[i + 1]! > all[i]!) pairs.push([all[i]!, all[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  let c = committed >= 0 ? committed : ranges.length > 0 ? ranges[0]! : 0;
  const out: number[] = [];
  for (const [from, to] of pairs) {
    if (to <= c) continue;
    if (from <= c && out.length === 0) { c = to; continue; }
    const last = out.length - 1;
    if (last > 0 && from <= out[last]!) out[last] = Math.max(out[last]!, to);
    else out.push(Math.max(from, c), to);
  }
  return { committed: c, done: out };
}
