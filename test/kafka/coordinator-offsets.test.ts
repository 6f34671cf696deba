// OffsetCommit and OffsetFetch through a real seglog log: a committed offset is the position of the
// seglog group of the same name on the seglog topic of the partition, listed by topic.groups(),
// durable across a reopen and resumed by subscribe({ group }); commits are refused while
// in-process members of the group are open, never create topics, are clamped to endOffset, and
// follow Kafka's generation rules.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { openLog, type Log } from '../../src/index.js';
import { ErrorCode } from '../../src/kafka/protocol/index.js';
import { type GroupCoordinator, type OffsetCommitRequest } from '../../src/kafka/coordinator/index.js';
import { FakeClock, drain, makeCoordinator, startJoin } from './coordinator-helpers.js';

const dirs: string[] = [];
const logs: Log[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A log with Kafka topic `orders` of two partitions (seglog topics `orders`, `orders.partition-1`), 10 records each. */
async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-coordinator-'));
  dirs.push(dir);
  const log = await openLog(dir);
  logs.push(log);
  for (const name of ['orders', 'orders.partition-1']) {
    const t = log.topic(name);
    for (let i = 0; i < 10; i++) t.appendSync(Buffer.from(`${name} ${i}`));
  }
  await log.flush();
  return { dir, log };
}

function commitBody(partitions: Array<[string, number, bigint]>, over: Partial<OffsetCommitRequest> = {}): OffsetCommitRequest {
  const byTopic = new Map<string, OffsetCommitRequest['topics'][number]['partitions']>();
  for (const [name, partitionIndex, committedOffset] of partitions) {
    if (!byTopic.has(name)) byTopic.set(name, []);
    byTopic.get(name)!.push({ partitionIndex, committedOffset, committedMetadata: '' });
  }
  return { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })), ...over };
}

async function commit(c: GroupCoordinator, partitions: Array<[string, number, bigint]>, over: Partial<OffsetCommitRequest> = {}) {
  const r = await c.offsetCommit(commitBody(partitions, over), 7);
  return r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

async function fetched(c: GroupCoordinator, topics: Array<{ name: string; partitionIndexes: number[] }> | null, groupId = 'g') {
  const r = await c.offsetFetch({ groupId, topics }, 5);
  return r.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset), p.metadata, p.errorCode])]);
}

