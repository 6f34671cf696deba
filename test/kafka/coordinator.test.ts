// The group coordinator's membership protocol, driven directly with decoded request bodies on a
// fake clock: members that start together land in one generation and the leader gets them all;
// a new member makes the others' heartbeats answer REBALANCE_IN_PROGRESS until they rejoin; a
// silent member is evicted after its session timeout; LeaveGroup; SyncGroup waits for the
// leader; wrong generations and unknown members are refused; close() ends every wait.
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/kafka/protocol/index.js';
import type { GroupCoordinator } from '../../src/kafka/coordinator/index.js';
import { FakeClock, drain, joinBody, makeCoordinator, startJoin, track } from './coordinator-helpers.js';

/** Two members joined and synced: generation 1, `a` leads. */
async function stableTwo(c: GroupCoordinator, clock: FakeClock) {
  const a = await startJoin(c, 'client-a');
  const b = await startJoin(c, 'client-b');
  clock.advance(600); // (the initial delay, once more for the member that joined during it)
  await drain();
  const ja = a.join.value!;
  const jb = b.join.value!;
  const syncB = track(c.syncGroup({ groupId: 'g', generationId: 1, memberId: b.memberId, assignments: [] }));
  const syncA = await c.syncGroup({
    groupId: 'g', generationId: 1, memberId: a.memberId,
    assignments: [{ memberId: a.memberId, assignment: Buffer.from('A') }, { memberId: b.memberId, assignment: Buffer.from('B') }],
  });
  await drain();
  return { a: a.memberId, b: b.memberId, ja, jb, syncA, syncB: syncB.value! };
}

function hb(c: GroupCoordinator, memberId: string, generationId: number) {
  return c.heartbeat({ groupId: 'g', memberId, generationId }).then((r) => r.errorCode);
}

