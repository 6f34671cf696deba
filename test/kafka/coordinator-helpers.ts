// Test plumbing for the group coordinator: a fake clock whose timers fire only when a test
// advances it (in deadline order, ties in the order they were set), decoded request bodies, and a
// tracker that tells whether a promise has settled yet. No coordinator logic lives here.
import { GroupCoordinator, type GroupCoordinatorOptions, type JoinGroupRequest, type JoinGroupResponse } from '../../src/kafka/coordinator/index.js';
import { ErrorCode } from '../../src/kafka/protocol/index.js';
import type { Log } from '../../src/index.js';

export class FakeClock {
  nowMs = 0;
  private seq = 0;
  readonly timers = new Map<number, { atMs: number; fn: () => void }>();

  readonly setTimer = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { atMs: this.nowMs + ms, fn });
    return id;
  };

  readonly clearTimer = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const targetMs = this.nowMs + ms;
    for (;;) {
      let next: [number, { atMs: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].atMs <= targetMs && (next === undefined || entry[1].atMs < next[1].atMs)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.nowMs = next[1].atMs;
      next[1].fn();
    }
    this.nowMs = targetMs;
  }
}

/** Lets every queued promise callback run (coordinator answers settle through microtasks). */
export function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface Tracked<T> {
  readonly promise: Promise<T>;
  settled: boolean;
  value: T | undefined;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { promise, settled: false, value: undefined };
  void promise.then((v) => {
    t.settled = true;
    t.value = v;
  });
  return t;
}

export const PROTOCOLS = [{ name: 'range', metadata: Buffer.from('range-meta') }, { name: 'roundrobin', metadata: Buffer.from('rr-meta') }];

export function joinBody(memberId: string, over: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: PROTOCOLS,
    ...over,
  };
}

/** A coordinator on a fake clock (the log is only needed by offset tests). */
export function makeCoordinator(clock: FakeClock, log?: Log, options: Partial<GroupCoordinatorOptions> = {}): GroupCoordinator {
  return new GroupCoordinator({
    log: log ?? ({} as Log),
    nodeId: 1,
    host: '127.0.0.1',
    port: 9092,
    now: () => clock.nowMs,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    initialRebalanceDelayMs: 300,
    ...options,
  });
}

/** JoinGroup v5 with no member id (MEMBER_ID_REQUIRED), then the join with the id handed out: still waiting. */
export async function startJoin(c: GroupCoordinator, clientId: string, over: Partial<JoinGroupRequest> = {}): Promise<{ memberId: string; join: Tracked<JoinGroupResponse> }> {
  const first = await c.joinGroup(joinBody('', over), 5, clientId);
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`);
  return { memberId: first.memberId, join: track(c.joinGroup(joinBody(first.memberId, over), 5, clientId)) };
}
