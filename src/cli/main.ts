#!/usr/bin/env node
// The `seglog` command: looks into and maintains seglog directories from a shell (topics, stats,
// tail, dump, produce, verify, compact, retention, groups, backup) and serves them to Kafka
// clients (serve). Arguments are parsed with node:util parseArgs; each command lives in its own
// file. Errors print one clear line on stderr and exit with a code from errors.ts. What a crash
// leaves behind is the library's business (only produce, compact, retention, serve, tail --group
// and groups --reset-to/--delete write).
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { SeglogError } from '../base/errors.js';
import path from 'node:path';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { dumpCommand } from './dump.js';
import { groupsCommand } from './groups.js';
import { statsCommand, topicsCommand } from './inspect.js';
import { backupCommand } from './backup.js';
import { compactCommand, retentionCommand, verifyCommand } from './maintain.js';
import { flushOut, intArg } from './output.js';
import { produceCommand } from './produce.js';
import { tailCommand } from './tail.js';
import { serveCommand } from './serve.js';

const USAGE = `seglog — look into and maintain a seglog directory

Usage: seglog <command> <dir> [arguments] [options]

Commands:
  topics <dir>                      list the topics
  stats <dir> [topic] [--json]      segments, size, offsets, codec, groups and their lag
  tail <dir> <topic>                print records, decoded with the topic's codec
      --from earliest|latest|N|-N|ISO-time   where to start (default earliest; -N: the last N)
      --follow, -f                  keep printing what another process appends (read-only)
      --group <name>                read as a consumer group and commit its position
      --read-only                   with --group: start at its committed position, commit nothing
      --max <N>                     stop after N records
      --json                        one JSON object per record
  dump <dir> <topic>                batches and records of the segment files (kafka-dump-log)
      --segment <base>              only the segment with this base offset
      --batches                     batch headers only (offsets, positions, sizes, checksums)
  produce <dir> <topic>             append one record per stdin line (empty lines skipped)
      --key-sep <sep>               the text before the first <sep> is the record's key
      --codec <c>                   codec of a new topic: string (default), json, msgpack, binary
                                    (an existing topic's must match: its codec is never changed here)
      --cleanup <c>                 cleanup of a new topic: delete, compact, compact,delete
      --create                      create the directory if it does not exist (removed again
                                    when the run fails before appending anything)
  groups <dir> [topic] [--json]     the consumer groups: position and lag
      --group <g> --reset-to earliest|latest|N|ISO-time   set a group's position (rewinds too)
      --group <g> --delete          forget a group's position
  verify <dir> [topic...] [--json]  check every checksum and index; exit 1 on damage
  compact <dir> <topic>             compact a topic now (cleanup compact)
  retention <dir> <topic>           delete segments past the topic's retention now
      --now <ms|ISO-time>           the clock retention uses (default now)
      --truncate-before <N>         first make N the first readable offset
  backup <dir> <dest>               copy the log to <dest> (a new or empty directory) while it is
                                    written; openLog(<dest>) opens the copy as a clean log
  serve <dir>                       a Kafka protocol listener over the log (created if missing) for
                                    Kafka clients (kafkajs, librdkafka, kcat); SIGINT/SIGTERM stop it
      --host <addr>                 address to listen on (default 127.0.0.1; loopback only)
      --port <N>                    port (default 9092; 0: any free port, printed on stderr)

Reading commands (topics, stats, tail, dump, verify, groups) open the directory read-only and can run
next to the process that writes it, and so does backup (it opens the source read-only). produce, compact, retention, serve, tail --group and groups --reset-to
or --delete need it unlocked.

Exit codes: 0 ok, 1 failed or damage found, 2 bad arguments, 3 no such directory,
            4 directory locked by another process, 5 no such topic.
Set NODE_DEBUG=seglog to see rolls, recovery and corruption events on stderr.`;

interface Spec {
  positionals: [min: number, max: number];
  names: string;
  options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
}

