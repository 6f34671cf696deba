// serveKafka's option checks and the Kafka-name rules of the server (partitions.ts), without a socket.
import { describe, expect, test } from 'vitest';
import { isLoopback, resolveServeOptions } from '../../src/kafka/server/options.js';
import { PARTITIONS_MAX, invalidTopicName, partitionTopicName } from '../../src/kafka/server/partitions.js';

describe('serveKafka options', () => {
  test('defaults: 127.0.0.1:9092, 100 MiB frames, 32 requests in flight, 55 MiB fetches, auto-creation on', () => {
    expect(resolveServeOptions(undefined)).toEqual({
      host: '127.0.0.1', port: 9092, maxFrameBytes: 100 * 1024 * 1024, maxInFlightRequests: 32, maxFetchBytes: 55 * 1024 * 1024, autoCreateTopics: true, onRequest: undefined,
    });
  });

  test('loopback hosts only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '0:0:0:0:0:0:0:1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '192.168.1.1']) expect(isLoopback(h)).toBe(false);
    expect(() => resolveServeOptions({ host: '0.0.0.0' })).toThrow(/host.*loopback/);
  });

  test('each bad option is ERR_INVALID_ARGUMENT naming it', () => {
    const bad: Array<[object, string]> = [
      [{ port: -1 }, 'port'], [{ port: 1.5 }, 'port'], [{ port: '9092' }, 'port'], [{ maxFrameBytes: 0 }, 'maxFrameBytes'],
      [{ maxInFlightRequests: 0 }, 'maxInFlightRequests'], [{ maxFetchBytes: Infinity }, 'maxFetchBytes'],
      [{ autoCreateTopics: 'yes' }, 'autoCreateTopics'], [{ onRequest: 1 }, 'onRequest'], [{ users: {} }, 'users'], [{ host: '' }, 'host'],
    ];
    for (const [options, name] of bad) {
      expect(() => resolveServeOptions(options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining(name) }));
    }
  });
});

describe('Kafka topic names', () => {
  test('partition N >= 1 is <name>.partition-N; names that end so, illegal characters, and names too long for their partitions are refused', () => {
    expect(partitionTopicName('orders', 0)).toBe('orders');
    expect(partitionTopicName('orders', 7)).toBe('orders.partition-7');
    expect(invalidTopicName('orders')).toBeUndefined();
    for (const n of ['', '.', '..', 'a b', 'a/b', 'x.partition-3', null]) expect(invalidTopicName(n)).toBeDefined();
    expect(invalidTopicName('a'.repeat(200))).toBeUndefined();
    expect(invalidTopicName('a'.repeat(200), 2)).toBeDefined();
    expect(invalidTopicName('a'.repeat(186), PARTITIONS_MAX)).toBeUndefined(); // '.partition-999' is 14 characters
    expect(invalidTopicName('a'.repeat(187), PARTITIONS_MAX)).toBeDefined();
  });
});
