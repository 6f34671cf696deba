// `seglog serve <dir>`: a Kafka wire-protocol listener over the directory (serveKafka,
// docs/kafka.md "Serving"), so that Kafka clients produce to it and consume from it. Opens the log
// writable (creating the directory if needed), prints one line with the address on stderr
// (`seglog: serving Kafka on 127.0.0.1:9092 (dir ./data)`, the real port when --port 0 was given),
// and runs until SIGINT or SIGTERM: then it stops accepting, answers the requests in flight, closes
// the server and the log cleanly (the next open scans nothing) and exits 0.
//
// Crash: a kill -9 leaves what any crash of a writer leaves; openLog recovers it.
import net from 'node:net';
import { serveKafka } from '../kafka/index.js';
import { resolveServeOptions } from '../kafka/server/options.js';
import { openForCli } from './open.js';

export interface ServeOptions {
  host: string | undefined;
  port: number | undefined;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function serveCommand(dir: string, options: ServeOptions): Promise<void> {
  resolveServeOptions({ host: options.host, port: options.port }); // a refused option before the directory is made
  const signal = untilSignal(); // from the start: a signal during the open still closes cleanly
  const log = await openForCli({ dir, command: 'serve', write: true, create: true });
  log.on('error', (err) => process.stderr.write(`seglog: ${err.code}: ${err.message}\n`));
  try {
    const server = await serveKafka(log, { host: options.host, port: options.port });
    const address = net.isIPv6(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
    process.stderr.write(`seglog: serving Kafka on ${address} (dir ${dir})\n`);
    const got = await signal;
    process.stderr.write(`seglog: ${got}: closing\n`);
    await server.close();
  } finally {
    await log.close();
  }
}
