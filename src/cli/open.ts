// How the CLI opens a log: read-only for commands that only look (no lock, works next to a running
// writer), writable for those that change it (produce, compact, retention, tail --group). The entry
// point follows the metadata found in the directory: `~meta.json` alone means it was written by
// seglog/native-free, so that entry opens it (no native addon is loaded then); otherwise the default.
import fs from 'node:fs';
import path from 'node:path';
import { JSON_META_FILE, LMDB_META_FILE } from '../format/batch.js';
import type { Log } from '../log.js';
import type { Topic } from '../topic-api.js';
import { binaryCodec } from '../format/codecs.js';
import type { LogOptions } from '../format/options.js';
import { SeglogError } from '../base/errors.js';
import { CliError, EXIT } from './errors.js';

export interface OpenRequest {
  dir: string;
  /** The command, for messages. */
  command: string;
  write: boolean;
  /** A writable open may create the directory. */
  create?: boolean;
  /** What to suggest when the directory is locked. */
  lockedHint?: string;
  options?: LogOptions;
}

type OpenLog = (dir: string, options?: LogOptions) => Promise<Log>;

/** The openLog of the entry point that suits the directory. */
export async function entryFor(dir: string): Promise<OpenLog> {
  const json = fs.existsSync(path.join(dir, JSON_META_FILE));
  const lmdb = fs.existsSync(path.join(dir, LMDB_META_FILE));
  if (process.env.SEGLOG_NATIVE_FREE === '1' || (json && !lmdb)) return (await import('../../native-free/index.js')).openLog;
  return (await import('../index.js')).openLog;
}

export function checkDirectory(dir: string, hint = ''): string {
  const abs = path.resolve(dir);
  let st: fs.Stats | undefined;
  try { st = fs.statSync(abs); } catch { st = undefined; }
  if (st === undefined) throw new CliError(EXIT.noDirectory, `no log directory at ${abs}${hint}`);
  if (!st.isDirectory()) throw new CliError(EXIT.noDirectory, `${abs} is not a directory`);
  return abs;
}

export async function openForCli(req: OpenRequest): Promise<Log> {
  const abs = req.write && req.create ? path.resolve(req.dir) : checkDirectory(req.dir, req.command === 'produce' ? ' (add --create to create it)' : '');
  const openLog = await entryFor(abs);
  try {
    return await openLog(abs, { ...req.options, readOnly: !req.write });
  } catch (err) {
    if (err instanceof SeglogError && err.code === 'ERR_LOCKED') {
      throw new CliError(EXIT.locked, `${err.message}.\n${req.command} needs to write to the log, and only one process may write to it at a time. ${req.lockedHint ?? 'Stop the process that holds it first.'}`);
    }
    throw err;
  }
}

/** The topic, or a CliError naming the topics there are. */
export function existingTopic(log: Log, dir: string, name: string): string {
  const names = log.topics();
  if (!names.includes(name)) {
    throw new CliError(EXIT.noTopic, `no topic ${JSON.stringify(name)} in ${path.resolve(dir)} (${names.length === 0 ? 'it has no topics' : `topics: ${names.join(', ')}`})`);
  }
  return name;
}

/**
 * The topic as the CLI reads it: one written with a user codec (which the CLI cannot know, and
 * which `log.topic(name)` without it refuses) is read as its raw bytes; others with their codec.
 */
export function cliTopic(log: Log, name: string): Topic<unknown> {
  if (log.stats().topics[name]?.codec === 'custom') return log.topic<unknown>(name, { codec: binaryCodec });
  return log.topic<unknown>(name);
}