describe('group coordinator: membership', () => {
  test('FindCoordinator names this broker for groups and refuses transaction coordinators', async () => {
    const c = makeCoordinator(new FakeClock());
    expect(await c.findCoordinator({ key: 'g', keyType: 0 }, 1)).toMatchObject({ errorCode: 0, nodeId: 1, host: '127.0.0.1', port: 9092 });
    expect((await c.findCoordinator({ key: 'tx', keyType: 1 }, 1)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await c.findCoordinator({ coordinatorKeys: ['g1', 'g2'], keyType: 0 }, 4)).coordinators.map((x) => x.key)).toEqual(['g1', 'g2']);
  });

  test('two members joining together land in one generation; the leader gets both members, the follower none', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const a = await startJoin(c, 'client-a');
    expect(a.memberId).toMatch(/^client-a-[0-9a-f-]{36}$/);
    const b = await startJoin(c, 'client-b');
    clock.advance(300);
    await drain();
    expect(a.join.settled || b.join.settled).toBe(false); // (b joined during the initial delay: it runs once more)
    clock.advance(300);
    await drain();
    const ja = a.join.value!;
    const jb = b.join.value!;
    expect(ja).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range', leader: a.memberId, memberId: a.memberId });
    expect(ja.members.map((m) => [m.memberId, m.metadata.toString()])).toEqual([[a.memberId, 'range-meta'], [b.memberId, 'range-meta']]);
    expect(jb).toMatchObject({ errorCode: 0, generationId: 1, leader: a.memberId, memberId: b.memberId, members: [] });
    expect(c.describeGroup('g')!.state).toBe('CompletingRebalance');
  });

  test('JoinGroup below v4 assigns a member id at once; the protocol is the one most members list first', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const rr = [{ name: 'roundrobin', metadata: Buffer.from('x') }, { name: 'range', metadata: Buffer.from('y') }];
    const a = track(c.joinGroup(joinBody(''), 3, 'a'));
    const b = track(c.joinGroup(joinBody('', { protocols: rr }), 3, 'b'));
    const d = track(c.joinGroup(joinBody('', { protocols: rr }), 3, 'd'));
    clock.advance(600); // (the initial delay, once more for the member that joined during it)
    await drain();
    expect([a, b, d].map((j) => j.value!.generationId)).toEqual([1, 1, 1]);
    expect(a.value!.protocolName).toBe('roundrobin');
  });

  test('SyncGroup: followers wait for the leader, then each member gets its own assignment', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const s = await stableTwo(c, clock);
    expect(s.syncA).toMatchObject({ errorCode: 0, assignment: Buffer.from('A') });
    expect(s.syncB).toMatchObject({ errorCode: 0, assignment: Buffer.from('B') });
    expect(c.describeGroup('g')!.state).toBe('Stable');
    // a late SyncGroup in the stable group gets the same assignment again
    expect((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: s.b, assignments: [] })).assignment).toEqual(Buffer.from('B'));
  });

  test('a follower that syncs before the leader keeps waiting until the leader does', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const a = await startJoin(c, 'a');
    const b = await startJoin(c, 'b');
    clock.advance(600); // (the initial delay, once more for the member that joined during it)
    await drain();
    const syncB = track(c.syncGroup({ groupId: 'g', generationId: 1, memberId: b.memberId, assignments: [] }));
    clock.advance(5_000);
    await drain();
    expect(syncB.settled).toBe(false);
    await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, assignments: [{ memberId: b.memberId, assignment: Buffer.from('B') }] });
    await drain();
    expect(syncB.value).toMatchObject({ errorCode: 0, assignment: Buffer.from('B') });
  });

  test('wrong generation and unknown members are refused', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const s = await stableTwo(c, clock);
    expect(await hb(c, s.a, 7)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await hb(c, 'nobody', 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await c.syncGroup({ groupId: 'g', generationId: 0, memberId: s.a, assignments: [] })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: 'nobody', assignments: [] })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await c.heartbeat({ groupId: 'other', memberId: s.a, generationId: 1 })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await c.joinGroup(joinBody('nobody'), 5, 'x')).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await c.heartbeat({ groupId: '', memberId: s.a, generationId: 1 })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await c.joinGroup(joinBody('', { sessionTimeoutMs: 10 }), 5, 'x')).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
  });

  test('a member with no protocol in common, or another protocol type, gets INCONSISTENT_GROUP_PROTOCOL', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    await stableTwo(c, clock);
    expect((await c.joinGroup(joinBody('', { protocols: [{ name: 'sticky', metadata: Buffer.alloc(0) }] }), 5, 'x')).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.joinGroup(joinBody('', { protocolType: 'connect' }), 5, 'x')).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.joinGroup(joinBody('', { protocols: [] }), 5, 'x', )).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  test('a third member starts a rebalance: heartbeats answer REBALANCE_IN_PROGRESS until both rejoin, then generation 2 has three members', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const s = await stableTwo(c, clock);
    const third = await startJoin(c, 'client-c');
    expect(await hb(c, s.a, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(await hb(c, s.b, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    // commits of the old generation still land during the rebalance (Kafka allows them)
    const ra = track(c.joinGroup(joinBody(s.a), 5, 'client-a'));
    await drain();
    expect(ra.settled || third.join.settled).toBe(false); // (b has not rejoined yet)
    const rb = track(c.joinGroup(joinBody(s.b), 5, 'client-b'));
    await drain();
    for (const j of [ra, rb, third.join]) expect(j.value).toMatchObject({ errorCode: 0, generationId: 2, leader: s.a });
    expect(ra.value!.members.map((m) => m.memberId)).toEqual([s.a, s.b, third.memberId]);
    expect(await hb(c, s.b, 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await hb(c, s.b, 2)).toBe(ErrorCode.NONE);
  });

  test('a member that does not rejoin within the rebalance timeout is removed and the others go on without it', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const s = await stableTwo(c, clock);
    const ra = track(c.joinGroup(joinBody(s.a), 5, 'client-a')); // (the leader asks for a rebalance)
    // b keeps heartbeating but never rejoins
    for (let t = 0; t < 27_000; t += 3_000) {
      clock.advance(3_000);
      expect(await hb(c, s.b, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    expect(ra.settled).toBe(false);
    clock.advance(3_000);
    await drain();
    expect(ra.value).toMatchObject({ errorCode: 0, generationId: 2, leader: s.a });
    expect(ra.value!.members.map((m) => m.memberId)).toEqual([s.a]);
    expect(await hb(c, s.b, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a member that stops heartbeating is evicted after its session timeout, and the group rebalances without it', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const s = await stableTwo(c, clock);
    for (let t = 0; t < 9_000; t += 3_000) {
      clock.advance(3_000);
      expect(await hb(c, s.a, 1)).toBe(ErrorCode.NONE); // (b is silent)
    }
    expect(c.describeGroup('g')!.members.length).toBe(2);
    clock.advance(1_500); // b's session (10 s since its SyncGroup) is over
    expect(c.describeGroup('g')!.members.map((m) => m.memberId)).toEqual([s.a]);
    expect(await hb(c, s.a, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const ra = await c.joinGroup(joinBody(s.a), 5, 'client-a');
    expect(ra).toMatchObject({ errorCode: 0, generationId: 2, leader: s.a });
    expect(ra.members.length).toBe(1);
  });

  test('LeaveGroup removes a member (v0-2 one id, v3 a batch) and the others rebalance; the last one leaving empties the group', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const s = await stableTwo(c, clock);
    expect(await c.leaveGroup({ groupId: 'g', memberId: s.a }, 1)).toMatchObject({ errorCode: 0 });
    expect(await hb(c, s.a, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(c, s.b, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rb = await c.joinGroup(joinBody(s.b), 5, 'client-b');
    expect(rb).toMatchObject({ generationId: 2, leader: s.b });
    expect((await c.leaveGroup({ groupId: 'g', memberId: 'nobody' }, 0)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const batch = await c.leaveGroup({ groupId: 'g', members: [{ memberId: s.b }, { memberId: 'nobody' }] }, 3);
    expect(batch.errorCode).toBe(0);
    expect(batch.members.map((m) => m.errorCode)).toEqual([0, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(c.describeGroup('g')).toBeUndefined(); // (an empty group is forgotten; its offsets live in the log)
    expect(clock.timers.size).toBe(0);
  });

  test('a rebalance that starts while members wait in SyncGroup answers them REBALANCE_IN_PROGRESS', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const a = await startJoin(c, 'a');
    const b = await startJoin(c, 'b');
    clock.advance(600); // (the initial delay, once more for the member that joined during it)
    await drain();
    const syncB = track(c.syncGroup({ groupId: 'g', generationId: 1, memberId: b.memberId, assignments: [] }));
    await c.leaveGroup({ groupId: 'g', memberId: a.memberId }, 1);
    await drain();
    expect(syncB.value!.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  test('members that never send SyncGroup are removed after the rebalance timeout', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const a = await startJoin(c, 'a');
    const b = await startJoin(c, 'b');
    clock.advance(600); // (the initial delay, once more for the member that joined during it)
    await drain();
    for (let t = 0; t < 30_000; t += 3_000) {
      clock.advance(3_000);
      await hb(c, a.memberId, 1);
      await hb(c, b.memberId, 1); // (heartbeats, but no SyncGroup from anyone)
    }
    expect(c.describeGroup('g')).toBeUndefined();
  });

  test('a static member that restarts fences its old member id', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const first = track(c.joinGroup(joinBody('', { groupInstanceId: 'i-1' }), 5, 'x'));
    clock.advance(600); // (the initial delay, once more for the member that joined during it)
    await drain();
    const old = first.value!;
    expect(old).toMatchObject({ errorCode: 0, generationId: 1, memberId: expect.stringMatching(/^i-1-/) });
    await c.syncGroup({ groupId: 'g', generationId: 1, memberId: old.memberId, groupInstanceId: 'i-1', assignments: [] });
    const again = await c.joinGroup(joinBody('', { groupInstanceId: 'i-1' }), 5, 'x');
    expect(again).toMatchObject({ errorCode: 0, generationId: 2 });
    expect((await c.heartbeat({ groupId: 'g', memberId: old.memberId, generationId: 2, groupInstanceId: 'i-1' })).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  test('limits: members per group and groups are capped with clear errors', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock, undefined, { membersPerGroupMax: 2, groupsMax: 1 });
    await startJoin(c, 'a');
    await startJoin(c, 'b');
    expect((await c.joinGroup(joinBody(''), 5, 'c')).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    expect((await c.joinGroup(joinBody('', { groupId: 'other' }), 5, 'c')).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(c.groups()).toEqual(['g']);
  });

  test('a JoinGroup repeated with the same metadata during CompletingRebalance gets the same answer; the leader rejoining a stable group rebalances it', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const a = await startJoin(c, 'a');
    const b = await startJoin(c, 'b');
    clock.advance(600);
    await drain();
    const again = await c.joinGroup(joinBody(a.memberId), 5, 'a');
    expect(again).toEqual(a.join.value);
    await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, assignments: [] });
    await c.syncGroup({ groupId: 'g', generationId: 1, memberId: b.memberId, assignments: [] });
    const follower = await c.joinGroup(joinBody(b.memberId), 5, 'b'); // (a follower with nothing new: no rebalance)
    expect(follower).toMatchObject({ errorCode: 0, generationId: 1, members: [] });
    expect(c.describeGroup('g')!.state).toBe('Stable');
    const leader = track(c.joinGroup(joinBody(a.memberId), 5, 'a'));
    expect(await hb(c, b.memberId, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rb = await c.joinGroup(joinBody(b.memberId), 5, 'b');
    await drain();
    expect([leader.value!.generationId, rb.generationId]).toEqual([2, 2]);
  });

  test('oversized protocol lists are refused with INVALID_REQUEST; v7+ answers carry null protocol names on errors', async () => {
    const c = makeCoordinator(new FakeClock(), undefined, { protocolsMax: 2, protocolBytesMax: 100 });
    const three = [1, 2, 3].map((i) => ({ name: `p${i}`, metadata: Buffer.alloc(1) }));
    expect((await c.joinGroup(joinBody('', { protocols: three }), 5, 'x')).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await c.joinGroup(joinBody('', { protocols: [{ name: 'p', metadata: Buffer.alloc(100) }] }), 5, 'x')).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(await c.joinGroup(joinBody('', { groupId: '' }), 7, 'x')).toMatchObject({ errorCode: ErrorCode.INVALID_GROUP_ID, protocolName: null });
    expect(await c.joinGroup(joinBody('', { groupId: '' }), 5, 'x')).toMatchObject({ errorCode: ErrorCode.INVALID_GROUP_ID, protocolName: '' });
  });

  test('close() answers every waiting JoinGroup and SyncGroup with COORDINATOR_NOT_AVAILABLE and clears every timer', async () => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const s = await stableTwo(c, clock);
    const pendingJoin = await startJoin(c, 'late');
    const rejoin = track(c.joinGroup(joinBody(s.a), 5, 'client-a'));
    const other = await startJoin(c, 'x', { groupId: 'h' });
    await drain();
    expect(clock.timers.size).toBeGreaterThan(0);
    await c.close();
    await drain();
    for (const j of [pendingJoin.join, rejoin, other.join]) expect(j.value!.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(clock.timers.size).toBe(0);
    expect((await c.joinGroup(joinBody(''), 5, 'y')).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await hb(c, s.b, 1)).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});
