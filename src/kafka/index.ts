// seglog/kafka — serveKafka(log, options): a Kafka wire-protocol listener over a seglog log that the
// application keeps using in-process (SPEC "Kafka clients and clusters"; docs/kafka.md, "Serving").
// The application owns the log: closing the server leaves it open.
import type { Log } from '../log.js';
import { invalidArgument } from '../base/errors.js';
import { resolveServeOptions, type RequestInfo, type ServeKafkaOptions } from './server/options.js';
import { KafkaServer, type KafkaServerStats } from './server/server.js';
import type { ConnectionStats } from './server/connection.js';

export type { RequestInfo, ServeKafkaOptions, KafkaServerStats, ConnectionStats };

/** What serveKafka resolves to. */
export interface KafkaServerHandle {
  /** The address it listens on (as Metadata advertises it). */
  readonly host: string;
  /** The port it listens on (the one chosen when `port: 0` was given). */
  readonly port: number;
  /** What the connections hold now: requests in flight, bytes buffered and waiting (limits, tests). */
  stats(): KafkaServerStats;
  /**
   * Stops accepting, answers the requests in flight (waiting fetches at once, with what there is),
   * closes the connections and clears every timer. The log stays open.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Serves `log` to Kafka clients on `host:port` (default 127.0.0.1:9092; loopback only).
 *
 * ```ts
 * await using server = await serveKafka(log, { port: 0 });
 * const kafka = new Kafka({ brokers: [`${server.host}:${server.port}`] });
 * ```
 */
export async function serveKafka(log: Log, options?: ServeKafkaOptions): Promise<KafkaServerHandle> {
  if (log === null || typeof log !== 'object' || typeof (log as Partial<Log>).topic !== 'function' || typeof (log as Partial<Log>).stats !== 'function') {
    throw invalidArgument('log', log, 'a Log from openLog()');
  }
  const resolved = resolveServeOptions(options);
  log.stats(); // ERR_CLOSED for a closed log
  const server = await KafkaServer.start(log, resolved);
  return {
    host: server.host,
    port: server.port,
    stats: () => server.stats(),
    close: () => server.close(),
    [Symbol.asyncDispose]: () => server.close(),
  };
}
