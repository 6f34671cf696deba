// kafkajs 2.2.4 (Node 20) against serveKafka: the common real-client scenario (clients/suite.ts) —
// codecs none and gzip (kafkajs's own) and snappy and lz4 (codecs registered on snappyjs and lz4js).
import { clientSuite } from './clients/suite.js';

clientSuite({
  client: 'kafkajs',
  codecs: ['none', 'gzip', 'snappy', 'lz4'],
  creates: true,
  stamps: true,
  expectedApis: ['ApiVersions', 'Metadata', 'CreateTopics', 'Produce', 'Fetch', 'ListOffsets', 'FindCoordinator', 'JoinGroup', 'SyncGroup', 'Heartbeat', 'OffsetCommit', 'OffsetFetch', 'LeaveGroup'],
});
