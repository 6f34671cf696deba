// CLI output helpers: how values, sizes and tables are printed, and a progress bar that draws only
// when stderr is a terminal (quiet when piped). No state on disk; nothing to recover.
import { CliError, EXIT } from './errors.js';

/** A record value as one line of text: strings as they are, JSON-able values as JSON, bytes as UTF-8 when printable, else base64. */
export function renderValue(value: unknown): string {
  if (value === null) return '(tombstone)';
  if (typeof value === 'string') return escapeLine(value);
  if (value instanceof Uint8Array) return renderBytes(value);
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Bytes as text when they are printable UTF-8, else `base64:<...>`. */
export function renderBytes(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (!text.includes('\uFFFD') && !/[\u0000-\u0008\u000B-\u001F\u007F]/.test(text)) return escapeLine(text);
  return `base64:${buf.toString('base64')}`;
}

/** Keeps one record on one line. */
function escapeLine(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** `1 record`, `2 records`: a count with its noun in the right number. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/** `offset 4`, or `offsets 4 to 9`: the offsets from `first` to `last`, both included. */
export function offsetRange(first: number, last: number): string {
  return first === last ? `offset ${first}` : `offsets ${first} to ${last}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** A left-aligned text table (numbers right-aligned), with a header row. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return cells.map((r) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

let pending: string[] = [];
let pendingBytes = 0;
/** Lines are gathered up to this many characters per stdout write (one write per line was a third of `tail`'s time). */
const OUT_CHUNK_CHARS = 64 * 1024;

/** Queues a line for stdout; writes once a chunk is full, waiting when the pipe is full. */
export function out(line: string): Promise<void> | void {
  pending.push(line);
  pendingBytes += line.length + 1;
  if (pendingBytes >= OUT_CHUNK_CHARS) return flushOut();
}

/** Writes the queued lines (end of a command, and after each round of `tail --follow`). */
export function flushOut(): Promise<void> | void {
  if (pending.length === 0) return;
  const text = pending.join('\n') + '\n';
  pending = [];
  pendingBytes = 0;
  if (!process.stdout.write(text)) {
    return new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }
}

/** A progress bar on stderr when it is a terminal; does nothing otherwise. */
export class Progress {
  private readonly enabled: boolean;
  private lastDrawMs = 0;
  private drawn = false;

  constructor(private readonly label: string, force?: boolean) {
    this.enabled = force ?? (process.stderr.isTTY === true);
  }

  update(done: number, total: number, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDrawMs < 100 && done < total) return;
    this.lastDrawMs = now;
    const width = 30;
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(ratio * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    process.stderr.write(`\r${this.label} [${bar}] ${(ratio * 100).toFixed(0).padStart(3)}% ${detail}`.slice(0, (process.stderr.columns ?? 100) - 1) + '\x1b[K');
    this.drawn = true;
  }

  /** An operation whose size is unknown: a moving marker. */
  spin(detail = ''): void {
    if (!this.enabled) return;
    const frames = '|/-\\';
    process.stderr.write(`\r${this.label} ${frames[Math.floor(Date.now() / 150) % 4]} ${detail}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.enabled && this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** Parses a non-negative integer option or throws a usage error naming it. */
export function intArg(name: string, text: string | undefined, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new CliError(EXIT.usage, `--${name} must be an integer${min === 0 ? ' >= 0' : ` >= ${min}`}, got ${JSON.stringify(text)}`);
  }
  return n;
}
