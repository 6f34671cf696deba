// The scenario every real client runs against `seglog serve` (test/kafka/<client>.test.ts): create a
// topic, produce keyed records with headers in every codec the client has, a group of two members
// that rebalances while consuming (the second joins once the first has consumed part of the topic,
// while more records are produced), a restarted member that resumes from the committed offsets, the
// (client, API, version) log of every request, and the directory reopened in-process afterwards
// holding the same records (key, value bytes, headers, timestamp) and group positions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLog, type Log } from '../../../src/index.js';
import { MOCK, idOf, makeRecords, runClient, startTarget, type Client, type ConsumedRecord, type Target, type WireRecord } from './harness.js';

export interface ClientSpec {
  client: Client;
  /** Compression codecs the client can produce with. */
  codecs: string[];
  /** Whether the client creates topics (kcat relies on auto-creation through Metadata). */
  creates: boolean;
  /** Whether the client sets record timestamps (kcat cannot: librdkafka stamps them). */
  stamps: boolean;
  /** APIs the client must have used over the whole scenario. */
  expectedApis: string[];
  /** Extra client-specific tests, run after the common ones and before the reopen check. */
  extra?: (ctx: SuiteContext) => void;
}

export interface SuiteContext {
  target: () => Target;
  /** Produced records by topic, with where they landed (offsets per partition). */
  produced: Map<string, Array<WireRecord & { offset: number; sentFromMs?: number; sentToMs?: number }>>;
}

/** The seglog topic that holds partition `p` of Kafka topic `topic` (docs/kafka.md). */
export const partitionTopic = (topic: string, p: number): string => (p === 0 ? topic : `${topic}.partition-${p}`);

const JOIN_AFTER = 100;
const BEFORE = 400;
const DURING = 200;
const AFTER = 40;

