// The coordinator behind the real protocol layer: requests encoded and decoded by protocol/'s
// tables, the coordinator's answers encoded and decoded back, in every version the tables define
// (served ones and later ones alike): a group forms, syncs, heartbeats, commits and fetches
// offsets through a real log, and leaves, and no answer fails to encode (a field with the wrong
// name or a null where a version has no nullable field would).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { openLog, type Log } from '../../src/index.js';
import { ApiKey, ErrorCode, apiSchema, decodeRequest, decodeResponse, encodeRequest, encodeResponse, readRequestHeader } from '../../src/kafka/protocol/index.js';
import type { GroupCoordinator } from '../../src/kafka/coordinator/index.js';
import { FakeClock, drain, makeCoordinator } from './coordinator-helpers.js';
import { frameOf, versionsOf } from './protocol-values.js';

const logs: Log[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Sends `body` as a request of (apiKey, version) through the codec; the decoded answer, once it came. */
function wire(c: GroupCoordinator, apiKey: number, version: number, body: object, clientId = 'wire-client') {
  const frame = frameOf(encodeRequest({ apiKey, apiVersion: version, correlationId: 7, clientId }, body));
  const header = readRequestHeader(frame);
  const decoded = decodeRequest(header, frame) as never;
  const answer: Promise<object> = (() => {
    switch (apiKey) {
      case ApiKey.FindCoordinator: return c.findCoordinator(decoded, version);
      case ApiKey.JoinGroup: return c.joinGroup(decoded, version, header.clientId);
      case ApiKey.SyncGroup: return c.syncGroup(decoded, version);
      case ApiKey.Heartbeat: return c.heartbeat(decoded, version);
      case ApiKey.LeaveGroup: return c.leaveGroup(decoded, version);
      case ApiKey.OffsetCommit: return c.offsetCommit(decoded, version);
      case ApiKey.OffsetFetch: return c.offsetFetch(decoded, version);
      default: throw new Error(`api ${apiKey}`);
    }
  })();
  return answer.then((response) => decodeResponse(apiKey, version, frameOf(encodeResponse(header, response))) as Record<string, any>);
}

function versions(apiKey: number): number[] {
  return versionsOf(apiSchema(apiKey)!.request);
}

const PROTOCOLS = [{ name: 'range', metadata: Buffer.from('meta') }];

describe('group coordinator through the protocol layer', () => {
  test.each(versions(ApiKey.JoinGroup))('JoinGroup v%i with SyncGroup, Heartbeat and LeaveGroup of matching versions', async (v) => {
    const clock = new FakeClock();
    const c = makeCoordinator(clock);
    const join = (memberId: string) => wire(c, ApiKey.JoinGroup, v, { groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, memberId, groupInstanceId: null, protocolType: 'consumer', protocols: PROTOCOLS, reason: null });
    let pending = join('');
    if (v >= 4) {
      const required = await pending;
      expect(required.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
      expect(required.memberId).toMatch(/^wire-client-/);
      pending = join(required.memberId);
    }
    await drain();
    clock.advance(300); // (the initial delay)
    const first = await pending;
    expect(first).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range', leader: first.memberId });
    expect(first.members.map((m: { metadata: Buffer }) => m.metadata)).toEqual([Buffer.from('meta')]);
    const syncV = Math.min(v, Math.max(...versions(ApiKey.SyncGroup)));
    const sync = await wire(c, ApiKey.SyncGroup, syncV, {
      groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range',
      assignments: [{ memberId: first.memberId, assignment: Buffer.from('mine') }],
    });
    expect(sync).toMatchObject({ errorCode: 0, assignment: Buffer.from('mine') });
    for (const hv of versions(ApiKey.Heartbeat)) {
      expect((await wire(c, ApiKey.Heartbeat, hv, { groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: null })).errorCode).toBe(0);
    }
    const lv = Math.min(v, Math.max(...versions(ApiKey.LeaveGroup)));
    const leave = await wire(c, ApiKey.LeaveGroup, lv, { groupId: 'g', memberId: first.memberId, members: [{ memberId: first.memberId, groupInstanceId: null, reason: null }] });
    expect(leave.errorCode).toBe(0);
    if (lv >= 3) expect(leave.members).toEqual([{ memberId: first.memberId, groupInstanceId: null, errorCode: 0 }]);
    expect(c.groups()).toEqual([]);
  });

  test.each(versions(ApiKey.FindCoordinator))('FindCoordinator v%i', async (v) => {
    const c = makeCoordinator(new FakeClock());
    const r = await wire(c, ApiKey.FindCoordinator, v, { key: 'g', keyType: 0, coordinatorKeys: ['g'] });
    if (v >= 4) expect(r.coordinators).toEqual([{ key: 'g', nodeId: 1, host: '127.0.0.1', port: 9092, errorCode: 0, errorMessage: null }]);
    else expect(r).toMatchObject({ errorCode: 0, nodeId: 1, host: '127.0.0.1', port: 9092 });
  });

  test('OffsetCommit and OffsetFetch in every version, through a real log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-coordinator-wire-'));
    dirs.push(dir);
    const log = await openLog(dir);
    logs.push(log);
    const t = log.topic('t');
    for (let i = 0; i < 100; i++) t.appendSync(Buffer.from('x'));
    await log.flush();
    const c = makeCoordinator(new FakeClock(), log);
    for (const v of versions(ApiKey.OffsetCommit)) {
      const r = await wire(c, ApiKey.OffsetCommit, v, {
        groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: BigInt(v + 1), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: `v${v}` }] }],
      });
      expect(r.topics).toEqual([{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }] }]);
      expect(t.groups()[0]!.position).toBe(v + 1);
    }
    const last = Math.max(...versions(ApiKey.OffsetCommit)) + 1;
    for (const v of versions(ApiKey.OffsetFetch)) {
      const topics = [{ name: 't', partitionIndexes: [0] }];
      const r = await wire(c, ApiKey.OffsetFetch, v, { groupId: 'g', topics, groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics }], requireStable: false });
      const partitions = v >= 8 ? r.groups[0].topics[0].partitions : r.topics[0].partitions;
      expect(partitions[0]).toMatchObject({ partitionIndex: 0, committedOffset: BigInt(last), metadata: `v${last - 1}`, errorCode: 0 });
    }
  });
});
