// A tiny Kafka client over a raw socket for the server's tests: requests encoded by the protocol
// tables (encodeRequest), answers matched by correlation id and decoded (decodeResponse), and raw
// bytes for hostile input. Not a real client: one broker, no retries, no metadata cache.
import net from 'node:net';
import { decodeResponse, encodeRequest } from '../../src/kafka/protocol/index.js';

interface Pending { apiKey: number; apiVersion: number; resolve: (body: any) => void; reject: (err: Error) => void }

export class RawClient {
  private nextId = 1;
  private input: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  /** Resolves when the server closed the connection (or it failed). */
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(readonly socket: net.Socket, readonly clientId: string) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise<void>((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        for (const p of this.pending.values()) p.reject(new Error('connection closed'));
        this.pending.clear();
        resolve();
      });
    });
    socket.on('error', () => { /* 'close' follows */ });
  }

  static connect(port: number, clientId = 'raw-test'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, clientId));
      });
      socket.once('error', reject);
    });
  }

  /** The frames of a request (4-byte size first), with the next correlation id. */
  frame(apiKey: number, apiVersion: number, body: object, correlationId = this.nextId++): Buffer {
    return Buffer.concat(encodeRequest({ apiKey, apiVersion, correlationId, clientId: this.clientId }, body));
  }

  /** Sends a request and resolves with the decoded answer. */
  request(apiKey: number, apiVersion: number, body: object): Promise<any> {
    const correlationId = this.nextId++;
    const p = this.expect(correlationId, apiKey, apiVersion);
    this.socket.write(this.frame(apiKey, apiVersion, body, correlationId));
    return p;
  }

  /** Sends a request that gets no answer (Produce with acks 0). */
  send(apiKey: number, apiVersion: number, body: object): void {
    this.socket.write(this.frame(apiKey, apiVersion, body));
  }

  /** An answer for `correlationId` decoded as `apiKey` v`apiVersion` (ApiVersions' unsupported answer: v0). */
  expect(correlationId: number, apiKey: number, apiVersion: number): Promise<any> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) { reject(new Error('connection closed')); return; }
      this.pending.set(correlationId, { apiKey, apiVersion, resolve, reject });
    });
  }

  /** The correlation id the next request gets. */
  peekId(): number { return this.nextId; }
  takeId(): number { return this.nextId++; }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Answers that came for no pending request (acks 0 must not answer). */
  readonly unexpected: number[] = [];

  private onData(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    while (this.input.length >= 4) {
      const size = this.input.readInt32BE(0);
      if (this.input.length < 4 + size) return;
      const frame = this.input.subarray(4, 4 + size);
      this.input = this.input.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (p === undefined) { this.unexpected.push(correlationId); continue; }
      this.pending.delete(correlationId);
      try {
        p.resolve(decodeResponse(p.apiKey, p.apiVersion, frame));
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  close(): Promise<void> {
    this.socket.end();
    return this.closed;
  }
}
