// `seglog tail`: prints a topic's records decoded with its codec, like kafka-console-consumer.
// Without --group the log is opened read-only (no lock: it runs next to the writer), and --follow
// keeps printing what the writer process appends: the log is opened following
// (openLog { readOnly: true, follow: true }: a file watch and a poll refresh it by itself) and the
// records after the first drain come from a subscription, which wakes when the writer writes.
// With --group it reads through a consumer-group subscription that commits its position (a
// writable open); --group with --read-only starts at the group's committed position and commits
// nothing. Nothing to recover: only a group's committed position is written.
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

export async function tailCommand(dir: string, topicName: string, options: TailOptions): Promise<void> {
  if (options.group !== undefined && !options.readOnly) return tailGroup(dir, topicName, options);
  const log = await openForCli({ dir, command: 'tail', write: false, options: options.follow ? { follow: true } : {} });
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
    await follow(log, topic, next, max - printed, options.json);
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

/**
 * Prints what the writer appends from `from` on, through a subscription on the following log; ends
 * on SIGINT/SIGTERM, after `max` records, or with an error when the writer deletes the topic.
 */
async function follow(log: Log, topic: Topic<unknown>, from: number, max: number, json: boolean): Promise<void> {
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const onGap = (gap: { from: number; to: number }): void => {
    process.stderr.write(`seglog: offsets ${gap.from} to ${gap.to - 1} were removed by retention; continuing at ${gap.to}\n`);
  };
  const sub = topic.subscribe({ from: Math.max(from, topic.startOffset), signal: ac.signal, onGap });
  let printed = 0;
  try {
    for await (const rec of sub) {
      await printRecord(rec, json);
      printed++;
      if (sub.lag === 0) await flushOut(); // at the tail: show what came so far
      if (printed >= max) break;
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err; // a signal ends the subscription: not an error
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sub.close();
    await flushOut();
  }
  if (!ac.signal.aborted && printed < max && !log.topics().includes(topic.name)) {
    throw new CliError(EXIT.failed, `topic ${topic.name} was deleted by the process that writes the log`);
  }
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
