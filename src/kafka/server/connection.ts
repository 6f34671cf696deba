// One client connection: 4-byte size-prefixed frames in, responses out in request order (Kafka
// guarantees that per connection: requests are handled as they come, pipelined, and each answer
// waits for the ones before it). A slot per request read keeps the order; a request without an
// answer (Produce with acks 0) leaves an empty slot.
//
// Limits, all per connection (docs/kafka.md, "Serving"):
// - a frame larger than maxFrameBytes (or of a negative size) closes the connection at once, before
//   its bytes are read; the input held is at most one frame plus one socket read;
// - at most maxInFlightRequests requests read and not answered: at the cap the socket is paused
//   (TCP pushes back on the client) and resumed when an answer goes out. Produce requests count
//   apart, up to PRODUCES_IN_FLIGHT_MAX: a Produce appends before its handler returns
//   (produce.ts), so one in flight holds no request bytes, only the wait for its durability
//   (acks -1 under 'fsync'); counting them with the others let 32 fsyncs in a row stall a
//   producer that sends small requests (linger.ms 0), with seconds of produce→consume latency;
// - a client that does not read its answers: once socket.write() returns false, no more answers are
//   written and no more requests are taken until 'drain' — what waits is at most the socket's
//   buffer plus the answers of the requests in flight (each bounded by maxFetchBytes and the like).
// A header that does not decode, an api or version not served (but ApiVersions, answered in the v0
// layout with UNSUPPORTED_VERSION and the full list, as Kafka does, and InitProducerId, answered
// UNSUPPORTED_VERSION: idempotent producers are not supported yet), a body that does not decode
// (truncated, trailing bytes, lengths past the frame) close this connection only; nothing of such
// a request reached the log.
// After each read the socket gets TCP_QUICKACK (ctx.quickAck, from the addon; none under
// seglog/native-free): the client's bytes are acknowledged at once, so a client with Nagle on
// (librdkafka's default) sends its next request without waiting for this one's answer (docs/kafka.md).
//
// Crash: nothing here is on disk.
import type { Socket } from 'node:net';
import {
  ApiKey, ErrorCode, SERVED, decodeRequest, encodeApiVersionsUnsupported, encodeResponse, isServed, readRequestHeader, type RequestHeader,
} from '../protocol/index.js';
import { ANSWER_WRITTEN, type RequestOrigin, type ServerContext } from './context.js';
import { dispatch } from './dispatch.js';
import { debug } from './errors.js';

/** What one connection holds now (serveKafka's stats()). */
export interface ConnectionStats {
  id: number;
  /** Requests taken from the connection so far. */
  requests: number;
  /** Requests read and not answered yet. */
  inFlight: number;
  /** Bytes read from the socket and not yet taken as a request. */
  bufferedBytes: number;
  /** Bytes of answers encoded and waiting for earlier answers or for 'drain'. */
  readyBytes: number;
  /** Bytes handed to the socket and not yet sent (socket.writableLength). */
  writableBytes: number;
  /** Reading from the socket is paused (the in-flight cap, a client that does not read, closing). */
  paused: boolean;
  /** Reads after which TCP_QUICKACK was set (0 without the addon: seglog/native-free, not Linux). */
  quickAcks: number;
}

/** Produce requests one connection may have in flight besides maxInFlightRequests others (see the header). */
export const PRODUCES_IN_FLIGHT_MAX = 1024;

/**
 * A Produce frame that arrived in several socket reads is assembled in this one buffer of the
 * process (up to this size) rather than in a fresh one per request: a fresh 1 MiB per request
 * (kcat's batches) was external memory for V8's collector to chase. It may be reused at once
 * because a Produce is done with its frame when request() returns: the handler checks and copies
 * the records into the log before its first await (produce.ts), and keeps no view of the frame
 * (names and ids decode to strings, results are numbers).
 */
const ASSEMBLY_BYTES_MAX = 2 * 1024 * 1024;
let assembly: Buffer | undefined;

