// ServerContext: what every handler of the Kafka server shares — the log, the resolved options, the
// address this broker advertises in Metadata and FindCoordinator, the cluster id, the topic cache
// (partitions.ts), the group coordinator, the fetches waiting for records (fetch-wait.ts), which
// close() answers at once, and the native socket call each connection makes after a read (quickAck). A handler gets the context, the request's header and its decoded body,
// and returns the response body (undefined: no response, Produce with acks 0).
//
// Crash: nothing here is on disk.
import { createHash } from 'node:crypto';
import type { Log } from '../../log.js';
import type { RequestHeader } from '../protocol/index.js';
import type { GroupCoordinator } from '../coordinator/index.js';
import type { ResolvedServeOptions } from './options.js';
import type { TopicCache } from './partitions.js';
import type { FetchWaits } from './fetch-wait.js';

/** This broker's id in Metadata (the only node, the controller, the leader of every partition). */
export const NODE_ID = 0;

export interface ServerContext {
  readonly log: Log;
  readonly options: ResolvedServeOptions;
  /** Host and port as clients are told to connect (the listening address). */
  readonly advertised: { host: string; port: number };
  readonly clusterId: string;
  readonly topics: TopicCache;
  readonly coordinator: GroupCoordinator;
  readonly waits: FetchWaits;
  /** Counts for stats(): Fetch partitions answered with the batch prefetched for them (fetch-prefetch.ts). */
  readonly counts: { prefetchedBatches: number };
  /** The log was opened read-only: nothing is created, Produce is refused. */
  readonly readOnly: boolean;
  /** The log's directory (for messages; the cluster id comes from it). */
  readonly dir: string;
  /**
   * Sets TCP_QUICKACK on a socket descriptor (the addon's, native/seglog_socket.c), called by each
   * connection after every read so that the client's next request is acknowledged at once and not
   * held by its Nagle behind a delayed ACK (docs/kafka.md, "Where the latency's p99 comes from").
   * False: not set (then the connection stops calling it). Undefined without the addon
   * (seglog/native-free, or a process that did not load it): sockets keep Linux's delayed ACKs.
   */
  readonly quickAck: ((fd: number) => boolean) | undefined;
}

/** What a handler knows of the connection its request came on. */
export interface RequestOrigin {
  readonly connection: number;
  /** Aborted when the connection closes or the server closes. */
  readonly signal: AbortSignal;
}

/**
 * A response body may carry a function under this key: the connection calls it once the socket's
 * write of the whole answer completed (its bytes are the kernel's now; never called for an answer
 * that was not written). The Fetch gives its batches' chunks back to the encoder's pool so.
 */
export const ANSWER_WRITTEN: unique symbol = Symbol('seglog.kafka.answerWritten');

export type Handler = (ctx: ServerContext, header: RequestHeader, body: any, origin: RequestOrigin) => Promise<object | undefined> | object | undefined;

/** A cluster id that stays the same for a directory: 22 characters of base64url, as Kafka's are. */
export function clusterIdFor(dir: string): string {
  return createHash('sha256').update(`seglog:${dir}`).digest('base64url').slice(0, 22);
}
