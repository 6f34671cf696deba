// `seglog tail`: prints a topic's records decoded with its codec, like kafka-console-consumer.
// Without --group the log is opened read-only (no lock: it runs next to the writer), and --follow
// keeps printing what the writer process appends: it watches the topic's folder (fs.watch) and
// calls log.refresh() on each change, with a slow timer as a safety net for file systems whose
// watch misses events. With --group it reads through a consumer-group subscription that commits
// its position (a writable open); --group with --read-only starts at the group's committed
// position and commits nothing. Nothing to recover: only a group's committed position is written.
import fs from 'node:fs';
import path from 'node:path';
import type { Log } from '../log.js';
import type { LogRecord } from '../format/record.js';
import type { Topic } from '../topic-api.js';
import { CliError, EXIT } from './errors.js';
import { cliTopic, existingTopic, openForCli } from './open.js';
import { flushOut, offsetRange, out, renderBytes, renderValue } from './output.js';

export interface TailOptions {
  from: string | undefined;
  follow: boolean;
  group: string | undefined;
  readOnly: boolean;
  max: number | undefined;
  json: boolean;
}

/** A poll behind fs.watch, for file systems where watching misses changes (network mounts). */
const FOLLOW_POLL_MS = 1000;

export async function tailCommand(dir: string, topicName: string, options: TailOptions): Promise<void> {
  if (options.group !== undefined && !options.readOnly) return tailGroup(dir, topicName, options);
  const log = await openForCli({ dir, command: 'tail', write: false });
  try {
    existingTopic(log, dir, topicName);
    const topic = cliTopic(log, topicName);
    let next: number;
    if (options.group !== undefined) {
      const committed = log.stats().topics[topicName]?.groups?.[options.group];
      next = committed !== undefined ? committed.position : startOffset(topic, options.from);
    } else {
      next = startOffset(topic, options.from);
    }
    let printed = 0;
    const max = options.max ?? Infinity;
    /** Prints what is readable from `next`; returns false once --max records were printed. */
    const drain = async (): Promise<boolean> => {
      if (next < topic.startOffset) {
        process.stderr.write(`seglog: ${offsetRange(next, topic.startOffset - 1)} ${next === topic.startOffset - 1 ? 'was' : 'were'} removed by retention; continuing at ${topic.startOffset}\n`);
        next = topic.startOffset;
      }
      for (const rec of topic.read({ from: next })) {
        if (printed >= max) break;
        await printRecord(rec, options.json);
        printed++;
        next = rec.offset + 1;
      }
      await flushOut();
      return printed < max;
    };
    if (!(await drain()) || !options.follow) return;
    await follow(log, path.join(path.resolve(dir), topicName), drain);
  } finally {
    await log.close();
  }
}

/** Resolves --from: earliest | latest | N | -N (the last N) | an ISO time. Default earliest. */
function startOffset(topic: Topic<unknown>, from: string | undefined): number {
  if (from === undefined || from === 'earliest') return topic.startOffset;
  if (from === 'latest') return topic.endOffset;
  if (/^-?\d+$/.test(from)) {
    const n = Number(from);
    if (!Number.isSafeInteger(n)) throw new CliError(EXIT.usage, `--from ${from} is not a safe integer`);
    if (n < 0) return Math.max(topic.startOffset, topic.endOffset + n);
    if (n < topic.startOffset) {
      throw new CliError(EXIT.usage, `--from ${n} is below the topic's start offset ${topic.startOffset} (older records were removed)`);
    }
    return n;
  }
  const ms = Date.parse(from);
  if (Number.isNaN(ms)) {
    throw new CliError(EXIT.usage, `--from must be earliest, latest, an offset, -N (the last N records) or an ISO time, got ${JSON.stringify(from)}`);
  }
  return topic.offsetForTime(ms);
}

/** Waits for changes in the topic's folder and drains after each; ends on SIGINT/SIGTERM or --max. */
async function follow(log: Log, topicDir: string, drain: () => Promise<boolean>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let running = false;
    let again = false;
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      watcher?.close();
      clearInterval(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (err === undefined) resolve(); else reject(err);
    };
    const onSignal = (): void => finish();
    const tick = (): void => {
      if (finished) return;
      if (running) { again = true; return; }
      running = true;
      void (async () => {
        try {
          do {
            again = false;
            if (!fs.existsSync(topicDir)) throw new CliError(EXIT.failed, `topic ${path.basename(topicDir)} was deleted by the process that writes the log`);
            log.refresh();
            if (!(await drain())) { finish(); return; }
          } while (again && !finished);
        } catch (err) {
          finish(err);
        } finally {
          running = false;
        }
      })();
    };
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(topicDir, { persistent: true }, tick);
      watcher.on('error', () => { watcher?.close(); watcher = undefined; }); // the poll carries on
    } catch {
      watcher = undefined;
    }
    const timer = setInterval(tick, FOLLOW_POLL_MS);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    tick(); // anything appended between the first drain and the watch
  });
}

async function tailGroup(dir: string, topicName: string, options: TailOptions): Promise<void> {
  const log = await openForCli({
    dir, command: 'tail --group', write: true,
    lockedHint: 'To read from the group\'s committed position without committing, add --read-only; to read everything, leave out --group.',
  });
  try {
    existingTopic(log, dir, topicName);
    const topic = cliTopic(log, topicName);
    const from = options.from === undefined ? undefined : startOffset(topic, options.from);
    const ac = new AbortController();
    const onSignal = (): void => ac.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const sub = topic.subscribe({ group: options.group, ...(from === undefined ? {} : { from }), signal: ac.signal });
    const max = options.max ?? Infinity;
    let printed = 0;
    try {
      if (printed < max && (options.follow || sub.position < topic.endOffset)) {
        for await (const rec of sub) {
          await printRecord(rec, options.json);
          printed++;
          if (sub.lag === 0) await flushOut(); // at the tail: show what came so far
          if (printed >= max || (!options.follow && rec.offset + 1 >= topic.endOffset)) {
            await sub.commit(); // the record was printed: finished (break alone leaves it in hand)
            break;
          }
        }
      }
    } catch (err) {
      if (!ac.signal.aborted) throw err; // a signal ends the subscription: not an error
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await sub.close();
    }
    process.stderr.write(`seglog: group ${options.group} on ${topicName} is at offset ${sub.position} (lag ${topic.endOffset - sub.position})\n`);
  } finally {
    await log.close();
  }
}

async function printRecord(rec: LogRecord<unknown>, json: boolean): Promise<void> {
  if (json) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec.headers)) headers[k] = renderBytes(v);
    const value = rec.value instanceof Uint8Array ? renderBytes(rec.value) : rec.value;
    await out(JSON.stringify({ offset: rec.offset, timestamp: new Date(rec.timestamp).toISOString(), key: rec.key === undefined ? null : renderBytes(rec.key), headers, value }));
    return;
  }
  await out(`${rec.offset}\t${rec.key === undefined ? '-' : renderBytes(rec.key)}\t${renderValue(rec.value)}`);
}