interface Slot {
  readonly header: RequestHeader;
  /** A Produce (counted in producesInFlight, not against maxInFlightRequests). */
  readonly produce: boolean;
  ready: boolean;
  /** The encoded answer; null for none. */
  chunks: Buffer[] | null;
  bytes: number;
  /** The body's ANSWER_WRITTEN hook (context.ts), called once the socket wrote the whole answer. */
  onWritten?: (() => void) | undefined;
}

const API_NAMES: ReadonlyMap<number, string> = new Map([
  ...Object.entries(ApiKey).map(([name, key]) => [key, name] as [number, string]),
  ...SERVED.map((s) => [s.apiKey, s.name] as [number, string]),
]);

/** The write callback that runs `onWritten` when the write succeeded (after a failed one the bytes are just dropped). */
function afterWrite(onWritten: (() => void) | undefined): ((err?: Error | null) => void) | undefined {
  return onWritten === undefined ? undefined : (err) => { if (err === undefined || err === null) onWritten(); };
}

export function apiName(apiKey: number): string {
  return API_NAMES.get(apiKey) ?? `unknown(${apiKey})`;
}

/** The descriptor of a TCP socket on Unix (Node's handle has it), or -1 (Windows, no handle). */
export function descriptorOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}

export class Connection {
  private input: Buffer[] = [];
  private inputBytes = 0;
  private readonly slots: Slot[] = [];
  /** Slots of Produce requests (a part of `slots`). */
  private producesInFlight = 0;
  /** socket.write() returned false: nothing more is written or taken until 'drain'. */
  private blocked = false;
  private closed = false;
  /** The server closes: no more requests are taken; those in flight are answered. */
  private stopping = false;
  private paused = false;
  private pumping = false;
  private requests = 0;
  private pumpAgain = false;
  private readonly ac = new AbortController();
  private readonly origin: RequestOrigin;
  private whenIdle: (() => void) | undefined;
  /** The socket's descriptor for ctx.quickAck; -1: not called (no addon, no descriptor, or it failed once). */
  private quickAckFd: number;
  private quickAcks = 0;

