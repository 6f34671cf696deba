// KafkaServer: the TCP listener of serveKafka. It accepts connections (connection.ts does the
// framing, limits and ordering), holds the shared context (context.ts) and closes in order:
// stop accepting; answer every waiting fetch now and end the coordinator's waits (members get
// COORDINATOR_NOT_AVAILABLE) and timers; let each connection answer what it has in flight, then
// end it (one that does not take its answers within CLOSE_GRACE_MS is cut); the log stays open,
// it belongs to the application. The native parts (hardware CRC32C, TCP_QUICKACK after each read)
// come from the addon only when this process loaded it for a log's mapped reads (the default entry
// point); seglog/native-free never loads it, and the server then runs on JavaScript and Node alone.
//
// Crash: nothing here is on disk (what requests wrote is the log's).
import net from 'node:net';
import type { Log } from '../../log.js';
import { GroupCoordinator } from '../coordinator/index.js';
import { Connection, type ConnectionStats } from './connection.js';
import { clusterIdFor, NODE_ID, type ServerContext } from './context.js';
import { FetchWaits } from './fetch-wait.js';
import { TopicCache } from './partitions.js';
import type { ResolvedServeOptions } from './options.js';
import { SeglogError, asSeglogError, ioError } from '../../base/errors.js';
import { debug } from './errors.js';
import { loadedCrc32c, loadedSocketOptions } from '../../io/mmap-addon.js';
import { useHardwareCrc32c } from '../records/crc32c.js';

/** How long close() lets a connection take its last answers before cutting it. */
const CLOSE_GRACE_MS = 5000;

export interface KafkaServerStats {
  /** Connections open now. */
  connections: ConnectionStats[];
  /** Fetches waiting for records. */
  waitingFetches: number;
  /** Fetch partitions answered with the batch encoded for them ahead, while the client took in the previous answer (docs/kafka.md, "Serving"). */
  prefetchedBatches: number;
}

/** What the server takes from the native addon (tests give their own). */
export interface ServerNative {
  /** TCP_QUICKACK on a socket descriptor (ServerContext.quickAck). */
  quickAck: ((fd: number) => boolean) | undefined;
}

/** The addon's parts when this process loaded it (a default-entry log reading through mappings), else none. */
export function processNative(): ServerNative {
  const sockets = loadedSocketOptions();
  return { quickAck: sockets === undefined ? undefined : (fd) => sockets.setTcpQuickAck(fd, true) };
}

export class KafkaServer {
  private readonly connections = new Set<Connection>();
  private nextId = 1;
  private closing: Promise<void> | undefined;

  private constructor(private readonly server: net.Server, readonly ctx: ServerContext) {}

  get host(): string { return this.ctx.advertised.host; }
  get port(): number { return this.ctx.advertised.port; }

  static async start(log: Log, options: ResolvedServeOptions, native: ServerNative = processNative()): Promise<KafkaServer> {
    const { readOnly, dir } = log.stats();
    // The batches' CRC32C with the CPU's instruction when this process loaded the addon already
    // (a default-entry log reading through mappings); a seglog/native-free process stays JavaScript.
    const hardware = loadedCrc32c();
    if (hardware !== undefined) useHardwareCrc32c(hardware);
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      throw ioError('listen', `${options.host}:${options.port}`, err);
    });
    const address = server.address() as net.AddressInfo;
    const ctx: ServerContext = {
      log, options, readOnly, dir,
      advertised: { host: options.host, port: address.port },
      clusterId: clusterIdFor(dir),
      topics: new TopicCache(log),
      coordinator: new GroupCoordinator({ log, nodeId: NODE_ID, host: options.host, port: address.port }),
      waits: new FetchWaits(),
      quickAck: native.quickAck,
      counts: { prefetchedBatches: 0 },
    };
    const kafka = new KafkaServer(server, ctx);
    server.on('connection', (socket) => kafka.accept(socket));
    server.on('error', (err) => debug('kafka: listener: %s', err.message));
    return kafka;
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const c = new Connection(socket, this.ctx, this.nextId++, (gone) => this.connections.delete(gone));
    this.connections.add(c);
  }

  stats(): KafkaServerStats {
    return { connections: [...this.connections].map((c) => c.stats()), waitingFetches: this.ctx.waits.size, prefetchedBatches: this.ctx.counts.prefetchedBatches };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const stopped = Promise.all([...this.connections].map((c) => c.stop(CLOSE_GRACE_MS))); // (no request is taken from here on)
    this.ctx.waits.closed = true;
    this.ctx.waits.wakeAll();
    let firstError: unknown;
    try {
      await this.ctx.coordinator.close();
    } catch (err) {
      firstError = err;
    }
    await stopped;
    await listening;
    this.ctx.topics.clear();
    if (firstError !== undefined) throw firstError instanceof SeglogError ? firstError : asSeglogError(firstError, 'close the Kafka server', this.ctx.dir);
  }
}