describe('group coordinator: offsets are seglog group positions', () => {
  test('committed offsets round-trip, topic.groups() lists them, and they survive a reopen and resume subscribe({ group })', async () => {
    const { dir, log } = await setup();
    const clock = new FakeClock();
    const c = makeCoordinator(clock, log);
    const m = await startJoin(c, 'client');
    clock.advance(300);
    await drain();
    const gen = m.join.value!.generationId;
    await c.syncGroup({ groupId: 'g', generationId: gen, memberId: m.memberId, assignments: [] });
    const over = { generationIdOrMemberEpoch: gen, memberId: m.memberId };
    expect(await commit(c, [['orders', 0, 4n], ['orders', 1, 7n]], over)).toEqual([0, 0]);
    expect(await fetched(c, [{ name: 'orders', partitionIndexes: [0, 1] }])).toEqual([['orders', [[0, 4, '', 0], [1, 7, '', 0]]]]);
    expect(log.topic('orders').groups()).toEqual([{ group: 'g', position: 4, lag: 6, members: 0 }]);
    expect(log.topic('orders.partition-1').groups()).toEqual([{ group: 'g', position: 7, lag: 3, members: 0 }]);
    await c.close();
    await log.close();

    const reopened = await openLog(dir);
    logs.push(reopened);
    expect(reopened.topic('orders').groups()[0]!.position).toBe(4);
    const sub = reopened.topic('orders').subscribe({ group: 'g' });
    const first = await sub.next();
    expect(first.done ? undefined : first.value.offset).toBe(4);
    await sub.close();
    const c2 = makeCoordinator(new FakeClock(), reopened);
    expect(await fetched(c2, [{ name: 'orders', partitionIndexes: [1] }])).toEqual([['orders', [[1, 7, '', 0]]]]);
  });

  test('a group with no position answers -1; topics null (v2+) lists every partition the group has a position on', async () => {
    const { log } = await setup();
    const c = makeCoordinator(new FakeClock(), log);
    expect(await fetched(c, [{ name: 'orders', partitionIndexes: [0] }, { name: 'missing', partitionIndexes: [0] }])).toEqual([
      ['orders', [[0, -1, '', 0]]],
      ['missing', [[0, -1, '', 0]]],
    ]);
    await commit(c, [['orders', 1, 2n]]);
    expect(await fetched(c, null)).toEqual([['orders', [[1, 2, '', 0]]]]);
    expect(await fetched(c, null, 'other')).toEqual([]);
  });

  test('an offset past the end is stored as endOffset; a negative one is refused', async () => {
    const { log } = await setup();
    const c = makeCoordinator(new FakeClock(), log);
    expect(await commit(c, [['orders', 0, 1000n]])).toEqual([0]);
    expect(log.topic('orders').groups()[0]!.position).toBe(10);
    expect(await commit(c, [['orders', 0, -1n]])).toEqual([ErrorCode.OFFSET_OUT_OF_RANGE]);
    expect(await commit(c, [['orders', 0, 3n]])).toEqual([0]); // (backwards too: Kafka consumers seek)
    expect(log.topic('orders').groups()[0]!.position).toBe(3);
  });

  test('unknown topics and partitions are refused per partition and never created', async () => {
    const { log } = await setup();
    const c = makeCoordinator(new FakeClock(), log);
    expect(await commit(c, [['orders', 2, 1n], ['orders', 0, 1n], ['nothing', 0, 1n], ['orders.partition-1', 0, 1n]])).toEqual([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    expect(log.topics()).toEqual(['orders', 'orders.partition-1']);
  });

  test('a commit is refused with REBALANCE_IN_PROGRESS while an in-process subscription of the group is open', async () => {
    const { log } = await setup();
    const c = makeCoordinator(new FakeClock(), log);
    const sub = log.topic('orders').subscribe({ group: 'g', autoCommit: false });
    expect(await commit(c, [['orders', 0, 5n], ['orders', 1, 5n]])).toEqual([ErrorCode.REBALANCE_IN_PROGRESS, 0]);
    await sub.close();
    expect(await commit(c, [['orders', 0, 5n]])).toEqual([0]);
    expect(log.topic('orders').groups()[0]!.position).toBe(5);
  });

  test('generation rules: standalone commits only while the group has no members, a stale generation is ILLEGAL_GENERATION', async () => {
    const { log } = await setup();
    const clock = new FakeClock();
    const c = makeCoordinator(clock, log);
    expect(await commit(c, [['orders', 0, 1n]], { generationIdOrMemberEpoch: 3, memberId: 'x' })).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    const m = await startJoin(c, 'client');
    clock.advance(300);
    await drain();
    const gen = m.join.value!.generationId;
    // still CompletingRebalance: the member must sync first
    expect(await commit(c, [['orders', 0, 1n]], { generationIdOrMemberEpoch: gen, memberId: m.memberId })).toEqual([ErrorCode.REBALANCE_IN_PROGRESS]);
    await c.syncGroup({ groupId: 'g', generationId: gen, memberId: m.memberId, assignments: [] });
    expect(await commit(c, [['orders', 0, 1n]])).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await commit(c, [['orders', 0, 1n]], { generationIdOrMemberEpoch: gen + 1, memberId: m.memberId })).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(await commit(c, [['orders', 0, 1n]], { generationIdOrMemberEpoch: gen, memberId: 'stranger' })).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await commit(c, [['orders', 0, 2n]], { generationIdOrMemberEpoch: gen, memberId: m.memberId })).toEqual([0]);
    await c.leaveGroup({ groupId: 'g', memberId: m.memberId }, 1);
    expect(await commit(c, [['orders', 0, 3n]])).toEqual([0]);
    expect(await commit(c, [['orders', 0, 3n]], { groupId: '' })).toEqual([ErrorCode.INVALID_GROUP_ID]);
  });

  test('metadata is kept (in memory) and bounded; commits of one partition land in the order they were sent', async () => {
    const { log } = await setup();
    const c = makeCoordinator(new FakeClock(), log, { offsetMetadataLengthMax: 10 });
    const body = commitBody([['orders', 0, 6n]]);
    body.topics[0]!.partitions[0]!.committedMetadata = 'hello';
    expect((await c.offsetCommit(body, 7)).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(await fetched(c, [{ name: 'orders', partitionIndexes: [0] }])).toEqual([['orders', [[0, 6, 'hello', 0]]]]);
    body.topics[0]!.partitions[0]!.committedMetadata = 'x'.repeat(11);
    expect((await c.offsetCommit(body, 7)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);
    const inFlight = [1n, 9n, 2n, 8n, 3n].map((o) => c.offsetCommit(commitBody([['orders', 0, o]]), 7));
    await Promise.all(inFlight);
    expect(log.topic('orders').groups()[0]!.position).toBe(3);
  });

  test('a read-only log refuses commits with GROUP_AUTHORIZATION_FAILED and still answers fetches', async () => {
    const { dir, log } = await setup();
    await makeCoordinator(new FakeClock(), log).offsetCommit(commitBody([['orders', 0, 2n]]), 7);
    const reader = await openLog(dir, { readOnly: true });
    logs.push(reader);
    const c = makeCoordinator(new FakeClock(), reader);
    expect(await commit(c, [['orders', 0, 5n]])).toEqual([ErrorCode.GROUP_AUTHORIZATION_FAILED]);
    expect(await fetched(c, [{ name: 'orders', partitionIndexes: [0] }])).toEqual([['orders', [[0, 2, '', 0]]]]);
  });

  test('close() waits for commits in flight; later requests get COORDINATOR_NOT_AVAILABLE', async () => {
    const { log } = await setup();
    const c = makeCoordinator(new FakeClock(), log);
    const inFlight = c.offsetCommit(commitBody([['orders', 0, 4n]]), 7);
    await c.close();
    expect((await inFlight).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(await commit(c, [['orders', 0, 5n]])).toEqual([ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    expect((await c.offsetFetch({ groupId: 'g', topics: null }, 5)).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(log.topic('orders').groups()[0]!.position).toBe(4);
  });
});
