// The options of serveKafka (docs/kafka.md, "Serving"), checked once: a bad option is a
// SeglogError ERR_INVALID_ARGUMENT naming it, an unknown one too. The limits bound what one
// connection may hold: a frame (maxFrameBytes, Kafka's socket.request.max.bytes), the requests read
// and not yet answered (maxInFlightRequests), the bytes of one Fetch answer (maxFetchBytes, Kafka's
// fetch.max.bytes). Listening anywhere but loopback needs TLS and SASL, which come later (issue 14
// leaves them to #12): such a host is refused.
//
// Crash: nothing here is on disk.
import net from 'node:net';
import { SeglogError, invalidArgument, refuseUnknownKeys } from '../../base/errors.js';

/** What the server tells about each request it reads (after its header was decoded). */
export interface RequestInfo {
  clientId: string | null;
  apiKey: number;
  /** Kafka's name of the api ('Produce', 'Fetch', ...), or `unknown(<key>)`. */
  apiName: string;
  apiVersion: number;
  correlationId: number;
  /** The connection's number (1, 2, … in accept order). */
  connection: number;
}

export interface ServeKafkaOptions {
  /** The address to listen on (default '127.0.0.1'); loopback only (TLS and SASL come later). */
  host?: string;
  /** The port (default 9092; 0: any free port, read it from the handle). */
  port?: number;
  /** Largest request frame (default 100 MiB, Kafka's socket.request.max.bytes); a larger one closes its connection. */
  maxFrameBytes?: number;
  /** Requests read from one connection and not yet answered (default 32); reading pauses at the cap. */
  maxInFlightRequests?: number;
  /** Most bytes of records in one Fetch answer (default 55 MiB, Kafka's fetch.max.bytes); the client's maxBytes is capped to it. */
  maxFetchBytes?: number;
  /** Metadata creates a topic a client asks for and allows it (default true, Kafka's auto.create.topics.enable). */
  autoCreateTopics?: boolean;
  /** Called for every request read, before it is handled (which versions a client uses). */
  onRequest?: (info: RequestInfo) => void;
}

export interface ResolvedServeOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  maxInFlightRequests: number;
  maxFetchBytes: number;
  autoCreateTopics: boolean;
  onRequest: ((info: RequestInfo) => void) | undefined;
}

export const DEFAULT_PORT = 9092;
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;
export const DEFAULT_MAX_IN_FLIGHT = 32;
export const DEFAULT_MAX_FETCH_BYTES = 55 * 1024 * 1024;

const KEYS: ReadonlySet<string> = new Set(['host', 'port', 'maxFrameBytes', 'maxInFlightRequests', 'maxFetchBytes', 'autoCreateTopics', 'onRequest']);

function intOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(`option ${name}`, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** Whether `host` names this machine's loopback interface. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || /^(0{0,4}:){1,7}0{0,3}1$/.test(host) || /^::ffff:127\./i.test(host);
  return false;
}

export function resolveServeOptions(options: ServeKafkaOptions | undefined): ResolvedServeOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw invalidArgument('serveKafka options', options, 'an object');
  refuseUnknownKeys('serveKafka option', options, KEYS);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) throw invalidArgument('option host', host, 'a host name or an IP address');
  if (!isLoopback(host)) {
    throw new SeglogError('ERR_INVALID_ARGUMENT',
      `invalid option host: ${JSON.stringify(host)} is not a loopback address; serving beyond this machine needs TLS and SASL, which this version does not have (use 127.0.0.1, ::1 or localhost)`, { value: host });
  }
  const onRequest = options.onRequest;
  if (onRequest !== undefined && typeof onRequest !== 'function') throw invalidArgument('option onRequest', onRequest, 'a function');
  const autoCreateTopics = options.autoCreateTopics ?? true;
  if (typeof autoCreateTopics !== 'boolean') throw invalidArgument('option autoCreateTopics', autoCreateTopics, 'true or false');
  return {
    host,
    port: intOption('port', options.port, DEFAULT_PORT, 0, 65535),
    maxFrameBytes: intOption('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 1024, 2 ** 31 - 1),
    maxInFlightRequests: intOption('maxInFlightRequests', options.maxInFlightRequests, DEFAULT_MAX_IN_FLIGHT, 1, 10_000),
    maxFetchBytes: intOption('maxFetchBytes', options.maxFetchBytes, DEFAULT_MAX_FETCH_BYTES, 1024, 2 ** 31 - 1),
    autoCreateTopics,
    onRequest,
  };
}
