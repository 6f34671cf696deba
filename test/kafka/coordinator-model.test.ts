// A model test of the membership protocol: random sequences of joins, syncs, heartbeats, leaves and
// time passing, from up to four simulated clients that behave like consumers (they take the member
// id they are given, rejoin on REBALANCE_IN_PROGRESS, start over on UNKNOWN_MEMBER_ID), checked
// after every step against the invariants: one generation at a time that only grows, the leader
// is a member, every member of a CompletingRebalance or Stable group joined its generation (and
// the clients agree), and at the end close() settles every request and leaves no timer.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/kafka/protocol/index.js';
import { type GroupCoordinator, type JoinGroupResponse, type SyncGroupResponse } from '../../src/kafka/coordinator/index.js';
import { FakeClock, drain, joinBody, makeCoordinator, track, type Tracked } from './coordinator-helpers.js';

interface Client {
  memberId: string;
  /** Has the assignment of its generation. */
  synced: boolean;
  generationId: number;
  leader: boolean;
  members: string[];
  join: Tracked<JoinGroupResponse> | undefined;
  sync: Tracked<SyncGroupResponse> | undefined;
}

type Op =
  | { kind: 'act' | 'join' | 'sync' | 'heartbeat' | 'leave'; client: number; v4: boolean }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('act' as const), client: fc.integer({ min: 0, max: 3 }), v4: fc.boolean() }), weight: 6 },
  fc.record({ kind: fc.constantFrom('join' as const, 'sync' as const, 'heartbeat' as const, 'leave' as const), client: fc.integer({ min: 0, max: 3 }), v4: fc.boolean() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(100, 300, 300, 1_000, 3_000, 3_000, 12_000, 31_000) }),
);

function checkInvariants(c: GroupCoordinator, clients: Client[], lastGeneration: { value: number }): void {
  const g = c.describeGroup('g');
  if (g === undefined) {
    lastGeneration.value = 0; // (forgotten when empty; a new group starts over)
    return;
  }
  expect(g.generationId).toBeGreaterThanOrEqual(lastGeneration.value);
  lastGeneration.value = g.generationId;
  const ids = g.members.map((m) => m.memberId);
  expect(new Set(ids).size).toBe(ids.length);
  if (g.leader !== null) expect(ids).toContain(g.leader);
  if (g.state === 'CompletingRebalance' || g.state === 'Stable') {
    expect(ids.length).toBeGreaterThan(0);
    expect(g.leader).not.toBeNull();
    for (const m of g.members) expect(m.joinedGeneration).toBe(g.generationId);
    for (const client of clients) {
      if (ids.includes(client.memberId) && client.join === undefined) expect(client.generationId).toBe(g.generationId);
    }
  }
  if (g.state === 'Empty') expect(ids).toEqual([]);
}

async function step(c: GroupCoordinator, clock: FakeClock, clients: Client[], o: Op, all: Array<Tracked<unknown>>): Promise<void> {
  if (o.kind === 'advance') {
    clock.advance(o.ms);
    return;
  }
  const me = clients[o.client]!;
  if (o.kind === 'act') {
    // what a consumer does next: join, sync once it has a generation, else heartbeat (rejoining when told)
    if (me.join !== undefined || me.sync !== undefined) return;
    if (me.memberId === '' || me.generationId === 0) return step(c, clock, clients, { ...o, kind: 'join' }, all);
    if (!me.synced) return step(c, clock, clients, { ...o, kind: 'sync' }, all);
    const r = await c.heartbeat({ groupId: 'g', generationId: me.generationId, memberId: me.memberId });
    if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) Object.assign(me, { memberId: '', generationId: 0, leader: false });
    if (r.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || r.errorCode === ErrorCode.ILLEGAL_GENERATION) {
      me.join = track(c.joinGroup(joinBody(me.memberId, timeouts(o.client)), o.v4 ? 5 : 3, `c${o.client}`));
      all.push(me.join);
    }
    return;
  }
  switch (o.kind) {
    case 'join': {
      if (me.join !== undefined) return;
      if (me.memberId === '' && o.v4) {
        const first = await c.joinGroup(joinBody('', timeouts(o.client)), 5, `c${o.client}`);
        if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) return;
        me.memberId = first.memberId;
      }
      me.join = track(c.joinGroup(joinBody(me.memberId, timeouts(o.client)), o.v4 ? 5 : 3, `c${o.client}`));
      all.push(me.join);
      return;
    }
    case 'sync': {
      if (me.memberId === '' || me.generationId === 0 || me.sync !== undefined) return;
      const assignments = me.leader ? me.members.map((memberId) => ({ memberId, assignment: Buffer.from(memberId) })) : [];
      me.sync = track(c.syncGroup({ groupId: 'g', generationId: me.generationId, memberId: me.memberId, assignments }));
      all.push(me.sync);
      return;
    }
    case 'heartbeat': {
      if (me.memberId === '') return;
      const r = await c.heartbeat({ groupId: 'g', generationId: me.generationId, memberId: me.memberId });
      if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) Object.assign(me, { memberId: '', generationId: 0, leader: false });
      return;
    }
    case 'leave': {
      if (me.memberId === '') return;
      await c.leaveGroup({ groupId: 'g', memberId: me.memberId }, 1);
      Object.assign(me, { memberId: '', generationId: 0, leader: false });
    }
  }
}

/** Clients 0 and 1 have a rebalance timeout longer than their session, 2 and 3 a shorter one (both kinds of expiry happen). */
function timeouts(client: number) {
  return { sessionTimeoutMs: 10_000, rebalanceTimeoutMs: client < 2 ? 30_000 : 4_000 };
}

/** Takes in the answers that arrived, as a consumer would. */
function collect(clients: Client[]): void {
  for (const me of clients) {
    if (me.join?.settled) {
      const r = me.join.value!;
      me.join = undefined;
      if (r.errorCode === ErrorCode.NONE) {
        Object.assign(me, { synced: false, memberId: r.memberId, generationId: r.generationId, leader: r.leader === r.memberId, members: r.members.map((m) => m.memberId) });
      } else if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        Object.assign(me, { memberId: '', generationId: 0, leader: false });
      }
    }
    if (me.sync?.settled) {
      const r = me.sync.value!;
      me.sync = undefined;
      if (r.errorCode === ErrorCode.NONE) {
        expect(r.assignment.toString()).toBe(me.memberId); // (the leader assigned each member its own id)
        me.synced = true;
      }
      if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) Object.assign(me, { memberId: '', generationId: 0, leader: false });
    }
  }
}

describe('group coordinator: model', () => {
  test('random joins, syncs, heartbeats, leaves and time keep one generation, a member as leader, and every member in it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 80 }), async (ops) => {
        const clock = new FakeClock();
        const c = makeCoordinator(clock);
        const clients: Client[] = Array.from({ length: 4 }, () => ({ memberId: '', synced: false, generationId: 0, leader: false, members: [], join: undefined, sync: undefined }));
        const all: Array<Tracked<unknown>> = [];
        const lastGeneration = { value: 0 };
        for (const o of ops) {
          await step(c, clock, clients, o, all);
          await drain();
          collect(clients);
          checkInvariants(c, clients, lastGeneration);
        }
        await c.close();
        await drain();
        for (const t of all) expect(t.settled).toBe(true);
        expect(clock.timers.size).toBe(0);
      }),
      { numRuns: 800 },
    );
  });
});