  constructor(private readonly socket: Socket, private readonly ctx: ServerContext, readonly id: number, private readonly onGone: (c: Connection) => void) {
    this.origin = { connection: id, signal: this.ac.signal };
    socket.setNoDelay(true);
    this.quickAckFd = ctx.quickAck === undefined ? -1 : descriptorOf(socket);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.blocked = false;
      this.writeReady();
      this.pump();
    });
    socket.on('error', (err) => debug('kafka: connection %d: %s', id, err.message));
    socket.on('close', () => this.gone());
  }

  stats(): ConnectionStats {
    let readyBytes = 0;
    for (const s of this.slots) readyBytes += s.bytes;
    return { id: this.id, requests: this.requests, inFlight: this.slots.length, bufferedBytes: this.inputBytes, readyBytes, writableBytes: this.socket.writableLength, paused: this.paused, quickAcks: this.quickAcks };
  }

  /** Takes no more requests, answers those in flight, then ends the connection; resolves once it closed. */
  stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.setPaused(true);
    return new Promise<void>((resolve) => {
      if (this.closed) { resolve(); return; }
      const timer = setTimeout(() => this.close('it did not take its last answers in time'), graceMs);
      this.socket.once('close', () => { clearTimeout(timer); resolve(); });
      // Ending, reading resumes (what comes is dropped: onData takes nothing while stopping): bytes
      // left unread in a paused socket would keep its 'end', so the client's FIN, from being seen.
      const end = (): void => { if (!this.closed) { this.socket.end(); this.socket.resume(); } };
      if (this.slots.length === 0 && !this.blocked) end();
      else this.whenIdle = end;
    });
  }

  /** Closes the connection now (what is in flight is not answered). */
  close(reason: string): void {
    if (this.closed) return;
    debug('kafka: closing connection %d: %s', this.id, reason);
    this.closed = true;
    this.input = [];
    this.inputBytes = 0;
    this.slots.length = 0;
    this.producesInFlight = 0;
    this.ac.abort();
    this.socket.destroy();
  }

  private gone(): void {
    this.closed = true;
    this.slots.length = 0;
    this.producesInFlight = 0;
    this.ac.abort();
    this.onGone(this);
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.stopping) return;
    if (this.quickAckFd >= 0) {
      // one setsockopt: the ACK of these bytes leaves now instead of with the answer (Linux goes back to delayed ACKs by itself)
      if (this.ctx.quickAck!(this.quickAckFd)) this.quickAcks++;
      else this.quickAckFd = -1;
    }
    this.input.push(chunk);
    this.inputBytes += chunk.length;
    this.pump();
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused || this.closed) return;
    this.paused = paused;
    if (paused) this.socket.pause(); else this.socket.resume();
  }

  private canTake(): boolean {
    return !this.closed && !this.stopping && !this.blocked && this.slots.length - this.producesInFlight < this.ctx.options.maxInFlightRequests
      && this.producesInFlight < PRODUCES_IN_FLIGHT_MAX;
  }

  /** Takes the whole frames read so far, as long as the limits allow; pauses or resumes the socket. */
  private pump(): void {
    if (this.pumping) { this.pumpAgain = true; return; }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (this.canTake() && this.inputBytes >= 4) {
          const size = this.peekSize();
          if (size < 0 || size > this.ctx.options.maxFrameBytes) {
            this.close(`a frame of ${size} bytes (maxFrameBytes is ${this.ctx.options.maxFrameBytes})`);
            return;
          }
          if (this.inputBytes < 4 + size) break;
          this.request(this.take(4 + size, 4 + size <= ASSEMBLY_BYTES_MAX && size >= 2 && this.peekApiKey() === ApiKey.Produce).subarray(4));
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    if (!this.closed) this.setPaused(!this.canTake());
  }

  private peekSize(): number {
    const first = this.input[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.input, 4).readInt32BE(0);
  }

  /** The api key of the frame whose size was peeked (its bytes are in input). */
  private peekApiKey(): number {
    const first = this.input[0]!;
    if (first.length >= 6) return first.readInt16BE(4);
    return Buffer.concat(this.input, 6).readInt16BE(4);
  }

  /** The next `n` bytes of input (a view when they lie in one chunk; `pooled`: else in `assembly`). */
  private take(n: number, pooled: boolean): Buffer {
    this.inputBytes -= n;
    const first = this.input[0]!;
    if (first.length > n) {
      this.input[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.input.shift();
      return first;
    }
    const out = pooled ? (assembly ??= Buffer.allocUnsafe(ASSEMBLY_BYTES_MAX)).subarray(0, n) : Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.input[0]!;
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) this.input.shift(); else this.input[0] = c.subarray(k);
    }
    return out;
  }

  private request(frame: Buffer): void {
    this.requests++;
    let header: RequestHeader;
    try {
      header = readRequestHeader(frame);
    } catch (err) {
      this.close(`a request header that does not decode (${(err as Error).message})`);
      return;
    }
    const name = apiName(header.apiKey);
    const hook = this.ctx.options.onRequest;
    if (hook !== undefined) {
      try {
        hook({ clientId: header.clientId, apiKey: header.apiKey, apiName: name, apiVersion: header.apiVersion, correlationId: header.correlationId, connection: this.id });
      } catch (err) {
        debug('kafka: onRequest threw: %s', (err as Error)?.message);
      }
    }
    debug('kafka: connection %d: %s v%d from %s (correlation id %d)', this.id, name, header.apiVersion, header.clientId, header.correlationId);
    if (!isServed(header.apiKey, header.apiVersion)) {
      if (header.apiKey === ApiKey.ApiVersions) {
        const slot = this.push(header);
        this.settleEncoded(slot, encodeApiVersionsUnsupported(header));
        return;
      }
      if (header.apiKey === ApiKey.InitProducerId) {
        // not advertised: a producer that asks anyway (idempotence or transactions on) gets a clear no
        try {
          decodeRequest(header, frame);
        } catch (err) {
          this.close(`an InitProducerId v${header.apiVersion} request that does not decode (${(err as Error).message})`);
          return;
        }
        debug('kafka: connection %d: InitProducerId refused: idempotent and transactional producers are not supported yet (turn idempotence off)', this.id);
        this.settle(this.push(header), { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_VERSION, producerId: -1n, producerEpoch: -1 }, header);
        return;
      }
      this.close(`${name} v${header.apiVersion} is not served (ApiVersions lists what is)`);
      return;
    }
    let body: object;
    try {
      body = decodeRequest(header, frame);
    } catch (err) {
      this.close(`a ${name} v${header.apiVersion} request that does not decode (${(err as Error).message})`);
      return;
    }
    const slot = this.push(header);
    let result: Promise<object | undefined> | object | undefined;
    try {
      result = dispatch(this.ctx, header, body, this.origin);
    } catch (err) {
      this.failed(name, err);
      return;
    }
    if (result instanceof Promise) result.then((r) => this.settle(slot, r, header), (err: unknown) => this.failed(name, err));
    else this.settle(slot, result, header);
  }

  private push(header: RequestHeader): Slot {
    const produce = header.apiKey === ApiKey.Produce;
    const slot: Slot = { header, produce, ready: false, chunks: null, bytes: 0 };
    if (produce) this.producesInFlight++;
    this.slots.push(slot);
    return slot;
  }

  /** A handler threw: a bug of the server, not of the client; this connection closes (the others go on). */
  private failed(name: string, err: unknown): void {
    debug('kafka: connection %d: %s failed: %s', this.id, name, err instanceof Error ? err.stack : String(err));
    this.close(`${name} failed inside the server (${(err as Error)?.message ?? err})`);
  }

  private settle(slot: Slot, body: object | undefined, header: RequestHeader): void {
    if (this.closed) return;
    let chunks: Buffer[] | null = null;
    if (body !== undefined) {
      try {
        chunks = encodeResponse(header, body);
        slot.onWritten = (body as { [ANSWER_WRITTEN]?: () => void })[ANSWER_WRITTEN];
      } catch (err) {
        this.failed(apiName(header.apiKey), err);
        return;
      }
    }
    this.settleEncoded(slot, chunks);
  }

  private settleEncoded(slot: Slot, chunks: Buffer[] | null): void {
    slot.chunks = chunks;
    if (chunks !== null) for (const c of chunks) slot.bytes += c.length;
    slot.ready = true;
    this.writeReady();
    this.pump();
  }

  /** Writes the answers whose turn it is, until the socket pushes back. */
  private writeReady(): void {
    // Corked: the chunks of every answer ready now (a Fetch answer is its header chunks and a batch)
    // leave in one writev instead of one write each (the socket writes were the third item of the
    // server's profile under kcat).
    let corked = false;
    while (!this.blocked && !this.closed && this.slots.length > 0 && this.slots[0]!.ready) {
      const slot = this.slots.shift()!;
      if (slot.produce) this.producesInFlight--;
      if (slot.chunks === null) continue;
      if (!corked) { this.socket.cork(); corked = true; }
      let ok = true;
      const last = slot.chunks.length - 1;
      for (let i = 0; i <= last; i++) ok = this.socket.write(slot.chunks[i]!, i === last ? afterWrite(slot.onWritten) : undefined);
      if (!ok) this.blocked = true;
    }
    if (corked) this.socket.uncork();
    if (this.slots.length === 0 && !this.blocked && this.whenIdle !== undefined) {
      const end = this.whenIdle;
      this.whenIdle = undefined;
      end();
    }
  }
}
