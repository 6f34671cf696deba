// `seglog produce`: one record per line of stdin, appended in batches (appendBatch: each batch all
// or nothing). The value is encoded with the topic's codec: 'json' and 'msgpack' topics parse each
// line as JSON, 'string' and 'binary' take it as it is. With --key-sep the text before the first
// separator is the key. A line that cannot be encoded stops the run before its batch is appended;
// the batches before it stay appended (they are reported). Empty lines are skipped.
// With --create a missing directory is made (its missing parents too); a run that fails before
// anything was appended removes what it made, so a typo or bad input leaves no directory behind.
// Crash: what was acknowledged (fsync durability, one fsync per batch) survives; see the library.
// A crash of a --create run may leave the directory it made (an empty log, or the batches appended).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import type { Cleanup } from '../format/options.js';
import { CliError, EXIT } from './errors.js';
import { openForCli } from './open.js';
import { offsetRange, out, plural } from './output.js';

export interface ProduceOptions {
  keySep: string | undefined;
  codec: string | undefined;
  cleanup: Cleanup | undefined;
  create: boolean;
}

/** Lines per appendBatch: big enough to amortise the fsync, small enough to bound memory. */
const LINES_PER_BATCH = 1000;

/** The outermost of `dir` and its parents that does not exist (what a --create run makes), or undefined. */
function firstMissing(dir: string): string | undefined {
  let missing: string | undefined;
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing = d;
    if (path.dirname(d) === d) break;
  }
  return missing;
}

export async function produceCommand(dir: string, topicName: string, options: ProduceOptions, input: Readable = process.stdin): Promise<void> {
  const made = options.create ? firstMissing(dir) : undefined;
  const progress = { produced: 0 };
  try {
    await produce(dir, topicName, options, input, progress);
  } catch (err) {
    if (made !== undefined && progress.produced === 0) {
      // nothing was appended: take away the directory this run made (the log is closed by now)
      fs.rmSync(made, { recursive: true, force: true });
      if (err instanceof Error) err.message += `; ${made}, which this run created, was removed`;
    }
    throw err;
  }
}

async function produce(dir: string, topicName: string, options: ProduceOptions, input: Readable, progress: { produced: number }): Promise<void> {
  const log = await openForCli({
    dir, command: 'produce', write: true, create: options.create,
    lockedHint: 'Stop that process, or append through it (seglog allows one writer process per directory).',
  });
  try {
    const exists = log.topics().includes(topicName);
    if (!exists && options.codec === undefined && options.cleanup === undefined) {
      process.stderr.write(`seglog: creating topic ${topicName} (codec string)\n`);
    }
    const topic = log.topic<unknown>(topicName, {
      ...(options.codec !== undefined ? { codec: options.codec as 'string' } : exists ? {} : { codec: 'string' }),
      ...(options.cleanup !== undefined ? { cleanup: options.cleanup } : {}),
    });
    const codec = log.stats().topics[topicName]!.codec;
    const parseJson = codec === 'json' || codec === 'msgpack';
    let batch: Array<{ value: unknown; key?: string }> = [];
    let first = -1;
    let produced = 0;
    let lineNo = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const at = await topic.appendBatch(batch);
      if (first < 0) first = at;
      produced += batch.length;
      progress.produced = produced;
      batch = [];
    };
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        lineNo++;
        if (line.length === 0) continue;
        let key: string | undefined;
        let text = line;
        if (options.keySep !== undefined) {
          const at = line.indexOf(options.keySep);
          if (at < 0) throw new CliError(EXIT.usage, `line ${lineNo} has no key separator ${JSON.stringify(options.keySep)}`);
          key = line.slice(0, at);
          text = line.slice(at + options.keySep.length);
        }
        let value: unknown = text;
        if (parseJson) {
          try {
            value = JSON.parse(text);
          } catch (err) {
            throw new CliError(EXIT.usage, `line ${lineNo} is not JSON (topic ${topicName} has codec ${codec}): ${(err as Error).message}`);
          }
        } else if (codec === 'binary') {
          value = Buffer.from(text, 'utf8');
        }
        batch.push(key === undefined ? { value } : { value, key });
        if (batch.length >= LINES_PER_BATCH) await flush();
      }
      await flush();
    } catch (err) {
      if (err instanceof CliError) {
        err.message += produced > 0
          ? `; ${plural(produced, 'record')} before it ${produced === 1 ? 'was' : 'were'} appended (${offsetRange(first, first + produced - 1)})` : '; nothing was appended';
      }
      throw err;
    } finally {
      lines.close();
    }
    await out(produced === 0 ? `produced 0 records to ${topicName}` : `produced ${plural(produced, 'record')} to ${topicName} (${offsetRange(first, first + produced - 1)})`);
  } finally {
    await log.close();
  }
}
