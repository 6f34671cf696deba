// kcat 1.7.1 (librdkafka 2.0.2) against serveKafka: the common real-client scenario
// (clients/suite.ts) with `-z none|gzip|snappy|lz4|zstd` (librdkafka 2.0.2 compresses only because
// Produce v0 is advertised), topics auto-created through Metadata (the group's two-partition topic
// is created in-process), and kcat's reads: `-C -o beginning -e` and `-C -o s@<ms>` (ListOffsets by time).
import { expect, it } from 'vitest';
import { waitUntil } from '../helpers.js';
import { makeRecords, runClient, type ConsumedRecord } from './clients/harness.js';
import { clientSuite, type SuiteContext } from './clients/suite.js';

clientSuite({
  client: 'kcat',
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  creates: false,
  stamps: false,
  expectedApis: ['ApiVersions', 'Metadata', 'Produce', 'Fetch', 'ListOffsets', 'FindCoordinator', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'OffsetCommit', 'OffsetFetch', 'LeaveGroup'],
  extra: kcatReads,
});

function kcatReads(ctx: SuiteContext): void {
  it('kcat -C -o beginning -e reads every record back, in order, with keys, headers and timestamps', async () => {
    const produced = ctx.produced.get('kcat-codecs')!;
    const res = await runClient<{ records: ConsumedRecord[] }>('kcat', { op: 'consume', brokers: ctx.target().brokers, clientId: 'kcat', topic: 'kcat-codecs', offset: 'beginning' });
    const partitions = new Set(produced.map((r) => r.partition));
    for (const p of partitions) {
      const got = res.records.filter((r) => r.partition === p);
      const want = produced.filter((r) => r.partition === p);
      expect(got.map((r) => [r.offset, r.key, r.value, r.headers])).toEqual(want.map((r) => [r.offset, r.key, r.value, r.headers]));
      got.forEach((r, i) => {
        expect(r.timestamp).toBeGreaterThanOrEqual(want[i].sentFromMs!);
        expect(r.timestamp).toBeLessThanOrEqual(want[i].sentToMs!);
      });
    }
  });

  it('kcat -C -o s@<ms> starts at the first record stamped at or after that time (ListOffsets by time)', async () => {
    const { brokers } = ctx.target();
    const topic = 'kcat-time';
    const first = makeRecords('kcat-t1', 30, 1, { constantHeaders: true });
    const second = makeRecords('kcat-t2', 30, 1, { constantHeaders: true });
    const a = await runClient<{ sentToMs: number }>('kcat', { op: 'produce', brokers, clientId: 'kcat', topic, codec: 'none', records: first });
    await waitUntil(() => Date.now() > a.sentToMs, 'the clock passed the first batch');
    const b = await runClient<{ sentFromMs: number }>('kcat', { op: 'produce', brokers, clientId: 'kcat', topic, codec: 'none', records: second });
    const res = await runClient<{ records: ConsumedRecord[] }>('kcat', { op: 'consume', brokers, clientId: 'kcat', topic, partition: 0, offset: `s@${b.sentFromMs}` });
    expect(res.records.map((r) => r.value)).toEqual(second.map((r) => r.value));
    expect(res.records[0].offset).toBe(30);
  });
}