const SPECS: Record<string, Spec> = {
  topics: { positionals: [1, 1], names: '<dir>', options: {} },
  stats: { positionals: [1, 2], names: '<dir> [topic]', options: { json: { type: 'boolean' } } },
  tail: {
    positionals: [2, 2], names: '<dir> <topic>',
    options: {
      from: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, group: { type: 'string' },
      'read-only': { type: 'boolean' }, max: { type: 'string' }, json: { type: 'boolean' },
    },
  },
  dump: { positionals: [2, 2], names: '<dir> <topic>', options: { segment: { type: 'string' }, batches: { type: 'boolean' } } },
  produce: {
    positionals: [2, 2], names: '<dir> <topic>',
    options: { 'key-sep': { type: 'string' }, codec: { type: 'string' }, cleanup: { type: 'string' }, create: { type: 'boolean' } },
  },
  groups: {
    positionals: [1, 2], names: '<dir> [topic]',
    options: { group: { type: 'string' }, 'reset-to': { type: 'string' }, delete: { type: 'boolean' }, json: { type: 'boolean' } },
  },
  verify: { positionals: [1, Infinity], names: '<dir> [topic...]', options: { json: { type: 'boolean' } } },
  compact: { positionals: [2, 2], names: '<dir> <topic>', options: {} },
  retention: { positionals: [2, 2], names: '<dir> <topic>', options: { now: { type: 'string' }, 'truncate-before': { type: 'string' } } },
  backup: { positionals: [2, 2], names: '<dir> <dest>', options: {} },
  serve: { positionals: [1, 1], names: '<dir>', options: { host: { type: 'string' }, port: { type: 'string' } } },
};

const CODECS = ['string', 'json', 'msgpack', 'binary'];
const CLEANUPS = ['delete', 'compact', 'compact,delete'];

async function run(argv: string[]): Promise<ExitCode> {
  const command = argv[0];
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === '--version' || command === '-v') {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`seglog ${pkg.version}\n`);
    return EXIT.ok;
  }
  const spec = SPECS[command];
  if (spec === undefined) throw new CliError(EXIT.usage, `unknown command ${JSON.stringify(command)} (commands: ${Object.keys(SPECS).join(', ')}; see seglog --help)`);
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: negativeValuesJoined(argv.slice(1), spec.options), options: { ...spec.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(EXIT.usage, `${(err as Error).message.split('\n')[0]}\nusage: seglog ${command} ${spec.names} (see seglog --help)`);
  }
  const { values: v, positionals: p } = parsed;
  if (v.help === true) {
    process.stdout.write(USAGE + '\n');
    return EXIT.ok;
  }
  if (p.length < spec.positionals[0] || p.length > spec.positionals[1]) {
    throw new CliError(EXIT.usage, `${command} takes ${spec.names}, got ${p.length === 0 ? 'nothing' : p.map((x) => JSON.stringify(x)).join(' ')}\nusage: seglog ${command} ${spec.names} (see seglog --help)`);
  }
  const str = (name: string): string | undefined => v[name] as string | undefined;
  const flag = (name: string): boolean => v[name] === true;
  switch (command) {
    case 'topics':
      await topicsCommand(p[0]!);
      return EXIT.ok;
    case 'stats':
      await statsCommand(p[0]!, p[1], flag('json'));
      return EXIT.ok;
    case 'tail':
      if (flag('read-only') && str('group') === undefined) throw new CliError(EXIT.usage, '--read-only goes with --group (tail without --group is always read-only)');
      await tailCommand(p[0]!, p[1]!, {
        from: str('from'), follow: flag('follow'), group: str('group'), readOnly: flag('read-only'),
        max: intArg('max', str('max')), json: flag('json'),
      });
      return EXIT.ok;
    case 'dump':
      return (await dumpCommand(p[0]!, p[1]!, { segment: intArg('segment', str('segment')), batchesOnly: flag('batches') })) ? EXIT.ok : EXIT.failed;
    case 'produce': {
      const codec = str('codec');
      if (codec !== undefined && !CODECS.includes(codec)) throw new CliError(EXIT.usage, `--codec must be one of ${CODECS.join(', ')}, got ${JSON.stringify(codec)}`);
      const cleanup = str('cleanup');
      if (cleanup !== undefined && !CLEANUPS.includes(cleanup)) throw new CliError(EXIT.usage, `--cleanup must be one of ${CLEANUPS.join(', ')}, got ${JSON.stringify(cleanup)}`);
      const keySep = str('key-sep');
      if (keySep !== undefined && keySep.length === 0) throw new CliError(EXIT.usage, '--key-sep must not be empty');
      await produceCommand(p[0]!, p[1]!, { keySep, codec, cleanup: cleanup as 'delete' | undefined, create: flag('create') });
      return EXIT.ok;
    }
    case 'groups':
      await groupsCommand(p[0]!, p[1], { group: str('group'), resetTo: str('reset-to'), delete: flag('delete'), json: flag('json') });
      return EXIT.ok;
    case 'verify':
      return (await verifyCommand(p[0]!, p.slice(1), flag('json'))) ? EXIT.ok : EXIT.failed;
    case 'backup':
      await backupCommand(p[0]!, p[1]!);
      return EXIT.ok;
    case 'serve': {
      const port = intArg('port', str('port'));
      if (port !== undefined && port > 65535) throw new CliError(EXIT.usage, `--port must be from 0 to 65535, got ${port}`);
      await serveCommand(p[0]!, { host: str('host'), port });
      return EXIT.ok;
    }
    case 'compact':
      await compactCommand(p[0]!, p[1]!);
      return EXIT.ok;
    case 'retention': {
      const nowText = str('now');
      let now: number | undefined;
      if (nowText !== undefined) {
        now = /^\d+$/.test(nowText) ? Number(nowText) : Date.parse(nowText);
        if (!Number.isSafeInteger(now)) throw new CliError(EXIT.usage, `--now must be milliseconds since the epoch or an ISO time, got ${JSON.stringify(nowText)}`);
      }
      await retentionCommand(p[0]!, p[1]!, { now, truncateBefore: intArg('truncate-before', str('truncate-before')) });
      return EXIT.ok;
    }
  }
  throw new CliError(EXIT.usage, `unknown command ${command}`);
}

