// `seglog groups`: lists the consumer groups of a log's topics (read-only: runs next to a writer),
// and with --group, changes one through the library: --reset-to earliest|latest|<offset>|<ISO
// time> (topic.resetGroup, the deliberate rewind) or --delete (topic.deleteGroup). Changes open the
// log for writing, so they need it unlocked: no process may be consuming the group meanwhile.
// Crash: a change is durable once the command printed it (the library's flush).
import type { Log } from '../log.js';
import { CliError, EXIT } from './errors.js';
import { cliTopic, existingTopic, openForCli } from './open.js';
import { out, table } from './output.js';

export interface GroupsOptions {
  group: string | undefined;
  resetTo: string | undefined;
  delete: boolean;
  json: boolean;
}

export async function groupsCommand(dir: string, topic: string | undefined, options: GroupsOptions): Promise<void> {
  const change = options.resetTo !== undefined || options.delete;
  if (change && (topic === undefined || options.group === undefined)) {
    throw new CliError(EXIT.usage, `${options.delete ? '--delete' : '--reset-to'} changes one group: seglog groups <dir> <topic> --group <g> ${options.delete ? '--delete' : '--reset-to <position>'}`);
  }
  if (options.resetTo !== undefined && options.delete) throw new CliError(EXIT.usage, '--reset-to and --delete cannot go together');
  if (options.group !== undefined && topic === undefined) throw new CliError(EXIT.usage, '--group needs a topic: seglog groups <dir> <topic> --group <g>');
  const to = options.resetTo === undefined ? undefined : resetPosition(options.resetTo);
  const log = await openForCli({
    dir, command: change ? `groups ${options.delete ? '--delete' : '--reset-to'}` : 'groups', write: change,
    lockedHint: 'Stop the process that holds it (its members of the group too), then change the group; seglog groups without --reset-to or --delete only lists.',
  });
  try {
    if (topic !== undefined) existingTopic(log, dir, topic);
    if (change) {
      const t = cliTopic(log, topic!);
      const before = t.groups().find((g) => g.group === options.group);
      if (options.delete) {
        if (before === undefined) throw new CliError(EXIT.failed, `no group ${JSON.stringify(options.group)} on topic ${topic} (groups: ${t.groups().map((g) => g.group).join(', ') || 'none'})`);
        await t.deleteGroup(options.group!);
        await out(`deleted group ${options.group} of topic ${topic} (it was at offset ${before.position})`);
      } else {
        await t.resetGroup(options.group!, to!);
        const after = t.groups().find((g) => g.group === options.group)!;
        await out(`group ${options.group} of topic ${topic}: ${before === undefined ? 'new' : `was at offset ${before.position}`}, now at offset ${after.position} (lag ${after.lag})`);
      }
      return;
    }
    await list(log, topic, options);
  } finally {
    await log.close();
  }
}

async function list(log: Log, topic: string | undefined, options: GroupsOptions): Promise<void> {
  const names = topic === undefined ? log.topics() : [topic];
  const rows: Array<{ topic: string; group: string; position: number; lag: number }> = [];
  for (const name of names) {
    for (const g of cliTopic(log, name).groups()) {
      if (options.group !== undefined && g.group !== options.group) continue;
      rows.push({ topic: name, group: g.group, position: g.position, lag: g.lag });
    }
  }
  if (options.json) {
    await out(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    await out(options.group !== undefined ? `no group ${JSON.stringify(options.group)} on topic ${topic}` : `no consumer groups${topic === undefined ? '' : ` on topic ${topic}`}`);
    return;
  }
  await out(table(['TOPIC', 'GROUP', 'POSITION', 'LAG'], rows.map((r) => [r.topic, r.group, r.position, r.lag])));
}

/** --reset-to: earliest, latest, an offset or an ISO time. */
function resetPosition(text: string): number | Date | 'earliest' | 'latest' {
  if (text === 'earliest' || text === 'latest') return text;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return new Date(t);
  }
  throw new CliError(EXIT.usage, `--reset-to must be earliest, latest, an offset or an ISO time, got ${JSON.stringify(text)}`);
}