export function clientSuite(spec: ClientSpec): void {
  const { client } = spec;
  describe.sequential(`${client} against ${MOCK ? "librdkafka's mock cluster" : 'serveKafka'}`, () => {
    let target: Target;
    const ctx: SuiteContext = { target: () => target, produced: new Map() };
    const codecTopic = `${client}-codecs`;
    const groupTopic = `${client}-group`;
    const group = `${client}-consumers`;
    // Against seglog serve: 2 partitions (created by the client, or in-process for kcat); kcat's
    // codec topic is auto-created (1 partition). The mock auto-creates 4.
    const codecPartitions = MOCK ? 4 : spec.creates ? 2 : 1;
    const groupPartitions = MOCK ? 4 : 2;
    let committed: Record<string, number> = {};

    beforeAll(async () => {
      target = await startTarget();
    });
    afterAll(async () => {
      await target?.dispose();
    });

    async function produce(topic: string, codec: string, records: WireRecord[]): Promise<void> {
      const t0 = Date.now();
      const res = await runClient<{ offsets?: number[]; sentFromMs?: number; sentToMs?: number }>(client, { op: 'produce', brokers: target.brokers, clientId: client, topic, codec, records });
      const t1 = Date.now();
      const list = ctx.produced.get(topic) ?? [];
      // kcat does not report offsets: records land in order per partition, after what was there.
      const next = new Map<number, number>();
      for (const r of list) next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1));
      records.forEach((r, i) => {
        const offset = res.offsets?.[i] ?? next.get(r.partition) ?? 0;
        next.set(r.partition, offset + 1);
        list.push({ ...r, offset, sentFromMs: res.sentFromMs ?? t0, sentToMs: res.sentToMs ?? t1 });
      });
      ctx.produced.set(topic, list);
    }

    async function create(topic: string, partitions: number): Promise<void> {
      if (MOCK) return;
      if (spec.creates) {
        await runClient(client, { op: 'create', brokers: target.brokers, clientId: client, topic, partitions });
      } else {
        for (let p = 0; p < partitions; p++) target.log!.topic(partitionTopic(topic, p));
      }
    }

    it(`produces keyed records with headers in every codec it has (${spec.codecs.join(', ')})`, async () => {
      if (spec.creates) await create(codecTopic, codecPartitions);
      const base = Date.now() - 3_600_000;
      for (const [n, codec] of spec.codecs.entries()) {
        const records = makeRecords(`${client}-${codec}`, 60, codecPartitions, { timestampBaseMs: spec.stamps ? base + n * 1000 : undefined, constantHeaders: !spec.stamps });
        await produce(codecTopic, codec, records);
      }
      const produced = ctx.produced.get(codecTopic)!;
      expect(produced).toHaveLength(60 * spec.codecs.length);
      if (target.log) checkLog(target.log, codecTopic, produced);
    });

    it('a group of two members rebalancing mid-way consumes every record at least once and commits the end offsets', async () => {
      await create(groupTopic, groupPartitions);
      await produce(groupTopic, 'none', makeRecords(`${client}-g`, BEFORE, groupPartitions, { constantHeaders: !spec.stamps }));
      const during = makeRecords(`${client}-g`, DURING, groupPartitions, { from: BEFORE, constantHeaders: !spec.stamps });
      const t0 = Date.now();
      const res = await runClient<{ members: { a: ConsumedRecord[]; b: ConsumedRecord[] }; committed?: Record<string, number>; end?: Record<string, number> }>(client, {
        op: 'group', brokers: target.brokers, clientId: client, topic: groupTopic, group, partitions: groupPartitions,
        joinAfter: JOIN_AFTER, expected: BEFORE + DURING, timeoutMs: 90_000, produceDuring: during,
      });
      const t1 = Date.now();
      // The topic was empty: records are at 0, 1, ... per partition in the order produced.
      const list = ctx.produced.get(groupTopic)!;
      const counts = new Map<number, number>();
      for (const r of list) counts.set(r.partition, r.offset + 1);
      for (const r of during) {
        const offset = counts.get(r.partition) ?? 0;
        counts.set(r.partition, offset + 1);
        list.push({ ...r, offset, sentFromMs: t0, sentToMs: t1 });
      }
      const expected = new Map(list.map((r) => [idOf(r), r]));
      const seen = new Map<string, number>();
      for (const r of [...res.members.a, ...res.members.b]) {
        seen.set(idOf(r), (seen.get(idOf(r)) ?? 0) + 1);
        const want = expected.get(idOf(r));
        expect(want, `record ${idOf(r)} was never produced`).toBeDefined();
        expect({ key: r.key, value: r.value }).toEqual({ key: want!.key, value: want!.value });
      }
      // At least once: every record; a rebalance may hand a member records another one consumed
      // but had not committed yet (once more each, at most).
      expect([...expected.keys()].filter((id) => !seen.has(id))).toEqual([]);
      expect([...seen].filter(([, n]) => n > 2)).toEqual([]);
      expect(res.members.a.length).toBeGreaterThan(0);
      expect(res.members.b.length, 'the member that joined mid-way consumed records').toBeGreaterThan(0);
      const end = Object.fromEntries([...counts].map(([p, n]) => [String(p), n]));
      if (res.end) expect(res.end).toMatchObject(end);
      if (res.committed) expect(res.committed).toMatchObject(end);
      committed = end;
      if (target.log) {
        for (const [p, n] of counts) {
          const g = target.log.topic(partitionTopic(groupTopic, p)).groups().find((x) => x.group === group);
          expect(g?.position, `seglog group ${group} on partition ${p}`).toBe(n);
        }
      }
    });

    it('a restarted member resumes from the committed offsets, not from the beginning', async () => {
      const more = makeRecords(`${client}-g`, AFTER, groupPartitions, { from: BEFORE + DURING, constantHeaders: !spec.stamps });
      await produce(groupTopic, 'none', more);
      const res = await runClient<{ records: ConsumedRecord[] }>(client, { op: 'resume', brokers: target.brokers, clientId: client, topic: groupTopic, group, partitions: groupPartitions, expected: AFTER });
      const byPartition = new Map<number, number[]>();
      for (const r of res.records) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
      for (const [p, offsets] of byPartition) expect(Math.min(...offsets), `partition ${p} resumed at the committed offset`).toBe(committed[p]);
      expect(res.records.map((r) => r.value).sort()).toEqual(more.map((r) => r.value).sort());
      // The resumed member committed what it consumed: the group is at the end again.
      for (const [p, offsets] of byPartition) committed[p] = Math.max(...offsets) + 1;
    });

    spec.extra?.(ctx);

    it.skipIf(MOCK)('used only served API versions, and the APIs its scenario needs', async () => {
      const { isServed } = (await import(protocolModule)) as { isServed: (apiKey: number, version: number) => boolean };
      const mine = target.requests.filter((r) => (r.clientId ?? '').startsWith(client));
      expect(mine.length).toBeGreaterThan(0);
      const unserved = mine.filter((r) => !isServed(r.apiKey, r.apiVersion) && r.apiName !== 'ApiVersions');
      expect(unserved, 'requests in versions the server does not serve').toEqual([]);
      const used = [...new Set(mine.map((r) => `${r.apiName} v${r.apiVersion}`))].sort();
      const apis = new Set(mine.map((r) => r.apiName));
      for (const api of spec.expectedApis) expect(apis.has(api), `${client} used ${api} (it used ${used.join(', ')})`).toBe(true);
    });

    it.skipIf(MOCK)('the directory reopened in-process holds the records, headers, timestamps and group positions', async () => {
      await target.stop();
      const log = await openLog(target.dir);
      try {
        for (const [topic, records] of ctx.produced) checkLog(log, topic, records);
        for (const [p, n] of Object.entries(committed)) {
          const g = log.topic(partitionTopic(groupTopic, Number(p))).groups().find((x) => x.group === group);
          expect(g?.position, `group ${group} on partition ${p}`).toBe(n);
        }
      } finally {
        await log.close();
      }
    });
  });
}

const protocolModule = '../../../src/kafka/protocol/index.js';

/** Every produced record is in the log at its offset with its key, value bytes, headers and timestamp. */
export function checkLog(log: Log, topic: string, records: Array<WireRecord & { offset: number; sentFromMs?: number; sentToMs?: number }>): void {
  for (const r of records) {
    const rec = log.topic(partitionTopic(topic, r.partition)).get(r.offset);
    const where = `${topic} partition ${r.partition} offset ${r.offset}`;
    expect(rec, where).toBeDefined();
    expect(rec!.key?.toString('utf8') ?? null, where).toBe(r.key);
    expect(rec!.valueBytes?.toString('utf8'), where).toBe(r.value);
    expect(Object.fromEntries(Object.entries(rec!.headers).map(([k, v]) => [k, v.toString('utf8')])), where).toEqual(r.headers);
    if (r.timestamp !== undefined) expect(rec!.timestamp, where).toBe(r.timestamp);
    else {
      expect(rec!.timestamp, where).toBeGreaterThanOrEqual(r.sentFromMs!);
      expect(rec!.timestamp, where).toBeLessThanOrEqual(r.sentToMs!);
    }
  }
}