/** Maps what a command threw to a message and an exit code. */
function report(err: unknown): ExitCode {
  if (err instanceof CliError) {
    process.stderr.write(`seglog: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof SeglogError) {
    switch (err.code) {
      case 'ERR_CORRUPT':
        // (a damaged metadata file's message says itself what a repair does with it)
        process.stderr.write(`seglog: the log is damaged: ${err.message}\n${err.file !== undefined && path.basename(err.file).startsWith('~') ? '(seglog verify <dir> lists all damage)' : '(seglog verify <dir> lists all damage; openLog(dir, { repair: true }) cuts the log at the first damage, dropping what follows)'}\n`);
        return EXIT.failed;
      case 'ERR_INVALID_ARGUMENT':
      case 'ERR_OFFSET_OUT_OF_RANGE':
        process.stderr.write(`seglog: ${err.message}\n`);
        return EXIT.usage;
      case 'ERR_LOCKED':
        process.stderr.write(`seglog: ${err.message}\n`);
        return EXIT.locked;
      case 'ERR_NOT_SUPPORTED':
        process.stderr.write(`seglog: not available in this version of seglog: ${err.message}\n`);
        return EXIT.failed;
      default:
        process.stderr.write(`seglog: ${err.code}: ${err.message}\n`);
        return EXIT.failed;
    }
  }
  process.stderr.write(`seglog: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.failed;
}

// A closed stdout (e.g. `seglog tail ... | head`) ends the command quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
});

run(process.argv.slice(2)).then(
  async (code) => {
    await flushOut();
    process.exitCode = code;
  },
  async (err: unknown) => {
    await flushOut(); // what was printed before the failure
    process.exitCode = report(err);
  },
);

/**
 * `--from -10` as `--from=-10`: parseArgs takes a value that starts with '-' for an option and
 * refuses it as ambiguous, but a negative number after an option that takes a value is that value.
 */
function negativeValuesJoined(args: string[], options: Record<string, { type: string }>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a.startsWith('--') && !a.includes('=') && options[a.slice(2)]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}
